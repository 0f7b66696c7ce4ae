// A stale socket file: bound, with nobody listening, as a mux killed before
// it could clean up leaves it behind.
#pragma once

#include <string>

namespace faultmux {

// Binds a socket file at `path` and closes it: connect then gives
// ECONNREFUSED. 0, or the errno.
int make_stale_socket(const std::string& path);

}  // namespace faultmux
