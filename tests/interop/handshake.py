#!/usr/bin/python3
"""Shows that a real Mitogen client completes the unix handshake.

Usage: handshake.py PATH TIMEOUT

Connects with mitogen.unix.connect(PATH), then prints
"context_id=N parent_id=M stream=NAME": the id the listener assigned, the
listener's own id and the name Mitogen gave the stream (unix_listener.PID,
with the listener's pid from the handshake reply). As a check that frames
flow both ways afterwards, it sends a message to an unused handle of the
listener and expects the dead reply "invalid handle".
"""
import sys

import mitogen
import mitogen.core
import mitogen.unix

import interop_util

NAME = 'handshake.py'


def main():
    path, timeout = interop_util.arguments(NAME, __doc__, str, float)
    errors = interop_util.start(NAME, timeout)

    router, parent = mitogen.unix.connect(path)
    stream = router.stream_by_id(parent.context_id)
    print('context_id=%d parent_id=%d stream=%s'
          % (mitogen.context_id, mitogen.parent_id, stream.name))
    sys.stdout.flush()

    recv = mitogen.core.Receiver(router)
    router.route(mitogen.core.Message(dst_id=parent.context_id, handle=4000,
                                      reply_to=recv.handle, data=b'ping'))
    try:
        recv.get(timeout=timeout)
        interop_util.fail(NAME, 'message to an unused handle was not refused')
    except mitogen.core.TimeoutError:
        interop_util.fail(NAME, 'no reply within %.1f s' % (timeout,))
    except mitogen.core.ChannelError as e:
        if str(e) != 'invalid handle':
            interop_util.fail(NAME, 'unexpected dead reason %r' % (str(e),))
    print('invalid handle refused')
    return interop_util.finish(NAME, router, errors)


if __name__ == '__main__':
    interop_util.run(NAME, main)
