#include "harness/oracle_support.hpp"

#include <algorithm>
#include <cctype>

#include <fmt/format.h>

#include "roles/process.hpp"

namespace faultmux::oracle_support {

run_view::run_view(const scenario& s_, const timeline& tl_, const run_outcome& o_)
    : s(s_), tl(tl_), o(o_), ix(tl_), t0(tl_.empty() ? 0.0 : tl_.front().t) {
  // The first of a pid wins, as a scan of the processes in order finds it.
  for (const auto& p : o.processes) by_pid.emplace(p.pid, &p);
}

const process_record* run_view::process(pid_t pid) const {
  auto it = by_pid.find(pid);
  return it == by_pid.end() ? nullptr : it->second;
}

const process_record* mux_of(const run_outcome& o) {
  for (const auto& p : o.processes)
    if (p.group.empty()) return &p;
  return nullptr;
}

std::vector<const process_record*> members(const run_outcome& o, const std::string& group) {
  std::vector<const process_record*> out;
  for (const auto& p : o.processes)
    if (!group.empty() && p.group == group) out.push_back(&p);
  return out;
}

const worker_group* group_named(const scenario& s, const std::string& name) {
  for (const auto& g : s.workers)
    if (g.name == name) return &g;
  return nullptr;
}

std::string status_text(const process_record& p) {
  return p.status ? describe_status(*p.status) : std::string("never reaped");
}

bool calls_not_served(const scenario& s, const run_outcome& o, const std::string& group) {
  const worker_group* g = group_named(s, group);
  return o.external_target && g && g->workload == worker_group::workload_t::calls;
}

bool no_group_served(const scenario& s, const run_outcome& o) {
  return !s.workers.empty() && std::all_of(s.workers.begin(), s.workers.end(), [&](const auto& g) {
    return calls_not_served(s, o, g.name);
  });
}

std::set<long long> numbers_after(std::string_view msg, std::string_view prefix) {
  std::set<long long> out;
  for (auto at = msg.find(prefix); at != std::string_view::npos; at = msg.find(prefix, at + 1)) {
    std::size_t i = at + prefix.size(), first = i;
    long long n = 0;
    while (i < msg.size() && std::isdigit(static_cast<unsigned char>(msg[i])) && i - first < 18)
      n = n * 10 + (msg[i++] - '0');
    // A pid is written without leading zeros: "PID 012" names no pid.
    const bool whole = i == msg.size() || !std::isdigit(static_cast<unsigned char>(msg[i]));
    if (i > first && whole && (msg[first] != '0' || i - first == 1)) out.insert(n);
  }
  return out;
}

oracle_result make(const char* name, verdict v, std::vector<std::string> evidence) {
  return oracle_result{name, v, std::move(evidence)};
}

void add_capped(std::vector<std::string>& out, const std::vector<std::string>& lines) {
  for (std::size_t i = 0; i < lines.size() && i < max_evidence; ++i) out.push_back(lines[i]);
  if (lines.size() > max_evidence)
    out.push_back(fmt::format("... and {} more", lines.size() - max_evidence));
}

}  // namespace faultmux::oracle_support
