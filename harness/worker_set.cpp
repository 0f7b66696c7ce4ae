#include "harness/worker_set.hpp"

#include <signal.h>
#include <sys/wait.h>

#include <cerrno>
#include <chrono>

#include <thread>

#include <fmt/format.h>

#include "harness/deadline.hpp"
#include "harness/proc_diagnosis.hpp"
#include "wire/hello.hpp"

namespace faultmux {
namespace {

bool is_serve(const worker_group& g) {
  return g.workload == worker_group::workload_t::serve;
}

}  // namespace

bool worker_proc::long_lived() const {
  return group->workload == worker_group::workload_t::serve ||
         group->workload == worker_group::workload_t::connect;
}

void kill_and_reap(child_process& p) {
  if (!p.running()) return;
  p.signal(SIGKILL);
  p.wait(ms(5000));
}

std::vector<pid_t> worker_set::live_pids(const std::string& group) const {
  std::vector<pid_t> out;
  for (const auto& w : workers_)
    if (w.group->name == group && w.proc.running()) out.push_back(w.proc.pid());
  return out;
}

std::map<std::string, std::vector<std::uint32_t>> worker_set::ids_by_group() const {
  std::map<std::string, std::vector<std::uint32_t>> out;
  for (const auto& w : workers_)
    if (w.id) out[w.group->name].push_back(*w.id);
  return out;
}

void worker_set::read_serve_ids(const std::function<void()>& tick,
                                const std::function<bool()>& give_up) {
  for (;;) {
    tick();
    bool waiting = false;
    for (auto& w : workers_) {
      if (!is_serve(*w.group) || w.id || w.done_reading) continue;
      auto line = w.proc.read_line(ms(3));
      if (auto h = line ? wire::parse_hello(*line) : std::nullopt) {
        w.id = h->context_id;
        serve_ids_.push_back(h->context_id);
        continue;
      }
      if (!line && w.proc.wait(ms(0))) {
        w.done_reading = true;
        continue;
      }
      waiting = true;
    }
    if (!waiting || give_up()) return;
  }
}

bool worker_set::settled(worker_proc& w) {
  if (!w.long_lived()) return w.proc.wait(ms(0)).has_value();
  if (w.id || w.done_reading) return true;
  auto line = w.proc.read_line(ms(3));
  if (auto h = line ? wire::parse_hello(*line) : std::nullopt) {
    w.id = h->context_id;
    return true;
  }
  if (!line && w.proc.wait(ms(0))) w.done_reading = true;
  return w.done_reading;
}

namespace {

// A child of this process exited and waits to be reaped (it stays so: WNOWAIT).
bool child_exited() {
  siginfo_t si{};
  if (::waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) != 0) return errno != ECHILD;
  return si.si_pid != 0;
}

}  // namespace

bool worker_set::all_settled() {
  // A waitpid per worker on every call was most of the driver's work in a
  // run of thousands of workers. A look at least every 100 ms covers a
  // worker reaped elsewhere (a kill by a fault).
  const auto now = std::chrono::steady_clock::now();
  if (!look_again_ && now < next_look_ && !child_exited()) return false;
  bool all = true;
  look_again_ = false;
  next_look_ = now + std::chrono::milliseconds(100);
  for (auto& w : workers_)
    if (!settled(w)) {
      all = false;
      look_again_ = look_again_ || w.long_lived();
    }
  return all;
}

std::vector<std::string> worker_set::diagnose_unsettled() {
  std::vector<std::string> diagnosis;
  for (auto& w : workers_)
    if (!settled(w))
      diagnosis.push_back(
          fmt::format("{} (pid {}): {}", w.name, w.proc.pid(), proc_state(w.proc.pid())));
  return diagnosis;
}

void worker_set::kill_unsettled() {
  for (auto& w : workers_)
    if (!settled(w)) kill_and_reap(w.proc);
}

bool worker_set::any_running() {
  bool any = false;
  for (auto& w : workers_)
    if (w.proc.running() && !w.proc.wait(ms(0))) any = true;
  return any;
}

void worker_set::terminate(std::vector<std::string>& hang, const std::function<bool()>& stop) {
  for (auto& w : workers_)
    if (w.proc.running()) w.proc.signal(SIGTERM);
  await_exit("SIGTERM", hang, stop);
}

void worker_set::await_exit(const char* after, std::vector<std::string>& hang,
                            const std::function<bool()>& stop) {
  wait_for(
      worker_exit_grace, ms(5),
      [&](ms step) {
        bool running = false;
        for (auto& w : workers_)
          if (!w.proc.wait(ms(0))) running = true;
        if (running) std::this_thread::sleep_for(step);
        return !running;
      },
      stop);
  for (auto& w : workers_)
    if (w.proc.running() && !stop()) {
      hang.push_back(fmt::format("{} (pid {}) still running {} s after {}: {}", w.name,
                                 w.proc.pid(), worker_exit_grace.count() / 1000, after,
                                 proc_state(w.proc.pid())));
      kill_and_reap(w.proc);
    }
}

void worker_set::kill_all() {
  for (auto& w : workers_) kill_and_reap(w.proc);
}

}  // namespace faultmux
