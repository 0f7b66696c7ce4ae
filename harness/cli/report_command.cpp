// `faultmux report`: index.html from results.json files, or explorations'
// shards merged.
#include <memory>

#include "harness/cli/commands.hpp"
#include "harness/report_command.hpp"

namespace faultmux::cli {

void add_report_command(CLI::App& app, runner& chosen) {
  auto o = std::make_shared<report_options>();
  auto* sub = app.add_subcommand(
      "report",
      "render index.html from results.json files: one file renders that run; several render the "
      "newest in full with a history of all (pass rate per scenario and target, flaky ones "
      "flagged, duration trends), or with --merge one matrix of them all side by side; the "
      "results.json files of explore shards merge into one certificate per scenario");
  sub->add_option("RESULTS", o->files,
                  "results.json files written by run --report, suite or explore --report")
      ->required();
  sub->add_option("-o,--out", o->out_dir,
                  "write DIR/index.html, or the merged DIR/results.json (DIR is made if missing)")
      ->required();
  sub->add_flag("--merge", o->merge,
                "several runs as one report: their scenarios side by side in one matrix (a "
                "column two runs share is split, one per run), instead of a history");
  on_chosen(sub, chosen, [o](const invocation& in) {
    o->command_line = in.command_line;
    return run_report(*o);
  });
}

}  // namespace faultmux::cli
