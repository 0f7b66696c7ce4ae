// Fault decisions as pure functions of (seed, process, rule, call number):
// a counter-based hash, no time and no shared RNG state, so a run is
// reproduced by its seed and a forked child gets a stream of its own.
// Header-only and allocation-free: the shim calls it from any context.
#pragma once

#include <cstdint>
#include <string_view>

#include "faults/rules.hpp"

namespace faultmux::faults {

constexpr std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

// FNV-1a, so a role name enters the stream as a number.
constexpr std::uint64_t name_hash(std::string_view s) {
  std::uint64_t h = 0xcbf29ce484222325ull;
  for (char c : s) h = (h ^ static_cast<unsigned char>(c)) * 0x100000001b3ull;
  return h;
}

// The decision stream of a process started with this environment.
constexpr std::uint64_t process_stream(std::uint64_t seed, std::string_view role,
                                       std::int64_t index) {
  std::uint64_t s = splitmix64(seed);
  s = splitmix64(s ^ name_hash(role));
  return splitmix64(s ^ static_cast<std::uint64_t>(index));
}

// The stream of the `ordinal`-th (1-based) fork child of a process: derived
// from the parent's stream, so siblings and parent all differ and a rerun
// with the same seed gives each child the same stream again.
constexpr std::uint64_t child_stream(std::uint64_t parent, std::uint64_t ordinal) {
  return splitmix64(parent ^ splitmix64(0xf0f0f0f0f0f0f0f0ull + ordinal));
}

// Uniform in [0, 1) for call `n` (1-based) of rule `rule_index`.
constexpr double decision_value(std::uint64_t stream, std::uint64_t rule_index, std::uint64_t n) {
  std::uint64_t h = splitmix64(stream ^ splitmix64(rule_index + 1));
  h = splitmix64(h ^ n);
  return static_cast<double>(h >> 11) * 0x1.0p-53;
}

// Whether call `n` of the calls a rule addresses gets its effect.
constexpr bool fires(const rule& r, std::uint64_t stream, std::uint64_t rule_index,
                     std::uint64_t n) {
  switch (r.occ) {
    case occurrence::every_call:
      return true;
    case occurrence::range:
      return n >= r.first && n <= r.last;
    case occurrence::every_kth:
      return n % r.every == 0;
    case occurrence::probability:
      return decision_value(stream, rule_index, n) < r.p;
  }
  return false;
}

}  // namespace faultmux::faults
