"""Validates rendered Magnum stacks with Heat's own engine, in-process and offline.

Each STACK.json is what the conductor sends to Heat (`template`, `files`, `environment_files`,
`parameters`; written by `cargo test -p magnum-conductor --lib dump_rendered -- --ignored`).

  --mode strict   what POST /stacks checks before accepting a stack (strict root), plus --deep:
                  nested stacks validated strictly too (property values, required parameters,
                  enum/range constraints) - Heat itself defers that to nested create time.
                  Every resource keeps its real type; only the look-ups that need a cloud are
                  patched out (devstack/lib/heat/offline_patches.py).
  --mode create   creates the stack with a real EngineService (fake:// RPC, MariaDB), optionally
                  PATCHes parameters (--patch '{"number_of_minions": 3}'), then deletes it, and
                  prints each step's time and the outputs. Cloud resources are mapped to the
                  Fake::* plugins and OS::Heat::None (--fake-env, --plugin-dir), appended last
                  to the stack's environment files as a test harness would.

Adapted from the heat-local reference scripts (hv.py)."""
import argparse
import json
import logging
import os
import sys
import time
import warnings

warnings.filterwarnings('ignore')
HERE = os.path.dirname(os.path.abspath(__file__))
t0 = time.time()
ap = argparse.ArgumentParser()
ap.add_argument('stacks', nargs='+', help='STACK.json files')
ap.add_argument('--mode', choices=['strict', 'create'], default='strict')
ap.add_argument('--deep', action='store_true', help='also validate nested stacks strictly')
ap.add_argument('--db', default='sqlite://', help='oslo.db URL (create needs mysql+pymysql://...)')
ap.add_argument('--fake-env', default=None, help='environment appended last (create mode)')
ap.add_argument('--plugin-dir', default=None, help='Heat plugin dir with the Fake::* types')
ap.add_argument('--patch', action='append', default=[],
                help='create mode: JSON parameters of a PATCH update (repeatable: applied in order)')
ap.add_argument('--convergence', action='store_true', help="create mode: Heat's convergence engine (its default) instead of the legacy one")
ap.add_argument('-v', dest='verbose', action='store_true', help='one line per valid stack')
ap.add_argument('--debug', action='store_true', help="Heat's debug log")
a = ap.parse_args()
if a.mode == 'create' and a.db.startswith('sqlite'):
    ap.error('--mode create needs --db mysql+pymysql://... (sqlite fails under the engine threads)')

# like heat-engine: oslo.service's threading backend (eventlet's ThreadGroup caps nested updates)
from oslo_service import backend  # noqa: E402
backend.init_backend(backend.BackendType.THREADING)
from oslo_config import cfg  # noqa: E402
from heat.common import messaging  # noqa: E402
cfg.CONF([], project='heat', default_config_files=[])
if a.plugin_dir:
    cfg.CONF.set_override('plugin_dirs', [os.path.abspath(a.plugin_dir)])
logging.basicConfig(level=logging.DEBUG if a.debug else logging.ERROR)
messaging.setup('fake://', optional=True)
from heat.common import context as hctx, environment_util as env_util, template_format  # noqa: E402
from heat.db import api as db_api, models  # noqa: E402
from heat.engine import environment, resources, stack as parser, template as templatem  # noqa: E402
from oslo_db import options as db_options  # noqa: E402

resources.initialise()
db_options.set_defaults(cfg.CONF, connection=a.db)
models.BASE.metadata.create_all(db_api.get_engine())
ctx = hctx.RequestContext.from_dict({
    'tenant_id': 'test_tenant_id', 'tenant': 'test_tenant', 'username': 'tester', 'user_id': 'u1',
    'password': 'x', 'roles': ['admin'], 'is_admin': False,
    'auth_url': 'http://keystone.invalid:5000/v3', 'auth_token': 'tok'})
# The same patches as the local Heat's (devstack/lib/heat).
sys.path.insert(0, os.path.join(HERE, '..', '..', 'devstack', 'lib', 'heat'))
import offline_patches  # noqa: E402
offline_patches.apply()
if a.deep:
    from heat.engine import resource as hres
    from heat.engine.resources import stack_resource
    parser.Stack.strict_validate = property(lambda self: True, lambda self, v: None)

    def _validate_nested_too(self):
        hres.Resource.validate(self)
        self.validate_nested_stack()
    stack_resource.StackResource.validate = _validate_nested_too
t_import = time.time() - t0


def request(path):
    """The stack as the conductor sends it, plus the fake environment (create mode)."""
    with open(path) as f:
        body = json.load(f)
    files = dict(body['files'])
    env_files = list(body['environment_files'])
    if a.fake_env:
        with open(a.fake_env) as f:
            files['test/fake_cloud.yaml'] = f.read()
        env_files.append('test/fake_cloud.yaml')
    env = {'parameters': body['parameters'], 'resource_registry': {}, 'parameter_defaults': {},
           'encrypted_param_names': [], 'event_sinks': [], 'parameter_merge_strategies': {}}
    return template_format.parse(body['template']), files, env_files, env


def validate(path):
    tpl, files, env_files, env = request(path)
    tmpl = templatem.Template(tpl, files=files)
    env_util.merge_environments(env_files, files, env, tmpl.all_param_schemata(files))
    tmpl.env = environment.Environment(env)
    stk = parser.Stack(ctx, 'v%d' % (time.time() * 1000), tmpl, strict_validate=True)
    stk.validate()
    return stk


def create(path, engine):
    from heat.rpc import api as rpc_api
    tpl, files, env_files, env = request(path)
    name = 'c%d' % (time.time() * 1000)

    def wait(sid, action, deadline=600):
        t = time.time()
        while time.time() - t < deadline:
            s = parser.Stack.load(ctx, stack_id=sid)
            if s.action == action and s.status != s.IN_PROGRESS:
                return s
            time.sleep(0.2)
        raise RuntimeError('timeout waiting for %s' % action)

    def outputs(s):
        shown = engine.show_stack(ctx, dict(s.identifier()), resolve_outputs=True)[0]['outputs']
        return {o['output_key']: o.get('output_error') or o.get('output_value') for o in shown}

    steps = []
    t = time.time()
    ident = engine.create_stack(ctx, name, tpl, env, files, {rpc_api.PARAM_DISABLE_ROLLBACK: True},
                                environment_files=env_files)
    stk = wait(ident['stack_id'], 'CREATE')
    steps.append(('create', stk.status, time.time() - t, stk.status_reason))
    nres = len(list(stk.iter_resources(nested_depth=5)))
    print('  CREATE %s in %.1fs (%d resources): %s' % (stk.status, time.time() - t, nres, stk.status_reason))
    print('  outputs:', json.dumps(outputs(stk), sort_keys=True))
    for patch in a.patch:
        if stk.status != stk.COMPLETE:
            break
        t = time.time()
        engine.update_stack(ctx, ident, None, {'parameters': json.loads(patch)}, None,
                            {rpc_api.PARAM_EXISTING: True})
        stk = wait(ident['stack_id'], 'UPDATE')
        steps.append(('update', stk.status, time.time() - t, stk.status_reason))
        print('  PATCH %s -> UPDATE %s in %.1fs: %s' % (patch, stk.status, time.time() - t, stk.status_reason))
        print('  outputs:', json.dumps(outputs(stk), sort_keys=True))
    t = time.time()
    engine.delete_stack(ctx, ident)
    stk = wait(ident['stack_id'], 'DELETE')
    steps.append(('delete', stk.status, time.time() - t, stk.status_reason))
    print('  DELETE %s in %.1fs' % (stk.status, time.time() - t))
    return all(s[1] == 'COMPLETE' for s in steps), steps


failed = []
print('heat imported in %.1fs; %d stack(s), mode %s%s' % (t_import, len(a.stacks), a.mode,
                                                        ' (deep)' if a.deep else ''))
if a.mode == 'strict':
    t1 = time.time()
    for path in a.stacks:
        t = time.time()
        try:
            stk = validate(path)
            if a.verbose:
                print('OK   %-90s %.2fs %d resources' % (os.path.basename(path), time.time() - t, len(stk)))
        except Exception as ex:  # report every failure, not just the first
            failed.append(path)
            print('FAIL %s: %s: %s' % (os.path.basename(path), type(ex).__name__, ex))
    print('%d/%d valid in %.1fs' % (len(a.stacks) - len(failed), len(a.stacks), time.time() - t1))
    sys.exit(1 if failed else 0)

# create mode: no keystone (plain credentials instead of a trust), nested stacks over the
# in-process fake:// RPC to a real EngineService
cfg.CONF.set_override('deferred_auth_method', 'password')
cfg.CONF.set_override('auth_encryption_key', 'x' * 32)
cfg.CONF.set_override('num_engine_workers', 1)
cfg.CONF.set_override('convergence_engine', a.convergence)
from heat.engine import service as engine_service  # noqa: E402
from heat.rpc import api as rpc_api  # noqa: E402
srv = engine_service.EngineService('validate-templates', rpc_api.ENGINE_TOPIC)
srv.start()
rc = 1
try:
    for path in a.stacks:
        print('%s:' % os.path.basename(path))
        try:
            ok, _ = create(path, srv)
        except Exception:
            import traceback
            traceback.print_exc()
            ok = False
        if not ok:
            failed.append(path)
    rc = 1 if failed else 0
finally:
    # engine threads are not daemons: stop the service and leave without waiting for them
    srv.stop()
    sys.stdout.flush()
    os._exit(rc)
