"""Helpers shared by the interop programs.

Every program bounds its whole run with a watchdog (it exits 1 with a clear
message when its time is up) and fails when Mitogen logged any error, so a
frame or routing disagreement cannot go unnoticed. The error log, fail and
finish are scenarios/mitogen_common.py's, which the Mitogen workloads use.
"""
import os
import sys
import threading
import traceback

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, os.pardir,
                                'scenarios'))
from mitogen_common import fail, finish, log_errors  # noqa: E402 (after the path it needs)


def arguments(name, doc, *types):
    """The program's arguments, one for each of `types`, converted by it;
    with any other number, fails with the usage line of its docstring `doc`."""
    if len(sys.argv) != len(types) + 1:
        fail(name, doc.strip().splitlines()[2])
    return [convert(arg) for convert, arg in zip(types, sys.argv[1:])]


def start(name, timeout):
    """Arms the watchdog and the error log; returns the error log."""
    errors = log_errors(name)

    def expire():
        sys.stderr.write('%s: timed out after %.1f s\n' % (name, timeout))
        sys.stderr.flush()
        os._exit(1)

    timer = threading.Timer(timeout, expire)
    timer.daemon = True
    timer.start()
    return errors


def builtin(name):
    """A stand-in whose call Mitogen sends as faultmux.builtins.<name>."""
    def fn(*args, **kwargs):
        raise AssertionError('a faultmux built-in runs in its C++ context')
    fn.__module__ = 'faultmux.builtins'
    fn.__name__ = name
    fn.__qualname__ = name
    return fn


def payload(seq, size):
    """roles/payload.hpp's make_payload."""
    return bytes(((seq >> (56 - 8 * i)) if i < 8 else (seq * 31 + i)) & 0xff
                 for i in range(size))


def expect_call_error(name, what, want, fn, *args, **kwargs):
    """fn(*args, **kwargs) must raise mitogen.core.CallError naming `want`;
    else program `name` fails, saying `what`."""
    import mitogen.core
    try:
        got = fn(*args, **kwargs)
    except mitogen.core.CallError as e:
        if want not in str(e):
            fail(name, '%s: CallError %r lacks %r' % (what, str(e), want))
        return
    fail(name, '%s: no CallError, got %r' % (what, got))


def run(name, main):
    """Runs main(); an exception exits 1 at once with its traceback."""
    try:
        code = main()
    except Exception:
        traceback.print_exc()
        fail(name, 'uncaught exception')
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
