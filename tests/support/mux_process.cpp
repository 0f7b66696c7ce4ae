#include "tests/support/mux_process.hpp"

#include <signal.h>

#include <algorithm>
#include <filesystem>
#include <stdexcept>
#include <thread>

namespace faultmux::test {

mux_process::mux_process(const run_dir& dir, std::vector<std::string> args, mux_config cfg)
    : socket_(cfg.socket.empty() ? dir.file(cfg.name + ".sock") : cfg.socket),
      events_(dir.file(cfg.name + ".events")),
      stderr_(dir.file(cfg.name + ".stderr")),
      term_grace_(cfg.term_grace) {
  std::vector<std::string> argv = std::move(cfg.prefix);
  if (cfg.command.empty()) {
    argv.insert(argv.end(), {binary(), "mux", "--events", events_});
  } else {
    argv.insert(argv.end(), cfg.command.begin(), cfg.command.end());
  }
  argv.insert(argv.end(), {"--listen", socket_});
  argv.insert(argv.end(), args.begin(), args.end());
  proc_ = spawn_logged(argv, stderr_);
  // Lines before it (a listener's banner) are skipped.
  const auto end = std::chrono::steady_clock::now() + cfg.listen_timeout;
  std::optional<std::string> line;
  do {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        end - std::chrono::steady_clock::now());
    line = proc_.read_line(std::max(left, std::chrono::milliseconds(1)));
  } while (line && !line->starts_with("listening ") && std::chrono::steady_clock::now() < end);
  if (!line || *line != "listening " + socket_)
    throw std::runtime_error("mux did not listen on " + socket_ + ": stdout " +
                             (line ? "'" + *line + "'" : std::string("closed")) +
                             ", stderr: " + stderr_text());
}

mux_process::~mux_process() {
  if (term_grace_.count() <= 0 || !proc_.running()) return;
  proc_.signal(SIGCONT);  // a stopped process cannot act on SIGTERM
  proc_.signal(SIGTERM);
  proc_.wait(term_grace_);  // still running: child_process SIGKILLs and reaps it
}

std::vector<json> mux_process::events(std::string_view name) const {
  std::vector<json> out;
  for (auto& e : events())
    if (e.value("event", "") == name) out.push_back(std::move(e));
  return out;
}

std::optional<json> mux_process::wait_event(const std::function<bool(const json&)>& pred,
                                            std::chrono::milliseconds timeout) const {
  return test::wait_event(events_, pred, timeout);
}

std::optional<json> mux_process::wait_event(std::string_view name,
                                            std::chrono::milliseconds timeout) const {
  return wait_event([&](const json& e) { return e.value("event", "") == name; }, timeout);
}

std::string mux_process::stderr_text() const {
  return slurp(stderr_);
}

bool mux_process::alive() {
  return !proc_.wait(std::chrono::milliseconds(0)).has_value();
}

void mux_process::stop() {
  proc_.signal(SIGSTOP);
  // 'T' stopped, 't' stopped while traced (strace attached to look at the mux).
  if (!eventually(
          [&] {
            char s = process_state(proc_.pid());
            return s == 'T' || s == 't';
          },
          std::chrono::seconds(5)))
    throw std::runtime_error("mux (pid " + std::to_string(proc_.pid()) +
                             ") did not stop within 5 s of SIGSTOP");
}

void mux_process::resume() {
  proc_.signal(SIGCONT);
}

long mux_process::rss_kib() const {
  return status_kib(proc_.pid(), "VmRSS");
}

long mux_process::peak_rss_kib() const {
  return status_kib(proc_.pid(), "VmHWM");
}

std::vector<std::string> mux_process::describe_fds() const {
  std::vector<std::string> out;
  std::error_code ec;
  for (auto it =
           std::filesystem::directory_iterator("/proc/" + std::to_string(proc_.pid()) + "/fd", ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    std::error_code link_ec;
    auto target = std::filesystem::read_symlink(it->path(), link_ec);
    out.push_back(it->path().filename().string() + " -> " + target.string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace faultmux::test
