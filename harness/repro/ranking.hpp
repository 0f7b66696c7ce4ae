// Ranks the places a fault can land by how close each is to a failure's
// signature: the same call and errno first, then the same phase and fd
// class, then the failing region's neighbours (later occurrences, other
// effects of the same call), as Anduril ranks fault sites near the failing
// log lines. Where no trace names the failed call, it is read off the error
// lines ("failed to read remote identity ... EAGAIN": a recv of the pid).
#pragma once

#include <string>
#include <vector>

#include "harness/explore/effects.hpp"
#include "harness/explore/fault_point.hpp"
#include "harness/explore/pairs.hpp"
#include "harness/repro/signature.hpp"

namespace faultmux::repro {

// A run to try: the base scenario with these faults (none: the base alone).
struct candidate {
  std::vector<planned_fault> faults;
  double score = 0;
  // "EAGAIN at recv@accepted peer=good:0 phase=handshake #1"; "the base scenario alone".
  std::string what() const;
};

// The calls the signature says failed: its traced calls, or when there are
// none, the calls its error lines imply.
std::vector<failed_call> wanted_calls(const signature& sig);

// How close `fx` at `p` is to the signature's failed calls (higher is closer).
double closeness(const fault_point& p, const effect& fx, const std::vector<failed_call>& wanted,
                 const signature& sig);

// Every effect at each point (one member of each class), best first.
std::vector<candidate> ranked_singles(const std::vector<fault_point>& points, const signature& sig);

// Pairs around the best single candidates: each of the first `around` with
// each of the next ones (up to `with`) on another point.
std::vector<candidate> pairs_around(const std::vector<candidate>& singles, std::size_t around,
                                    std::size_t with);

}  // namespace faultmux::repro
