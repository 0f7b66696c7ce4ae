// Two small scenario texts for tests of what a run writes (results.json,
// junit.xml, the HTML page): one that passes, one that hangs and fails.
#pragma once

namespace faultmux::test {

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
