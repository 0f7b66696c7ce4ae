#include "harness/repro/acceptance.hpp"

#include <algorithm>

namespace faultmux::repro {

signature run_signature(const timeline& tl, const std::vector<oracle_result>& oracles) {
  signature s;
  for (const auto& e : tl) add_event(s, e.fields(), e.source);
  for (const auto& o : oracles)
    if (is_failure(o.v)) s.oracle_failures.insert(o.name);
  return s;
}

match compare(const signature& want, const signature& got) {
  match m;
  std::size_t total = 0, shown = 0;
  for (const auto& key : want.keys()) {
    const auto& w = *std::find_if(want.hits.begin(), want.hits.end(),
                                  [&](const error_hit& h) { return h.key() == key; });
    ++total;
    const bool seen = std::any_of(got.hits.begin(), got.hits.end(), [&](const error_hit& g) {
      // A client's errno is timing (a refused connect, or reset or EPIPE mid-handshake,
      // as the listener goes): the mux's is the failure's own.
      return g.from == w.from && g.cls == w.cls &&
             (w.err.empty() || w.from == side::client || g.err == w.err);
    });
    if (seen)
      ++shown;
    else
      m.missing.push_back(key);
  }
  for (const auto& o : want.oracle_failures) {
    ++total;
    if (got.oracle_failures.count(o))
      ++shown;
    else
      m.missing.push_back("oracle " + o + " failing");
  }
  m.closeness = total ? static_cast<double>(shown) / static_cast<double>(total) : 0;
  m.reproduced = total > 0 && shown == total;
  return m;
}

}  // namespace faultmux::repro
