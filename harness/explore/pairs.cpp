#include "harness/explore/pairs.hpp"

#include <map>

#include <fmt/format.h>

namespace faultmux {
namespace {

int severity(const std::string& fault_class) {
  if (fault_class == "hard") return 3;
  if (fault_class == "resource") return 2;
  if (fault_class == "stall") return 1;
  return 0;
}

// Whether a fault of this class may cost its peer anything.
bool costs_peer(const std::string& fault_class) {
  return fault_class == "hard" || fault_class == "stall";
}

}  // namespace

std::string consequence::signature() const {
  std::set<std::string> keys;
  for (const auto& p : points) keys.insert(p.class_key());
  return fmt::format("calls: {}; events: {}", fmt::join(keys, ", "), fmt::join(events, ", "));
}

std::set<std::string> event_names(const timeline& tl) {
  std::set<std::string> out;
  for (const auto& e : tl)
    if (!(e.source == "faults" && e.event() == "fault")) out.insert(e.event());
  return out;
}

consequence consequences_of(const std::vector<fault_point>& run_points,
                            const std::set<std::string>& run_events,
                            const std::set<fault_point>& profile_points,
                            const std::set<std::string>& profile_events) {
  consequence c;
  for (const auto& p : run_points)
    if (!profile_points.count(p)) c.points.push_back(p);
  for (const auto& e : run_events)
    if (!profile_events.count(e)) c.events.insert(e);
  return c;
}

std::optional<pair_judgement> judged_as(const planned_fault& a, const planned_fault& b) {
  const std::string &ca = a.fx.fault_class, &cb = b.fx.fault_class;
  // Two hard faults on two peers may cost both: "good:0,servers:1".
  const std::string pa = a.point.faulted(), pb = b.point.faulted();
  if (ca == "hard" && cb == "hard" && pa != pb) return pair_judgement{"hard", pa + "," + pb};
  if (costs_peer(ca) && costs_peer(cb) && pa != pb) return std::nullopt;
  const planned_fault& worse = severity(cb) > severity(ca) ? b : a;
  return pair_judgement{worse.fx.fault_class, worse.point.faulted()};
}

std::size_t cross_product(const std::vector<planned_fault>& singles) {
  std::map<std::string, std::size_t> per_point;
  for (const auto& s : singles) ++per_point[s.point.key()];
  std::size_t n = singles.size(), same = 0;
  for (const auto& [k, c] : per_point) same += c * c;
  return (n * n - same) / 2;
}

}  // namespace faultmux
