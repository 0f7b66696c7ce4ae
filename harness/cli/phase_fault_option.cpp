#include "harness/cli/phase_fault_option.hpp"

#include <cstdio>

#include "roles/context_args.hpp"

namespace faultmux::cli {

std::optional<faults::phase_fault> parse_fault_at(const char* command, const char* option,
                                                  const std::string& text,
                                                  faults::phase_role role) {
  std::string why;
  auto fault = faults::parse_phase_fault(text, &why);
  if (!fault) {
    std::fprintf(stderr, "faultmux %s: %s \"%s\": %s\n", command, option, text.c_str(),
                 why.c_str());
    return std::nullopt;
  }
  if (faults::role_of(fault->at) != role) {
    const char* who = role == faults::phase_role::worker ? "worker" : "context";
    std::fprintf(stderr,
                 "faultmux %s: %s \"%s\": phase %s is not reached by a %s; a %s reaches %s\n",
                 command, option, text.c_str(), faults::phase_name(fault->at), who, who,
                 faults::phases_of(role).c_str());
    return std::nullopt;
  }
  return fault;
}

namespace {

// Splits PATH=VALUE; nullopt after printing what was expected, with `example`.
std::optional<std::pair<std::string, std::string>> split_path_spec(const char* command,
                                                                   const char* option,
                                                                   const std::string& spec,
                                                                   const char* expected) {
  auto eq = spec.find('=');
  if (eq == std::string::npos || eq == 0) {
    std::fprintf(stderr, "faultmux %s: %s \"%s\": expected %s\n", command, option, spec.c_str(),
                 expected);
    return std::nullopt;
  }
  return std::pair{spec.substr(0, eq), spec.substr(eq + 1)};
}

}  // namespace

bool parse_context_faults(const char* command, const std::vector<std::string>& specs,
                          std::map<std::string, std::string>& out) {
  for (const std::string& spec : specs) {
    auto ps = split_path_spec(command, "--context-fault-at", spec,
                              "NAME=PHASE:ACTION, e.g. --context-fault-at target=mid-call:SIGKILL "
                              "(or a/b=mid-call:SIGKILL@parent)");
    if (!ps) return false;
    std::string phase = split_fault_target(ps->second).first;
    if (!parse_fault_at(command, "--context-fault-at", phase, faults::phase_role::context))
      return false;
    out[ps->first] = ps->second;
  }
  return true;
}

std::optional<faults::child_behaviour> parse_behave(const char* command, const char* option,
                                                    const std::string& text) {
  std::string why;
  auto b = faults::parse_child_behaviour(text, &why);
  if (!b)
    std::fprintf(stderr, "faultmux %s: %s \"%s\": %s\n", command, option, text.c_str(),
                 why.c_str());
  return b;
}

bool parse_context_behaviours(const char* command, const std::vector<std::string>& specs,
                              std::map<std::string, std::string>& out) {
  for (const std::string& spec : specs) {
    auto ps = split_path_spec(command, "--context-behave", spec,
                              "NAME=BEHAVIOUR, e.g. --context-behave target=linger:3000 (or "
                              "a/b=log-flood:1000)");
    if (!ps) return false;
    auto b = parse_behave(command, "--context-behave", ps->second);
    if (!b) return false;
    out[ps->first] = faults::to_string(*b);
  }
  return true;
}

}  // namespace faultmux::cli
