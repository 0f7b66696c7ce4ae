#!/usr/bin/python3
"""A Mitogen client that answers messages routed to it through a listener.

Usage: echo_server.py PATH TIMEOUT

Connects with mitogen.unix.connect(PATH), opens two receivers and prints
"context_id=N raw_handle=R pickled_handle=P". A message to R is answered
with msg.reply() carrying the same raw body; a message to P is unpickled
and answered with msg.reply(obj), pickled again. The pickled string 'stop'
is answered with 'stopped' and ends the program (exit 0). Exits 1 when
nothing arrives for TIMEOUT seconds or Mitogen logged an error.
"""
import sys

import mitogen
import mitogen.core
import mitogen.select
import mitogen.unix

import interop_util

NAME = 'echo_server.py'


def main():
    path, timeout = interop_util.arguments(NAME, __doc__, str, float)
    errors = interop_util.start(NAME, timeout)

    router, _ = mitogen.unix.connect(path)
    raw = mitogen.core.Receiver(router)
    pickled = mitogen.core.Receiver(router)
    print('context_id=%d raw_handle=%d pickled_handle=%d'
          % (mitogen.context_id, raw.handle, pickled.handle))
    sys.stdout.flush()

    served = {'raw': 0, 'pickled': 0}
    select = mitogen.select.Select([raw, pickled], oneshot=False)
    while True:
        try:
            msg = select.get(timeout=timeout)
        except mitogen.core.TimeoutError:
            interop_util.fail(NAME, 'no message within %.1f s' % (timeout,))
        if msg.is_dead:
            interop_util.fail(NAME, 'dead message: %r' % (msg.data,))
        if msg.receiver is raw:
            msg.reply(mitogen.core.Message(data=msg.data))
            served['raw'] += 1
            continue
        obj = msg.unpickle()
        if obj == 'stop':
            msg.reply('stopped')
            break
        msg.reply(obj)
        served['pickled'] += 1

    print('served raw=%d pickled=%d' % (served['raw'], served['pickled']))
    sys.stdout.flush()
    return interop_util.finish(NAME, router, errors)


if __name__ == '__main__':
    interop_util.run(NAME, main)
