// What a run of a scenario gives its users: the rerun command, the verdict
// and the report's entry.
#include <algorithm>
#include <filesystem>

#include <fmt/format.h>

#include "harness/driver.hpp"
#include "harness/fault_packages/fault_package.hpp"

namespace faultmux {

namespace fs = std::filesystem;

std::vector<std::string> scenario_files(const std::vector<std::string>& paths) {
  std::vector<std::string> out;
  for (const auto& p : paths) {
    std::error_code ec;
    if (fs::is_directory(p, ec)) {
      std::vector<std::string> found;
      for (const auto& e : fs::directory_iterator(p, ec))
        if (e.path().extension() == ".toml") found.push_back(e.path().string());
      std::sort(found.begin(), found.end());
      out.insert(out.end(), found.begin(), found.end());
    } else if (fs::exists(p, ec)) {
      out.push_back(p);
    } else {
      throw scenario_error(fmt::format("{}: no such scenario file or directory", p));
    }
  }
  return out;
}

std::vector<reports::fault_entry> faults_of(const timeline& tl) {
  // Describing needs no scenario: each kind recognises its own events.
  return describe_faults(packages_for(scenario{}), tl);
}

std::string faultmux_command() {
  std::error_code ec;
  return std::filesystem::is_regular_file("faultmux", ec) ? "./faultmux" : "faultmux";
}

// The scenario file relative to the working directory when it lies inside
// it: a line from a CI report then works when pasted into any checkout.
std::string rerun_command(const scenario_result& r) {
  std::error_code ec;
  const fs::path cwd = fs::current_path(ec);
  fs::path file = r.file;
  if (!ec && file.is_absolute()) {
    fs::path inside = file.lexically_relative(cwd);
    if (!inside.empty() && *inside.begin() != "..") file = inside;
  }
  std::string out = fmt::format("{} run {} --seed {}", faultmux_command(), file.string(), r.seed);
  for (const auto& bug : r.legacy_bugs) out += " --legacy-bug " + bug;
  if (r.target == "mitogen") out += " --target mitogen";
  if (!r.mitogen_src.empty()) out += " --mitogen-src " + r.mitogen_src;
  return out;
}

std::string rerun_command(const std::string& file, std::uint64_t seed, const driver_options& d) {
  scenario_result r;
  r.file = file;
  r.seed = seed;
  r.legacy_bugs = d.legacy_bugs;
  r.target = d.target;
  r.mitogen_src = d.mitogen_src;
  return rerun_command(r);
}

reports::verdict verdict_of(const scenario_result& r) {
  return run_verdict(r.error, r.oracles, !r.unserved.empty());
}

reports::scenario_entry report_entry(const scenario_result& r) {
  reports::scenario_entry e = r.report;
  e.file = r.file;
  e.name = r.name;
  e.target = r.target;
  e.target_version = r.target_version;
  e.verdict = verdict_of(r);
  e.seed = r.seed;
  e.duration_s = r.seconds;
  for (const auto& o : r.oracles) e.oracles.push_back({o.name, o.v, o.evidence});
  e.rerun = rerun_command(r);
  e.repeat = r.repeat;
  e.legacy_bugs = r.legacy_bugs;
  e.spawn_ms = r.start_ms;
  return e;
}

}  // namespace faultmux
