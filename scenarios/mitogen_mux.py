#!/usr/bin/python3
"""Runs a real Mitogen router and unix listener as a faultmux target.

Usage: mitogen_mux.py --listen PATH [--backlog N] [--max-message-size BYTES]
                      [--unidirectional] [--mitogen-src DIR] [-v]
       mitogen_mux.py --version [--mitogen-src DIR]

Prints "version mitogen VERSION DIR" (the Mitogen it imported, and the
directory it came from), then "listening PATH" once clients can connect, then serves until SIGTERM
or SIGINT, when it shuts the broker down and exits 0. It uses Mitogen exactly
as Ansible's mitogen strategy does, so the harness can hold the same
scenarios against it: Debian's python3-mitogen, or the Mitogen source tree
given by --mitogen-src (the directory holding mitogen/__init__.py).
--version prints that Mitogen's version and where it was imported from.
"""
import argparse
import logging
import os
import signal
import sys
import threading

import mitogen_common


def version_line():
    version = '.'.join(str(part) for part in mitogen.__version__)
    return '%s %s' % (version, os.path.dirname(os.path.dirname(os.path.abspath(mitogen.__file__))))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--listen', help='socket path')
    parser.add_argument('--backlog', type=int, default=100)
    parser.add_argument('--max-message-size', type=int, default=None)
    parser.add_argument('--unidirectional', action='store_true')
    parser.add_argument('--mitogen-src', help='a Mitogen source tree to import instead')
    parser.add_argument('--version', action='store_true', help="print Mitogen's version and dir")
    parser.add_argument('-v', '--verbose', action='count', default=0)
    args = parser.parse_args()
    global mitogen
    mitogen = mitogen_common.import_mitogen('mitogen_mux.py', args.mitogen_src,
                                            ('mitogen.core', 'mitogen.master', 'mitogen.unix'))
    if args.version:
        sys.stdout.write(version_line() + '\n')
        return 0
    if not args.listen:
        parser.error('--listen PATH is required')

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
    sys.stdout.write('version mitogen %s\n' % (version_line(),))
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
