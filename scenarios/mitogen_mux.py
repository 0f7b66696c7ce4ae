#!/usr/bin/python3
"""Runs a real Mitogen router and unix listener as a faultmux target.

Usage: mitogen_mux.py --listen PATH [--backlog N] [--max-message-size BYTES]
                      [--unidirectional] [-v]

Prints "listening PATH" once clients can connect, then serves until SIGTERM
or SIGINT, when it shuts the broker down and exits 0. It uses Debian's
python3-mitogen (0.3.3) exactly as Ansible's mitogen strategy does, so the
harness can hold the same scenarios against it.
"""
import argparse
import logging
import os
import signal
import sys
import threading

try:
    import mitogen.core
    import mitogen.master
    import mitogen.unix
except ImportError as e:
    sys.stderr.write('mitogen_mux.py: cannot import mitogen (%s): install python3-mitogen\n' % (e,))
    sys.exit(2)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--listen', required=True, help='socket path')
    parser.add_argument('--backlog', type=int, default=100)
    parser.add_argument('--max-message-size', type=int, default=None)
    parser.add_argument('--unidirectional', action='store_true')
    parser.add_argument('-v', '--verbose', action='count', default=0)
    args = parser.parse_args()

    level = logging.DEBUG if args.verbose else logging.INFO
    logging.basicConfig(level=level, stream=sys.stderr,
                        format='%(asctime)s mitogen_mux[%(process)d] %(levelname)s %(name)s: %(message)s')

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())

    broker = mitogen.master.Broker()
    router = mitogen.master.Router(broker, max_message_size=args.max_message_size)
    router.unidirectional = args.unidirectional
    listener = mitogen.unix.Listener.build_stream(router, path=args.listen, backlog=args.backlog)
    sys.stdout.write('listening %s\n' % (listener.protocol.path,))
    sys.stdout.flush()
    while not stop.wait(0.2):
        if not broker._thread.is_alive():
            sys.stderr.write('mitogen_mux.py: the Mitogen broker thread died\n')
            return 1
    broker.shutdown()
    broker.join()
    return 0


if __name__ == '__main__':
    sys.exit(main())
