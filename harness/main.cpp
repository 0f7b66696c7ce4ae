// faultmux: one binary, one role per subcommand.
#include <malloc.h>
#include <signal.h>
#include <unistd.h>

#include <climits>
#include <cstdio>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "faults/hostile.hpp"
#include "faults/phase.hpp"
#include "roles/context_args.hpp"
#include "roles/context_role.hpp"
#include "harness/driver.hpp"
#include "roles/fake_listener.hpp"
#include "harness/fault_command.hpp"
#include "harness/mutants.hpp"
#include "harness/report_command.hpp"
#include "roles/roles.hpp"
#include "harness/scenario.hpp"
#include "harness/shrink.hpp"
#include "harness/suite.hpp"

namespace {

std::string self_path(const char* argv0) {
  char buf[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  if (n <= 0) return argv0;
  return std::string(buf, static_cast<std::size_t>(n));
}

// Parses a --fault-at value for `role`; prints what is wrong and returns
// nullopt on bad input.
std::optional<faultmux::faults::phase_fault> parse_fault_at(const char* cmd, const char* option,
                                                            const std::string& text,
                                                            faultmux::faults::phase_role role) {
  namespace f = faultmux::faults;
  std::string why;
  auto fault = f::parse_phase_fault(text, &why);
  if (!fault) {
    std::fprintf(stderr, "faultmux %s: %s \"%s\": %s\n", cmd, option, text.c_str(), why.c_str());
    return std::nullopt;
  }
  if (f::role_of(fault->at) != role) {
    const char* who = role == f::phase_role::worker ? "worker" : "context";
    std::fprintf(
        stderr, "faultmux %s: %s \"%s\": phase %s is not reached by a %s; a %s reaches %s\n", cmd,
        option, text.c_str(), f::phase_name(fault->at), who, who, f::phases_of(role).c_str());
    return std::nullopt;
  }
  return fault;
}

// --context-fault-at NAME=PHASE:ACTION[@parent] values, by context path.
bool parse_context_faults(const char* cmd, const std::vector<std::string>& specs,
                          std::map<std::string, std::string>& out) {
  for (const std::string& spec : specs) {
    auto eq = spec.find('=');
    if (eq == std::string::npos || eq == 0) {
      std::fprintf(stderr,
                   "faultmux %s: --context-fault-at \"%s\": expected NAME=PHASE:ACTION, e.g. "
                   "--context-fault-at target=mid-call:SIGKILL (or a/b=mid-call:SIGKILL@parent)\n",
                   cmd, spec.c_str());
      return false;
    }
    std::string phase = faultmux::split_fault_target(spec.substr(eq + 1)).first;
    if (!parse_fault_at(cmd, "--context-fault-at", phase, faultmux::faults::phase_role::context))
      return false;
    out[spec.substr(0, eq)] = spec.substr(eq + 1);
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  // A peer that vanishes must be an EPIPE we handle, never a signal.
  ::signal(SIGPIPE, SIG_IGN);
  // Message bodies of up to a few MiB come and go all the time: keep them in
  // the heap rather than mapping and unmapping (and faulting in) each one.
  ::mallopt(M_MMAP_THRESHOLD, 64 << 20);
  ::mallopt(M_TRIM_THRESHOLD, 256 << 20);

  CLI::App app{"faultmux: reliability harness for Mitogen-style connection multiplexers"};
  app.require_subcommand(1);
  int verbosity = 0;
  app.add_flag("-v,--verbose", verbosity, "more logging; -vv for every message")->take_all();

  faultmux::mux_options mo;
  auto* mux = app.add_subcommand("mux", "run the built-in mux until SIGTERM");
  mux->add_option("--listen", mo.listen,
                  "socket path (default: a new private directory under $TMPDIR)");
  mux->add_option("--backlog", mo.backlog, "listen backlog: set it to the number of workers")
      ->check(CLI::Range(1, 65535))
      ->capture_default_str();
  mux->add_option("--max-message-size", mo.max_message_size, "largest body in bytes")
      ->capture_default_str();
  mux->add_option("--output-cap", mo.output_cap,
                  "bytes queued for one stream before it is disconnected as a slow reader")
      ->capture_default_str();
  mux->add_flag("--unidirectional", mo.unidirectional,
                "refuse forwards between unprivileged streams");
  mux->add_option("--handshake-timeout-ms", mo.handshake_timeout_ms,
                  "deadline for a client's handshake")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  mux->add_option("--shutdown-grace-ms", mo.shutdown_grace_ms,
                  "time to flush queued output on shutdown")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  mux->add_option("--events", mo.events, "append JSON-lines events to this file");
  mux->add_flag("-v,--verbose", mo.verbosity, "more logging; -vv for every message")->take_all();
  std::vector<std::string> context_faults;
  mux->add_option("--context-fault-at", context_faults,
                  "NAME=PHASE:ACTION: start the context NAME with --fault-at PHASE:ACTION "
                  "(repeatable)");

  std::vector<std::string> legacy_names;
  mux->add_option("--legacy-bug", legacy_names,
                  "NAME: re-enable one historical Mitogen failure on purpose, to prove the "
                  "suite catches it (repeatable): " +
                      faultmux::legacy_bugs::known_names());

  faultmux::worker_options wo;
  auto* worker = app.add_subcommand(
      "worker", "connect to a mux, serve echo, optionally run a message workload");
  worker->add_option("--connect", wo.connect, "the mux's socket path")->required();
  worker->add_option("--peer", wo.peer, "context id to send the workload to (another worker)");
  worker->add_option("--count", wo.count, "messages to send and check")
      ->check(CLI::NonNegativeNumber);
  worker->add_option("--size", wo.size, "body bytes per message")->capture_default_str();
  worker->add_option("--in-flight", wo.in_flight, "messages waiting at once")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  worker->add_flag("--ack-only", wo.ack_only,
                   "the echo handle replies with an empty body instead of the echo");
  worker
      ->add_option("--connect-timeout-ms", wo.connect_timeout_ms,
                   "give up connecting after this long")
      ->capture_default_str();
  worker
      ->add_option("--backlog-wait-ms", wo.backlog_wait_ms,
                   "retry a full listen backlog (EAGAIN) this long; 0: fail at once "
                   "(default: the whole connect timeout)")
      ->check(CLI::Range(-1, 3600000));
  worker
      ->add_option("--reply-timeout-ms", wo.reply_timeout_ms,
                   "fail when no reply comes for this long")
      ->capture_default_str();
  worker->add_option("--events", wo.events, "append JSON-lines events to this file");
  worker->add_flag("-v,--verbose", wo.verbosity, "more logging; -vv for every message")->take_all();

  worker->add_option("--context", wo.context,
                     "call workload: get this context from the mux's faultmux.ContextService");
  worker->add_option("--function", wo.function, "call workload: faultmux.builtins function to call")
      ->check(CLI::IsMember({"echo", "checksum", "make_bytes", "getpid", "sleep", "caller_ids"}))
      ->capture_default_str();
  worker->add_option("--relay-to", wo.relay_to,
                     "call workload: make each call in this context through --context's "
                     "call_child(id, function, args)");

  // Hostile peers and phase faults (faults/README.md).
  std::string behave, fault_at;
  faultmux::faults::hostile_options ho;
  worker->add_option("--behave", behave,
                     "misbehave instead of working: " + faultmux::faults::behaviour_names());
  worker->add_option("--target", ho.target, "--behave: the context to message (an echo worker)");
  worker->add_option("--spoof-id", ho.spoof_id,
                     "--behave spoof-auth/spoof-src: the id to claim (default: --target)");
  worker
      ->add_option("--hold-ms", ho.hold_ms,
                   "--behave: how long to hold, or to wait for the mux's reaction")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  worker
      ->add_option("--max-message-size", ho.max_message_size,
                   "--behave: the message size limit the oversize behaviours go past")
      ->capture_default_str();
  worker->add_option("--pid-bytes", ho.pid_bytes, "--behave short-pid: pid bytes sent (0-3)")
      ->capture_default_str();
  worker->add_option("--seed", ho.seed, "--behave: seed for garbage and message bodies")
      ->capture_default_str();
  worker->add_option("--fault-at", fault_at,
                     "PHASE:ACTION: signal this worker at a phase (" +
                         faultmux::faults::phases_of(faultmux::faults::phase_role::worker) +
                         "; SIGKILL, SIGTERM or SIGSTOP)");

  faultmux::context_options co;
  std::string parent_ids;
  auto* context =
      app.add_subcommand("context", "a child context (started by a mux or another context)");
  context->add_option("--fd", co.fd, "the stream to the parent")->capture_default_str();
  context->add_option("--context-id", co.context_id, "this context's id")->required();
  context->add_option("--parent-ids", parent_ids, "ancestor ids, nearest first, comma-separated")
      ->required();
  context->add_option("--name", co.name, "this context's name")->required();
  context->add_option("--max-message-size", co.max_message_size, "largest body in bytes")
      ->capture_default_str();
  context->add_option("--events", co.events, "append JSON-lines events to this file");
  context->add_flag("-v,--verbose", co.verbosity, "more logging; -vv for every message")
      ->take_all();
  std::string context_fault_at;
  context->add_option("--fault-at", context_fault_at,
                      "PHASE:ACTION: signal this context at a phase (mid-call; SIGKILL, SIGTERM or "
                      "SIGSTOP)");
  std::string fault_target = "self";
  context
      ->add_option("--fault-target", fault_target,
                   "who gets the --fault-at signal: self, or parent (the context that started "
                   "this one)")
      ->check(CLI::IsMember({"self", "parent"}))
      ->capture_default_str();
  context->add_flag("--unidirectional", co.unidirectional,
                    "refuse forwards between unprivileged streams (passed on to children)");
  context->add_option("--legacy-bug", co.legacy_names,
                      "NAME: a legacy bug of the mux, in this context's router too (repeatable)");
  std::vector<std::string> child_faults;
  context->add_option("--context-fault-at", child_faults,
                      "PATH=PHASE:ACTION[@parent]: a phase fault for the context PATH below this "
                      "one (repeatable)");

  faultmux::fake_listener_options flo;
  auto* fake_listener = app.add_subcommand(
      "fake-listener",
      "a hostile listener: answers each client fewer than 12 identity bytes, then closes");
  fake_listener->add_option("--listen", flo.listen, "socket path")->required();
  fake_listener
      ->add_option("--answer-bytes", flo.answer_bytes,
                   "identity bytes sent to connection i after its pid: the list's i-th "
                   "(cycling), 0-11; -1 closes before reading the pid")
      ->delimiter(',')
      ->check(CLI::Range(-1, 11))
      ->capture_default_str();
  fake_listener->add_option("--events", flo.events, "append JSON-lines events to this file");

  auto* suite = app.add_subcommand(
      "suite",
      "run the built-in suite against the built-in mux; writes reports/latest/ (results.json, "
      "junit.xml, index.html with the history of the last 20 suite runs)");
  bool suite_with_mitogen = false;
  suite->add_flag("--with-mitogen", suite_with_mitogen,
                  "also run every scenario against Mitogen 0.3.3 (python3-mitogen) into the same "
                  "report: its results are findings and do not change the exit status");

  faultmux::report_options rpo;
  auto* report = app.add_subcommand(
      "report",
      "render index.html from results.json files: one file renders that run; several render the "
      "newest in full with a history of all (pass rate per scenario and target, flaky ones "
      "flagged, duration trends)");
  report->add_option("RESULTS", rpo.files, "results.json files written by run --report or suite")
      ->required();
  report->add_option("-o,--out", rpo.out_dir, "write DIR/index.html (DIR is made if missing)")
      ->required();

  std::vector<std::string> scenario_files;
  auto* validate = app.add_subcommand("validate", "check scenario files without running them");
  validate->add_option("FILE", scenario_files, "scenario files (TOML)")->required();

  faultmux::driver_options dro;
  std::optional<std::uint64_t> run_seed;
  auto* run = app.add_subcommand("run", "run scenarios against the built-in mux and judge them");
  run->add_option("PATH", dro.paths, "scenario files, or directories of *.toml")->required();
  run->add_option("--seed", run_seed, "use this seed instead of each scenario's own");
  run->add_option("--filter", dro.filter, "only scenarios whose name matches this glob");
  run->add_option("--target", dro.target,
                  "builtin: each scenario's own target (default); mitogen: Mitogen 0.3.3 "
                  "through scenarios/mitogen_mux.py")
      ->check(CLI::IsMember({"builtin", "mitogen"}));
  run->add_option("--repeat", dro.repeat,
                  "run each scenario N times with the same seed, to find flaky ones")
      ->check(CLI::Range(1, 10000));
  run->add_option("--jobs", dro.jobs,
                  "run N scenarios at once (each in its own run directory; timing-sensitive "
                  "scenarios may then fail on a small machine)")
      ->check(CLI::Range(1, 256));
  run->add_flag("--with-mitogen", dro.with_mitogen,
                "also run every scenario against Mitogen 0.3.3 into the same report: its results "
                "are findings and do not change the exit status");
  run->add_option("--report", dro.report_dir, "write DIR/results.json and DIR/junit.xml");
  run->add_option("--legacy-bug", dro.legacy_bugs,
                  "NAME: run the mux with this legacy bug enabled (repeatable): " +
                      faultmux::legacy_bugs::known_names());
  run->add_flag("-v,--verbose", dro.verbosity,
                "every oracle's evidence; keep a failed run's directory")
      ->take_all();

  faultmux::mutants_options muo;
  auto* mutants = app.add_subcommand(
      "mutants", "prove the scenarios catch each --legacy-bug of the built-in mux");
  mutants->add_option("PATH", muo.paths,
                      "scenario files, or directories of *.toml (default: the checkout's "
                      "scenarios/)");
  mutants->add_option("--bug", muo.bugs, "only this legacy bug (repeatable; default: all)");
  mutants->add_flag("-v,--verbose", muo.verbosity, "keep a failed run's directory")->take_all();

  faultmux::shrink_options sho;
  auto* shrink = app.add_subcommand(
      "shrink", "reduce a failing scenario to fewer faults and workers that still fail");
  shrink->add_option("FILE", sho.file, "the failing scenario file")->required();
  shrink->add_option("--seed", sho.seed, "use this seed instead of the scenario's own");
  shrink->add_option("--legacy-bug", sho.legacy_bugs,
                     "NAME: run the mux with this legacy bug enabled (repeatable): " +
                         faultmux::legacy_bugs::known_names());
  shrink
      ->add_option("--target", sho.target,
                   "builtin: the scenario's own target (default); mitogen: Mitogen 0.3.3")
      ->check(CLI::IsMember({"builtin", "mitogen"}));
  shrink->add_option("--out", sho.out, "write the result here (default: <FILE stem>.shrunk.toml)");
  shrink->add_flag("-v,--verbose", sho.verbosity, "keep a failed run's directory")->take_all();

  auto* fault = app.add_subcommand("fault", "apply a process or resource fault");
  fault->require_subcommand(1);
  faultmux::fault_signal_options fso;
  auto* fsig = fault->add_subcommand("signal", "send a signal to a process, optionally later");
  fsig->add_option("--pid", fso.pid, "the process")->required()->check(CLI::PositiveNumber);
  fsig->add_option("--signal", fso.signal, "SIGKILL, SIGTERM, SIGSTOP, SIGCONT, ... or a number")
      ->required();
  fsig->add_option("--after-ms", fso.after_ms, "wait this long first")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  fsig->add_option("--resume-after-ms", fso.resume_after_ms,
                   "with a stop signal: send SIGCONT this long after it")
      ->check(CLI::NonNegativeNumber);
  fsig->add_option("--events", fso.events, "append JSON-lines events to this file");
  faultmux::fault_nofile_options fno;
  auto* fnof = fault->add_subcommand(
      "nofile", "lower a running process's soft RLIMIT_NOFILE (and restore it later)");
  fnof->add_option("--pid", fno.pid, "the process")->required()->check(CLI::PositiveNumber);
  fnof->add_option("--limit", fno.limit,
                   "new soft limit, or `full`: its lowest free descriptor number, so the next "
                   "accept() fails with EMFILE")
      ->required();
  fnof->add_option("--restore-after-ms", fno.restore_after_ms,
                   "restore the previous soft limit this long after")
      ->check(CLI::NonNegativeNumber);
  fnof->add_option("--events", fno.events, "append JSON-lines events to this file");
  faultmux::fault_run_options fro;
  auto* frun = fault->add_subcommand("run", "run a command (same pid) with a low RLIMIT_NOFILE");
  frun->add_option("--nofile", fro.nofile, "soft RLIMIT_NOFILE for the command")->required();
  frun->add_option("--events", fro.events, "append JSON-lines events to this file");
  frun->add_option("command", fro.command, "the command, after --")->required();

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return 2;
  }

  if (*fsig) return faultmux::run_fault_signal(fso);
  if (*fnof) return faultmux::run_fault_nofile(fno);
  if (*frun) return faultmux::run_fault_run(fro);

  if (*fake_listener) return faultmux::run_fake_listener(flo);
  if (*context) {
    if (!context_fault_at.empty()) {
      co.fault_at = parse_fault_at("context", "--fault-at", context_fault_at,
                                   faultmux::faults::phase_role::context);
      if (!co.fault_at) return 2;
    }
    co.fault_parent = fault_target == "parent";
    if (co.fault_parent && !co.fault_at) {
      std::fprintf(stderr, "faultmux context: --fault-target parent needs --fault-at\n");
      return 2;
    }
    for (const std::string& name : co.legacy_names) {
      if (!co.legacy.enable(name)) {
        std::fprintf(stderr, "faultmux context: --legacy-bug %s: no such bug; known: %s\n",
                     name.c_str(), faultmux::legacy_bugs::known_names().c_str());
        return 2;
      }
    }
    if (!parse_context_faults("context", child_faults, co.context_fault_at)) return 2;
    co.verbosity = std::max(co.verbosity, verbosity);
    co.self = self_path(argv[0]);
    std::stringstream ids(parent_ids);
    for (std::string id; std::getline(ids, id, ',');) {
      try {
        co.parent_ids.push_back(static_cast<std::uint32_t>(std::stoul(id)));
      } catch (const std::exception&) {
        std::fprintf(stderr, "faultmux context: --parent-ids: %s is not a context id\n",
                     id.c_str());
        return 2;
      }
    }
    return faultmux::run_context(co);
  }
  if (*mux) {
    if (!parse_context_faults("mux", context_faults, mo.context_fault_at)) return 2;
    for (const std::string& name : legacy_names) {
      if (!mo.legacy.enable(name)) {
        std::fprintf(stderr, "faultmux mux: --legacy-bug %s: no such bug; known: %s\n",
                     name.c_str(), faultmux::legacy_bugs::known_names().c_str());
        return 2;
      }
    }
    mo.verbosity = std::max(mo.verbosity, verbosity);
    mo.self = self_path(argv[0]);
    return faultmux::run_mux(mo);
  }
  if (*worker) {
    if (!behave.empty()) {
      auto b = faultmux::faults::parse_behaviour(behave);
      if (!b) {
        std::fprintf(stderr, "faultmux worker: --behave %s: no such behaviour; use one of %s\n",
                     behave.c_str(), faultmux::faults::behaviour_names().c_str());
        return 2;
      }
      if (wo.peer || !wo.context.empty() || !fault_at.empty()) {
        std::fprintf(stderr,
                     "faultmux worker: --behave %s replaces the worker's own workload: drop "
                     "--peer, --context and --fault-at (the hostile peer messages --target)\n",
                     behave.c_str());
        return 2;
      }
      ho.what = *b;
      ho.connect = wo.connect;
      ho.count = wo.count;
      if (worker->count("--size") > 0) ho.size = wo.size;
      ho.connect_timeout_ms = wo.connect_timeout_ms;
      ho.events = wo.events;
      return faultmux::faults::run_hostile(ho);
    }
    if (!fault_at.empty()) {
      wo.fault_at =
          parse_fault_at("worker", "--fault-at", fault_at, faultmux::faults::phase_role::worker);
      if (!wo.fault_at) return 2;
      // The cut frame is a header and --size bytes of body.
      std::size_t frame = 26 + wo.size;
      if (wo.fault_at->at == faultmux::faults::phase::mid_frame &&
          wo.fault_at->frame_bytes >= frame) {
        std::fprintf(stderr,
                     "faultmux worker: --fault-at %s: K must be below the frame's length, %zu "
                     "(26 header bytes + --size %zu): use K from 1 to %zu, or a larger --size\n",
                     fault_at.c_str(), frame, wo.size, frame - 1);
        return 2;
      }
    }
    wo.verbosity = std::max(wo.verbosity, verbosity);
    return faultmux::run_worker(wo);
  }
  // The command line as given, for the reports.
  std::string command_line = "faultmux";
  for (int i = 1; i < argc; ++i) command_line += std::string(" ") + argv[i];
  if (*suite)
    return faultmux::run_suite(self_path(argv[0]), verbosity, command_line, suite_with_mitogen);
  if (*validate) return faultmux::validate_scenarios(scenario_files);
  if (*report) return faultmux::run_report(rpo);
  if (*mutants) {
    muo.verbosity = std::max(muo.verbosity, verbosity);
    muo.self = self_path(argv[0]);
    return faultmux::run_mutants(muo);
  }
  if (*shrink) {
    sho.verbosity = std::max(sho.verbosity, verbosity);
    sho.self = self_path(argv[0]);
    return faultmux::run_shrink(sho);
  }
  if (*run) {
    for (const std::string& name : dro.legacy_bugs) {
      if (!faultmux::legacy_bugs{}.enable(name)) {
        std::fprintf(stderr, "faultmux run: --legacy-bug %s: no such bug; known: %s\n",
                     name.c_str(), faultmux::legacy_bugs::known_names().c_str());
        return 2;
      }
    }
    dro.seed = run_seed;
    dro.verbosity = std::max(dro.verbosity, verbosity);
    dro.self = self_path(argv[0]);
    dro.command_line = command_line;
    return faultmux::run_driver(dro);
  }
  return 2;
}
