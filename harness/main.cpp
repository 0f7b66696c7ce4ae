// faultmux: one binary, one role per subcommand.
#include <signal.h>
#include <unistd.h>

#include <climits>
#include <cstdio>
#include <sstream>
#include <string>

#include <CLI/CLI.hpp>

#include "harness/context_role.hpp"
#include "harness/roles.hpp"

namespace {

std::string self_path(const char* argv0) {
  char buf[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  if (n <= 0) return argv0;
  return std::string(buf, static_cast<std::size_t>(n));
}

}  // namespace

int main(int argc, char** argv) {
  // A peer that vanishes must be an EPIPE we handle, never a signal.
  ::signal(SIGPIPE, SIG_IGN);

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
      ->add_option("--reply-timeout-ms", wo.reply_timeout_ms,
                   "fail when no reply comes for this long")
      ->capture_default_str();
  worker->add_option("--events", wo.events, "append JSON-lines events to this file");
  worker->add_flag("-v,--verbose", wo.verbosity, "more logging; -vv for every message")->take_all();

  worker->add_option("--context", wo.context,
                     "call workload: get this context from the mux's faultmux.ContextService");
  worker->add_option("--function", wo.function, "call workload: faultmux.builtins function to call")
      ->check(CLI::IsMember({"echo", "checksum", "make_bytes", "getpid", "sleep"}))
      ->capture_default_str();

  faultmux::context_options co;
  std::string parent_ids;
  auto* context = app.add_subcommand("context", "a child context (started by a mux or another context)");
  context->add_option("--fd", co.fd, "the stream to the parent")->capture_default_str();
  context->add_option("--context-id", co.context_id, "this context's id")->required();
  context->add_option("--parent-ids", parent_ids, "ancestor ids, nearest first, comma-separated")->required();
  context->add_option("--name", co.name, "this context's name")->required();
  context->add_option("--max-message-size", co.max_message_size, "largest body in bytes")->capture_default_str();
  context->add_option("--events", co.events, "append JSON-lines events to this file");
  context->add_flag("-v,--verbose", co.verbosity, "more logging; -vv for every message")->take_all();

  auto* suite = app.add_subcommand("suite", "run the built-in suite against the built-in mux");

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

  if (*context) {
    co.verbosity = std::max(co.verbosity, verbosity);
    co.self = self_path(argv[0]);
    std::stringstream ids(parent_ids);
    for (std::string id; std::getline(ids, id, ',');) {
      try {
        co.parent_ids.push_back(static_cast<std::uint32_t>(std::stoul(id)));
      } catch (const std::exception&) {
        std::fprintf(stderr, "faultmux context: --parent-ids: %s is not a context id\n", id.c_str());
        return 2;
      }
    }
    return faultmux::run_context(co);
  }
  if (*mux) {
    mo.verbosity = std::max(mo.verbosity, verbosity);
    mo.self = self_path(argv[0]);
    return faultmux::run_mux(mo);
  }
  if (*worker) {
    wo.verbosity = std::max(wo.verbosity, verbosity);
    return faultmux::run_worker(wo);
  }
  if (*suite) return faultmux::run_smoke(self_path(argv[0]), verbosity);
  return 2;
}
