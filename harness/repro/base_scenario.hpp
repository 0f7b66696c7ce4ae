// The base scenario a failure is searched in: a workload like the one the
// evidence shows (how many clients, the message size limit it names, calls to
// contexts, the peers it names), with no injected syscall fault of its own.
#pragma once

#include <string>

#include <toml++/toml.h>

#include "harness/repro/signature.hpp"

namespace faultmux::repro {

// Echo workers and two servers, as many clients as the evidence names
// (between 4 and 10); callers of a context when the evidence has calls; the
// hostile peers the mux's lines describe (route abuse, a spoofed auth_id, a
// bad magic, an oversize body, an unknown handle); a second mux on the
// path when a bind met EADDRINUSE; a SIGTERM to the mux with
// clients on it when the evidence shows such a shutdown. With a size limit
// and calls in the evidence (and the built-in target, which serves calls):
// callers of a context whose replies are over the limit beside callers of
// another.
toml::table base_scenario(const signature& sig, const std::string& target);

}  // namespace faultmux::repro
