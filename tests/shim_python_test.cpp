// The syscall shim on real programs beyond the probe: /usr/bin/python3
// (CPython's sockets, programs closing every fd, exec'd children) and a real
// Mitogen listener and client, and a bad rule stopping a program before it
// runs.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/support/shim_fixture.hpp"

namespace faultmux::faults {
namespace {

TEST_F(Shim, BadRuleStopsTheProgramBeforeItRuns) {
  std::vector<std::string> args = {probe, "stream", dir.path(), "1", "recv", "send"};
  result r =
      run(dir, args, {"FAULTMUX_FAULTS=recv@accepted#1 -> EAGAIN; recv@acepted#1 -> EAGAIN"});
  EXPECT_EQ(r.status, 2);
  EXPECT_EQ(r.out, "") << "the program must not have run";
  EXPECT_THAT(r.err, HasSubstr("bad fault rule 2 in FAULTMUX_FAULTS, column 6: expected an fd "
                               "class"));
  EXPECT_THAT(r.err, HasSubstr("  recv@acepted#1 -> EAGAIN\n       ^\n"));

  std::ofstream(dir.file("bad.txt")) << "recv#1 -> EIO\nsend -> short\n";
  r = run(dir, args, {"FAULTMUX_FAULTS_FILE=" + dir.file("bad.txt")});
  EXPECT_EQ(r.status, 2);
  EXPECT_EQ(r.out, "");
  EXPECT_THAT(r.err,
              HasSubstr("bad fault rule 2 in " + dir.file("bad.txt") + " line 2, column 14"));

  r = run(dir, args, {"FAULTMUX_FAULTS_FILE=" + dir.file("missing.txt")});
  EXPECT_EQ(r.status, 2);
  EXPECT_THAT(r.err, HasSubstr("cannot read FAULTMUX_FAULTS_FILE " + dir.file("missing.txt")));

  r = run(dir, args, {"FAULTMUX_FAULTS=recv -> EIO", "FAULTMUX_SEED=12x"});
  EXPECT_EQ(r.status, 2);
  EXPECT_THAT(r.err, HasSubstr("FAULTMUX_SEED must be an unsigned integer"));

  r = run(dir, args, {"FAULTMUX_FAULTS=recv -> EIO", "FAULTMUX_FAULT_LOG=/nonexistent/dir/log"});
  EXPECT_EQ(r.status, 2);
  EXPECT_THAT(r.err, HasSubstr("cannot open FAULTMUX_FAULT_LOG /nonexistent/dir/log"));

  // CPython is stopped the same way, before any Python code runs.
  r = run(dir, {python, "-c", "print('ran')"}, {"FAULTMUX_FAULTS=accept p=2 -> EMFILE"});
  EXPECT_EQ(r.status, 2);
  EXPECT_EQ(r.out, "");
  EXPECT_THAT(r.err, HasSubstr("column 10: a probability must be > 0 and <= 1"));
}

// CPython: socket.accept is accept4, recv/recv_into are recv, send/sendall
// are send, os.read/os.write are read/write, os.dup is fcntl(F_DUPFD_CLOEXEC).
const char* const python_stream = R"PY(
import errno, os, signal, socket, sys
signal.alarm(20)  # a missed fault must fail the test, not hang it
path = os.path.join(sys.argv[1], 'py.sock')
lst = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
lst.bind(path)
lst.listen(4)
cli = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
cli.connect(path)
def attempt(what, fn):
    try:
        r = fn()
        print(what, 'ok', r if isinstance(r, bytes) else '')
        return r
    except OSError as e:
        print(what, errno.errorcode[e.errno])
attempt('accept', lst.accept)
srv, _ = lst.accept()
for i in range(3):
    cli.sendall(b'ping%d' % i)
    if attempt('server recv', lambda: srv.recv(5)) is None:
        attempt('server recv', lambda: srv.recv(5))
    srv.sendall(b'pong%d' % i)
    attempt('client recv', lambda: cli.recv(5))
dup = os.dup(srv.fileno())
cli.sendall(b'abc')
attempt('dup read', lambda: os.read(dup, 3))
attempt('dup read', lambda: os.read(dup, 3))
os.close(dup)
srv.close(); cli.close(); lst.close()
os.unlink(path)
)PY";

TEST_F(Shim, CPythonSocketsAreFaultedWhereAddressed) {
  std::ofstream(dir.file("stream.py")) << python_stream;
  result r = run(dir, {python, dir.file("stream.py"), dir.path()},
                 {"FAULTMUX_FAULTS=accept4@listener#1 -> EMFILE; recv@accepted#2 -> EAGAIN; "
                  "read@accepted#1 -> ECONNRESET",
                  "FAULTMUX_FAULT_LOG=" + log});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out,
            "accept EMFILE\n"
            "server recv ok b'ping0'\n"
            "client recv ok b'pong0'\n"
            "server recv EAGAIN\n"
            "server recv ok b'ping1'\n"
            "client recv ok b'pong1'\n"
            "server recv ok b'ping2'\n"
            "client recv ok b'pong2'\n"
            "dup read ECONNRESET\n"
            "dup read ok b'abc'\n");
  auto evs = events(log);
  ASSERT_EQ(evs.size(), 3u);
  EXPECT_EQ(evs[0]["call"], "accept4");
  EXPECT_EQ(evs[1]["call"], "recv");
  EXPECT_EQ(evs[2]["call"], "read");
  EXPECT_EQ(evs[2]["fd_class"], "accepted") << "os.dup keeps the class of the accepted socket";
}

// Programs that close every fd (daemons, child setup) must not silence the
// log: close() on it is refused as EBADF, close_range is survived by reopening.
const char* const python_closer = R"PY(
import os, signal, socket, sys
signal.alarm(20)
log = sys.argv[1]
mine = [int(f) for f in os.listdir('/proc/self/fd')
        if os.path.realpath('/proc/self/fd/' + f) == os.path.realpath(log)]
a, b = socket.socketpair()
a.send(b'1')
try:
    os.close(mine[0])
    print('closed the log fd')
except OSError as e:
    print('close:', os.strerror(e.errno))
a.detach()
b.detach()
os.closerange(3, 65536)
print('log fd open:', os.path.exists('/proc/self/fd/%d' % mine[0]))
a, b = socket.socketpair()
a.send(b'2')
)PY";

TEST_F(Shim, TheLogSurvivesProgramsClosingEveryFd) {
  std::ofstream(dir.file("closer.py")) << python_closer;
  result r = run(dir, {python, dir.file("closer.py"), log},
                 {"FAULTMUX_FAULTS=send@channel -> trace", "FAULTMUX_FAULT_LOG=" + log});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out,
            "close: Bad file descriptor\n"
            "log fd open: False\n");
  auto evs = events(log);
  ASSERT_EQ(evs.size(), 2u);
  EXPECT_EQ(evs[1]["n"], 2);
}

// A child started with subprocess (fork/vfork + exec) reads the environment
// afresh: its own role, its own counters.
const char* const python_exec = R"PY(
import os, signal, socket, subprocess, sys
signal.alarm(20)
child = r'''
import errno, socket
a, b = socket.socketpair()
for i in range(2):
    try:
        a.send(b'x')
        print('child send ok')
    except OSError as e:
        print('child send', errno.errorcode[e.errno])
'''
a, b = socket.socketpair()
a.send(b'x')
print('parent send ok')
env = dict(os.environ, FAULTMUX_ROLE='context')
out = subprocess.run([sys.executable, '-c', child], env=env, capture_output=True, text=True)
sys.stdout.write(out.stdout + out.stderr)
try:
    a.send(b'y')
    print('parent send ok')
except OSError as e:
    print('parent send', os.strerror(e.errno))
)PY";

TEST_F(Shim, ExecedChildrenReadTheirOwnEnvironment) {
  std::ofstream(dir.file("exec.py")) << python_exec;
  result r =
      run(dir, {python, dir.file("exec.py")},
          {"FAULTMUX_FAULTS=send@channel#1 role=context -> EPIPE; send@channel#2 role=mux -> "
           "EIO",
           "FAULTMUX_ROLE=mux", "FAULTMUX_FAULT_LOG=" + log});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out,
            "parent send ok\n"
            "child send EPIPE\n"
            "child send ok\n"
            "parent send Input/output error\n");
  // The child's sends did not advance the parent's count, nor the reverse.
  auto evs = events(log);
  ASSERT_EQ(evs.size(), 2u);
  EXPECT_EQ(evs[0]["role"], "context");
  EXPECT_EQ(evs[0]["n"], 1);
  EXPECT_EQ(evs[1]["role"], "mux");
  EXPECT_EQ(evs[1]["n"], 2);
}

// A channel to an exec'd child that is no faultmux context: named by the
// child's FAULTMUX_PEER, else its FAULTMUX_ROLE, but not by the role it
// inherited from this process, which says nothing about it.
const char* const python_children = R"PY(
import os, select, signal, socket, subprocess, sys
signal.alarm(20)
child = "import socket, sys\ns = socket.socket(fileno=int(sys.argv[1]))\ns.send(b'r')\ns.recv(1)\n"
for extra in ({}, {'FAULTMUX_ROLE': 'worker'}, {'FAULTMUX_PEER': 'good:1'}):
    a, b = socket.socketpair()
    env = dict(os.environ, **extra)
    p = subprocess.Popen([sys.executable, '-c', child, str(b.fileno())], env=env,
                         pass_fds=(b.fileno(),))
    b.close()
    select.select([a], [], [], 10)
    a.recv(1)
    a.send(b'x')
    p.wait()
    a.close()
print(os.getpid())
)PY";

TEST_F(Shim, AChannelToAChildIsNamedByItsOwnVariablesNotInheritedOnes) {
  std::ofstream(dir.file("children.py")) << python_children;
  result r = run(dir, {python, dir.file("children.py")},
                 {"FAULTMUX_FAULTS=recv@channel -> trace; send@channel -> trace",
                  "FAULTMUX_ROLE=mux", "FAULTMUX_FAULT_LOG=" + log});
  ASSERT_EQ(r.status, 0) << r.err;
  const int parent = std::stoi(r.out);
  std::vector<std::string> peers, up;
  for (const json& e : events(log))
    (e["pid"] == parent ? peers : up).push_back(e["peer"].get<std::string>());
  EXPECT_THAT(peers, ElementsAre("?", "?", "worker", "worker", "good:1", "good:1"));
  // Each child sees the parent: by the role it did not inherit ("worker"'s), else "?".
  EXPECT_THAT(up, ElementsAre("?", "?", "mux", "mux", "?", "?"));
}

// A real Mitogen 0.3.3 router and unix listener (scenarios/mitogen_mux.py)
// and a real Mitogen client, both under the shim.
const char* const mitogen_client = R"PY(
import signal, sys
signal.alarm(20)
import mitogen.master, mitogen.unix
broker = mitogen.master.Broker()
try:
    router, parent = mitogen.unix.connect(sys.argv[1], broker=broker)
    print('connected')
except Exception as e:
    # A dropped handshake surfaces as ConnectError or as a short identity.
    print('connect error')
finally:
    broker.shutdown()
    broker.join()
)PY";

bool have_mitogen(const test::run_dir& dir) {
  return run(dir, {python, "-c", "import mitogen.unix"}, {}, false).status == 0;
}

// Starts the Mitogen mux under the shim, runs the client, waits (up to 2 s)
// for `wait_for` to appear in the log, stops the mux. Returns the client's
// output.
std::string mitogen_round(const test::run_dir& dir, const std::string& rules,
                          const std::string& log, const std::string& wait_for = "") {
  std::string sock = dir.file("mitogen.sock");
  std::string mux_out = dir.file("mux.out");
  std::vector<std::string> envs;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string_view v(*e);
    if (!v.starts_with("FAULTMUX_") && !v.starts_with("LD_PRELOAD=")) envs.emplace_back(v);
  }
  envs.push_back(std::string("LD_PRELOAD=") + shim);
  envs.push_back("FAULTMUX_FAULTS=" + rules);
  envs.push_back("FAULTMUX_FAULT_LOG=" + log);
  envs.push_back("FAULTMUX_ROLE=mux");
  std::vector<char*> envp;
  for (auto& e : envs) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::string script = std::string(FAULTMUX_SOURCE_DIR) + "/scenarios/mitogen_mux.py";
  std::string listen = "--listen";
  std::vector<char*> argv = {const_cast<char*>(python), script.data(), listen.data(), sock.data(),
                             nullptr};
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, mux_out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&fa, 2, (mux_out + ".err").c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0644);
  pid_t mux = -1;
  int rc = posix_spawn(&mux, python, &fa, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) return "spawn failed";
  for (int i = 0; i < 1000 && test::slurp(mux_out).find("listening") == std::string::npos; ++i) {
    ::usleep(10'000);
  }
  std::ofstream(dir.file("client.py")) << mitogen_client;
  result client =
      run(dir, {python, dir.file("client.py"), sock},
          {"FAULTMUX_FAULTS=" + rules, "FAULTMUX_FAULT_LOG=" + log, "FAULTMUX_ROLE=context"});
  for (int i = 0; i < 200 && test::slurp(log).find(wait_for) == std::string::npos; ++i) {
    ::usleep(10'000);
  }
  ::kill(mux, SIGTERM);
  int status = 0;
  for (int i = 0; i < 500 && ::waitpid(mux, &status, WNOHANG) != mux; ++i) ::usleep(10'000);
  if (::waitpid(mux, &status, WNOHANG) == 0) {
    ::kill(mux, SIGKILL);
    ::waitpid(mux, &status, 0);
  }
  return client.out;
}

TEST_F(Shim, RealMitogenListenerAndClient) {
  ASSERT_TRUE(have_mitogen(dir)) << "python3-mitogen is not installed: run tools/install-deps";
  // trace changes nothing: it shows which calls Mitogen makes, on which fds.
  std::string out = mitogen_round(dir,
                                  "accept-like -> trace; connect -> trace; "
                                  "recv-like@accepted role=mux -> trace; "
                                  "send-like@accepted role=mux -> trace; "
                                  "recv-like@connecting role=context -> trace; "
                                  "send-like@connecting role=context -> trace",
                                  log, R"("role":"mux","index":0,"event":"fault","call":"read")");
  EXPECT_EQ(out, "connected\n");
  std::set<std::string> seen;
  for (const json& e : events(log)) {
    seen.insert(e["role"].get<std::string>() + " " + e["call"].get<std::string>() + "@" +
                e["fd_class"].get<std::string>());
  }
  // The listener accepts with accept4, reads the client's pid with recv and
  // answers with send, then streams with os.read/os.write (read/write).
  EXPECT_THAT(
      seen, testing::IsSupersetOf({"mux accept4@listener", "mux recv@accepted", "mux send@accepted",
                                   "mux read@accepted", "context connect@connecting",
                                   "context send@connecting", "context recv@connecting"}));

  // A reset while the listener reads the client's identity costs that
  // client its connection; the fault is logged where it happened.
  std::filesystem::remove(log);
  out = mitogen_round(dir, "recv@accepted#1 role=mux -> ECONNRESET", log);
  EXPECT_EQ(out, "connect error\n");
  auto evs = events(log);
  ASSERT_EQ(evs.size(), 1u);
  EXPECT_EQ(evs[0]["role"], "mux");
  EXPECT_EQ(evs[0]["call"], "recv");
  EXPECT_THAT(test::slurp(dir.file("mux.out.err")),
              HasSubstr("listener: failed to read remote identity"));
}

}  // namespace
}  // namespace faultmux::faults
