#include "harness/target_command.hpp"

#include <algorithm>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "harness/external_target.hpp"

namespace faultmux {
namespace {

std::vector<std::string> builtin_mux_argv(const scenario& s, const target_spec& t,
                                          const target_launch& l, const run_paths& p, int backlog) {
  std::vector<std::string> a{l.self,
                             "mux",
                             "--listen",
                             p.socket,
                             "--backlog",
                             std::to_string(backlog),
                             "--events",
                             p.events("mux"),
                             "--max-message-size",
                             std::to_string(t.max_message_size),
                             "--output-cap",
                             std::to_string(t.output_cap),
                             "--handshake-timeout-ms",
                             std::to_string(t.handshake_timeout_ms),
                             "--shutdown-grace-ms",
                             std::to_string(t.shutdown_grace_ms)};
  if (t.unidirectional) a.push_back("--unidirectional");
  for (const auto& c : s.contexts) a.insert(a.end(), {"--start-context", c});
  for (const auto& bug : l.legacy_bugs) a.insert(a.end(), {"--legacy-bug", bug});
  a.insert(a.end(), l.faults.mux_args.begin(), l.faults.mux_args.end());
  return a;
}

}  // namespace

target_spec effective_target(const target_spec& own, const std::string& option,
                             const std::string& mitogen_src) {
  if (own.kind != target_spec::kind_t::fake_listener && option == "mitogen")
    return mitogen_target(own, mitogen_src);
  return own;
}

std::string target_name(const target_spec& own, const std::string& option) {
  if (own.kind == target_spec::kind_t::fake_listener) return "fake-listener";
  if (option == "mitogen") return "mitogen";
  return own.kind == target_spec::kind_t::external ? "external" : "builtin";
}

int target_backlog(const scenario& s, const target_spec& t) {
  return t.backlog > 0 ? t.backlog : std::max(1, s.worker_count());
}

std::vector<std::string> target_argv(const scenario& s, const target_spec& t,
                                     const target_launch& l, const run_paths& p) {
  const int backlog = target_backlog(s, t);
  switch (t.kind) {
    case target_spec::kind_t::builtin:
      return builtin_mux_argv(s, t, l, p, backlog);
    case target_spec::kind_t::external:
      // It writes no events: the driver turns its stderr into them afterwards.
      return external_argv(t, p.socket, backlog);
    case target_spec::kind_t::fake_listener:
      return {l.self,     "fake-listener",  "--listen",
              p.socket,   "--answer-bytes", fmt::format("{}", fmt::join(t.answer_bytes, ",")),
              "--events", p.events("mux")};
  }
  return {};
}

std::vector<std::string> shim_prefix(const std::string& shim, const std::vector<std::string>& rules,
                                     std::uint64_t seed, const run_paths& p,
                                     const char* asan_options,
                                     const std::vector<std::string>& env) {
  if (rules.empty() && env.empty()) return {};
  // In ASan builds the shim comes before the ASan runtime; ASan must be told.
  const bool asan = asan_options && *asan_options;
  std::string options =
      std::string(asan ? asan_options : "") + (asan ? ":" : "") + "verify_asan_link_order=0";
  std::vector<std::string> out{"/usr/bin/env",
                               "ASAN_OPTIONS=" + options,
                               "LD_PRELOAD=" + shim,
                               fmt::format("FAULTMUX_FAULTS={}", fmt::join(rules, ";")),
                               "FAULTMUX_SEED=" + std::to_string(seed),
                               "FAULTMUX_FAULT_LOG=" + p.dir + "/faults.log",
                               "FAULTMUX_ROLE=mux",
                               "FAULTMUX_INDEX=0"};
  out.insert(out.end(), env.begin(), env.end());
  return out;
}

ms target_stop_grace(const target_spec& t) {
  return ms(t.shutdown_grace_ms + 3000);
}

}  // namespace faultmux
