"""Helpers shared by the interop programs.

Every program bounds its whole run with a watchdog (it exits 1 with a clear
message when its time is up) and fails when Mitogen logged any error, so a
frame or routing disagreement cannot go unnoticed.
"""
import logging
import os
import sys
import threading
import traceback


class _ErrorLog(logging.Handler):
    def __init__(self):
        logging.Handler.__init__(self, logging.ERROR)
        self.lines = []

    def emit(self, record):
        self.lines.append(self.format(record))


def start(name, timeout):
    """Arms the watchdog and the error log; returns the error log."""
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr,
                        format=name + ': %(levelname)s %(name)s: %(message)s')
    errors = _ErrorLog()
    logging.getLogger().addHandler(errors)

    def expire():
        sys.stderr.write('%s: timed out after %.1f s\n' % (name, timeout))
        sys.stderr.flush()
        os._exit(1)

    timer = threading.Timer(timeout, expire)
    timer.daemon = True
    timer.start()
    return errors


def fail(name, why):
    """Exits 1 at once: Mitogen's broker thread would keep sys.exit waiting."""
    sys.stdout.flush()
    sys.stderr.write('%s: FAILED: %s\n' % (name, why))
    sys.stderr.flush()
    os._exit(1)


def finish(name, router, errors):
    """Shuts the broker down; 0, or 1 when Mitogen logged an error."""
    router.broker.shutdown()
    router.broker.join()
    if errors.lines:
        sys.stderr.write('%s: FAILED: Mitogen logged %d error(s):\n%s\n'
                         % (name, len(errors.lines), '\n'.join(errors.lines)))
        return 1
    return 0


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
