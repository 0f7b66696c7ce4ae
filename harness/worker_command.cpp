#include "harness/worker_command.hpp"

#include <algorithm>
#include <optional>

#include <fmt/format.h>

#include "harness/install_paths.hpp"
#include "harness/worker_client.hpp"

namespace faultmux {
namespace {

using wl = worker_group::workload_t;

// How long an echo or calls worker waits for each reply: half the
// scenario's time, within 1 to 30 s.
std::string reply_timeout(const scenario& s) {
  return std::to_string(std::clamp(s.timeout_ms / 2, 1000, 30000));
}

// The target's own command again, on the same path, which is live; its
// events go to the worker's file.
std::vector<std::string> second_mux_argv(const worker_group& g, int index, const worker_launch& l,
                                         const run_paths& p) {
  std::vector<std::string> a = l.target_argv;
  for (std::size_t i = 0; i + 1 < a.size(); ++i)
    if (a[i] == "--events") a[i + 1] = p.events(worker_name(g, index));
  return a;
}

void add_workload_args(const scenario& s, const target_spec& t, const worker_group& g, int index,
                       const worker_launch& l, std::vector<std::string>& a) {
  auto add = [&](std::initializer_list<std::string> more) { a.insert(a.end(), more); };
  switch (g.workload) {
    case wl::connect:
    case wl::serve:
    case wl::second_mux:
      break;
    case wl::echo: {
      auto found = l.ids_by_group.find(g.peer);
      const auto& ids =
          found == l.ids_by_group.end() ? std::vector<std::uint32_t>{} : found->second;
      std::uint32_t peer = ids.empty() ? 0 : ids[static_cast<std::size_t>(index) % ids.size()];
      add({"--peer", std::to_string(peer), "--count", std::to_string(g.messages), "--size",
           std::to_string(g.size), "--in-flight", std::to_string(g.in_flight), "--reply-timeout-ms",
           reply_timeout(s)});
      break;
    }
    case wl::calls:
      add({"--context", g.context, "--function", g.function, "--count", std::to_string(g.messages),
           "--size", std::to_string(g.size), "--in-flight", std::to_string(g.in_flight),
           "--reply-timeout-ms", reply_timeout(s)});
      if (!g.relay_to.empty()) add({"--relay-to", g.relay_to});
      break;
    case wl::hostile:
      // The limit of the target it attacks (Mitogen's under --target mitogen).
      add({"--behave", g.behave, "--hold-ms", std::to_string(std::min(5000, s.timeout_ms / 3)),
           "--max-message-size", std::to_string(t.max_message_size), "--seed",
           std::to_string(l.seed + static_cast<std::uint64_t>(index))});
      if (g.messages > 0) add({"--count", std::to_string(g.messages)});
      // short-pid: worker i sends i % 4 pid bytes, so a group covers 0 to 3.
      if (g.behave == "short-pid") add({"--pid-bytes", std::to_string(index % 4)});
      if (!l.serve_ids.empty())
        add({"--target",
             std::to_string(l.serve_ids[static_cast<std::size_t>(index) % l.serve_ids.size()])});
      break;
  }
}

}  // namespace

std::string worker_name(const worker_group& g, int index) {
  return fmt::format("worker-{}-{}", g.name, index);
}

std::vector<std::string> worker_argv(const scenario& s, const target_spec& t, const worker_group& g,
                                     int index, const worker_launch& l, const run_paths& p) {
  if (g.workload == wl::second_mux) return second_mux_argv(g, index, l, p);
  std::string path = p.socket;
  if (g.path == "missing") path = p.dir + "/missing.sock";
  if (g.path == "stale") path = p.dir + "/stale.sock";
  // A real Mitogen client takes the same options (scenarios/mitogen_worker.py).
  std::vector<std::string> a =
      g.client == worker_group::client_t::mitogen
          ? mitogen_worker_prefix(g, own_install_paths().data_dir)
          : std::vector<std::string>{l.small_worker.empty() ? l.self : l.small_worker, "worker"};
  a.insert(a.end(),
           {"--connect", path, "--events", p.events(worker_name(g, index)), "--connect-timeout-ms",
            std::to_string(g.connect_timeout_ms > 0 ? g.connect_timeout_ms
                                                    : std::min(10000, s.timeout_ms))});
  if (g.backlog_wait_ms >= 0)
    a.insert(a.end(), {"--backlog-wait-ms", std::to_string(g.backlog_wait_ms)});
  add_workload_args(s, t, g, index, l, a);
  if (l.faults)
    for (const auto& f : *l.faults) f->shape_worker(g, index, a);
  return a;
}

}  // namespace faultmux
