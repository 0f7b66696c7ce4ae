#!/usr/bin/python3
"""Real Mitogen clients as a workload: point them at any mux.

Usage: mitogen_client.py [--mitogen-src DIR] serve PATH [--timeout S]
       mitogen_client.py [--mitogen-src DIR] echo PATH CONTEXT HANDLE
                         [--messages N] [--size BYTES] [--in-flight K] [--timeout S]
       mitogen_client.py [--mitogen-src DIR] stop PATH CONTEXT HANDLE [--timeout S]

Each connects with mitogen.unix.connect(PATH), as an Ansible worker of the
mitogen strategy does, to faultmux's mux, a real Mitogen (mitogen_mux.py),
or a mux of your own that speaks Mitogen's protocol.

serve   opens a receiver, prints "serving CONTEXT HANDLE", and answers each
        message with msg.reply() of the same object, until it gets 'stop'
        (answered 'stopped') or nothing comes for --timeout seconds.
echo    sends N pickled byte strings of BYTES each to HANDLE in CONTEXT (a
        serve client), K at a time, and checks that every reply is the same
        bytes; prints "ok echoed N".
stop    sends 'stop' to a serve client and waits for 'stopped'.

Exit status: 0 when done; 1 on a dead, wrong or late reply, or when Mitogen
logged an error (printed); 2 on bad usage or when Mitogen cannot be
imported (install python3-mitogen, or give --mitogen-src, the directory
holding a Mitogen source tree's mitogen/__init__.py).
"""
import argparse
import sys
import threading

import mitogen_common

NAME = 'mitogen_client.py'


def fail(why):
    """Exits 1 at once, saying why."""
    mitogen_common.fail(NAME, why)


def payload(seq, size):
    """Bytes that differ per message, so a reply to another message shows."""
    body = (b'%08d:' % seq) + bytes(range(256)) * (size // 256 + 1)
    return body[:size]


def open_receiver(router):
    # Replies and requests come from other clients, not from this client's
    # parent: accept them (the default policy accepts the parent only).
    return mitogen.core.Receiver(router, policy=lambda msg, stream: True)


def serve(router, args):
    requests = open_receiver(router)
    print('serving %d %d' % (mitogen.context_id, requests.handle))
    sys.stdout.flush()
    served = 0
    while True:
        try:
            msg = requests.get(timeout=args.timeout, throw_dead=False)
        except mitogen.core.TimeoutError:
            fail('no message within %.1f s' % (args.timeout,))
        if msg.is_dead:
            fail('dead message: %r' % (msg.data,))
        obj = msg.unpickle()
        if obj == 'stop':
            msg.reply('stopped')
            break
        msg.reply(obj)
        served += 1
    print('served %d' % (served,))


def request(router, args, replies, obj):
    msg = mitogen.core.Message.pickled(obj, dst_id=args.context, handle=args.handle,
                                       reply_to=replies.handle)
    router.route(msg)


def reply(args, replies, what):
    try:
        msg = replies.get(timeout=args.timeout, throw_dead=False)
    except mitogen.core.TimeoutError:
        fail('no reply to %s within %.1f s' % (what, args.timeout))
    if msg.is_dead:
        fail('reply to %s is dead: %r' % (what, msg.data))
    return msg.unpickle()


def echo(router, args):
    replies = open_receiver(router)
    sent = done = 0
    while done < args.messages:
        while sent < args.messages and sent - done < args.in_flight:
            request(router, args, replies, payload(sent, args.size))
            sent += 1
        got = reply(args, replies, 'message %d' % (done,))
        # One receiver, replies in the order sent: the mux keeps a stream's order.
        if got != payload(done, args.size):
            fail('reply %d differs from what was sent (%d bytes back)' % (done, len(got)))
        done += 1
    print('ok echoed %d' % (done,))


def stop(router, args):
    replies = open_receiver(router)
    request(router, args, replies, 'stop')
    got = reply(args, replies, "'stop'")
    if got != 'stopped':
        fail("'stop' answered %r" % (got,))
    print('stopped')


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--mitogen-src', help='import Mitogen from this source tree')
    sub = parser.add_subparsers(dest='command', required=True)
    for name in ('serve', 'echo', 'stop'):
        p = sub.add_parser(name)
        p.add_argument('path', help="the mux's socket")
        if name != 'serve':
            p.add_argument('context', type=int, help='the serve client\'s context id')
            p.add_argument('handle', type=int, help='its handle')
        p.add_argument('--timeout', type=float, default=30.0)
        if name == 'echo':
            p.add_argument('--messages', type=int, default=100)
            p.add_argument('--size', type=int, default=4096)
            p.add_argument('--in-flight', type=int, default=1)
    args = parser.parse_args()
    global mitogen
    mitogen = mitogen_common.import_mitogen(NAME, args.mitogen_src,
                                            ('mitogen.core', 'mitogen.unix'))
    errors = mitogen_common.log_errors(NAME)
    # A bound on the whole run, whatever the mux does.
    watchdog = threading.Timer(args.timeout * 2 + 10, fail, ('timed out',))
    watchdog.daemon = True
    watchdog.start()

    router, _ = mitogen.unix.connect(args.path)
    {'serve': serve, 'echo': echo, 'stop': stop}[args.command](router, args)
    sys.stdout.flush()
    return mitogen_common.finish(NAME, router, errors)


if __name__ == '__main__':
    sys.exit(main())
