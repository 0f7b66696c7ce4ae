// `faultmux validate`: scenario files checked, not run; the scenario
// reference and JSON Schema printed from the loader's table of keys.
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "harness/cli/commands.hpp"
#include "harness/driver.hpp"
#include "harness/scenario.hpp"
#include "harness/scenario_keys.hpp"

namespace faultmux::cli {
namespace {

struct validate_command_options {
  std::vector<std::string> paths;  // scenario files (TOML) or directories of them
  bool schema = false;
  bool reference = false;
};

// Each directory's *.toml in name order; a file (even a missing one) as given.
std::vector<std::string> files_of(const std::vector<std::string>& paths) {
  std::vector<std::string> out;
  for (const auto& p : paths) {
    std::error_code ec;
    if (std::filesystem::is_directory(p, ec)) {
      auto found = scenario_files({p});
      out.insert(out.end(), found.begin(), found.end());
    } else {
      out.push_back(p);
    }
  }
  return out;
}

// The key tables of docs/scenarios.md, one per section.
void print_reference() {
  for (const char* section : {"", "target", "workers", "faults", "expect"})
    std::printf("## %s\n\n%s\n", *section ? section : "top level",
                scenario_keys_markdown(section).c_str());
}

int run_validate(const validate_command_options& o) {
  if (o.schema) {
    std::fputs(scenario_json_schema().c_str(), stdout);
    return 0;
  }
  if (o.reference) {
    print_reference();
    return 0;
  }
  if (o.paths.empty()) {
    std::fprintf(stderr, "faultmux validate: give scenario files or directories (or --schema)\n");
    return 2;
  }
  const auto files = files_of(o.paths);
  if (files.empty()) {
    std::fprintf(stderr, "faultmux validate: no *.toml in the given directories\n");
    return 2;
  }
  return validate_scenarios(files);
}

}  // namespace

void add_validate_command(CLI::App& app, runner& chosen) {
  auto o = std::make_shared<validate_command_options>();
  auto* sub = app.add_subcommand(
      "validate",
      "check scenario files (or directories of *.toml) without running them: every error of a "
      "file, one FILE:LINE:COLUMN line each");
  sub->add_option("PATH", o->paths, "scenario files (TOML), or directories of *.toml");
  sub->add_flag("--schema", o->schema,
                "print the JSON Schema of scenario files (docs/scenario.schema.json)");
  sub->add_flag("--reference", o->reference,
                "print the key tables of docs/scenarios.md, from the loader's own table");
  on_chosen(sub, chosen, [o](const invocation&) { return run_validate(*o); });
}

}  // namespace faultmux::cli
