// faultmux-worker: the `faultmux worker` role alone, with the same command
// line (`faultmux-worker worker ...`). Small and linked statically, it starts
// in about the time of /bin/true: a scenario starts thousands of workers.

#include <CLI/CLI.hpp>

#include "harness/cli/commands.hpp"
#include "harness/cli/process_setup.hpp"

// An error that escapes a command is a bug: said with its text, status 70.
int main(int argc, char** argv) try {
  namespace cli = faultmux::cli;
  cli::prepare_process();
  CLI::App app{"faultmux-worker: a client of the mux, as `faultmux worker`"};
  app.name("faultmux-worker");
  app.require_subcommand(1);
  cli::invocation invocation;
  app.add_flag("-v,--verbose", invocation.verbosity, "more logging; -vv for every message")
      ->take_all();
  cli::runner chosen;
  cli::add_worker_command(app, chosen);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int status = app.exit(e);
    return status == 0 ? 0 : 2;
  }
  return chosen ? chosen(invocation) : 2;
} catch (...) {
  return faultmux::cli::unexpected_error("faultmux-worker");
}
