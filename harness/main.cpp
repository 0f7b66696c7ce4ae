// faultmux: one binary, one role per subcommand.
#include <unistd.h>

#include <climits>
#include <string>

#include <CLI/CLI.hpp>

#include "harness/cli/commands.hpp"
#include "harness/cli/process_setup.hpp"
#include "harness/version.hpp"

namespace {

std::string self_path(const char* argv0) {
  char buf[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  if (n <= 0) return argv0;
  return std::string(buf, static_cast<std::size_t>(n));
}

// The name usage lines show: how the program was invoked (the ./faultmux
// wrapper execs the built binary, whose basename is "faultmux"), never its
// path inside a build tree.
std::string invoked_name(const char* argv0) {
  std::string name = argv0 && *argv0 ? argv0 : "faultmux";
  if (auto slash = name.rfind('/'); slash != std::string::npos) name.erase(0, slash + 1);
  return name.empty() ? "faultmux" : name;
}

}  // namespace

// Commands report their own errors: one that escapes is a bug, said with
// its text, and the status is 70 (EX_SOFTWARE).
int main(int argc, char** argv) try {
  namespace cli = faultmux::cli;
  cli::prepare_process();

  CLI::App app{"faultmux: reliability harness for Mitogen-style connection multiplexers"};
  app.name(invoked_name(argv[0]));
  app.require_subcommand(1);
  app.set_version_flag("--version", "faultmux " + faultmux::faultmux_version_line(),
                       "print \"faultmux VERSION (git REVISION)\" and exit");
  cli::invocation invocation;
  app.add_flag("-v,--verbose", invocation.verbosity, "more logging; -vv for every message")
      ->take_all();
  cli::runner chosen;
  for (auto add : {cli::add_mux_command, cli::add_worker_command, cli::add_context_command,
                   cli::add_fake_listener_command, cli::add_suite_command, cli::add_report_command,
                   cli::add_validate_command, cli::add_new_command, cli::add_run_command,
                   cli::add_mutants_command, cli::add_shrink_command, cli::add_explore_command,
                   cli::add_repro_command, cli::add_fault_command, cli::add_probe_command})
    add(app, chosen);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return 2;
  }
  if (!chosen) return 2;
  invocation.self = self_path(argv[0]);
  invocation.command_line = "faultmux";
  for (int i = 1; i < argc; ++i) invocation.command_line += std::string(" ") + argv[i];
  return chosen(invocation);
} catch (...) {
  return faultmux::cli::unexpected_error("faultmux");
}
