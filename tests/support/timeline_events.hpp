// Hand-made timelines for tests of the oracles and of explore: events as the
// driver's reader gives them, and the oracle results judged on them.
#pragma once

#include <sys/types.h>

#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "harness/oracles.hpp"
#include "harness/timeline.hpp"

namespace faultmux::test {

// An event at `t` seconds from `source` ("mux", "faults", a worker's events
// file), with `fields` as its data (t included).
inline timeline_event ev(double t, const std::string& source, nlohmann::json fields) {
  fields["t"] = t;
  return timeline_event::of(t, source, fields);
}

// The same, of process `pid` unless `fields` name another.
inline timeline_event ev(double t, pid_t pid, const std::string& source, nlohmann::json fields) {
  if (!fields.contains("pid")) fields["pid"] = pid;
  return ev(t, source, std::move(fields));
}

// The shim's trace line of one of the mux's calls (pid 10, at 1 s): a fault
// point as explore sees it.
inline timeline_event trace(const std::string& call, const std::string& cls,
                            const std::string& peer, const std::string& phase, int conn_n) {
  return ev(1, 10, "faults",
            {{"event", "fault"},
             {"role", "mux"},
             {"call", call},
             {"fd_class", cls},
             {"peer", peer},
             {"phase", phase},
             {"conn_n", conn_n},
             {"effect", "trace"}});
}

// The result of the oracle named `n`, or an "none" error result when none is.
inline const oracle_result& named(const std::vector<oracle_result>& rs, const std::string& n) {
  for (const auto& r : rs)
    if (r.name == n) return r;
  static const oracle_result none{"none", verdict::error, {}};
  return none;
}

}  // namespace faultmux::test
