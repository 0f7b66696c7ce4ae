// Who a worker group's workers are: faultmux's own worker or a real Mitogen
// 0.3.3 unix client (client = "mitogen"), and the uid it runs as.
#pragma once

#include <string>
#include <vector>

#include "harness/scenario.hpp"

namespace faultmux {

// The command of a client = "mitogen" worker up to its workload options:
// /usr/bin/python3 DATA_DIR/scenarios/mitogen_worker.py, then --uid/--gid.
std::vector<std::string> mitogen_worker_prefix(const worker_group& g, const std::string& data_dir);

}  // namespace faultmux
