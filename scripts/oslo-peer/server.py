#!/usr/bin/env python3
"""oslo.messaging RPC server for a (Rust) client: echo(value), fail(), whoami(), record(what).

Prints READY once listening, then one JSON line per cast it receives. Runs until killed.
"""
import threading

import oslo_messaging

import common


class Endpoint:
    target = oslo_messaging.Target(version='1.0')

    def __init__(self, server):
        self.server = server

    def echo(self, ctxt, value):
        return {'value': value, 'ctxt': ctxt}

    def fail(self, ctxt):
        raise ValueError('boom from python')

    def whoami(self, ctxt):
        return self.server

    def record(self, ctxt, what):
        common.emit({'cast': what, 'ctxt': ctxt})


def main():
    args = common.parse_args(__doc__)
    _, transport = common.transport(args)
    target = oslo_messaging.Target(exchange=args.exchange, topic=args.topic, server=args.server)
    server = oslo_messaging.get_rpc_server(transport, target, [Endpoint(args.server)],
                                           executor='threading')
    server.start()
    common.emit({'ready': True})
    threading.Event().wait()


if __name__ == '__main__':
    main()
