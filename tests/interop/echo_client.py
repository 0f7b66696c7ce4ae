#!/usr/bin/python3
"""A Mitogen client that sends messages through a listener and checks replies.

Usage: echo_client.py PATH DST RAW_HANDLE [--pickled-handle P] [--stop]
                      [--timeout SECONDS]

Connects with mitogen.unix.connect(PATH) and sends to context DST, every
message with reply_to set to a receiver of its own:
  - raw bodies of 0 bytes to 1 MiB to RAW_HANDLE, one at a time and then 64
    at once, each reply checked to be the same bytes, in order;
  - with --pickled-handle, pickled bytes, str (non-ASCII included) and
    nested tuples up to 1 MiB to P, each reply unpickled and checked to be
    equal and of the same type;
  - with --stop, the pickled string 'stop' to P, expecting 'stopped'.
Prints "ok raw=N pickled=M" and exits 0; exits 1 on a dead, wrong or late
reply, or when Mitogen logged an error.
"""
import argparse
import sys

import mitogen
import mitogen.core
import mitogen.unix

import interop_util

NAME = 'echo_client.py'
MIB = 1 << 20


def raw_payload(seq, size):
    pattern = bytes(range(256))
    body = (b'%08d:' % seq) + pattern * (size // 256 + 1)
    return body[:size]


def pickled_payloads():
    text = u'h\xe9llo w\xf6rld \u20ac \U0001f600 \x00 '
    return [
        b'',
        b'\x00\xff' * 8,
        bytes(range(256)) * (MIB // 256),
        u'',
        (text * (MIB // 32))[:MIB // 4],
        u'plain ascii',
        (),
        (1, -2, 2 ** 40, 3.5, None, True, False, u'text', b'bytes',
         [1, [2, (3,)]], {u'k': b'v', u'n': 1}, (b'\x80' * 1000,)),
        tuple(raw_payload(i, 4096) for i in range(200)),
    ]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('path')
    parser.add_argument('dst', type=int)
    parser.add_argument('raw_handle', type=int)
    parser.add_argument('--pickled-handle', type=int)
    parser.add_argument('--stop', action='store_true')
    parser.add_argument('--timeout', type=float, default=30.0)
    args = parser.parse_args()
    errors = interop_util.start(NAME, args.timeout)

    router, _ = mitogen.unix.connect(args.path)
    replies = mitogen.core.Receiver(router)

    def send(handle, msg):
        msg.dst_id = args.dst
        msg.handle = handle
        msg.reply_to = replies.handle
        router.route(msg)

    def reply(what):
        try:
            msg = replies.get(timeout=args.timeout, throw_dead=False)
        except mitogen.core.TimeoutError:
            interop_util.fail(NAME, 'no reply to %s within %.1f s' % (what, args.timeout))
        if msg.is_dead:
            interop_util.fail(NAME, 'reply to %s is dead: %r' % (what, msg.data))
        if msg.src_id != args.dst:
            interop_util.fail(NAME, 'reply to %s came from %d, not %d' % (what, msg.src_id, args.dst))
        return msg

    raw = 0
    for seq, size in enumerate([0, 1, 25, 26, 27, 4096, 65535, 65536, 65537, 300000, MIB]):
        body = raw_payload(seq, size)
        send(args.raw_handle, mitogen.core.Message(data=body))
        got = reply('raw message %d (%d bytes)' % (seq, size)).data
        if got != body:
            interop_util.fail(NAME, 'raw message %d (%d bytes): reply has %d bytes and differs'
                              % (seq, size, len(got)))
        raw += 1

    burst = [raw_payload(1000 + i, 1000 + 997 * i) for i in range(64)]
    for body in burst:
        send(args.raw_handle, mitogen.core.Message(data=body))
    for i, body in enumerate(burst):
        got = reply('burst message %d' % (i,)).data
        if got != body:
            interop_util.fail(NAME, 'burst message %d: reply is wrong or out of order' % (i,))
        raw += 1

    pickled = 0
    if args.pickled_handle is not None:
        for i, obj in enumerate(pickled_payloads()):
            msg = mitogen.core.Message.pickled(obj)
            size = len(msg.data)
            send(args.pickled_handle, msg)
            got = reply('pickled payload %d (%d bytes)' % (i, size)).unpickle()
            if type(got) is not type(obj) or got != obj:
                interop_util.fail(NAME, 'pickled payload %d (%s, %d bytes): got %s back'
                                  % (i, type(obj).__name__, size, type(got).__name__))
            pickled += 1
        if args.stop:
            send(args.pickled_handle, mitogen.core.Message.pickled('stop'))
            got = reply('stop').unpickle()
            if got != 'stopped':
                interop_util.fail(NAME, 'stop answered with %r' % (got,))

    print('ok raw=%d pickled=%d' % (raw, pickled))
    sys.stdout.flush()
    return interop_util.finish(NAME, router, errors)


if __name__ == '__main__':
    interop_util.run(NAME, main)
