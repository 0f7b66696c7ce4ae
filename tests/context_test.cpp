// Contexts and calls: the built-in functions answered by a real `faultmux
// context`, calls through two hops, what a pending call sees when a context
// dies (SIGKILL, exit(), crash()), the mux's faultmux.ContextService, a
// context's output and logs as its parent shows them, start failures, and
// that no test leaves a zombie or a process behind.
//
// Two set-ups: a real `faultmux mux` with `faultmux worker` processes or a
// client node in the test process (connected like a worker, its broker on
// its own thread); and, where the test needs to steer the parent itself, a
// root node with its children registry in the test process.
#include <dirent.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <fstream>
#include <future>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "roles/payload.hpp"
#include "roles/process.hpp"
#include "mux/call.hpp"
#include "mux/child.hpp"
#include "mux/children.hpp"
#include "mux/connect.hpp"
#include "mux/events.hpp"
#include "mux/id_allocator.hpp"
#include "mux/node.hpp"
#include "mux/pickle.hpp"
#include "tests/support/mux_process.hpp"
#include "tests/support/run_dir.hpp"

namespace faultmux {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;
using ms = std::chrono::milliseconds;
using test::eventually;
using test::run_dir;

constexpr const char* disconnected = "the respondent Context has disconnected";
// How soon a pending call must end after its context (or one on the way) dies.
constexpr double end_within_s = 0.100;

// --- processes, from /proc ---------------------------------------------------

struct proc_entry {
  pid_t pid = 0;
  pid_t ppid = 0;
  char state = '?';
  std::string comm, cmdline;
};

std::optional<proc_entry> read_proc(pid_t pid) {
  std::string stat = test::slurp("/proc/" + std::to_string(pid) + "/stat");
  auto open = stat.find('('), close = stat.rfind(')');
  if (open == std::string::npos || close == std::string::npos || close + 2 >= stat.size())
    return std::nullopt;
  proc_entry p;
  p.pid = pid;
  p.comm = stat.substr(open + 1, close - open - 1);
  std::istringstream rest(stat.substr(close + 2));
  rest >> p.state >> p.ppid;
  p.cmdline = test::slurp("/proc/" + std::to_string(pid) + "/cmdline");
  for (char& c : p.cmdline)
    if (c == '\0') c = ' ';
  return p;
}

std::vector<proc_entry> all_processes() {
  std::vector<proc_entry> out;
  DIR* d = ::opendir("/proc");
  if (!d) return out;
  while (dirent* e = ::readdir(d)) {
    char* end = nullptr;
    long pid = std::strtol(e->d_name, &end, 10);
    if (*end != '\0' || pid <= 0) continue;
    if (auto p = read_proc(static_cast<pid_t>(pid))) out.push_back(std::move(*p));
  }
  ::closedir(d);
  return out;
}

std::vector<proc_entry> zombie_children_of(pid_t parent) {
  std::vector<proc_entry> out;
  for (auto& p : all_processes())
    if (p.ppid == parent && p.state == 'Z') out.push_back(std::move(p));
  return out;
}

// Every process of a test names the test's run directory on its command
// line (socket, events file or script), so these are exactly its processes.
std::vector<proc_entry> processes_naming(const std::string& text) {
  std::vector<proc_entry> out;
  for (auto& p : all_processes())
    if (p.pid != ::getpid() && p.state != 'Z' && p.cmdline.find(text) != std::string::npos)
      out.push_back(std::move(p));
  return out;
}

bool process_gone(pid_t pid) {
  auto p = read_proc(pid);
  return !p || p->state == 'Z';
}

std::string describe(const std::vector<proc_entry>& ps) {
  std::string s;
  for (const auto& p : ps)
    s += fmt::format("\n  PID {} ({}, state {}, parent {}): {}", p.pid, p.comm, p.state, p.ppid,
                     p.cmdline);
  return s;
}

// Peak resident set of a process in KiB (VmHWM), -1 when it is gone.
long peak_rss_kib(pid_t pid) {
  std::istringstream in(test::slurp("/proc/" + std::to_string(pid) + "/status"));
  for (std::string line; std::getline(in, line);)
    if (line.starts_with("VmHWM:")) return std::stol(line.substr(6));
  return -1;
}

// After every test, once its objects are gone: nothing it started is still
// running, and the test process has no unreaped child. A base class, so that
// this runs after the fixture's members are destroyed.
class process_hygiene {
 protected:
  process_hygiene() {
    // crash() aborts on purpose: no core files in the tree or the run dir.
    rlimit rl{};
    ::getrlimit(RLIMIT_CORE, &rl);
    rl.rlim_cur = 0;
    ::setrlimit(RLIMIT_CORE, &rl);
    events::open(dir_.file("test.events"), "test");
  }
  ~process_hygiene() {
    events::close();
    std::vector<proc_entry> left;
    if (!eventually(
            [&] {
              left = processes_naming(dir_.path());
              return left.empty();
            },
            5s)) {
      ADD_FAILURE() << "processes left behind by the test:" << describe(left);
      for (const auto& p : left) ::kill(p.pid, SIGKILL);
    }
    auto zombies = zombie_children_of(::getpid());
    if (!zombies.empty())
      ADD_FAILURE() << "unreaped children of the test process:" << describe(zombies);
    for (const auto& z : zombies) ::waitpid(z.pid, nullptr, WNOHANG);
  }

  run_dir dir_;
};

// --- waiting on the broker thread ---------------------------------------------

// Runs fn on b's thread and waits for it (bounded).
void on_broker(broker& b, std::function<void()> fn, ms timeout = 30s) {
  auto done = std::make_shared<std::promise<void>>();
  auto f = done->get_future();
  b.defer([fn = std::move(fn), done] {
    fn();
    done->set_value();
  });
  if (f.wait_for(timeout) != std::future_status::ready)
    throw std::runtime_error("the broker thread did not run a task in time");
}

// Graceful end of a node whose broker runs on its own thread: every stream
// flushed and closed, every handler told, the thread joined.
void stop_node(node& n, std::function<void(std::function<void()>)> before = {}) {
  auto done = std::make_shared<std::promise<void>>();
  auto f = done->get_future();
  n.get_broker().defer([&n, before, done] {
    auto shut = [&n, done] { n.shutdown([done] { done->set_value(); }); };
    if (before)
      before(shut);
    else
      shut();
  });
  bool ok = f.wait_for(20s) == std::future_status::ready;
  n.get_broker().stop();
  n.get_broker().join();
  EXPECT_TRUE(ok) << "the node did not shut down within 20 s";
}

// A call's one outcome and when it came (CLOCK_MONOTONIC, on the broker thread).
struct pending_call {
  std::mutex mu;
  std::condition_variable cv;
  std::optional<call_outcome> outcome;
  double at = 0;

  std::optional<call_outcome> wait(ms timeout) {
    std::unique_lock lock(mu);
    cv.wait_for(lock, timeout, [&] { return outcome.has_value(); });
    return outcome;
  }
};

std::shared_ptr<pending_call> start_call(node& n, caller& c, call_spec spec,
                                         std::optional<ms> deadline = std::nullopt) {
  auto p = std::make_shared<pending_call>();
  n.get_broker().defer([&c, spec = std::move(spec), p, deadline]() mutable {
    c.start(
        std::move(spec),
        [p](call_outcome o) {
          std::lock_guard lock(p->mu);
          EXPECT_FALSE(p->outcome) << "a second outcome for one call";
          p->at = events::now();
          p->outcome = std::move(o);
          p->cv.notify_all();
        },
        deadline);
  });
  return p;
}

call_spec spec_of(std::uint32_t ctx, std::string fn, std::vector<pickle::value> args = {}) {
  call_spec s;
  s.context_id = ctx;
  s.function = std::move(fn);
  s.args.items = std::move(args);
  return s;
}

std::string kind_name(call_outcome::kind k) {
  switch (k) {
    case call_outcome::kind::result:
      return "result";
    case call_outcome::kind::remote_error:
      return "remote_error";
    case call_outcome::kind::dead:
      return "dead";
    case call_outcome::kind::bad_reply:
      return "bad_reply";
    case call_outcome::kind::timeout:
      return "timeout";
  }
  return "?";
}

std::string describe(const std::optional<call_outcome>& o) {
  if (!o) return "no outcome";
  if (o->what == call_outcome::kind::result) return "result " + pickle::to_string(o->result);
  return kind_name(o->what) + ": " + o->error;
}

// Sends body to dst's handle with a one-shot reply handle bound to dst and
// waits for the reply (a dead one included).
message request(node& n, std::uint32_t dst, std::uint32_t handle, std::string body,
                ms timeout = 30s) {
  auto p = std::make_shared<std::promise<message>>();
  auto f = p->get_future();
  n.get_broker().defer([&n, p, dst, handle, body = std::move(body)]() mutable {
    router& r = n.get_router();
    message m;
    m.dst_id = dst;
    m.handle = handle;
    m.data = std::move(body);
    m.reply_to = r.add_handler([p](message& reply) { p->set_value(reply); },
                               {.handle = {}, .persist = false, .policy = {}, .respondent = dst});
    r.route(std::move(m));
  });
  if (f.wait_for(timeout) != std::future_status::ready)
    throw std::runtime_error(fmt::format("no reply from context {} handle {}", dst, handle));
  return f.get();
}

std::string service_request(const std::string& method, pickle::kwargs kw) {
  return *pickle::encode(pickle::tuple{
      {pickle::text{"faultmux.ContextService"}, pickle::text{method}, std::move(kw)}});
}

std::string get_request(const std::string& name) {
  return service_request("get", pickle::kwargs{{{pickle::text{"name"}, pickle::text{name}}}});
}

// The context a ContextService reply names.
std::optional<pickle::context_ref> context_in(const message& reply) {
  if (reply.is_dead()) return std::nullopt;
  auto v = pickle::decode(reply.data);
  const auto* d = v ? v->get<pickle::dict>() : nullptr;
  if (!d) return std::nullopt;
  for (const auto& [k, val] : d->items) {
    const auto* key = k.get<pickle::text>();
    if (key && key->utf8 == "context" && val.is<pickle::context_ref>())
      return *val.get<pickle::context_ref>();
  }
  return std::nullopt;
}

// A client of a mux in the test process, connected as a worker is.
class client_node {
 public:
  explicit client_node(const std::string& socket,
                       std::uint64_t max_message_size = limits::max_message_size) {
    connection c = connect_unix(socket, 10s);
    id_ = c.context_id;
    mux_id_ = c.parent_id;
    node_config cfg;
    cfg.routing.context_id = c.context_id;
    cfg.routing.parent_ids = {c.parent_id};
    cfg.routing.max_message_size = cfg.streams.max_message_size = max_message_size;
    n_ = std::make_unique<node>(cfg);
    calls_ = std::make_unique<caller>(*n_);
    n_->attach(std::move(c.fd), fmt::format("unix_listener.{}", c.parent_pid), c.parent_id);
    n_->get_broker().start();
  }
  ~client_node() { stop_node(*n_); }

  node& get() { return *n_; }
  caller& calls() { return *calls_; }
  std::uint32_t id() const { return id_; }

  // faultmux.ContextService.get(name=...) on the mux: the context's id.
  std::uint32_t context(const std::string& name) {
    message reply = request(*n_, mux_id_, handle::call_service, get_request(name));
    auto ctx = context_in(reply);
    if (!ctx) {
      auto v = pickle::decode(reply.data);
      throw std::runtime_error("ContextService.get(" + name + ") answered " +
                               (reply.is_dead() ? "dead: " + reply.data
                                : v             ? pickle::to_string(*v)
                                                : "garbage"));
    }
    return static_cast<std::uint32_t>(ctx->id);
  }
  message service(std::string body) {
    return request(*n_, mux_id_, handle::call_service, std::move(body));
  }
  pickle::value call(std::uint32_t ctx, const std::string& fn, std::vector<pickle::value> args = {},
                     ms deadline = 30s) {
    return calls_->call(spec_of(ctx, fn, std::move(args)), deadline);
  }
  std::shared_ptr<pending_call> start(std::uint32_t ctx, const std::string& fn,
                                      std::vector<pickle::value> args = {}) {
    return start_call(*n_, *calls_, spec_of(ctx, fn, std::move(args)));
  }

 private:
  std::uint32_t id_ = 0, mux_id_ = 0;
  std::unique_ptr<node> n_;
  std::unique_ptr<caller> calls_;
};

// A root context in the test process with a children registry: the test
// is the parent of the contexts it starts.
class root_node {
 public:
  explicit root_node(children_config cfg)
      : n_(node_config{}),
        ids_(n_),
        kids_(n_, std::move(cfg), [this](auto done) { ids_.allocate(std::move(done)); }),
        calls_(n_) {
    n_.get_broker().start();
  }
  ~root_node() {
    stop_node(n_, [this](std::function<void()> then) { kids_.shutdown(3s, std::move(then)); });
  }

  struct started {
    std::optional<context_info> info;
    std::string error;
  };
  started start(const std::string& name, ms timeout = 30s) {
    auto p = std::make_shared<std::promise<started>>();
    auto f = p->get_future();
    n_.get_broker().defer([this, name, p] {
      kids_.start(name, [p](std::optional<context_info> info, const std::string& err) {
        p->set_value({info, err});
      });
    });
    if (f.wait_for(timeout) != std::future_status::ready)
      return {std::nullopt, "no outcome of the start in time"};
    return f.get();
  }
  std::size_t child_count() {
    std::size_t n = 0;
    on_broker(n_.get_broker(), [&] { n = kids_.count(); });
    return n;
  }

  node& get() { return n_; }
  caller& calls() { return calls_; }
  pickle::value call(std::uint32_t ctx, const std::string& fn, std::vector<pickle::value> args = {},
                     ms deadline = 30s) {
    return calls_.call(spec_of(ctx, fn, std::move(args)), deadline);
  }

 private:
  node n_;
  id_allocator ids_;
  children kids_;
  caller calls_;
};

children_config faultmux_children(const run_dir& dir) {
  children_config cfg;
  cfg.program = test::binary();
  cfg.events = dir.file("test.events");
  return cfg;
}

// --- reading what processes said ------------------------------------------------

std::vector<json> events_named(const std::string& path, std::string_view name) {
  std::vector<json> out;
  for (auto& e : test::read_events(path))
    if (e.value("event", "") == name) out.push_back(std::move(e));
  return out;
}

// The pid the child_start event gives for the context called `name`.
std::optional<pid_t> pid_of_child(const std::string& events, const std::string& name,
                                  ms timeout = 10s) {
  auto e = test::wait_event(
      events,
      [&](const json& e) {
        return e.value("event", "") == "child_start" && e.value("child", "") == name;
      },
      timeout);
  if (!e) return std::nullopt;
  return (*e)["child_pid"].get<pid_t>();
}

bool text_appears(const std::function<std::string()>& read, const std::string& needle,
                  ms timeout = 10s) {
  return eventually([&] { return read().find(needle) != std::string::npos; }, timeout);
}

std::size_t count_of(const std::string& hay, const std::string& needle) {
  std::size_t n = 0;
  for (auto at = hay.find(needle); at != std::string::npos; at = hay.find(needle, at + 1)) ++n;
  return n;
}

bool exited_with(const std::optional<int>& st, int code) {
  return st && WIFEXITED(*st) && WEXITSTATUS(*st) == code;
}

// SIGTERM, a clean exit within 20 s, and no child of the mux left unreaped
// before that.
void stop_mux(test::mux_process& mux) {
  auto zombies = zombie_children_of(mux.pid());
  EXPECT_TRUE(eventually([&] { return (zombies = zombie_children_of(mux.pid())).empty(); }, 2s))
      << "unreaped children of the mux:" << describe(zombies);
  mux.proc().signal(SIGTERM);
  auto st = mux.proc().wait(20s);
  EXPECT_TRUE(exited_with(st, 0)) << "mux: " << (st ? describe_status(*st) : "still running")
                                  << "\n"
                                  << mux.stderr_text();
}

// CRC-32 (IEEE), bit by bit: an independent check of checksum().
std::uint32_t reference_crc32(std::string_view s) {
  std::uint32_t c = 0xffffffffu;
  for (unsigned char b : s) {
    c ^= b;
    for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1u)));
  }
  return ~c;
}

std::string all_bytes(std::size_t repeat = 1) {
  std::string s;
  for (std::size_t r = 0; r < repeat; ++r)
    for (int i = 0; i < 256; ++i) s += static_cast<char>(i);
  return s;
}

std::string write_script(const run_dir& dir, const std::string& name, const std::string& body,
                         mode_t mode = 0755) {
  std::string path = dir.file(name);
  std::ofstream(path) << body;
  ::chmod(path.c_str(), mode);
  return path;
}

class contexts : public process_hygiene, public testing::Test {};

// --- the pieces a parent reads a child's output with -----------------------------

TEST(child_output, latin1_decoding_is_total) {
  std::string text = latin1_to_utf8(all_bytes());
  auto check = pickle::utf8::check(text, false);
  EXPECT_TRUE(check.ok) << "invalid UTF-8 at " << check.bad_offset;
  EXPECT_EQ(check.code_points, 256u);
  EXPECT_EQ(latin1_to_utf8("\xe9t\xe9"), "\xc3\xa9t\xc3\xa9");
}

TEST(child_output, line_splitter_cuts_long_lines_and_keeps_memory_bounded) {
  std::vector<std::pair<std::string, bool>> lines;
  line_splitter s(8, [&](std::string_view l, bool cut) { lines.emplace_back(l, cut); });
  s.feed("ab");
  s.feed("c\nd");
  s.feed("e\n\n");
  s.feed("0123456789abcdef");  // 16 bytes, no newline: cut at 8, rest dropped
  EXPECT_LE(s.buffered(), 8u);
  for (int i = 0; i < 1000; ++i) s.feed(std::string(4096, 'x'));
  EXPECT_LE(s.buffered(), 8u);
  s.feed("tail\nnext");
  s.finish();
  std::vector<std::pair<std::string, bool>> want{
      {"abc", false}, {"de", false}, {"", false}, {"01234567", true}, {"next", false}};
  EXPECT_EQ(lines, want);

  // Exactly the limit is a whole line, not a cut one.
  lines.clear();
  line_splitter exact(4, [&](std::string_view l, bool cut) { lines.emplace_back(l, cut); });
  exact.feed("abcd");
  exact.feed("\nefgh\n");
  EXPECT_EQ(lines, (std::vector<std::pair<std::string, bool>>{{"abcd", false}, {"efgh", false}}));
}

// --- calls into a context started by the test process -----------------------------

TEST_F(contexts, every_builtin_answers_through_a_real_context) {
  root_node root(faultmux_children(dir_));
  auto a = root.start("a");
  ASSERT_TRUE(a.info) << a.error;
  const std::uint32_t id = a.info->id;

  // echo: every value type the codec carries comes back equal, bit for bit.
  std::vector<pickle::value> values{
      pickle::none,
      true,
      false,
      0,
      -1,
      std::numeric_limits<std::int64_t>::min(),
      std::numeric_limits<std::int64_t>::max(),
      std::numeric_limits<std::uint64_t>::max(),  // a big int
      pickle::int_from_le(std::string(40, '\x81')),
      3.5,
      -0.0,
      std::numeric_limits<double>::infinity(),
      pickle::text{""},
      pickle::text{"h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80 \x00 end"},
      pickle::bytes{""},
      pickle::bytes{all_bytes()},
      pickle::bytes{all_bytes(4096)},  // 1 MiB
      pickle::tuple{},
      pickle::tuple{{1, pickle::tuple{{2, pickle::tuple{{3, pickle::bytes{"\x00\xff"}}}}}}},
      pickle::list{{1, pickle::list{{pickle::none, pickle::text{"x"}}}, pickle::dict{}}},
      pickle::dict{{{pickle::text{"k"}, pickle::bytes{all_bytes()}},
                    {1, pickle::tuple{{pickle::dict{{{pickle::bytes{"b"}, 2.25}}}}}},
                    {pickle::tuple{{1, 2}}, pickle::list{}}}},
      pickle::blob{all_bytes()},
      pickle::secret{"s\xc3\xa9"
                     "cret"},
      pickle::context_ref{id, "a"},
      pickle::context_ref{7, std::nullopt},
      pickle::sender_ref{id, 1234},
  };
  for (const auto& v : values) {
    pickle::value got;
    ASSERT_NO_THROW(got = root.call(id, "echo", {v})) << pickle::to_string(v);
    EXPECT_EQ(got, v) << "sent " << pickle::to_string(v).substr(0, 200) << "\ngot "
                      << pickle::to_string(got).substr(0, 200);
  }
  // Keyword arguments arrive as well.
  pickle::kwargs kw{{{pickle::text{"x"}, 1}, {pickle::text{"y\xc3\xbc"}, pickle::bytes{"\xff"}}}};
  call_spec all = spec_of(id, "echo_all", {1, pickle::text{"two"}});
  all.kwargs = kw;
  EXPECT_EQ(root.calls().call(all, 30s),
            pickle::value(
                pickle::tuple{{pickle::tuple{{1, pickle::text{"two"}}}, pickle::dict{kw.items}}}));

  // checksum is CRC-32.
  for (const std::string& b : {std::string(), std::string("123456789"), all_bytes(1000)}) {
    auto got = root.call(id, "checksum", {pickle::bytes{b}});
    ASSERT_TRUE(got.is<std::int64_t>()) << pickle::to_string(got);
    EXPECT_EQ(*got.get<std::int64_t>(), reference_crc32(b));
  }
  EXPECT_EQ(reference_crc32("123456789"), 0xcbf43926u);

  // make_bytes: the deterministic payload of that size.
  for (std::size_t n : {std::size_t{0}, std::size_t{1}, std::size_t{100000}}) {
    auto got = root.call(id, "make_bytes", {static_cast<std::int64_t>(n)});
    ASSERT_TRUE(got.is<pickle::bytes>());
    EXPECT_EQ(got.get<pickle::bytes>()->data, make_payload(n, n));
  }

  // getpid: the pid the registry started.
  EXPECT_EQ(root.call(id, "getpid"), pickle::value(a.info->pid));
  // caller_ids: the request's ids as the context received them: ours (the
  // root's, 0) as src_id and auth_id.
  EXPECT_EQ(root.call(id, "caller_ids"), pickle::value(pickle::tuple{{0, 0}}));
  auto p = read_proc(a.info->pid);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->ppid, ::getpid());

  // sleep: takes its time and returns None.
  double t0 = events::now();
  EXPECT_EQ(root.call(id, "sleep", {200}), pickle::value(pickle::none));
  EXPECT_GE(events::now() - t0, 0.2);

  // fail, an unknown function, a bad argument: CallError with the reason.
  auto error_of = [&](const std::string& module, const std::string& fn,
                      std::vector<pickle::value> args) -> std::string {
    call_spec s = spec_of(id, fn, std::move(args));
    s.module = module;
    try {
      auto v = root.calls().call(s, 30s);
      return "no error: " + pickle::to_string(v);
    } catch (const call_error& e) {
      return e.what();
    } catch (const std::exception& e) {
      return std::string("not a call_error: ") + e.what();
    }
  };
  std::string failed =
      error_of("faultmux.builtins", "fail", {pickle::text{"br\xc3\xbbl\xc3\xa9 on purpose"}});
  EXPECT_NE(failed.find("br\xc3\xbbl\xc3\xa9 on purpose"), std::string::npos) << failed;
  EXPECT_NE(failed.find("faultmux.builtins.fail"), std::string::npos) << failed;
  std::string unknown = error_of("faultmux.builtins", "no_such_function", {});
  EXPECT_NE(unknown.find("no function faultmux.builtins.no_such_function"), std::string::npos)
      << unknown;
  std::string other_module = error_of("os", "system", {pickle::text{"true"}});
  EXPECT_NE(other_module.find("no function os.system"), std::string::npos) << other_module;
  std::string bad_arg = error_of("faultmux.builtins", "checksum", {5});
  EXPECT_NE(bad_arg.find("must be bytes"), std::string::npos) << bad_arg;
  std::string missing_arg = error_of("faultmux.builtins", "echo", {});
  EXPECT_NE(missing_arg.find("echo() takes at least 1 arguments"), std::string::npos)
      << missing_arg;

  // The context still serves after all that.
  EXPECT_EQ(root.call(id, "echo", {pickle::text{"still here"}}), pickle::value("still here"));
}

// Calls to one context run one at a time and are answered in the order they
// were sent, however they are run (a quick function may run on the broker
// thread, sleep runs on the dispatcher's).
TEST_F(contexts, pipelined_calls_are_answered_in_order) {
  root_node root(faultmux_children(dir_));
  auto a = root.start("a");
  ASSERT_TRUE(a.info) << a.error;
  const std::uint32_t id = a.info->id;
  std::vector<std::pair<std::string, std::vector<pickle::value>>> plan;
  for (int round = 0; round < 5; ++round) {
    plan.push_back({"echo", {round}});
    plan.push_back({"sleep", {20}});
    for (int i = 0; i < 5; ++i)
      plan.push_back({"echo", {pickle::text{fmt::format("{}.{}", round, i)}}});
    plan.push_back({"getpid", {}});
    plan.push_back({"checksum", {pickle::bytes{"123456789"}}});
  }
  std::vector<std::shared_ptr<pending_call>> calls;
  for (const auto& [fn, args] : plan)
    calls.push_back(start_call(root.get(), root.calls(), spec_of(id, fn, args)));
  double previous = 0;
  for (std::size_t i = 0; i < calls.size(); ++i) {
    auto o = calls[i]->wait(30s);
    ASSERT_TRUE(o && o->what == call_outcome::kind::result) << i << ": " << describe(o);
    const auto& [fn, args] = plan[i];
    pickle::value want = pickle::none;
    if (fn == "echo") want = args[0];
    if (fn == "getpid") want = a.info->pid;
    if (fn == "checksum") want = 0xcbf43926u;
    EXPECT_EQ(o->result, want) << i << ": " << fn;
    EXPECT_GE(calls[i]->at, previous)
        << "call " << i << " (" << fn << ") answered before call " << i - 1;
    previous = calls[i]->at;
  }
}

// A deadline ends a call that takes longer, once; its late reply is dropped
// and the context serves on.
TEST_F(contexts, a_call_past_its_deadline_ends_as_a_timeout) {
  root_node root(faultmux_children(dir_));
  auto a = root.start("a");
  ASSERT_TRUE(a.info) << a.error;
  double t0 = events::now();
  auto slow = start_call(root.get(), root.calls(), spec_of(a.info->id, "sleep", {400}), 100ms);
  auto o = slow->wait(5s);
  ASSERT_TRUE(o);
  EXPECT_EQ(o->what, call_outcome::kind::timeout) << describe(o);
  EXPECT_EQ(o->error, "no reply within 100 ms");
  EXPECT_GE(slow->at - t0, 0.1);
  EXPECT_LT(slow->at - t0, 0.4);
  // The next call waits for the sleep to end, then is answered; the sleep's
  // own reply, arriving in between, goes nowhere.
  EXPECT_EQ(root.call(a.info->id, "echo", {pickle::text{"after"}}), pickle::value("after"));
  EXPECT_GE(events::now() - t0, 0.4);
  // The receiver side of the API: call_timeout, and the call still ends.
  try {
    root.call(a.info->id, "sleep", {300}, 50ms);
    ADD_FAILURE() << "no call_timeout";
  } catch (const call_timeout& e) {
    EXPECT_EQ(std::string(e.what()), "no reply within 50 ms");
  }
  EXPECT_EQ(root.call(a.info->id, "getpid"), pickle::value(a.info->pid));
}

TEST_F(contexts, a_grandchild_answers_through_two_hops) {
  root_node root(faultmux_children(dir_));
  auto a = root.start("a");
  ASSERT_TRUE(a.info) << a.error;
  auto b_id = root.call(a.info->id, "start_child", {pickle::text{"b"}});
  ASSERT_TRUE(b_id.is<std::int64_t>()) << pickle::to_string(b_id);
  const auto b = static_cast<std::uint32_t>(*b_id.get<std::int64_t>());
  EXPECT_NE(b, a.info->id);

  // a started b: a's child_start event, and /proc, say so.
  auto b_pid = pid_of_child(dir_.file("test.events"), "b");
  ASSERT_TRUE(b_pid);
  auto bp = read_proc(*b_pid);
  ASSERT_TRUE(bp);
  EXPECT_EQ(bp->ppid, a.info->pid);

  // Straight to b through the routes (test -> a -> b) ...
  EXPECT_EQ(root.call(b, "getpid"), pickle::value(*b_pid));
  pickle::value big = pickle::bytes{all_bytes(4096)};
  EXPECT_EQ(root.call(b, "echo", {big}), big);
  // ... and by asking a to call its child.
  EXPECT_EQ(
      root.call(a.info->id, "call_child",
                {static_cast<std::int64_t>(b), pickle::text{"echo"},
                 pickle::tuple{{pickle::tuple{
                     {pickle::text{"via a"}, pickle::bytes{std::string(1, '\0')}}}}}}),
      pickle::value(pickle::tuple{{pickle::text{"via a"}, pickle::bytes{std::string(1, '\0')}}}));
  EXPECT_EQ(root.call(a.info->id, "call_child",
                      {static_cast<std::int64_t>(b), pickle::text{"getpid"}, pickle::tuple{}}),
            pickle::value(*b_pid));
  // An error in b comes back through a as a CallError naming b's failure.
  try {
    root.call(a.info->id, "call_child",
              {static_cast<std::int64_t>(b), pickle::text{"fail"},
               pickle::tuple{{pickle::text{"deep failure"}}}});
    ADD_FAILURE() << "call_child of fail did not fail";
  } catch (const call_error& e) {
    EXPECT_NE(std::string(e.what()).find("deep failure"), std::string::npos) << e.what();
  }
}

// --- start failures ------------------------------------------------------------

class start_failure : public process_hygiene, public testing::Test {
 protected:
  root_node::started start_with(const std::string& program, ms hello_timeout = 10s) {
    children_config cfg = faultmux_children(dir_);
    cfg.program = program;
    cfg.hello_timeout = hello_timeout;
    root_node root(cfg);
    auto s = root.start("doomed");
    EXPECT_FALSE(s.info) << "started: context " << (s.info ? s.info->id : 0);
    // Forgotten once it is reaped.
    EXPECT_TRUE(eventually([&] { return root.child_count() == 0; }, 5s));
    auto zombies = zombie_children_of(::getpid());
    EXPECT_TRUE(zombies.empty()) << "unreaped:" << describe(zombies);
    return s;
  }
};

TEST_F(start_failure, missing_binary_names_the_program) {
  std::string program = dir_.file("no-such-faultmux");
  auto s = start_with(program);
  EXPECT_NE(s.error.find(program), std::string::npos) << s.error;
  EXPECT_NE(s.error.find("No such file or directory"), std::string::npos) << s.error;
  EXPECT_NE(s.error.find("doomed"), std::string::npos) << s.error;
}

TEST_F(start_failure, a_program_that_is_not_executable_names_the_program) {
  std::string program = write_script(dir_, "not-executable", "#!/bin/sh\nexit 0\n", 0644);
  auto s = start_with(program);
  EXPECT_NE(s.error.find(program), std::string::npos) << s.error;
  EXPECT_NE(s.error.find("Permission denied"), std::string::npos) << s.error;
}

TEST_F(start_failure, a_child_that_exits_before_its_hello_is_reported_with_its_last_words) {
  std::string program = write_script(
      dir_, "gives-up",
      "#!/bin/sh\necho 'reading config' >&2\necho 'bad config: giving up' >&2\nexit 3\n");
  auto s = start_with(program);
  EXPECT_NE(s.error.find("exited with status 3 before it said hello"), std::string::npos)
      << s.error;
  EXPECT_NE(s.error.find("bad config: giving up"), std::string::npos) << s.error;
  EXPECT_NE(s.error.find("reading config"), std::string::npos) << s.error;
}

TEST_F(start_failure, a_silent_child_is_killed_and_reaped_at_the_hello_deadline) {
  std::string program =
      write_script(dir_, "silent", "#!/bin/sh\necho 'warming up' >&2\nexec sleep 30\n");
  double t0 = events::now();
  auto s = start_with(program, 300ms);
  double took = events::now() - t0;
  EXPECT_NE(s.error.find("said nothing within 300 ms"), std::string::npos) << s.error;
  EXPECT_NE(s.error.find("warming up"), std::string::npos) << s.error;
  EXPECT_LT(took, 5.0);
  auto pid = pid_of_child(dir_.file("test.events"), "doomed");
  ASSERT_TRUE(pid);
  EXPECT_TRUE(process_gone(*pid));
  auto exited = events_named(dir_.file("test.events"), "child_exit");
  ASSERT_EQ(exited.size(), 1u);
  EXPECT_TRUE(WIFSIGNALED(exited[0]["status"].get<int>()));
}

// --- a real mux, its ContextService and workers ---------------------------------

struct worker_run {
  child_process proc;
  std::string events, stderr_path;
};

worker_run start_call_worker(const run_dir& dir, const std::string& socket, const std::string& tag,
                             const std::string& context, const std::string& function, int count,
                             std::size_t size, int in_flight) {
  worker_run w;
  w.events = dir.file(tag + ".events");
  w.stderr_path = dir.file(tag + ".stderr");
  w.proc = test::spawn_logged(
      {test::binary(), "worker", "--connect", socket, "--context", context, "--function", function,
       "--count", std::to_string(count), "--size", std::to_string(size), "--in-flight",
       std::to_string(in_flight), "--events", w.events},
      w.stderr_path);
  return w;
}

// Reads the worker's stdout up to "target_context=ID": the id.
std::optional<std::uint32_t> read_target(worker_run& w, ms timeout = 30s) {
  auto end = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<ms>(end - std::chrono::steady_clock::now());
    if (left.count() <= 0) return std::nullopt;
    auto line = w.proc.read_line(left);
    if (!line) return std::nullopt;
    if (line->starts_with("target_context="))
      return static_cast<std::uint32_t>(std::stoul(line->substr(15)));
  }
}

// "target_context=ID", then "done ok=.. failed=..": the id and the done line.
std::pair<std::optional<std::uint32_t>, std::string> worker_result(worker_run& w,
                                                                   ms timeout = 30s) {
  std::optional<std::uint32_t> target;
  std::string done;
  auto end = std::chrono::steady_clock::now() + timeout;
  while (done.empty()) {
    auto left = std::chrono::duration_cast<ms>(end - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    auto line = w.proc.read_line(left);
    if (!line) break;
    if (line->starts_with("target_context="))
      target = static_cast<std::uint32_t>(std::stoul(line->substr(15)));
    if (line->starts_with("done ")) done = *line;
  }
  return {target, done};
}

TEST_F(contexts, worker_calls_each_builtin_in_the_context_the_service_gives) {
  test::mux_process mux(dir_);
  std::optional<std::uint32_t> target;
  const std::vector<std::pair<std::string, std::size_t>> runs{
      {"echo", 64},  {"echo", 1 << 20}, {"checksum", 4096}, {"make_bytes", 100000},
      {"getpid", 0}, {"sleep", 5},      {"caller_ids", 0}};
  int i = 0;
  for (const auto& [fn, size] : runs) {
    auto w =
        start_call_worker(dir_, mux.socket_path(), "w" + std::to_string(i++), "x", fn, 20, size, 4);
    auto [id, done] = worker_result(w);
    auto st = w.proc.wait(10s);
    EXPECT_TRUE(exited_with(st, 0)) << fn << ": " << done << "\n" << test::slurp(w.stderr_path);
    EXPECT_TRUE(done.starts_with("done ok=20 failed=0")) << fn << ": " << done;
    ASSERT_TRUE(id) << fn;
    if (target) {
      EXPECT_EQ(*id, *target) << "a later get gave another context";
    }
    target = id;
    auto calls = events_named(w.events, "call");
    EXPECT_EQ(calls.size(), 20u);
    for (const auto& c : calls) EXPECT_EQ(c.value("outcome", ""), "result") << c.dump();
  }
  EXPECT_EQ(mux.events("child_start").size(), 1u) << "x was started more than once";
  stop_mux(mux);
}

TEST_F(contexts, killing_the_target_ends_a_workers_pending_calls_at_once) {
  test::mux_process mux(dir_, {"-v"});
  auto w = start_call_worker(dir_, mux.socket_path(), "worker", "x", "sleep", 3, 20000, 3);
  ASSERT_TRUE(read_target(w)) << test::slurp(w.stderr_path);
  auto pid = pid_of_child(mux.events_path(), "x");
  ASSERT_TRUE(pid);
  // x logs (at debug, forwarded to the mux) when it starts running a call.
  ASSERT_TRUE(text_appears([&] { return mux.stderr_text(); },
                           "x: faultmux: calling faultmux.builtins.sleep"))
      << mux.stderr_text();

  double killed_at = events::now();
  ASSERT_EQ(::kill(*pid, SIGKILL), 0);
  auto st = w.proc.wait(10s);
  EXPECT_TRUE(exited_with(st, 1)) << (st ? describe_status(*st) : "still running");
  auto calls = events_named(w.events, "call");
  ASSERT_EQ(calls.size(), 3u) << test::slurp(w.stderr_path);
  for (const auto& c : calls) {
    EXPECT_EQ(c.value("outcome", ""), "disconnected") << c.dump();
    EXPECT_EQ(c.value("error", ""), disconnected) << c.dump();
    EXPECT_LT(c.value("t", 0.0) - killed_at, end_within_s) << c.dump();
  }
  // The mux saw x go and says so.
  auto gone = mux.wait_event(
      [&](const json& e) {
        return e.value("event", "") == "child_exit" && e.value("child", "") == "x";
      },
      5s);
  ASSERT_TRUE(gone);
  EXPECT_TRUE(WIFSIGNALED((*gone)["status"].get<int>()));
  EXPECT_TRUE(text_appears([&] { return mux.stderr_text(); },
                           fmt::format("x: PID {} killed by signal 9", *pid)));
  stop_mux(mux);
}

// worker -> mux -> x: the mux is the hop on the way. Killing it ends the
// worker's pending calls at once, and x, whose parent is gone, exits.
TEST_F(contexts, killing_the_mux_ends_a_workers_pending_calls_at_once) {
  test::mux_process mux(dir_, {"-v"});
  auto w = start_call_worker(dir_, mux.socket_path(), "worker", "x", "sleep", 3, 20000, 3);
  ASSERT_TRUE(read_target(w)) << test::slurp(w.stderr_path);
  auto pid = pid_of_child(mux.events_path(), "x");
  ASSERT_TRUE(pid);
  ASSERT_TRUE(text_appears([&] { return mux.stderr_text(); },
                           "x: faultmux: calling faultmux.builtins.sleep"))
      << mux.stderr_text();

  double killed_at = events::now();
  mux.proc().signal(SIGKILL);
  auto st = w.proc.wait(10s);
  EXPECT_TRUE(exited_with(st, 1)) << (st ? describe_status(*st) : "still running");
  auto calls = events_named(w.events, "call");
  ASSERT_EQ(calls.size(), 3u) << test::slurp(w.stderr_path);
  for (const auto& c : calls) {
    EXPECT_EQ(c.value("outcome", ""), "disconnected") << c.dump();
    EXPECT_EQ(c.value("error", ""), disconnected) << c.dump();
    EXPECT_LT(c.value("t", 0.0) - killed_at, end_within_s) << c.dump();
  }
  EXPECT_TRUE(eventually([&] { return process_gone(*pid); }, 5s)) << "x outlived the mux";
}

// worker -> mux -> a -> b: killing a (on the way) or b (the target) ends
// the pending calls at once, and b does not outlive a.
TEST_F(contexts, killing_a_context_on_the_way_or_the_grandchild_ends_pending_calls_at_once) {
  test::mux_process mux(dir_, {"-v"});
  for (bool kill_middle : {true, false}) {
    SCOPED_TRACE(kill_middle ? "killing a (on the way)" : "killing b (the target)");
    client_node c(mux.socket_path());
    const std::string an = kill_middle ? "a1" : "a2", bn = kill_middle ? "b1" : "b2";
    std::uint32_t a = c.context(an);
    auto b_id = c.call(a, "start_child", {pickle::text{bn}});
    ASSERT_TRUE(b_id.is<std::int64_t>()) << pickle::to_string(b_id);
    auto b = static_cast<std::uint32_t>(*b_id.get<std::int64_t>());
    auto a_pid = pid_of_child(mux.events_path(), an), b_pid = pid_of_child(mux.events_path(), bn);
    ASSERT_TRUE(a_pid && b_pid);

    // Straight to b through the routes, and through a's call_child.
    auto direct = c.start(b, "sleep", {20000});
    ASSERT_TRUE(text_appears([&] { return mux.stderr_text(); },
                             bn + ": faultmux: calling faultmux.builtins.sleep"));
    auto via =
        c.start(a, "call_child",
                {static_cast<std::int64_t>(b), pickle::text{"sleep"}, pickle::tuple{{20000}}});
    ASSERT_TRUE(text_appears([&] { return mux.stderr_text(); },
                             an + ": faultmux: calling faultmux.builtins.call_child"));

    double killed_at = events::now();
    ASSERT_EQ(::kill(kill_middle ? *a_pid : *b_pid, SIGKILL), 0);
    auto d = direct->wait(5s);
    ASSERT_TRUE(d);
    EXPECT_EQ(d->what, call_outcome::kind::dead) << describe(d);
    EXPECT_EQ(d->error, disconnected);
    EXPECT_LT(direct->at - killed_at, end_within_s);
    auto v = via->wait(5s);
    ASSERT_TRUE(v);
    EXPECT_LT(via->at - killed_at, end_within_s);
    if (kill_middle) {
      // a itself is gone: the call into it is dead.
      EXPECT_EQ(v->what, call_outcome::kind::dead) << describe(v);
      EXPECT_EQ(v->error, disconnected);
    } else {
      // a lives and answers: its own call into b ended, which it reports.
      EXPECT_EQ(v->what, call_outcome::kind::remote_error) << describe(v);
      EXPECT_NE(v->error.find(disconnected), std::string::npos) << v->error;
      EXPECT_EQ(c.call(a, "echo", {pickle::text{"a lives"}}), pickle::value("a lives"));
    }
    // b never outlives its parent, and nobody waits on a dead context.
    if (kill_middle) {
      EXPECT_TRUE(eventually([&] { return process_gone(*b_pid); }, 5s));
    }
    try {
      c.call(b, "echo", {1}, 5s);
      ADD_FAILURE() << "a call into the dead b was answered";
    } catch (const channel_error& e) {
      EXPECT_NE(std::string(e.what()).find("no route to"), std::string::npos) << e.what();
    }
  }
  stop_mux(mux);
}

TEST_F(contexts, exit_and_crash_end_pending_calls_and_the_mux_logs_the_exit) {
  test::mux_process mux(dir_);
  client_node c(mux.socket_path());
  struct how {
    std::string name, fn;
    std::vector<pickle::value> args;
    std::string logged;
  };
  for (const how& h : {how{"exits", "exit", {7}, "exited with status 7"},
                       how{"crashes", "crash", {}, fmt::format("killed by signal {}", SIGABRT)}}) {
    SCOPED_TRACE(h.fn);
    std::uint32_t x = c.context(h.name);
    auto pid = pid_of_child(mux.events_path(), h.name);
    ASSERT_TRUE(pid);
    // The fatal call, and two more queued behind it in x.
    std::vector<std::shared_ptr<pending_call>> calls{
        c.start(x, h.fn, h.args), c.start(x, "echo", {1}), c.start(x, "echo", {2})};
    for (auto& p : calls) {
      auto o = p->wait(5s);
      ASSERT_TRUE(o);
      EXPECT_EQ(o->what, call_outcome::kind::dead) << describe(o);
      EXPECT_EQ(o->error, disconnected);
    }
    EXPECT_TRUE(text_appears([&] { return mux.stderr_text(); },
                             fmt::format("{}: PID {} {}", h.name, *pid, h.logged)))
        << mux.stderr_text();
    auto gone = mux.wait_event(
        [&](const json& e) {
          return e.value("event", "") == "child_exit" && e.value("child", "") == h.name;
        },
        5s);
    ASSERT_TRUE(gone);
    int status = (*gone)["status"].get<int>();
    if (h.fn == "exit")
      EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 7) << status;
    else
      EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT) << status;
    // The last calls ended at the child's death, not later.
    for (auto& p : calls) EXPECT_LT(p->at - gone->value("t", 0.0), end_within_s);
  }
  // exit() warns before it goes; the record is re-emitted under x's name.
  EXPECT_TRUE(text_appears([&] { return mux.stderr_text(); },
                           "exits: faultmux: exit(7) called: exiting now"));
  stop_mux(mux);
}

TEST_F(contexts, context_service_starts_each_name_once_and_again_after_it_died) {
  test::mux_process mux(dir_);
  auto starts = [&](const std::string& name) {
    std::size_t n = 0;
    for (const auto& e : mux.events("child_start")) n += e.value("child", "") == name;
    return n;
  };
  // Workers asking for one name at the same time get one context.
  std::vector<worker_run> workers;
  for (int i = 0; i < 6; ++i)
    workers.push_back(start_call_worker(dir_, mux.socket_path(), "w" + std::to_string(i), "y",
                                        "getpid", 1, 0, 1));
  std::set<std::uint32_t> ids;
  for (auto& w : workers) {
    auto [id, done] = worker_result(w);
    ASSERT_TRUE(id) << test::slurp(w.stderr_path);
    EXPECT_TRUE(done.starts_with("done ok=1 failed=0")) << done;
    ids.insert(*id);
    EXPECT_TRUE(exited_with(w.proc.wait(10s), 0));
  }
  EXPECT_EQ(ids.size(), 1u);
  EXPECT_EQ(starts("y"), 1u);

  // So do many requests from one client at once.
  client_node c(mux.socket_path());
  std::vector<std::future<std::uint32_t>> gets;
  for (int i = 0; i < 8; ++i)
    gets.push_back(std::async(std::launch::async, [&] { return c.context("z"); }));
  std::set<std::uint32_t> zs;
  for (auto& g : gets) zs.insert(g.get());
  EXPECT_EQ(zs.size(), 1u);
  EXPECT_EQ(starts("z"), 1u);

  // Later requests get the same context, while it lives.
  const std::uint32_t y = *ids.begin();
  EXPECT_EQ(c.context("y"), y);
  EXPECT_EQ(starts("y"), 1u);

  // After it died, a fresh one.
  auto old_pid = pid_of_child(mux.events_path(), "y");
  ASSERT_TRUE(old_pid);
  ASSERT_EQ(::kill(*old_pid, SIGKILL), 0);
  ASSERT_TRUE(mux.wait_event(
      [&](const json& e) {
        return e.value("event", "") == "child_exit" && e.value("child", "") == "y";
      },
      5s));
  std::uint32_t fresh = 0;
  // The route to y may outlive the process by a moment; the service answers
  // from what it knows, so ask until the answer is the new context.
  ASSERT_TRUE(eventually([&] { return (fresh = c.context("y")) != y; }, 5s));
  EXPECT_EQ(starts("y"), 2u);
  auto got_pid = c.call(fresh, "getpid");
  EXPECT_NE(got_pid, pickle::value(*old_pid));

  // Wrong requests are refused with a CallError, not ignored.
  for (const auto& [body, want] : std::vector<std::pair<std::string, std::string>>{
           {service_request("start", pickle::kwargs{{{pickle::text{"name"}, pickle::text{"q"}}}}),
            "has no method start"},
           {service_request("get", pickle::kwargs{}), "needs name=<str>"},
           {*pickle::encode(pickle::tuple{
                {pickle::text{"other.Service"}, pickle::text{"get"}, pickle::kwargs{}}}),
            "no service other.Service"}}) {
    message reply = c.service(body);
    auto v = pickle::decode(reply.data);
    ASSERT_TRUE(v && v->is<pickle::call_error>()) << reply.data;
    EXPECT_NE(v->get<pickle::call_error>()->message.find(want), std::string::npos)
        << v->get<pickle::call_error>()->message;
  }
  stop_mux(mux);
}

// A request or a result over the size limit is never delivered: the call
// ends at once with a dead reply, and the context serves on.
TEST_F(contexts, oversized_arguments_and_results_end_the_call_with_a_dead_reply) {
  constexpr std::int64_t limit = 1 << 20;
  test::mux_process mux(dir_, {"--max-message-size", std::to_string(limit)});
  const std::string too_large = fmt::format("message too large (max {} bytes)", limit);
  auto outcome_of = [&](client_node& c, std::uint32_t x, const std::string& fn,
                        std::vector<pickle::value> args) {
    auto o = c.start(x, fn, std::move(args))->wait(30s);
    if (!o) return std::string("no outcome within 30 s");
    return o->what == call_outcome::kind::dead ? o->error : "not dead: " + describe(o);
  };
  {
    // A caller configured with the mux's limit: its own router refuses.
    client_node c(mux.socket_path(), limit);
    std::uint32_t x = c.context("x");
    // The result: x's router refuses to send it.
    EXPECT_EQ(outcome_of(c, x, "make_bytes", {2 * limit}), too_large);
    EXPECT_EQ(outcome_of(c, x, "echo", {pickle::bytes{std::string(2 * limit, 'a')}}), too_large);
    // Just under the limit still works, both ways.
    auto fits = pickle::bytes{std::string(limit - 200, 'b')};
    EXPECT_EQ(c.call(x, "echo", {fits}), pickle::value(fits));
  }
  {
    // A caller that sends the frame anyway: the mux cuts that connection
    // (Mitogen's rule for an oversized frame) and the call ends with it.
    client_node c(mux.socket_path());
    std::uint32_t x = c.context("x");
    EXPECT_EQ(outcome_of(c, x, "echo", {pickle::bytes{std::string(2 * limit, 'a')}}), disconnected);
    EXPECT_TRUE(text_appears(
        [&] { return mux.stderr_text(); },
        fmt::format("Maximum message size exceeded (got {}, max {})", 2 * limit + 97, limit)))
        << mux.stderr_text();
  }
  client_node c(mux.socket_path());
  EXPECT_EQ(c.call(c.context("x"), "echo", {1}), pickle::value(1));
  EXPECT_EQ(mux.events("child_start").size(), 1u);
  stop_mux(mux);
}

// --- a context's output and logs, as its parent shows them ------------------------

TEST_F(contexts, child_output_of_any_bytes_is_logged_without_error) {
  test::mux_process mux(dir_);
  client_node c(mux.socket_path());
  std::uint32_t x = c.context("x");
  std::string high;
  for (int i = 0x80; i <= 0xff; ++i) high += static_cast<char>(i);
  EXPECT_EQ(c.call(x, "write_stderr", {pickle::bytes{"high:" + high + "\n"}}), pickle::value(134));
  const std::string want = "x: high:" + latin1_to_utf8(high);
  EXPECT_TRUE(text_appears([&] { return mux.stderr_text(); }, want)) << mux.stderr_text();
  auto out = mux.wait_event(
      [&](const json& e) {
        return e.value("event", "") == "child_output" && e.value("line", "").starts_with("high:");
      },
      5s);
  ASSERT_TRUE(out);
  EXPECT_EQ((*out)["line"].get<std::string>(), "high:" + latin1_to_utf8(high));
  EXPECT_EQ(out->value("stream", ""), "stderr");
  for (const auto& e : mux.events("log")) EXPECT_NE(e.value("level", ""), "error") << e.dump();
  stop_mux(mux);
}

TEST_F(contexts, ten_megabytes_without_a_newline_cost_the_parent_one_line) {
  test::mux_process mux(dir_);
  client_node c(mux.socket_path());
  std::uint32_t x = c.context("x");
  ASSERT_EQ(c.call(x, "write_stderr", {pickle::bytes{"warm up\n"}}), pickle::value(8));
  ASSERT_TRUE(text_appears([&] { return mux.stderr_text(); }, "x: warm up"));
  long before = peak_rss_kib(mux.pid());
  constexpr std::int64_t spew = 10 << 20;
  EXPECT_EQ(c.call(x, "spew", {spew}, 60s), pickle::value(spew));
  ASSERT_EQ(c.call(x, "write_stderr", {pickle::bytes{"\nafter the spew\n"}}), pickle::value(16));
  ASSERT_TRUE(text_appears([&] { return mux.stderr_text(); }, "x: after the spew", 30s));
  long after = peak_rss_kib(mux.pid());
  ASSERT_GT(before, 0);
  RecordProperty("mux_peak_rss_kib_before", std::to_string(before));
  RecordProperty("mux_peak_rss_kib_after", std::to_string(after));
  // The line limit is 64 KiB: the parent may hold a few copies of one line
  // (buffer, log line, event), never the 10 MiB. ThreadSanitizer's shadow
  // memory makes every allocation cost several times its size.
#if defined(__SANITIZE_THREAD__)
  constexpr long growth_limit_kib = 6144;
#else
  constexpr long growth_limit_kib = 2048;
#endif
  EXPECT_LT(after - before, growth_limit_kib)
      << "peak RSS grew from " << before << " to " << after << " KiB";
  std::string err = mux.stderr_text();
  EXPECT_EQ(count_of(err, "[line cut at 65536 bytes]"), 1u);
  auto cut = err.find("x: " + std::string(65536, 'A') + " [line cut at 65536 bytes]");
  EXPECT_NE(cut, std::string::npos);
  stop_mux(mux);
}

TEST_F(contexts, forwarded_log_records_appear_under_the_senders_name) {
  test::mux_process mux(dir_);
  client_node c(mux.socket_path());
  std::uint32_t a = c.context("a");
  c.call(a, "log", {30, pickle::text{"warning from a \xc3\xbc"}});
  c.call(a, "log", {10, pickle::text{"debug from a"}});
  auto b_id = c.call(a, "start_child", {pickle::text{"b"}});
  ASSERT_TRUE(b_id.is<std::int64_t>());
  auto b = static_cast<std::uint32_t>(*b_id.get<std::int64_t>());
  c.call(b, "log", {40, pickle::text{"error from b"}});
  c.call(a, "log", {20, pickle::text{"last from a"}});
  ASSERT_TRUE(text_appears([&] { return mux.stderr_text(); }, "a: faultmux: last from a"));
  std::string err = mux.stderr_text();
  EXPECT_NE(err.find("warning: a: faultmux: warning from a \xc3\xbc"), std::string::npos) << err;
  EXPECT_NE(err.find("error: a: faultmux: b: faultmux: error from b"), std::string::npos) << err;
  // Any bytes in a record are decoded so that no sequence can fail: a lone
  // surrogate (CESU bytes ED A0 80, which str allows) arrives as U+FFFD.
  c.call(a, "log", {30, pickle::text{"odd \xed\xa0\x80 text"}});
  ASSERT_TRUE(text_appears([&] { return mux.stderr_text(); }, "a: faultmux: odd "));
  err = mux.stderr_text();
  EXPECT_TRUE(pickle::utf8::check(err, false).ok)
      << "the mux wrote invalid UTF-8 at " << pickle::utf8::check(err, false).bad_offset;
  EXPECT_NE(err.find("a: faultmux: odd \xef\xbf\xbd"), std::string::npos) << err;
  // A call nobody waits for that fails is logged where it ran, and so at the mux.
  c.calls().call_no_reply(spec_of(a, "fail", {pickle::text{"nobody hears"}}));
  EXPECT_TRUE(text_appears(
      [&] { return mux.stderr_text(); },
      fmt::format("error: a: faultmux: call faultmux.builtins.fail from context {} (no reply "
                  "wanted) failed: faultmux.CallFailed: faultmux.builtins.fail: nobody hears",
                  c.id())))
      << mux.stderr_text();
  err = mux.stderr_text();
  // Without -v, a's debug records are not even sent.
  EXPECT_EQ(err.find("debug from a"), std::string::npos) << err;
  // Warnings and errors are events as well, under the sender's name.
  auto logged = mux.events("log");
  auto has = [&](const std::string& level, const std::string& msg) {
    for (const auto& e : logged)
      if (e.value("level", "") == level && e.value("msg", "") == msg) return true;
    return false;
  };
  EXPECT_TRUE(has("warning", "a: faultmux: warning from a \xc3\xbc"));
  EXPECT_TRUE(has("error", "a: faultmux: b: faultmux: error from b"));
  stop_mux(mux);
}

TEST_F(contexts, vv_given_to_the_mux_reaches_a_grandchild) {
  test::mux_process mux(dir_, {"-vv"});
  client_node c(mux.socket_path());
  std::uint32_t a = c.context("a");
  auto b_id = c.call(a, "start_child", {pickle::text{"b"}});
  ASSERT_TRUE(b_id.is<std::int64_t>());
  auto b = static_cast<std::uint32_t>(*b_id.get<std::int64_t>());
  EXPECT_EQ(c.call(b, "echo", {1}), pickle::value(1));
  // b's own debug lines, through a, at the mux.
  EXPECT_TRUE(text_appears([&] { return mux.stderr_text(); },
                           fmt::format("a: faultmux: b: faultmux: context b (id {}) up", b)))
      << mux.stderr_text();
  EXPECT_TRUE(text_appears(
      [&] { return mux.stderr_text(); },
      fmt::format("a: faultmux: b: faultmux: calling faultmux.builtins.echo for context {}",
                  c.id())));
  // And b was told so on its command line.
  auto b_pid = pid_of_child(mux.events_path(), "b");
  ASSERT_TRUE(b_pid);
  auto p = read_proc(*b_pid);
  ASSERT_TRUE(p);
  EXPECT_NE(p->cmdline.find(" -v -v"), std::string::npos) << p->cmdline;
  stop_mux(mux);
}

}  // namespace
}  // namespace faultmux
