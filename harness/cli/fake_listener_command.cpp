// `faultmux fake-listener`: a listener that breaks the client's handshake.
#include <memory>

#include "harness/cli/commands.hpp"
#include "roles/fake_listener.hpp"

namespace faultmux::cli {

void add_fake_listener_command(CLI::App& app, runner& chosen) {
  auto o = std::make_shared<fake_listener_options>();
  auto* sub = app.add_subcommand(
      "fake-listener",
      "a hostile listener: answers each client fewer than 12 identity bytes, then closes");
  sub->add_option("--listen", o->listen, "socket path")->required();
  sub->add_option("--answer-bytes", o->answer_bytes,
                  "identity bytes sent to connection i after its pid: the list's i-th "
                  "(cycling), 0-11; -1 closes before reading the pid")
      ->delimiter(',')
      ->check(CLI::Range(-1, 11))
      ->capture_default_str();
  sub->add_option("--events", o->events, "append JSON-lines events to this file");
  on_chosen(sub, chosen, [o](const invocation&) { return run_fake_listener(*o); });
}

}  // namespace faultmux::cli
