#!/usr/bin/env python3
"""oslo.messaging notification listener: prints READY, then each notification as a JSON line."""
import threading

import oslo_messaging

import common


class Endpoint:
    def _record(self, priority, ctxt, publisher_id, event_type, payload, metadata):
        common.emit({'priority': priority, 'ctxt': ctxt, 'publisher_id': publisher_id,
                     'event_type': event_type, 'payload': payload, 'metadata': metadata})

    def info(self, ctxt, publisher_id, event_type, payload, metadata):
        self._record('info', ctxt, publisher_id, event_type, payload, metadata)

    def error(self, ctxt, publisher_id, event_type, payload, metadata):
        self._record('error', ctxt, publisher_id, event_type, payload, metadata)


def main():
    args = common.parse_args(__doc__)
    _, transport = common.transport(args, notifications=True)
    targets = [oslo_messaging.Target(exchange=args.exchange, topic=args.topic)]
    listener = oslo_messaging.get_notification_listener(transport, targets, [Endpoint()],
                                                        executor='threading')
    listener.start()
    common.emit({'ready': True})
    threading.Event().wait()


if __name__ == '__main__':
    main()
