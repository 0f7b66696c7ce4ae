#!/usr/bin/python3
"""Shows the dead reply a listener sends for a context that does not exist.

Usage: no_route.py PATH DST TIMEOUT

Connects with mitogen.unix.connect(PATH) and sends a message to handle 1000
of context DST, which must not exist, with reply_to set to a receiver. The
listener answers with a dead message, for which Receiver.get() raises
ChannelError with the reason. Prints "ChannelError: REASON" and exits 0
when it came; exits 1 when the reply was not dead or never came.
"""
import sys

import mitogen
import mitogen.core
import mitogen.unix

import interop_util

NAME = 'no_route.py'


def main():
    path, dst, timeout = interop_util.arguments(NAME, __doc__, str, int, float)
    errors = interop_util.start(NAME, timeout)

    router, _ = mitogen.unix.connect(path)
    recv = mitogen.core.Receiver(router)
    router.route(mitogen.core.Message(dst_id=dst, handle=1000,
                                      reply_to=recv.handle, data=b'hello?'))
    try:
        msg = recv.get(timeout=timeout)
        interop_util.fail(NAME, 'the reply is not dead: %r' % (msg,))
    except mitogen.core.TimeoutError:
        interop_util.fail(NAME, 'no reply within %.1f s' % (timeout,))
    except mitogen.core.ChannelError as e:
        print('ChannelError: %s' % (e,))
    sys.stdout.flush()
    return interop_util.finish(NAME, router, errors)


if __name__ == '__main__':
    interop_util.run(NAME, main)
