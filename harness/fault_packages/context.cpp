// Context faults: the built-in mux's ContextService tells the context at a
// path to signal itself (or its parent) when it reaches a phase
// (--context-fault-at); the context logs the fault as it hits it.
#include "harness/fault_packages/fault_package.hpp"

namespace faultmux {
namespace {

class context_faults final : public fault_package {
 public:
  explicit context_faults(const scenario& s) {
    for (const auto& f : s.faults) {
      if (f.kind != fault_spec::kind_t::context) continue;
      if (!f.behave.empty())
        args_.insert(args_.end(), {"--context-behave", f.context + "=" + f.behave});
      else
        args_.insert(args_.end(),
                     {"--context-fault-at",
                      f.context + "=" + f.fault_at + (f.victim == "parent" ? "@parent" : "")});
    }
  }

  void shape_target(target_faults& t) const override {
    t.mux_args.insert(t.mux_args.end(), args_.begin(), args_.end());
  }

  // A phase fault logged by anything but a worker: a context of the mux.
  std::optional<reports::fault_entry> describe(const timeline_event& e, double t0) const override {
    if (e.str("kind") == "behaviour") {
      reports::fault_entry entry = fault_entry_of(e, t0);
      entry.kind = "behaviour";
      entry.what = "behaviour " + e.str("spec");
      return entry;
    }
    if (e.str("kind") != "phase") return std::nullopt;
    return phase_fault_entry(e, t0);
  }

 private:
  std::vector<std::string>
      args_;  // --context-fault-at PATH=PHASE:ACTION[@parent], --context-behave PATH=BEHAVIOUR
};

}  // namespace

std::unique_ptr<fault_package> context_package(const scenario& s) {
  return std::make_unique<context_faults>(s);
}

}  // namespace faultmux
