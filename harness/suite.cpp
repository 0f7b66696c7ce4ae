#include "harness/suite.hpp"

#include <chrono>
#include <cstdio>

#include <fmt/format.h>

#include "harness/driver.hpp"
#include "harness/install_paths.hpp"
#include "harness/report_command.hpp"
#include "roles/roles.hpp"

namespace faultmux {

int run_suite(const std::string& self, int verbosity, const std::string& command_line,
              bool with_mitogen, const std::string& filter) {
  const install_paths where = find_install_paths(self);
  std::printf("smoke workload:\n");
  std::fflush(stdout);
  auto start = std::chrono::steady_clock::now();
  const int smoke = run_smoke(self, verbosity);
  // The smoke run is the report's first entry, so a CI reader sees it too.
  reports::scenario_entry e;
  e.file = "roles/smoke.cpp";
  e.name = "smoke";
  e.origin = "the built-in smoke workload (echo, load and call workers through one mux)";
  e.verdict = smoke == 0 ? reports::verdict::pass : reports::verdict::fail;
  e.duration_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  e.oracles.push_back({"smoke checks",
                       e.verdict,
                       {fmt::format("run_smoke exit status {} (its checks are printed by faultmux "
                                    "suite)",
                                    smoke)}});
  e.rerun = faultmux_command() + " suite";

  driver_options o;
  o.paths = {where.data_dir + "/scenarios"};
  o.filter = filter;
  o.verbosity = verbosity;
  o.self = self;
  o.report_dir = where.report_dir + "/latest";
  o.command_line = command_line;
  o.prelude = {e};
  o.with_mitogen = with_mitogen;
  std::printf("scenarios in %s/scenarios:\n", where.data_dir.c_str());
  std::fflush(stdout);
  const int rc = run_driver(o);
  // The page a person opens: this run in full, with the trend of the last
  // suite runs (reports/history/ keeps a copy of each results.json).
  if (rc != 2) {
    std::string index;
    std::string err = render_with_history(o.report_dir, where.report_dir + "/history", 20, &index);
    if (!err.empty()) {
      std::fprintf(stderr, "faultmux suite: report: %s\n", err.c_str());
      return 2;
    }
    std::printf("%s\n", index.c_str());
    std::fflush(stdout);
  }
  if (rc == 0 && smoke != 0) return 1;
  return rc;
}

}  // namespace faultmux
