// `faultmux fake-listener`: a hostile unix listener for the client's side of
// the handshake (scenario listener-short-identity). It accepts, reads the client's pid and
// answers fewer than the 12 identity bytes (or none, or closes before the
// pid), then closes: a client must report a ConnectError with the errno and
// the path, never a decode error or a hang.
#pragma once

#include <string>
#include <vector>

namespace faultmux {

struct fake_listener_options {
  std::string listen;
  // Connection i gets answer_bytes[i % n] identity bytes after its pid, then
  // the close; -1: closed right after accept, before the pid is read.
  std::vector<int> answer_bytes{0};
  std::string events;
};

// Serves until SIGTERM/SIGINT, then removes its socket file: 0; 2 when it
// cannot listen.
int run_fake_listener(const fake_listener_options& o);

}  // namespace faultmux
