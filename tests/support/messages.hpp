// Messages for tests of the frame codec and the router, every header field
// given.
#pragma once

#include <cstdint>
#include <string>
#include <utility>

#include "mux/message.hpp"

namespace faultmux::test {

inline message make_message(std::uint32_t dst, std::uint32_t src, std::uint32_t auth,
                            std::uint32_t h, std::uint32_t reply_to, std::string data) {
  message m;
  m.dst_id = dst;
  m.src_id = src;
  m.auth_id = auth;
  m.handle = h;
  m.reply_to = reply_to;
  m.data = std::move(data);
  return m;
}

}  // namespace faultmux::test
