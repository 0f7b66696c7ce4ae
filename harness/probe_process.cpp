#include "harness/probe_process.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "harness/proc_diagnosis.hpp"
#include "harness/worker_set.hpp"
#include "roles/process.hpp"

namespace faultmux {

probe_result run_probe_process(const std::string& self, const std::string& socket,
                               const std::string& dir, pid_t& pid) {
  constexpr ms budget(3000);
  probe_result p;
  child_process probe;
  try {
    probe = child_process::spawn(
        {self, "probe", "--socket", socket, "--budget-ms", std::to_string(budget.count())}, true,
        dir + "/probe.stderr", {"FAULTMUX_PEER=probe"});
  } catch (const std::exception& e) {
    p.detail = fmt::format("probe: cannot start it: {}", e.what());
    return p;
  }
  pid = probe.pid();
  auto line = probe.read_line(budget * 4);
  if (!probe.wait(ms(2000))) kill_and_reap(probe);
  try {
    const auto j = nlohmann::json::parse(line.value_or(""));
    p.ok = j.value("ok", false);
    p.detail = j.value("detail", "");
    p.connect_errno = j.value("errno", 0);
  } catch (const nlohmann::json::exception&) {
    p.detail = fmt::format("probe: no answer from the probe process (pid {}): {}", probe.pid(),
                           tail_of(dir + "/probe.stderr"));
  }
  return p;
}

}  // namespace faultmux
