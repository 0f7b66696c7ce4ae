#!/usr/bin/python3
"""Calls into a faultmux context from a real Mitogen client.

Usage: context_calls.py PATH NAME TIMEOUT

Connects with mitogen.unix.connect(PATH), gets context NAME from the mux's
faultmux.ContextService (call_service on the mux's Context), and calls the
C++ built-ins with ordinary context.call() of functions whose __module__ is
'faultmux.builtins':
  - echo of every argument type Mitogen pickles (None, bool, int including
    big ones, float, str including non-ASCII and a lone surrogate, bytes,
    tuple, list, dict, Blob, Secret, Context, shared references): each
    reply must be equal, of the same type, all the way down;
  - echo_all with keyword arguments: (args, kwargs) back;
  - checksum against zlib.crc32, make_bytes against the same payload made
    here, getpid, sleep, 100 echoes in flight at once;
  - fail and an unknown function, which must raise mitogen.core.CallError
    carrying the C++ side's text; a bad ContextService request likewise.
A second get must give the same context. Prints "context_id=N pid=P" and
"ok echoed=N" and exits 0; exits 1 at the first difference.
"""
import functools
import math
import os
import struct
import sys
import zlib

import mitogen
import mitogen.core
import mitogen.unix

import interop_util

NAME = 'context_calls.py'
SERVICE = 'faultmux.ContextService'
builtin = interop_util.builtin
payload = interop_util.payload
expect_call_error = functools.partial(interop_util.expect_call_error, NAME)


def same(a, b):
    """Equal and of the same type all the way down (True is not 1, -0.0 is
    not 0.0, NaN is NaN)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return struct.pack('>d', a) == struct.pack('>d', b)
    if isinstance(a, (tuple, list)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        if len(a) != len(b):
            return False
        for k, v in a.items():
            match = [bk for bk in b if same(bk, k)]
            if len(match) != 1 or not same(v, b[match[0]]):
                return False
        return True
    if isinstance(a, mitogen.core.Context):
        return a.context_id == b.context_id and a.name == b.name
    return a == b


def values(parent, ctx):
    text = u'h\xe9llo w\xf6rld \u20ac \U0001f600 \x00 end'
    shared = [1, u'two']
    return [
        None, True, False,
        0, 1, -1, 255, 256, 65535, 65536, 2 ** 31 - 1, 2 ** 31, -2 ** 31 - 1,
        2 ** 63 - 1, -2 ** 63, 2 ** 63, -2 ** 63 - 1, 2 ** 64, 10 ** 40,
        -(10 ** 40), 2 ** 2000, -(2 ** 2100),
        0.0, -0.0, 1.5, -2.25e300, 5e-324, float('inf'), float('-inf'),
        float('nan'),
        u'', u'ascii', text, u'\ud800 lone', text * 20000,
        b'', bytes(range(256)), bytes(range(256)) * 4096,
        (), (1,), (1, 2), (1, 2, 3), (1, 2, 3, 4), tuple(range(1000)),
        [], [1, [2, [3, (4, [])]]], list(range(1000)),
        {}, {u'k': b'v', 1: 2.5, (1, u'x'): [None], b'raw': {u'n': (True,)}},
        (shared, shared, {u'again': shared}),
        mitogen.core.Blob(b'\x00\xff' * 1000),
        mitogen.core.Secret(u's\xe9cret'),
        parent, ctx, (ctx, [parent]),
        ((((((((((u'deep',),),),),),),),),),),
    ]


def main():
    path, name, timeout = interop_util.arguments(NAME, __doc__, str, str, float)
    errors = interop_util.start(NAME, timeout)

    router, parent = mitogen.unix.connect(path)
    got = parent.call_service(SERVICE, 'get', name=name)
    ctx = got['context']
    if not isinstance(ctx, mitogen.core.Context):
        interop_util.fail(NAME, 'the service gave %r, not a Context' % (got,))
    pid = ctx.call(builtin('getpid'))
    if type(pid) is not int or pid <= 0 or pid == os.getpid():
        interop_util.fail(NAME, 'getpid() gave %r' % (pid,))
    print('context_id=%d pid=%d' % (ctx.context_id, pid))
    sys.stdout.flush()

    echo = builtin('echo')
    echoed = 0
    for i, v in enumerate(values(parent, ctx)):
        r = ctx.call(echo, v)
        if not same(r, v):
            interop_util.fail(NAME, 'echo %d (%s): got %s %.200r back'
                              % (i, type(v).__name__, type(r).__name__, r))
        echoed += 1

    kwargs = {u'x': 1, u'y': b'\xff\x00', u'z': (None, [u'\xfc']), u'\xfc': 2.5}
    r = ctx.call(builtin('echo_all'), 1, u'two', **kwargs)
    if not same(r, ((1, u'two'), kwargs)):
        interop_util.fail(NAME, 'echo_all: got %r' % (r,))

    for data in (b'', b'123456789', bytes(range(256)) * 1000):
        r = ctx.call(builtin('checksum'), data)
        if r != zlib.crc32(data):
            interop_util.fail(NAME, 'checksum of %d bytes: %r, not %r'
                              % (len(data), r, zlib.crc32(data)))
    for n in (0, 1, 100000):
        r = ctx.call(builtin('make_bytes'), n)
        if type(r) is not bytes or r != payload(n, n):
            interop_util.fail(NAME, 'make_bytes(%d) gave other bytes' % (n,))
    if ctx.call(builtin('sleep'), 10) is not None:
        interop_util.fail(NAME, 'sleep() did not return None')

    # Many calls in flight, each reply to its own receiver.
    pending = [(i, ctx.call_async(echo, payload(i, 1000))) for i in range(100)]
    for i, recv in pending:
        r = recv.get().unpickle()
        if r != payload(i, 1000):
            interop_util.fail(NAME, 'call_async %d: wrong reply' % (i,))

    expect_call_error('fail()', u'failed on purpose \xfc', ctx.call, builtin('fail'),
                      u'failed on purpose \xfc')
    expect_call_error('an unknown function', 'no function faultmux.builtins.no_such_thing',
                      ctx.call, builtin('no_such_thing'))
    expect_call_error('checksum(5)', 'must be bytes', ctx.call, builtin('checksum'), 5)
    expect_call_error('get without a name', 'needs name=<str>', parent.call_service,
                      SERVICE, 'get')

    again = parent.call_service(SERVICE, 'get', name=name)['context']
    if again.context_id != ctx.context_id:
        interop_util.fail(NAME, 'a second get gave context %d, not %d'
                          % (again.context_id, ctx.context_id))
    print('ok echoed=%d' % (echoed,))
    sys.stdout.flush()
    return interop_util.finish(NAME, router, errors)


if __name__ == '__main__':
    interop_util.run(NAME, main)
