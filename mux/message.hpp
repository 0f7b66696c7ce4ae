// One protocol message: the header fields and the body.
#pragma once

#include <cstdint>
#include <string>

#include "wire/limits.hpp"
#include "wire/protocol.hpp"

namespace faultmux {

struct message {
  // The body's encoding as the sender marked it (wire/protocol.hpp): kept
  // from decode to encode, so a routed message leaves with the value it came
  // with; a message made here is legacy-pickled, as Mitogen 0.3.3 sends.
  std::uint16_t magic = magic_pickled_legacy;
  std::uint32_t dst_id = 0;
  std::uint32_t src_id = 0;
  std::uint32_t auth_id = 0;
  std::uint32_t handle = 0;
  std::uint32_t reply_to = 0;
  std::string data;  // body bytes; text for dead messages and route bodies

  bool is_dead() const { return reply_to == handle::is_dead; }

  // A dead message carrying `reason` (UTF-8), as Mitogen's Message.dead().
  static message dead(std::string reason, std::uint32_t dst = 0, std::uint32_t h = 0) {
    message m;
    m.dst_id = dst;
    m.handle = h;
    m.reply_to = handle::is_dead;
    m.data = std::move(reason);
    return m;
  }
};

}  // namespace faultmux
