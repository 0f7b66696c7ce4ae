// Phase faults: each worker of a group hits PHASE:ACTION in itself
// (--fault-at) and logs it. A hostile worker has no phases to hit.
#include "harness/fault_packages/fault_package.hpp"

namespace faultmux {
namespace {

class phase_faults final : public fault_package {
 public:
  explicit phase_faults(const scenario&) {}

  void shape_worker(const worker_group& g, std::vector<std::string>& argv) const override {
    if (!g.fault_at.empty() && g.workload != worker_group::workload_t::hostile)
      argv.insert(argv.end(), {"--fault-at", g.fault_at});
  }

  std::optional<reports::fault_entry> describe(const timeline_event& e, double t0) const override {
    if (e.str("kind") != "phase" || e.source.rfind("worker-", 0) != 0) return std::nullopt;
    return phase_fault_entry(e, t0);
  }
};

}  // namespace

std::unique_ptr<fault_package> phase_package(const scenario& s) {
  return std::make_unique<phase_faults>(s);
}

}  // namespace faultmux
