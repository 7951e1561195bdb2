"""Shared set-up of the oslo.messaging peers used by magnum-common's rpc interop tests."""
import argparse
import json
import sys

from oslo_config import cfg
import oslo_messaging


def parse_args(description, extra=None):
    p = argparse.ArgumentParser(description=description)
    p.add_argument('--url', required=True, help='oslo transport_url (rabbit://...)')
    p.add_argument('--exchange', default='magnum', help='the control exchange')
    p.add_argument('--topic', default='magnum-conductor')
    p.add_argument('--server', default='oslo-peer', help='server name (target.server)')
    if extra:
        extra(p)
    return p.parse_args()


def transport(args, notifications=False):
    oslo_messaging.set_transport_defaults(control_exchange=args.exchange)
    # The global CONF, as real services use: oslo.messaging registers some options
    # (tracing) only there.
    conf = cfg.CONF
    conf([], project='oslo-peer')
    if notifications:
        return conf, oslo_messaging.get_notification_transport(conf, url=args.url)
    return conf, oslo_messaging.get_rpc_transport(conf, url=args.url)


def emit(obj):
    """One JSON line on stdout, flushed: the Rust test reads them."""
    sys.stdout.write(json.dumps(obj, sort_keys=True) + '\n')
    sys.stdout.flush()
