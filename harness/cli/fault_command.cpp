// `faultmux fault signal|nofile|run`: process and resource faults by hand.
#include <memory>

#include "harness/cli/commands.hpp"
#include "harness/cli/number_checks.hpp"
#include "harness/fault_command.hpp"

namespace faultmux::cli {
namespace {

void add_fault_signal_command(CLI::App* fault, runner& chosen) {
  auto o = std::make_shared<fault_signal_options>();
  auto* sub = fault->add_subcommand("signal", "send a signal to a process, optionally later");
  sub->add_option("--pid", o->pid, "the process")->required()->check(positive);
  sub->add_option("--signal", o->signal, "SIGKILL, SIGTERM, SIGSTOP, SIGCONT, ... or a number")
      ->required();
  sub->add_option("--after-ms", o->after_ms, "wait this long first")
      ->check(non_negative)
      ->capture_default_str();
  sub->add_option("--resume-after-ms", o->resume_after_ms,
                  "with a stop signal: send SIGCONT this long after it")
      ->check(non_negative);
  sub->add_option("--events", o->events, "append JSON-lines events to this file");
  on_chosen(sub, chosen, [o](const invocation&) { return run_fault_signal(*o); });
}

void add_fault_nofile_command(CLI::App* fault, runner& chosen) {
  auto o = std::make_shared<fault_nofile_options>();
  auto* sub = fault->add_subcommand(
      "nofile", "lower a running process's soft RLIMIT_NOFILE (and restore it later)");
  sub->add_option("--pid", o->pid, "the process")->required()->check(positive);
  sub->add_option("--limit", o->limit,
                  "new soft limit, or `full`: its lowest free descriptor number, so the next "
                  "accept() fails with EMFILE")
      ->required();
  sub->add_option("--restore-after-ms", o->restore_after_ms,
                  "restore the previous soft limit this long after")
      ->check(non_negative);
  sub->add_option("--events", o->events, "append JSON-lines events to this file");
  on_chosen(sub, chosen, [o](const invocation&) { return run_fault_nofile(*o); });
}

void add_fault_run_command(CLI::App* fault, runner& chosen) {
  auto o = std::make_shared<fault_run_options>();
  auto* sub = fault->add_subcommand("run", "run a command (same pid) with a low RLIMIT_NOFILE");
  sub->add_option("--nofile", o->nofile, "soft RLIMIT_NOFILE for the command")->required();
  sub->add_option("--events", o->events, "append JSON-lines events to this file");
  sub->add_option("command", o->command, "the command, after --")->required();
  on_chosen(sub, chosen, [o](const invocation&) { return run_fault_run(*o); });
}

}  // namespace

void add_fault_command(CLI::App& app, runner& chosen) {
  auto* fault = app.add_subcommand("fault", "apply a process or resource fault");
  fault->require_subcommand(1);
  add_fault_signal_command(fault, chosen);
  add_fault_nofile_command(fault, chosen);
  add_fault_run_command(fault, chosen);
}

}  // namespace faultmux::cli
