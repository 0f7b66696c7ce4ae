// Scenario texts for tests: two small ones for tests of what a run writes
// (results.json, junit.xml, the HTML page), one that passes, one that hangs
// and fails; and the worker groups most test scenarios are made of.
#pragma once

#include <string>

namespace faultmux::test {

// Two [[workers]] groups to append to a scenario's own keys: `servers` serve
// workers named "servers", and `good` echo workers named "good" that send
// `messages` each to them.
inline std::string echo_groups(int servers, int good, int messages) {
  return "\n[[workers]]\nname = \"servers\"\ncount = " + std::to_string(servers) +
         "\nworkload = \"serve\"\n\n[[workers]]\nname = \"good\"\ncount = " + std::to_string(good) +
         "\nworkload = \"echo\"\npeer = \"servers\"\nmessages = " + std::to_string(messages) + "\n";
}

// Two calls groups: "ca", one worker calling context a `messages` times, and
// "cb" calling context b.
inline std::string context_call_groups(int messages) {
  std::string out;
  for (const char* c : {"a", "b"})
    out += std::string("\n[[workers]]\nname = \"c") + c +
           "\"\ncount = 1\nworkload = \"calls\"\ncontext = \"" + c +
           "\"\nmessages = " + std::to_string(messages) + "\n";
  return out;
}

inline constexpr const char* passing_scenario = R"(name = "quick"
description = "two workers connect"
origin = "test support"
timeout_ms = 5000

[[workers]]
name = "forks"
count = 2
workload = "connect"
)";

inline constexpr const char* failing_scenario = R"(name = "hung"
description = "a worker stops itself once connected and nobody resumes it"
origin = "test support"
timeout_ms = 1000

[[workers]]
name = "stuck"
workload = "connect"
fault_at = "connected:SIGSTOP"
)";

}  // namespace faultmux::test
