// The helpers of the context tests: /proc checks that no test leaves a zombie
// or a process behind, nodes in the test process (a client connected like a
// worker, its broker on its own thread; a root node with its children
// registry, where a test steers the parent itself), calls and their
// outcomes, and what processes said.
#pragma once

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

#include "mux/call.hpp"
#include "mux/child.hpp"
#include "mux/children.hpp"
#include "mux/connect.hpp"
#include "mux/events.hpp"
#include "mux/id_allocator.hpp"
#include "mux/node.hpp"
#include "mux/pickle.hpp"
#include "roles/payload.hpp"
#include "roles/process.hpp"
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

inline std::optional<proc_entry> read_proc(pid_t pid) {
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

inline std::vector<proc_entry> all_processes() {
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

inline std::vector<proc_entry> zombie_children_of(pid_t parent) {
  std::vector<proc_entry> out;
  for (auto& p : all_processes())
    if (p.ppid == parent && p.state == 'Z') out.push_back(std::move(p));
  return out;
}

// Every process of a test names the test's run directory on its command
// line (socket, events file or script), so these are exactly its processes.
inline std::vector<proc_entry> processes_naming(const std::string& text) {
  std::vector<proc_entry> out;
  for (auto& p : all_processes())
    if (p.pid != ::getpid() && p.state != 'Z' && p.cmdline.find(text) != std::string::npos)
      out.push_back(std::move(p));
  return out;
}

inline bool process_gone(pid_t pid) {
  auto p = read_proc(pid);
  return !p || p->state == 'Z';
}

inline std::string describe(const std::vector<proc_entry>& ps) {
  std::string s;
  for (const auto& p : ps)
    s += fmt::format("\n  PID {} ({}, state {}, parent {}): {}", p.pid, p.comm, p.state, p.ppid,
                     p.cmdline);
  return s;
}

// Peak resident set of a process in KiB (VmHWM), -1 when it is gone.
inline long peak_rss_kib(pid_t pid) {
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
inline void on_broker(broker& b, std::function<void()> fn, ms timeout = 30s) {
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
inline void stop_node(node& n, std::function<void(std::function<void()>)> before = {}) {
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

inline std::shared_ptr<pending_call> start_call(node& n, caller& c, call_spec spec,
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

inline call_spec spec_of(std::uint32_t ctx, std::string fn, std::vector<pickle::value> args = {}) {
  call_spec s;
  s.context_id = ctx;
  s.function = std::move(fn);
  s.args.items = std::move(args);
  return s;
}

inline std::string kind_name(call_outcome::kind k) {
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

inline std::string describe(const std::optional<call_outcome>& o) {
  if (!o) return "no outcome";
  if (o->what == call_outcome::kind::result) return "result " + pickle::to_string(o->result);
  return kind_name(o->what) + ": " + o->error;
}

// Sends body to dst's handle with a one-shot reply handle bound to dst and
// waits for the reply (a dead one included).
inline message request(node& n, std::uint32_t dst, std::uint32_t handle, std::string body,
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

inline std::string service_request(const std::string& method, pickle::kwargs kw) {
  return *pickle::encode(pickle::tuple{
      {pickle::text{"faultmux.ContextService"}, pickle::text{method}, std::move(kw)}});
}

inline std::string get_request(const std::string& name) {
  return service_request("get", pickle::kwargs{{{pickle::text{"name"}, pickle::text{name}}}});
}

// The context a ContextService reply names.
inline std::optional<pickle::context_ref> context_in(const message& reply) {
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

inline children_config faultmux_children(const run_dir& dir) {
  children_config cfg;
  cfg.program = test::binary();
  cfg.events = dir.file("test.events");
  return cfg;
}

// --- reading what processes said ------------------------------------------------

inline std::vector<json> events_named(const std::string& path, std::string_view name) {
  std::vector<json> out;
  for (auto& e : test::read_events(path))
    if (e.value("event", "") == name) out.push_back(std::move(e));
  return out;
}

// The pid the child_start event gives for the context called `name`.
inline std::optional<pid_t> pid_of_child(const std::string& events, const std::string& name,
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

inline bool text_appears(const std::function<std::string()>& read, const std::string& needle,
                         ms timeout = 10s) {
  return eventually([&] { return read().find(needle) != std::string::npos; }, timeout);
}

inline std::size_t count_of(const std::string& hay, const std::string& needle) {
  std::size_t n = 0;
  for (auto at = hay.find(needle); at != std::string::npos; at = hay.find(needle, at + 1)) ++n;
  return n;
}

inline bool exited_with(const std::optional<int>& st, int code) {
  return st && WIFEXITED(*st) && WEXITSTATUS(*st) == code;
}

// SIGTERM, a clean exit within 20 s, and no child of the mux left unreaped
// before that.
inline void stop_mux(test::mux_process& mux) {
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
inline std::uint32_t reference_crc32(std::string_view s) {
  std::uint32_t c = 0xffffffffu;
  for (unsigned char b : s) {
    c ^= b;
    for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1u)));
  }
  return ~c;
}

inline std::string all_bytes(std::size_t repeat = 1) {
  std::string s;
  for (std::size_t r = 0; r < repeat; ++r)
    for (int i = 0; i < 256; ++i) s += static_cast<char>(i);
  return s;
}

inline std::string write_script(const run_dir& dir, const std::string& name,
                                const std::string& body, mode_t mode = 0755) {
  std::string path = dir.file(name);
  std::ofstream(path) << body;
  ::chmod(path.c_str(), mode);
  return path;
}

class contexts : public process_hygiene, public testing::Test {};

}  // namespace
}  // namespace faultmux
