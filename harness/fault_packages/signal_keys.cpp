#include "harness/fault_packages/signal_keys.hpp"

#include <signal.h>

#include <algorithm>
#include <cstdint>
#include <iterator>
#include <utility>

#include <fmt/format.h>

namespace faultmux {
namespace {

// An integer lo..hi at key, or a problem.
std::optional<signal_key_problem> integer(const toml::table& t, std::string_view key,
                                          std::int64_t lo, std::int64_t hi, int& out) {
  const toml::node* n = t.get(key);
  if (!n) return std::nullopt;
  auto v = n->value_exact<std::int64_t>();
  if (!v || *v < lo || *v > hi)
    return signal_key_problem{n, fmt::format("'{}' must be an integer {}..{}", key, lo, hi)};
  out = static_cast<int>(*v);
  return std::nullopt;
}

}  // namespace

int fault_signal_number(std::string_view name) {
  static const std::pair<std::string_view, int> known[] = {
      {"SIGKILL", SIGKILL}, {"SIGTERM", SIGTERM}, {"SIGSTOP", SIGSTOP},  {"SIGCONT", SIGCONT},
      {"SIGINT", SIGINT},   {"SIGHUP", SIGHUP},   {"SIGCHLD", SIGCHLD},  {"SIGALRM", SIGALRM},
      {"SIGUSR1", SIGUSR1}, {"SIGUSR2", SIGUSR2}, {"SIGWINCH", SIGWINCH}};
  for (auto [n, v] : known)
    if (n == name) return v;
  return 0;
}

std::optional<signal_key_problem> read_signal_extras(const toml::table& t, fault_spec& f) {
  if (const toml::node* n = t.get("sequence")) {
    const toml::array* a = n->as_array();
    if (a)
      for (const auto& e : *a)
        if (auto s = e.value_exact<std::string>(); s && fault_signal_number(*s))
          f.sequence.push_back(*s);
    if (!a || a->empty() || f.sequence.size() != a->size())
      return signal_key_problem{n,
                                "'sequence' must be a non-empty array of signal names "
                                "(SIGTERM, SIGINT, SIGHUP, ...)"};
  }
  if (const toml::node* n = t.get("gaps_ms")) {
    const toml::array* a = n->as_array();
    if (a)
      for (const auto& e : *a)
        if (auto v = e.value_exact<std::int64_t>(); v && *v >= 0 && *v <= 60000)
          f.gaps_ms.push_back(static_cast<int>(*v));
    if (!a || f.gaps_ms.size() != a->size() || f.gaps_ms.size() != f.sequence.size())
      return signal_key_problem{
          n,
          "'gaps_ms' must hold one integer 0..60000 per signal of 'sequence': the wait "
          "before it, after the signal before it"};
  } else {
    f.gaps_ms.assign(f.sequence.size(), 0);
  }
  if (auto bad = integer(t, "storm_hz", 1, 10000, f.storm_hz)) return bad;
  if (auto bad = integer(t, "storm_ms", 1, 600000, f.storm_ms)) return bad;
  if ((f.storm_hz > 0) != (f.storm_ms > 0))
    return signal_key_problem{
        nullptr, "a storm needs both 'storm_hz' (signals a second) and 'storm_ms' (how long)"};
  if (f.storm_hz > 0 && !f.sequence.empty())
    return signal_key_problem{nullptr, "a signal fault is a storm or a sequence, not both"};
  static const char* const stormy[] = {"SIGCHLD", "SIGALRM", "SIGUSR1", "SIGUSR2", "SIGWINCH"};
  if (f.storm_hz > 0 && std::none_of(std::begin(stormy), std::end(stormy),
                                     [&](const char* s) { return f.signal == s; }))
    return signal_key_problem{
        t.get("signal"),
        fmt::format("a storm sends SIGCHLD, SIGALRM, SIGUSR1, SIGUSR2 or SIGWINCH (signals that "
                    "leave the process running), got {:?}",
                    f.signal)};
  return std::nullopt;
}

}  // namespace faultmux
