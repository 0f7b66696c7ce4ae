#!/usr/bin/python3
"""Calls every faultmux built-in with keyword arguments from a real Mitogen.

Usage: context_kwargs.py PATH NAME TIMEOUT

Connects with mitogen.unix.connect(PATH), gets context NAME from the mux's
faultmux.ContextService and calls each built-in of 'faultmux.builtins' with
its arguments by keyword (echo(value=...), sleep(ms=...), checksum(data=...),
make_bytes(n=...), ...), checking each result; an unknown keyword and a
keyword that repeats a positional argument must raise mitogen.core.CallError
naming it. Last, exit(code=7) in context NAME-exit, which must end that call
with a ChannelError. Prints "ok calls=N" and exits 0; exits 1 at the first
difference.
"""
import functools
import sys
import zlib

import mitogen
import mitogen.core
import mitogen.unix

import interop_util

NAME = 'context_kwargs.py'
SERVICE = 'faultmux.ContextService'
builtin = interop_util.builtin
payload = interop_util.payload
expect_call_error = functools.partial(interop_util.expect_call_error, NAME)


def main():
    path, name, timeout = interop_util.arguments(NAME, __doc__, str, str, float)
    errors = interop_util.start(NAME, timeout)

    router, parent = mitogen.unix.connect(path)
    ctx = parent.call_service(SERVICE, 'get', name=name)['context']
    calls = 0

    def check(what, got, want):
        nonlocal calls
        calls += 1
        if type(got) is not type(want) or got != want:
            interop_util.fail(NAME, '%s: got %.200r, not %.200r' % (what, got, want))

    b = builtin
    check('echo(value=)', ctx.call(b('echo'), value=u'v\xe9'), u'v\xe9')
    check('echo(value=bytes)', ctx.call(b('echo'), value=b'\x00\xff'), b'\x00\xff')
    check('sleep(ms=)', ctx.call(b('sleep'), ms=5), None)
    data = bytes(range(256)) * 10
    check('checksum(data=)', ctx.call(b('checksum'), data=data), zlib.crc32(data))
    check('make_bytes(n=)', ctx.call(b('make_bytes'), n=1000), payload(1000, 1000))
    pid = ctx.call(b('getpid'))
    check('getpid()', type(pid) is int and pid > 0, True)
    ids = ctx.call(b('caller_ids'))
    check('caller_ids()', ids[0], mitogen.context_id)
    expect_call_error('fail(message=)', u'on purpose \xfc', ctx.call, b('fail'),
                      message=u'on purpose \xfc')
    check('log(levelno=, message=)',
          ctx.call(b('log'), levelno=20, message=u'kwargs reached log'), None)
    check('log(20, message=)', ctx.call(b('log'), 20, message=u'mixed reached log'), None)
    check('write_stderr(data=)', ctx.call(b('write_stderr'), data=b'kw line\n'), 8)
    check('spew(n=)', ctx.call(b('spew'), n=10), 10)
    check('echo_all(1, k=)', ctx.call(b('echo_all'), 1, k=2), ((1,), {u'k': 2}))
    kid = ctx.call(b('start_child'), name=u'kid')
    check('start_child(name=)', type(kid) is int and kid > 0, True)
    check('call_child(context_id=, function=, args=)',
          ctx.call(b('call_child'), context_id=kid, function=u'echo', args=(u'deep',)), u'deep')
    check('call_child(id, function=)',
          ctx.call(b('call_child'), kid, function=u'getpid') > 0, True)

    expect_call_error('echo(valu=)', "echo() got an unexpected keyword argument 'valu'",
                      ctx.call, b('echo'), valu=1)
    expect_call_error('echo(1, value=)', "echo() got multiple values for argument 'value'",
                      ctx.call, b('echo'), 1, value=2)
    expect_call_error('sleep(ms=, seconds=)', "sleep() got an unexpected keyword argument",
                      ctx.call, b('sleep'), ms=1, seconds=1)
    expect_call_error('getpid(n=)', "getpid() got an unexpected keyword argument 'n'",
                      ctx.call, b('getpid'), n=1)
    expect_call_error('crash(now=)', "crash() got an unexpected keyword argument 'now'",
                      ctx.call, b('crash'), now=True)
    expect_call_error('exit(status=)', "exit() got an unexpected keyword argument 'status'",
                      ctx.call, b('exit'), status=3)
    check('echo() after the refusals', ctx.call(b('echo'), value=1), 1)

    doomed = parent.call_service(SERVICE, 'get', name=name + '-exit')['context']
    try:
        got = doomed.call(b('exit'), code=7)
        interop_util.fail(NAME, 'exit(code=7) returned %r' % (got,))
    except mitogen.core.ChannelError:
        pass
    print('ok calls=%d' % (calls,))
    sys.stdout.flush()
    return interop_util.finish(NAME, router, errors)


if __name__ == '__main__':
    interop_util.run(NAME, main)
