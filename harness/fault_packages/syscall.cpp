// Syscall faults: shim rules preloaded into the target (the rules with
// in = "workers" are the driver's to load into the workers); the shim itself
// decides when each fires and logs it to faults.log.
#include <fmt/format.h>

#include "harness/fault_packages/fault_package.hpp"

namespace faultmux {
namespace {

class syscall_faults final : public fault_package {
 public:
  explicit syscall_faults(const scenario& s) {
    for (const auto& f : s.faults)
      if (f.kind == fault_spec::kind_t::syscall && f.in != "workers") rules_.push_back(f.rule);
  }

  void shape_target(target_faults& t) const override {
    t.shim_rules.insert(t.shim_rules.end(), rules_.begin(), rules_.end());
  }

  // The shim's log line: the call, its fd and the rule that fired.
  std::optional<reports::fault_entry> describe(const timeline_event& e, double t0) const override {
    if (e.source != "faults") return std::nullopt;
    reports::fault_entry f = fault_entry_of(e, t0);
    f.kind = "syscall";
    // socketpair, fork and execve act on no fd.
    const std::string on = e.str("fd_class").empty()
                               ? std::string()
                               : fmt::format(" on {} fd {}", e.str("fd_class"), e.num("fd"));
    f.what = fmt::format("{}{} (rule {} '{}', call {}) -> {}{}", e.str("call"), on, e.num("rule"),
                         e.str("rule_text"), e.num("n"), e.str("effect"),
                         e.str("self").empty() ? "" : " in " + e.str("self"));
    f.rule = fmt::format("rule {} '{}'", e.num("rule"), e.str("rule_text"));
    return f;
  }

 private:
  std::vector<std::string> rules_;
};

}  // namespace

std::unique_ptr<fault_package> syscall_package(const scenario& s) {
  return std::make_unique<syscall_faults>(s);
}

}  // namespace faultmux
