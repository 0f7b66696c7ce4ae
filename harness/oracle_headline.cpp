// The headline of a run that did not pass: what happened to the workers and
// the listener, in one plain line, computed from the outcomes the report
// counts rather than from which expectation failed first.
#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "harness/oracles.hpp"

namespace faultmux {
namespace {

int count_of(const reports::group_row& g, const char* outcome) {
  auto it = g.outcomes.find(outcome);
  return it == g.outcomes.end() ? 0 : it->second;
}

// "EAGAIN at connect", "39 EAGAIN, 1 ECONNREFUSED at connect": the errnos of
// the workers' failed connects, most frequent first.
std::string connect_errnos(const timeline& tl, const run_outcome& o) {
  std::set<long long> workers;
  for (const auto& p : o.processes)
    if (!p.group.empty()) workers.insert(p.pid);
  std::map<std::string, int> by;
  std::set<long long> seen;
  for (const auto& e : tl)
    if (e.event() == "connect_failed" && workers.count(e.pid()) && seen.insert(e.pid()).second)
      ++by[e.str("errno").empty() ? "?" : e.str("errno")];
  if (by.empty()) return "";
  std::vector<std::pair<int, std::string>> order;
  for (const auto& [err, n] : by) order.emplace_back(-n, err);
  std::sort(order.begin(), order.end());
  if (order.size() == 1) return order.front().second + " at connect";
  std::string out;
  for (const auto& [n, err] : order)
    out += fmt::format("{}{} {}", out.empty() ? "" : ", ", -n, err);
  return out + " at connect";
}

std::string listener_part(const run_outcome& o, bool target_dies) {
  if (target_dies)
    return o.target_gone_before_stop ? "the target ended, as the scenario makes it"
                                     : "the target did not end, though the scenario ends it";
  if (o.probe_ok) return "the listener survived";
  if (auto gone = o.probe_detail.find("the mux is gone"); gone != std::string::npos)
    return "the listener died" + o.probe_detail.substr(gone + 15);
  if (o.probe_detail.empty()) return "the listener was not probed";
  return "the listener did not answer the probe (" + o.probe_detail + ")";
}

}  // namespace

std::string run_headline(const reports::timeline_info& rows, const timeline& tl,
                         const run_outcome& o, bool target_dies,
                         const std::vector<oracle_result>& oracles) {
  int total = 0, not_started = 0, no_connect = 0, lost = 0;
  for (const auto& g : rows.groups) {
    if (g.role != "worker") continue;
    total += g.count;
    not_started += count_of(g, "not started");
    no_connect += count_of(g, "refused") + count_of(g, "timeout") + count_of(g, "never connected");
    lost += count_of(g, "disconnected");
  }
  std::vector<std::string> parts;
  if (not_started > 0)
    parts.push_back(fmt::format("{} of {} workers never started", not_started, total));
  const std::string errnos = connect_errnos(tl, o);
  parts.push_back(fmt::format("{} of {} workers could not connect{}", no_connect, total,
                              errnos.empty() ? "" : " (" + errnos + ")"));
  parts.push_back(fmt::format("{} lost after connecting", lost));
  parts.push_back(listener_part(o, target_dies));
  // Which expectations failed: the counts above may all look fine (a call
  // that hung, an error line at the wrong level).
  std::string failed;
  for (const auto& r : oracles)
    if (r.v == verdict::fail) failed += (failed.empty() ? "failed: " : ", ") + r.name;
  if (!failed.empty()) parts.push_back(failed);
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : "; ") + p;
  return out;
}

}  // namespace faultmux
