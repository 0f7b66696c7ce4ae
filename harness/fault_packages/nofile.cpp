// RLIMIT_NOFILE faults: the mux's soft limit lowered at a time of the
// scenario (prlimit), and optionally restored later.
#include <fmt/format.h>

#include "faults/nofile.hpp"
#include "harness/fault_packages/fault_package.hpp"

namespace faultmux {
namespace {

class nofile_faults final : public fault_package {
 public:
  explicit nofile_faults(const scenario& s) {
    for (std::size_t i = 0; i < s.faults.size(); ++i)
      if (s.faults[i].kind == fault_spec::kind_t::nofile) faults_.push_back({i, s.faults[i]});
  }

  // at_ms after the workers started.
  void schedule(fault_scene& scene, run_point point, run_clock::time_point now) override {
    if (point != run_point::workers_started) return;
    for (const auto& f : faults_)
      scene.at(now + ms(f.spec.at_ms), [this, &scene, &f] { apply(scene, f); });
  }

  std::optional<reports::fault_entry> describe(const timeline_event& e, double t0) const override {
    const std::string kind = e.str("kind");
    if (kind != "nofile" && kind != "restore") return std::nullopt;
    return driver_fault_entry(e, t0);
  }

 private:
  struct fault {
    std::size_t index;  // in the scenario's faults
    fault_spec spec;
  };

  static pid_t mux_of(const fault_scene& scene) {
    auto pids = scene.processes("mux");
    return pids.empty() ? -1 : pids.front();
  }

  void apply(fault_scene& scene, const fault& f) {
    const pid_t mux = mux_of(scene);
    faults::nofile_limits before{};
    int err = faults::set_nofile_soft(mux, static_cast<rlim_t>(f.spec.limit), &before);
    scene.record(
        "nofile", f.index, mux,
        fmt::format("RLIMIT_NOFILE soft {} -> {}", faults::limit_text(before.soft), f.spec.limit),
        err);
    if (err == 0 && f.spec.restore_after_ms >= 0)
      scene.at(run_clock::now() + ms(f.spec.restore_after_ms),
               [&scene, &f, mux, before] { heal(scene, f, mux, before.soft); });
  }

  // The soft limit the mux had before.
  static void heal(fault_scene& scene, const fault& f, pid_t mux, rlim_t soft) {
    int err = faults::set_nofile_soft(mux, soft);
    scene.record("restore", f.index, mux,
                 fmt::format("RLIMIT_NOFILE soft restored to {}", faults::limit_text(soft)), err);
  }

  std::vector<fault> faults_;
};

}  // namespace

std::unique_ptr<fault_package> nofile_package(const scenario& s) {
  return std::make_unique<nofile_faults>(s);
}

}  // namespace faultmux
