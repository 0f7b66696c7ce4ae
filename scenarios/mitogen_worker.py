#!/usr/bin/python3
"""A scenario's worker that is a real Mitogen unix client (client = "mitogen").

Usage: mitogen_worker.py --connect PATH --events FILE [--uid N --gid N]
                         [--peer ID --count N --size B --in-flight K]
                         [--context NAME --function F --relay-to NAME]
                         [--reply-timeout-ms MS] [--connect-timeout-ms MS]

The driver starts it where it would start `faultmux worker`, with the same
workload options. It connects with mitogen.unix.connect(PATH), as an Ansible
worker of the mitogen strategy does, prints the hello line
("context_id=N parent_id=M") and writes the events a faultmux worker writes
(docs/events.md): connected, connect_failed, connection_lost, reply, call,
workload_done, workload_failed, and Mitogen's own warning and error lines as
log events.

Workloads:
  (none)    stay connected until SIGTERM (exit 0).
  --peer    echo: COUNT raw messages of SIZE bytes to the peer worker's echo
            handle (1000), IN_FLIGHT at a time, on one Receiver with no
            respondent; each reply checked in order.
  --context calls: get the context from the mux's faultmux.ContextService and
            make COUNT calls of faultmux.builtins.FUNCTION with
            context.call_async (IN_FLIGHT at a time), each bounded by the
            reply timeout.

It does only what Mitogen does by itself: no retry of a connect, no reconnect,
and a waiter ends when Mitogen wakes it (a reply, a dead message its router
delivers) or at its timeout. --uid/--gid: run as that user (the effective
uid and gid SO_PEERCRED reports) from before connecting, with file access kept
(the filesystem uid), so the mux's private socket is reached and its own uid
check decides.

Exit status: 0 when the workload is done and every reply was right; 1 when
one was not; 3 when it could not connect; 2 on bad usage or when Mitogen
cannot be imported.
"""
import argparse
import collections
import json
import logging
import os
import signal
import sys
import threading
import time

NAME = 'mitogen_worker.py'
ECHO_HANDLE = 1000  # wire/protocol.hpp: worker_echo_handle
SERVICE = 'faultmux.ContextService'

events_fd = None
# Set when Mitogen's stream to the mux disconnected: the workload sends
# nothing more (its waiters still end only as Mitogen ends them).
lost = threading.Event()


def emit(event, **fields):
    """One line of docs/events.md: t (CLOCK_MONOTONIC), pid, role, event, fields."""
    if events_fd is None:
        return
    ns = time.clock_gettime_ns(time.CLOCK_MONOTONIC)
    head = '{"t":%d.%09d,"pid":%d,"role":"worker","event":%s' % (
        ns // 10 ** 9, ns % 10 ** 9, os.getpid(), json.dumps(event))
    body = ''.join(',%s:%s' % (json.dumps(k), json.dumps(v)) for k, v in fields.items())
    os.write(events_fd, (head + body + '}\n').encode('utf-8', 'replace'))


class EventLog(logging.Handler):
    """Warning and error lines (Mitogen's and ours) as log events."""

    def __init__(self):
        logging.Handler.__init__(self, logging.WARNING)

    def emit(self, record):
        level = {'WARNING': 'warning', 'CRITICAL': 'critical'}.get(record.levelname, 'error')
        try:
            emit('log', level=level, msg='%s: %s' % (record.name, record.getMessage()))
        except Exception:
            pass


LOG = logging.getLogger('worker')


def now():
    return time.clock_gettime(time.CLOCK_MONOTONIC)


def payload(seq, size):
    """roles/payload.hpp's make_payload."""
    return bytes(((seq >> (56 - 8 * i)) if i < 8 else (seq * 31 + i)) & 0xff
                 for i in range(size))


def builtin(name):
    """A stand-in Mitogen sends as a call of faultmux.builtins.<name>."""
    def fn(*args, **kwargs):
        raise AssertionError('a faultmux built-in runs in its context')
    fn.__module__ = 'faultmux.builtins'
    fn.__name__ = fn.__qualname__ = name
    return fn


def percentile(values, q):
    values = sorted(values)
    return values[int(q * (len(values) - 1))] if values else 0.0


def finish(code):
    """Exits at once: Mitogen's broker thread must not keep the process."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


class Echo(object):
    """The echo workload: in order on one Receiver, as scenarios/mitogen_client.py."""

    def __init__(self, router, args):
        self.router, self.args = router, args
        self.replies = mitogen.core.Receiver(router, persist=True,
                                             policy=lambda msg, stream: True)
        self.outstanding = collections.deque()
        self.next = self.ok = self.failed = 0
        self.latencies = []

    def send_next(self):
        seq = self.next
        self.next += 1
        self.outstanding.append((seq, now()))
        self.router.route(mitogen.core.Message(
            data=payload(seq, self.args.size), dst_id=self.args.peer,
            handle=ECHO_HANDLE, reply_to=self.replies.handle))

    def on_reply(self, msg):
        seq, sent = self.outstanding.popleft()
        ms = (now() - sent) * 1000
        if msg.is_dead:
            self.failed += 1
            reason = msg.data.decode('utf-8', 'replace')
            LOG.error('message %d to context %d came back dead: %s', seq, self.args.peer,
                      reason)
            emit('reply', seq=seq, outcome='dead', reason=reason, error=reason, ms=ms)
        elif msg.data != payload(seq, self.args.size):
            self.failed += 1
            LOG.error('reply to message %d is wrong or out of order (%d bytes)', seq,
                      len(msg.data))
            emit('reply', seq=seq, outcome='mismatch')
        else:
            self.ok += 1
            self.latencies.append(ms / 1000)
            emit('reply', seq=seq, outcome='ok', ms=ms)

    def run(self):
        started = now()
        timeout = self.args.reply_timeout_ms / 1000.0
        while (self.next < self.args.count and not lost.is_set()) or self.outstanding:
            while (self.next < self.args.count and not lost.is_set()
                   and len(self.outstanding) < self.args.in_flight):
                self.send_next()
            try:
                msg = self.replies.get(timeout=timeout, throw_dead=False)
            except mitogen.core.TimeoutError:
                why = 'no reply for %d ms with %d messages outstanding' % (
                    self.args.reply_timeout_ms, len(self.outstanding))
                LOG.error('workload failed: %s', why)
                emit('workload_failed', why=why)
                self.failed += len(self.outstanding) + self.args.count - self.next
                break
            self.on_reply(msg)
        else:
            if self.next < self.args.count:
                self.failed += self.args.count - self.next
                connection_lost_failure()
        emit('workload_done', count=self.args.count, ok=self.ok, failed=self.failed,
             seconds=now() - started, p50_us=percentile(self.latencies, 0.5) * 1e6,
             p99_us=percentile(self.latencies, 0.99) * 1e6,
             max_us=percentile(self.latencies, 1.0) * 1e6)
        print('done ok=%d failed=%d' % (self.ok, self.failed))
        return self.failed == 0 and self.ok == self.args.count


class Calls(object):
    """The call workload: context.call_async of a built-in, K in flight."""

    def __init__(self, router, parent, args):
        self.router, self.parent, self.args = router, parent, args
        self.woken = collections.deque()
        self.wake = threading.Condition()
        self.pending = {}  # receiver -> (seq, sent)
        self.next = self.ok = self.failed = 0
        self.latencies = []
        self.target = self.relay = None

    def get_context(self, name):
        got = self.parent.call_service(SERVICE, 'get', name=name)
        return got['context']

    def acquire(self):
        """Asks for the contexts until the service gives them: a refusal (a
        CallError: the start failed) ends the call that needed them, and the
        next call asks anew, as each task of an Ansible run does."""
        while self.next < self.args.count:
            asked = now()
            try:
                self.target = self.get_context(self.args.context)
                if self.args.relay_to:
                    self.relay = self.get_context(self.args.relay_to)
            except mitogen.core.CallError as e:
                seq, self.next = self.next, self.next + 1
                emit('call', seq=seq, function=self.args.function, relayed_by=0,
                     outcome='call_error', ms=(now() - asked) * 1000, error=str(e))
                self.failed += 1
                LOG.error('call %d of %s not made: the context service failed: %s', seq,
                          self.args.function, e)
                continue
            print('target_context=%d' % (self.target.context_id,))
            emit('got_context', context=self.args.context, context_id=self.target.context_id)
            if self.relay is not None:
                emit('got_context', context=self.args.relay_to, context_id=self.relay.context_id)
            return True
        return False

    def call_args(self, seq):
        f, size = self.args.function, self.args.size
        if f in ('echo', 'checksum'):
            return (payload(seq, size),)
        if f in ('make_bytes', 'sleep'):
            return (size,)
        return ()

    def on_message(self, recv):
        with self.wake:
            self.woken.append(recv)
            self.wake.notify()

    def call_next(self):
        seq = self.next
        self.next += 1
        fn, args = builtin(self.args.function), self.call_args(seq)
        if self.relay is not None:
            fn, args = builtin('call_child'), (self.relay.context_id, self.args.function, args)
        recv = self.target.call_async(fn, *args)
        self.pending[recv] = (seq, now())
        recv.notify = self.on_message
        if not recv.empty():
            self.on_message(recv)

    def check(self, seq, result):
        f, size = self.args.function, self.args.size
        if f == 'echo' and result != payload(seq, size):
            return 'echo returned other bytes'
        if f == 'checksum' and result != zlib.crc32(payload(seq, size)):
            return 'wrong crc32'
        if f == 'make_bytes' and result != payload(size, size):
            return 'make_bytes returned other bytes'
        if f == 'getpid' and not (isinstance(result, int) and result > 0):
            return 'getpid returned no pid'
        if f == 'sleep' and result is not None:
            return 'sleep returned something'
        if f == 'caller_ids':
            relayed = self.relay is not None
            want = ((self.target.context_id, self.target.context_id) if relayed
                    else (mitogen.context_id, self.parent.context_id))
            if tuple(result or ()) != want:
                return 'caller_ids: the context saw %r, expected %r' % (result, want)
        return ''

    def outcome(self, seq, sent, what, problem):
        ms = (now() - sent) * 1000
        emit('call', seq=seq, function=self.args.function,
             relayed_by=self.target.context_id if self.relay is not None else 0,
             outcome=what, ms=ms, error=problem)
        if problem:
            self.failed += 1
            LOG.error('call %d of %s in context %d failed (%s): %s', seq, self.args.function,
                      self.target.context_id, what, problem)
        else:
            self.ok += 1
            self.latencies.append(ms)

    def settle(self, recv):
        seq, sent = self.pending.pop(recv)
        msg = recv.get(block=False, throw_dead=False)
        if msg.is_dead:
            return self.outcome(seq, sent, 'disconnected', msg.data.decode('utf-8', 'replace'))
        try:
            result = msg.unpickle()
        except mitogen.core.CallError as e:
            return self.outcome(seq, sent, 'call_error', str(e))
        except Exception as e:
            return self.outcome(seq, sent, 'bad_reply', '%s: %s' % (type(e).__name__, e))
        problem = self.check(seq, result)
        self.outcome(seq, sent, 'wrong' if problem else 'result', problem)

    def expire(self):
        """Calls past their reply timeout end as timeouts; their receivers stay open."""
        limit = self.args.reply_timeout_ms / 1000.0
        for recv, (seq, sent) in list(self.pending.items()):
            if now() - sent >= limit:
                del self.pending[recv]
                recv.notify = None
                self.outcome(seq, sent, 'timeout',
                             'no reply within %d ms' % (self.args.reply_timeout_ms,))

    def wait_one(self):
        limit = self.args.reply_timeout_ms / 1000.0
        first = min(sent for _, sent in self.pending.values())
        with self.wake:
            if not self.woken:
                self.wake.wait(max(0.0, first + limit - now()))
            woken = list(self.woken)
            self.woken.clear()
        for recv in woken:
            if recv in self.pending:
                self.settle(recv)
        self.expire()

    def run(self):
        started = now()
        try:
            acquired = self.acquire()
        except Exception as e:
            why = 'the context service failed: %s: %s' % (type(e).__name__, e)
            LOG.error('call workload failed: %s', why)
            emit('workload_failed', why=why)
            self.failed = self.args.count
        else:
            while acquired and ((self.next < self.args.count and not lost.is_set()) or self.pending):
                while (self.next < self.args.count and not lost.is_set()
                       and len(self.pending) < self.args.in_flight):
                    self.call_next()
                if self.pending:
                    self.wait_one()
            if self.next < self.args.count:
                self.failed += self.args.count - self.next
                connection_lost_failure()
        emit('workload_done', count=self.args.count, ok=self.ok, failed=self.failed,
             seconds=now() - started, p50_ms=percentile(self.latencies, 0.5),
             p99_ms=percentile(self.latencies, 0.99))
        print('done ok=%d failed=%d' % (self.ok, self.failed))
        return self.failed == 0 and self.ok == self.args.count


def connection_lost_failure():
    why = 'connection to the mux lost'
    LOG.error('workload failed: %s', why)
    emit('workload_failed', why=why)


def errno_name(n):
    import errno as errno_mod
    return errno_mod.errorcode.get(n, 'EOF') if n else 'EOF'


def connect(args):
    """mitogen.unix.connect(), as a field client calls it; None when it failed."""
    try:
        return mitogen.unix.connect(args.connect)
    except mitogen.core.Error as e:
        err = errno_name(getattr(e, 'errno', 0))
        detail = 'cannot connect to %s: %s' % (args.connect, e)
    except Exception as e:
        # Mitogen 0.3.3 unpacks a short identity reply without a check.
        err = 'EOF'
        detail = ('cannot connect to %s: the connection ended during the handshake '
                  '(Mitogen: %s: %s)' % (args.connect, type(e).__name__, e))
    LOG.error('%s', detail)
    emit('connect_failed', path=args.connect, errno=err, detail=detail)
    return None


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--connect', required=True)
    p.add_argument('--events')
    p.add_argument('--uid', type=int)
    p.add_argument('--gid', type=int)
    p.add_argument('--connect-timeout-ms', type=int, default=10000)  # Mitogen has none
    p.add_argument('--reply-timeout-ms', type=int, default=10000)
    p.add_argument('--peer', type=int)
    p.add_argument('--count', type=int, default=0)
    p.add_argument('--size', type=int, default=64)
    p.add_argument('--in-flight', type=int, default=1)
    p.add_argument('--context')
    p.add_argument('--function', default='echo')
    p.add_argument('--relay-to')
    return p.parse_args()


def drop_privileges(args):
    """Runs as --uid from here on, as SO_PEERCRED sees it (the effective uid
    and gid), but reaches files as before (the filesystem uid): the mux's
    socket sits in a private directory, and what is tested is the mux's own
    uid check behind it."""
    if args.uid is None:
        return
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    real_uid, real_gid = os.getuid(), os.getgid()
    os.setgroups([])
    os.setresgid(real_gid, args.gid if args.gid is not None else args.uid, real_gid)
    os.setresuid(real_uid, args.uid, real_uid)
    # setfsuid() returns the previous value and sets no errno: read it back.
    libc.setfsuid(real_uid)
    libc.setfsgid(real_gid)
    if libc.setfsuid(-1) != real_uid:
        raise OSError('setfsuid(%d) did not take' % (real_uid,))


def main():
    global events_fd, mitogen, zlib
    # SIGTERM (the driver ending its workers): a connect worker leaves
    # cleanly (exit 0); a workload still running ends unfinished (exit 1).
    stop = threading.Event()
    busy = []

    def on_term(*_):
        if busy:
            finish(1)
        stop.set()
    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    args = parse_args()
    if args.events:
        events_fd = os.open(args.events, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr,
                        format=NAME + ': %(levelname)s %(name)s: %(message)s')
    logging.getLogger().addHandler(EventLog())
    try:
        import mitogen
        import mitogen.core
        import mitogen.unix
        import zlib
    except ImportError as e:
        sys.stderr.write('%s: cannot import mitogen (%s): install python3-mitogen\n' % (NAME, e))
        return 2
    drop_privileges(args)

    got = connect(args)
    if got is None:
        return 3
    router, parent = got
    print('context_id=%d parent_id=%d' % (mitogen.context_id, mitogen.parent_id))
    sys.stdout.flush()
    emit('connected', context_id=mitogen.context_id, parent_id=mitogen.parent_id)

    closing = []
    stream = router.stream_by_id(mitogen.parent_id)

    def on_disconnect():
        # Mitogen does not say why a stream ended: a closed or reset
        # connection is EOF to it.
        if not closing:
            emit('connection_lost', errno='EOF')
        lost.set()
        stop.set()
    mitogen.core.listen(stream, 'disconnect', on_disconnect)

    if args.context:
        busy.append(True)
        ok = Calls(router, parent, args).run()
    elif args.count > 0:
        busy.append(True)
        ok = Echo(router, args).run()
    else:
        while not stop.wait(0.2):
            pass
        ok = True
    del busy[:]
    closing.append(True)
    sys.stdout.flush()
    router.broker.shutdown()
    router.broker._thread.join(5)
    return 0 if ok else 1


if __name__ == '__main__':
    finish(main())
