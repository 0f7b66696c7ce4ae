#include "harness/fault_packages/fault_package.hpp"

#include <fmt/format.h>

namespace faultmux {

fault_packages packages_for(const scenario& s) {
  fault_packages out;
  out.push_back(syscall_package(s));
  out.push_back(phase_package(s));
  out.push_back(context_package(s));
  out.push_back(signal_package(s));
  out.push_back(nofile_package(s));
  return out;
}

std::vector<reports::fault_entry> describe_faults(const fault_packages& packages,
                                                  const timeline& tl) {
  std::vector<reports::fault_entry> out;
  const double t0 = tl.empty() ? 0.0 : tl.front().t;
  for (const auto& e : tl) {
    if (e.event() != "fault") continue;
    std::optional<reports::fault_entry> f;
    for (const auto& p : packages)
      if ((f = p->describe(e, t0))) break;
    // Faults no package of this run declares (`faultmux fault` lines) read as the driver's.
    out.push_back(f ? std::move(*f) : driver_fault_entry(e, t0));
  }
  return out;
}

reports::fault_entry fault_entry_of(const timeline_event& e, double t0) {
  reports::fault_entry f;
  f.at_s = e.t - t0;
  f.source = e.source;
  f.pid = e.pid();
  return f;
}

reports::fault_entry driver_fault_entry(const timeline_event& e, double t0) {
  reports::fault_entry f = fault_entry_of(e, t0);
  f.kind = e.str("kind");
  std::string err = e.str("errno");
  f.what = fmt::format("{} (pid {}){}", e.str("what"), e.num("target_pid"),
                       err.empty() ? "" : ": " + err);
  return f;
}

reports::fault_entry phase_fault_entry(const timeline_event& e, double t0) {
  reports::fault_entry f = fault_entry_of(e, t0);
  f.kind = "phase";
  f.what = fmt::format("{} at phase {}", e.str("action"), e.str("spec"));
  if (e.str("victim") == "parent")
    f.what += fmt::format(", to its parent (pid {})", e.num("target_pid"));
  return f;
}

}  // namespace faultmux
