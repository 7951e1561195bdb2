#!/usr/bin/env python3
"""oslo.messaging RPC client calling a (Rust) magnum conductor; prints one JSON line per step.

Steps: ping_conductor, echo_context (our server echoes the context it unpacked), a method
that raises (NotSupported), an unknown method, a slow method under oslo's call monitor
(call_monitor_timeout: the server must send heartbeats), a call to topic.server, a cast
and a fanout cast (the server records them).
"""
import time

import oslo_messaging

import common


def failure(e):
    return {'type': type(e).__name__, 'exc_type': getattr(e, 'exc_type', None),
            'value': getattr(e, 'value', None), 'str': str(e).split('\n')[0]}


def main():
    args = common.parse_args(__doc__)
    _, transport = common.transport(args)
    target = oslo_messaging.Target(exchange=args.exchange, topic=args.topic, version='1.0')
    client = oslo_messaging.get_rpc_client(transport, target, timeout=10)
    ctxt = {'user_id': 'u-py', 'project_id': 'p-py', 'roles': ['admin'], 'request_id': 'req-py'}

    common.emit({'step': 'ping_conductor', 'result': client.call(ctxt, 'ping_conductor')})
    common.emit({'step': 'echo_context',
                 'result': client.call(ctxt, 'echo_context', value={'a': [1, 2]})})
    for method in ('cluster_create', 'no_such_thing'):
        try:
            client.call(ctxt, method, name='x')
            common.emit({'step': method, 'error': None})
        except Exception as e:  # noqa: BLE001 - reported to the test
            common.emit({'step': method, 'error': failure(e)})
    monitored = client.prepare(call_monitor_timeout=2, timeout=20)
    t0 = time.monotonic()
    result = monitored.call(ctxt, 'slow', seconds=3)
    common.emit({'step': 'slow', 'result': result, 'elapsed': time.monotonic() - t0})
    common.emit({'step': 'whoami',
                 'result': client.prepare(server=args.server).call(ctxt, 'whoami')})
    client.cast(ctxt, 'record', what='cast')
    client.prepare(fanout=True).cast(ctxt, 'record', what='fanout')
    common.emit({'step': 'done'})
    transport.cleanup()


if __name__ == '__main__':
    main()
