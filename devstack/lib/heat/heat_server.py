"""heat-api + heat-engine of a real OpenStack Heat (PyPI openstack-heat) in one process, for the local
stack and the tests. Started by devstack/lib/heat.sh; see that script for the whole picture.

    python heat_server.py --config-file DIR/heat.conf --port PORT [--fault-file DIR/fault.json]

- Heat's normal paste pipeline (keystonemiddleware auth_token, [keystone_authtoken] from heat.conf),
  deferred_auth_method=trusts, policies as shipped.
- RPC between API and engine over oslo.messaging's fake:// driver: both live in this process.
- The engine runs on oslo.service's threading backend (the eventlet backend caps a stack at 10 threads).
- The cloud is the local cloud of magnum-cloud-standin, found through the Keystone catalog: Heat's
  own resource types and look-ups run unpatched. Only the pace of Heat's task loop is changed
  (--poll-interval).
- Optional fault injection (--fault-file): a WSGI middleware in front of the API that answers an
  error status instead of Heat for the next N /v1 requests or for a time window. Controlled by the
  JSON file (heat.sh fault DIR ...) or by GET/PUT/DELETE http://HOST:PORT/_fault (same JSON).
  Rule: {"status": 500, "count": N | "until": EPOCH_SECONDS, "method": "GET"|..., "when": "before"|"after"}.
  "before" (default) answers without reaching Heat; "after" lets Heat process the request and then
  replaces its answer (a lost response: the request took effect but the client sees an error).
"""
import argparse
import json
import os
import signal
import sys
import threading
import time
import warnings

warnings.filterwarnings('ignore')

ap = argparse.ArgumentParser()
ap.add_argument('--config-file', required=True)
ap.add_argument('--host', default='127.0.0.1', help='listen address')
ap.add_argument('--port', type=int, required=True)
ap.add_argument('--fault-file', default=None, help='enables fault injection, controlled through this file')
ap.add_argument('--poll-interval', type=float, default=1.0,
                help="seconds between the steps of Heat's running tasks (Heat's own: 1)")
a = ap.parse_args()

from oslo_service import backend  # noqa: E402

backend.init_backend(backend.BackendType.THREADING)

from oslo_config import cfg  # noqa: E402
from oslo_log import log as oslo_logging  # noqa: E402

CONF = cfg.CONF
oslo_logging.register_options(CONF)
# one WARNING line per deprecated/hidden resource type at every start is noise here
oslo_logging.set_defaults(default_log_levels=oslo_logging.get_default_log_levels() + [
    'heat.engine.environment=ERROR'])
from heat.common import config as heat_config  # noqa: E402
from heat.common import messaging  # noqa: E402
from heat.common import crypt  # noqa: E402,F401  registers auth_encryption_key
from heat.engine import service as engine_service  # noqa: E402
from heat.rpc import api as rpc_api  # noqa: E402

CONF([], project='heat', prog='heat-server', default_config_files=[a.config_file])
oslo_logging.setup(CONF, 'heat-server')
LOG = oslo_logging.getLogger('heat-server')
heat_config.startup_sanity_check()
messaging.setup('fake://')

# schema: create_all is idempotent (checkfirst); a warm start finds every table
from heat.db import api as db_api, models  # noqa: E402

_eng = db_api.get_engine()
models.BASE.metadata.create_all(_eng)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import offline_patches  # noqa: E402

if a.poll_interval < 1.0:
    offline_patches.poll_interval(a.poll_interval)

t0 = time.time()
srv = engine_service.EngineService(CONF.host, rpc_api.ENGINE_TOPIC)
srv.start()

from socketserver import ThreadingMixIn  # noqa: E402
from wsgiref import simple_server  # noqa: E402

app = heat_config.load_paste_app('heat-api')


class FaultInjector:
    """Answers an injected error instead of Heat while a rule in the fault file says so."""

    def __init__(self, app, path):
        self.app, self.path, self.lock = app, path, threading.Lock()

    def _read(self):
        try:
            with open(self.path) as f:
                return json.load(f)
        except (OSError, ValueError):
            return None

    def _write(self, rule):
        if rule is None:
            try:
                os.unlink(self.path)
            except FileNotFoundError:
                pass
            return
        tmp = self.path + '.tmp'
        with open(tmp, 'w') as f:
            json.dump(rule, f)
        os.replace(tmp, self.path)

    def _take(self, method):
        """The rule that applies to this request (consuming one count), or None."""
        if not os.path.exists(self.path):
            return None
        with self.lock:
            rule = self._read()
            if not isinstance(rule, dict):
                return None
            if rule.get('method') and rule['method'].upper() != method:
                return None
            if rule.get('until') is not None:
                if time.time() >= float(rule['until']):
                    self._write(None)
                    return None
                return rule
            count = int(rule.get('count') or 0)
            if count <= 0:
                self._write(None)
                return None
            rule['count'] = count - 1
            self._write(rule if count > 1 else None)
            return rule

    @staticmethod
    def _json(start_response, status, body):
        data = json.dumps(body).encode()
        start_response(status, [('Content-Type', 'application/json'), ('Content-Length', str(len(data)))])
        return [data]

    def _control(self, environ, start_response):
        method = environ['REQUEST_METHOD']
        with self.lock:
            if method == 'GET':
                return self._json(start_response, '200 OK', self._read() or {})
            if method == 'DELETE':
                self._write(None)
                return self._json(start_response, '200 OK', {})
            if method in ('PUT', 'POST'):
                try:
                    n = int(environ.get('CONTENT_LENGTH') or 0)
                    rule = json.loads(environ['wsgi.input'].read(n) or b'{}')
                    status = int(rule.get('status', 500))
                    if 'seconds' in rule:
                        rule['until'] = time.time() + float(rule.pop('seconds'))
                    if rule.get('until') is None:
                        rule['count'] = int(rule.get('count', 1))
                    if rule.get('when', 'before') not in ('before', 'after'):
                        raise ValueError('when must be before or after')
                    rule['status'] = status
                except (ValueError, TypeError, AttributeError) as e:
                    return self._json(start_response, '400 Bad Request', {'error': str(e)})
                self._write(rule)
                return self._json(start_response, '200 OK', rule)
        return self._json(start_response, '405 Method Not Allowed', {})

    def __call__(self, environ, start_response):
        path = environ.get('PATH_INFO', '')
        if path == '/_fault':
            return self._control(environ, start_response)
        if not path.startswith('/v1/'):
            return self.app(environ, start_response)
        rule = self._take(environ['REQUEST_METHOD'])
        if rule is None:
            return self.app(environ, start_response)
        status = int(rule.get('status', 500))
        if rule.get('when') == 'after':
            body = self.app(environ, lambda *args, **kw: (lambda data: None))
            try:
                for _ in body:
                    pass
            finally:
                if hasattr(body, 'close'):
                    body.close()
        sys.stderr.write('FAULT %d injected for %s %s\n' % (status, environ['REQUEST_METHOD'], path))
        title = simple_server.BaseHTTPRequestHandler.responses.get(status, ('Error',))[0]
        return self._json(start_response, '%d %s' % (status, title), {
            'code': status, 'title': title, 'explanation': 'fault injected by heat.sh',
            'error': {'type': 'InjectedFault', 'message': 'fault injected by heat.sh', 'traceback': None}})


if a.fault_file:
    app = FaultInjector(app, a.fault_file)


class Server(ThreadingMixIn, simple_server.WSGIServer):
    daemon_threads = True
    request_queue_size = 64


class Handler(simple_server.WSGIRequestHandler):
    def log_message(self, fmt, *args):  # the request line only: never headers (tokens)
        sys.stderr.write('API %s\n' % (fmt % args))


httpd = simple_server.make_server(a.host, a.port, app, server_class=Server, handler_class=Handler)


def _stop(signum, frame):
    # stop accepting, give the engine a moment to stop its threads, then leave: stacks left
    # IN_PROGRESS are reset to FAILED by the next engine start (Heat's own recovery)
    threading.Thread(target=httpd.shutdown, daemon=True).start()
    t = threading.Thread(target=srv.stop, daemon=True)
    t.start()
    t.join(5)
    os._exit(0)


signal.signal(signal.SIGTERM, _stop)
signal.signal(signal.SIGINT, _stop)
print('heat-server listening on http://%s:%d (engine %s, convergence=%s, engine start %.1fs)'
      % (a.host, a.port, srv.engine_id, CONF.convergence_engine, time.time() - t0), flush=True)
httpd.serve_forever()
