// The soak's judgement: pure functions of what the soak saw.
#include <algorithm>
#include <cstddef>

#include <fmt/format.h>

#include "harness/soak.hpp"

namespace faultmux {

std::optional<double> second_half_slope(const std::vector<resource_point>& samples,
                                        long long resource_point::*value) {
  if (samples.size() < 3) return std::nullopt;
  const double from = samples.front().t + (samples.back().t - samples.front().t) / 2;
  double n = 0, st = 0, sv = 0;
  for (const auto& p : samples)
    if (p.t >= from) {
      n += 1;
      st += p.t;
      sv += static_cast<double>(p.*value);
    }
  if (n < 3) return std::nullopt;
  const double mt = st / n, mv = sv / n;
  double stt = 0, stv = 0;
  for (const auto& p : samples)
    if (p.t >= from) {
      stt += (p.t - mt) * (p.t - mt);
      stv += (p.t - mt) * (static_cast<double>(p.*value) - mv);
    }
  if (stt <= 0) return std::nullopt;
  return stv / stt * 60.0;  // per second, to per minute
}

namespace {

oracle_result growth(const soak_record& r, const soak_bounds& b) {
  struct metric {
    const char* name;
    long long resource_point::*value;
    double bound, floor;
  };
  const metric metrics[] = {
      {"rss_kib", &resource_point::rss_kib, b.rss_kib_per_min, b.rss_kib_floor},
      {"fds", &resource_point::fds, b.fds_per_min, b.fds_floor},
      {"threads", &resource_point::threads, b.threads_per_min, b.threads_floor}};
  oracle_result o{"no growth", verdict::pass, {}};
  const double half_min =
      r.samples.size() < 2 ? 0 : (r.samples.back().t - r.samples.front().t) / 2 / 60;
  for (const auto& m : metrics) {
    const auto slope = second_half_slope(r.samples, m.value);
    if (!slope) {
      o.v = verdict::fail;
      o.evidence.push_back(
          fmt::format("{}: too few samples in the second half to fit a slope", m.name));
      continue;
    }
    const bool grew = *slope > m.bound && *slope * half_min > m.floor;
    if (grew) o.v = verdict::fail;
    o.evidence.push_back(fmt::format(
        "{}: {:+.2f} per minute over the second half ({:+.1f} fitted over its {:.2f} min); "
        "bound {} per minute{}",
        m.name, *slope, *slope * half_min, half_min, m.bound, grew ? ": GROWS" : ""));
  }
  return o;
}

}  // namespace

std::vector<oracle_result> judge_soak(const soak_record& r, const soak_bounds& b) {
  std::vector<oracle_result> out{growth(r, b)};
  out.push_back(r.crash.empty()
                    ? oracle_result{"no crash", verdict::pass, {"the mux ran the whole soak"}}
                    : oracle_result{"no crash", verdict::fail, {r.crash}});
  oracle_result lost{"nothing lost", verdict::pass, {}};
  lost.evidence.push_back(
      fmt::format("{} worker cycles, {} messages answered", r.cycles, r.messages));
  if (r.lost > 0 || r.cycles == 0) {
    lost.v = verdict::fail;
    if (r.cycles == 0) lost.evidence.push_back("no worker cycle ended");
    if (r.lost > 0) lost.evidence.push_back(fmt::format("{} cycles lost messages:", r.lost));
    lost.evidence.insert(lost.evidence.end(), r.lost_evidence.begin(), r.lost_evidence.end());
  }
  out.push_back(std::move(lost));
  return out;
}

}  // namespace faultmux
