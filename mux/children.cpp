#include "mux/children.hpp"

#include <signal.h>
#include <sys/wait.h>

#include <cstring>

#include <fmt/format.h>

#include "mux/events.hpp"
#include "mux/fd.hpp"
#include "mux/log.hpp"
#include "mux/value.hpp"
#include "wire/event_names.hpp"

namespace faultmux {
namespace {

spdlog::level::level_enum level_from_python(int levelno) {
  if (levelno >= 50) return spdlog::level::critical;
  if (levelno >= 40) return spdlog::level::err;
  if (levelno >= 30) return spdlog::level::warn;
  if (levelno >= 20) return spdlog::level::info;
  if (levelno >= 10) return spdlog::level::debug;
  return spdlog::level::trace;
}

// Python's bytes.decode('utf-8', 'replace'), as Mitogen reads a record: any
// byte sequence decodes, each bad byte becoming U+FFFD.
std::string utf8_lenient(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t pos = 0; pos < s.size();) {
    char32_t cp = 0;
    std::size_t n = pickle::utf8::decode(s, pos, cp, false);
    if (n == 0) {
      out += "\xef\xbf\xbd";
      ++pos;
      continue;
    }
    out.append(s.substr(pos, n));
    pos += n;
  }
  return out;
}

std::string describe_exit(int status) {
  if (WIFSIGNALED(status)) return fmt::format("was killed by signal {}", WTERMSIG(status));
  return fmt::format("exited with status {}", WEXITSTATUS(status));
}

}  // namespace

children::children(node& n, children_config cfg, allocate_fn allocate)
    : node_(n), cfg_(std::move(cfg)), allocate_(std::move(allocate)) {
  node_.get_router().add_handler(
      [this](message& m) { on_forward_log(m); },
      {.handle = handle::forward_log, .persist = true, .policy = {}, .respondent = {}});
}

children::~children() {
  // Nobody hears of what the destruction ends.
  shutdown_done_ = nullptr;
  on_gone = nullptr;
  auto all = by_id_;  // a stream's close may forget its entry
  for (auto& [id, e] : all) {
    e->hello_timer.cancel();
    e->end_timer.cancel();
    if (e->proc && !e->exited) e->proc->signal(SIGKILL);
    // Its close callback reaches this registry: run it now, not from ~node.
    if (e->strm && !e->strm->closed()) e->strm->close(0, "children registry destroyed");
  }
}

void children::start(const std::string& name, started_fn done) {
  allocate_([this, name, done = std::move(done)](std::optional<std::uint32_t> id) {
    if (!id)
      return done(std::nullopt,
                  fmt::format("cannot start context {}: no context id available", name));
    launch(name, *id, done);
  });
}

void children::launch(const std::string& name, std::uint32_t id, started_fn done) {
  const router_config& rc = node_.get_router().config();
  std::string parents = std::to_string(rc.context_id);
  for (std::uint32_t p : rc.parent_ids) parents += "," + std::to_string(p);
  std::vector<std::string> argv{cfg_.program,
                                "context",
                                "--fd",
                                "3",
                                "--context-id",
                                std::to_string(id),
                                "--parent-ids",
                                parents,
                                "--name",
                                name,
                                "--max-message-size",
                                std::to_string(rc.max_message_size)};
  if (!cfg_.events.empty()) argv.insert(argv.end(), {"--events", cfg_.events});
  for (int i = 0; i < cfg_.verbosity; ++i) argv.push_back("-v");
  if (cfg_.extra_args) {
    auto more = cfg_.extra_args(name);
    argv.insert(argv.end(), more.begin(), more.end());
  }

  auto e = std::make_shared<entry>();
  e->info = {id, name, -1};
  e->done = std::move(done);
  try {
    e->proc =
        child::start(node_.get_broker(), {name, argv, cfg_.line_limit}, [this, id](int status) {
          auto it = by_id_.find(id);
          if (it == by_id_.end()) return;
          it->second->exited = true;
          it->second->status = status;
          if (it->second->done) {
            // The error carries the child's last words: its pipes are read
            // to their end first (for at most a second: a grandchild may
            // hold them open).
            fail_when_output_read(id, "it " + describe_exit(status) + " before it said hello",
                                  std::chrono::steady_clock::now() + std::chrono::seconds(1));
            return;
          }
          maybe_forget(id);
        });
  } catch (const std::exception& ex) {
    spdlog::error("cannot start context {}: {}", name, ex.what());
    return e->done(std::nullopt, fmt::format("cannot start context {}: {}", name, ex.what()));
  }
  e->info.pid = e->proc->pid();
  by_id_[id] = e;
  e->strm = node_.attach(e->proc->take_stream_fd(), name, id,
                         {.stamp_auth_id = {},
                          .on_first_message =
                              [this, id] {
                                auto it = by_id_.find(id);
                                if (it == by_id_.end() || !it->second->done) return;
                                it->second->hello_timer.cancel();
                                events::emit(wire::ev::context_ready,
                                             {{"context", it->second->info.name},
                                              {"context_id", id},
                                              {"child_pid", it->second->info.pid}});
                                std::exchange(it->second->done, nullptr)(it->second->info, "");
                              },
                          .on_closed =
                              [this, id](int) {
                                auto it = by_id_.find(id);
                                if (it == by_id_.end()) return;
                                it->second->stream_closed = true;
                                if (!it->second->done) {
                                  if (on_gone) on_gone(it->second->info);
                                  // A child whose stream is gone has no reason to live.
                                  if (!it->second->exited)
                                    it->second->end_timer = node_.get_broker().after(
                                        cfg_.term_after, [this, id] { end_orphan(id, SIGTERM); });
                                }
                                maybe_forget(id);
                              }});
  e->hello_timer = node_.get_broker().after(cfg_.hello_timeout, [this, id] {
    fail_start(id, fmt::format("it said nothing within {} ms", cfg_.hello_timeout.count()));
  });
}

void children::fail_when_output_read(std::uint32_t id, const std::string& why,
                                     std::chrono::steady_clock::time_point until) {
  auto it = by_id_.find(id);
  if (it == by_id_.end() || !it->second->done) return;
  if (it->second->proc->output_read() || std::chrono::steady_clock::now() >= until)
    return fail_start(id, why);
  node_.get_broker().after(std::chrono::milliseconds(5),
                           [this, id, why, until] { fail_when_output_read(id, why, until); });
}

void children::fail_start(std::uint32_t id, const std::string& why) {
  auto it = by_id_.find(id);
  if (it == by_id_.end() || !it->second->done) return;
  auto e = it->second;
  e->hello_timer.cancel();
  auto done = std::exchange(e->done, nullptr);
  std::string out = e->proc->last_output();
  std::string error = fmt::format("context {} (PID {}) failed to start: {}{}{}", e->info.name,
                                  e->info.pid, why, out.empty() ? "" : "; its last output:\n", out);
  spdlog::error("{}", error);
  events::emit(wire::ev::context_start_failed, {{"context", e->info.name}, {"why", why}});
  if (!e->exited) e->proc->signal(SIGKILL);
  if (e->strm && !e->strm->closed()) e->strm->close(0, "start failed");
  done(std::nullopt, error);
  maybe_forget(id);
}

// A child that runs on after its stream closed: SIGTERM, then SIGKILL, each
// logged. One we may not signal (EPERM: it changed its uid) is abandoned:
// forgotten without being reaped, as nothing we do can end it.
void children::end_orphan(std::uint32_t id, int sig) {
  auto it = by_id_.find(id);
  if (it == by_id_.end() || it->second->exited) return;
  auto e = it->second;
  if (sig == SIGTERM)
    spdlog::warn("context {} (PID {}) still runs {} ms after its stream closed: sending SIGTERM",
                 e->info.name, e->info.pid, cfg_.term_after.count());
  else
    spdlog::error("context {} (PID {}) did not exit {} ms after SIGTERM: sending SIGKILL",
                  e->info.name, e->info.pid, cfg_.kill_after.count());
  if (int err = e->proc->signal(sig); err != 0) {
    spdlog::error("context {} (PID {}): cannot send it {}: {}: abandoning it", e->info.name,
                  e->info.pid, sig == SIGTERM ? "SIGTERM" : "SIGKILL", errno_text(err));
    events::emit(
        wire::ev::child_abandoned,
        {{"child", e->info.name}, {"child_pid", e->info.pid}, {"errno", strerrorname_np(err)}});
    by_id_.erase(it);
    if (shutdown_done_ && by_id_.empty()) std::exchange(shutdown_done_, nullptr)();
    return;
  }
  if (sig == SIGTERM)
    e->end_timer =
        node_.get_broker().after(cfg_.kill_after, [this, id] { end_orphan(id, SIGKILL); });
}

void children::maybe_forget(std::uint32_t id) {
  auto it = by_id_.find(id);
  if (it == by_id_.end()) return;
  entry& e = *it->second;
  if (!e.exited || !(e.stream_closed || !e.strm) || e.done) return;
  by_id_.erase(it);
  if (shutdown_done_ && by_id_.empty()) std::exchange(shutdown_done_, nullptr)();
}

std::optional<context_info> children::find(std::uint32_t id) const {
  auto it = by_id_.find(id);
  if (it == by_id_.end()) return std::nullopt;
  return it->second->info;
}

void children::signal(std::uint32_t id, int sig) {
  auto it = by_id_.find(id);
  if (it != by_id_.end()) it->second->proc->signal(sig);
}

void children::shutdown(std::chrono::milliseconds grace, std::function<void()> done) {
  if (by_id_.empty()) {
    if (done) done();
    return;
  }
  shutdown_done_ = std::move(done);
  router& r = node_.get_router();
  for (auto& [id, e] : by_id_) {
    message m;
    m.dst_id = id;
    m.handle = handle::shutdown;
    r.route(std::move(m));
    if (peer* p = r.explicit_route(id)) r.retire(p);
  }
  node_.get_broker().after(grace, [this] {
    for (auto& [id, e] : by_id_) {
      if (e->exited || e->killed) continue;
      spdlog::error("context {} (PID {}) did not exit within the shutdown grace period: killing it",
                    e->info.name, e->info.pid);
      e->killed = true;
      e->proc->signal(SIGKILL);
    }
  });
}

// A second signal, or a third, kills what still runs: each context once.
void children::hurry_shutdown() {
  if (!shutdown_done_) return;  // no shutdown under way, or it is over
  for (auto& [id, e] : by_id_) {
    if (e->exited || e->killed) continue;
    spdlog::error("context {} (PID {}): the shutdown grace period was cut short: killing it",
                  e->info.name, e->info.pid);
    e->killed = true;
    e->proc->signal(SIGKILL);
  }
}

void children::on_forward_log(message& m) {
  if (m.is_dead()) return;  // the router's shutdown notice, not a record
  // "<logger>\0<levelno>\0<message>"
  std::string_view body = m.data;
  auto a = body.find('\0');
  auto b = a == std::string_view::npos ? a : body.find('\0', a + 1);
  if (b == std::string_view::npos) {
    spdlog::error("dropping a malformed FORWARD_LOG record from context {}", m.src_id);
    return;
  }
  std::string name;
  if (auto it = by_id_.find(m.src_id); it != by_id_.end()) {
    name = it->second->info.name;
  } else if (node_.get_router().explicit_route(m.src_id)) {
    name = fmt::format("context.{}", m.src_id);
  } else {
    spdlog::error("dropping a log record from unknown context {}", m.src_id);
    return;
  }
  int levelno = std::atoi(std::string(body.substr(a + 1, b - a - 1)).c_str());
  std::string logger = utf8_lenient(body.substr(0, a));
  std::string text = utf8_lenient(body.substr(b + 1));
  spdlog::log(level_from_python(levelno), "{}: {}: {}", name, logger, text);
}

}  // namespace faultmux
