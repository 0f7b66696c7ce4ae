"""What the Mitogen programs of this directory share (mitogen_client.py,
mitogen_mux.py; the interop tests use it too): importing Mitogen, from
Debian's python3-mitogen or a source tree given by --mitogen-src, and
failing a run on the error lines Mitogen logs.
"""
import importlib
import logging
import os
import sys


class ErrorLog(logging.Handler):
    """Mitogen's error lines, which make the run fail."""

    def __init__(self):
        logging.Handler.__init__(self, logging.ERROR)
        self.lines = []

    def emit(self, record):
        self.lines.append(self.format(record))


def import_mitogen(name, src, modules):
    """Imports Mitogen from src (a source tree: the directory holding
    mitogen/__init__.py) or the installed package, and its `modules`;
    returns the mitogen package. Exits 2, naming program `name`, when it
    cannot."""
    if src:
        if not os.path.isfile(os.path.join(src, 'mitogen', '__init__.py')):
            sys.stderr.write('%s: --mitogen-src %s: no mitogen/__init__.py there: give the '
                             'directory that holds the mitogen package\n' % (name, src))
            sys.exit(2)
        sys.path.insert(0, os.path.abspath(src))
    try:
        mitogen = importlib.import_module('mitogen')
        for module in modules:
            importlib.import_module(module)
    except ImportError as e:
        sys.stderr.write('%s: cannot import mitogen (%s): install python3-mitogen or give '
                         '--mitogen-src\n' % (name, e))
        sys.exit(2)
    return mitogen


def log_errors(name):
    """Logs warnings and errors to stderr as program `name`; returns the
    ErrorLog collecting the errors."""
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr,
                        format=name + ': %(levelname)s %(name)s: %(message)s')
    errors = ErrorLog()
    logging.getLogger().addHandler(errors)
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
