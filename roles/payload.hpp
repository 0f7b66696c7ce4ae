// Deterministic message bodies for workloads: the sequence number in the
// first bytes and a pattern derived from it, so a reply can be checked.
#pragma once

#include <cstdint>
#include <string>

namespace faultmux {

inline std::string make_payload(std::uint64_t seq, std::size_t size) {
  std::string s(size, '\0');
  for (std::size_t i = 0; i < size; ++i) {
    s[i] =
        i < 8 ? static_cast<char>(seq >> (56 - 8 * i)) : static_cast<char>((seq * 31 + i) & 0xff);
  }
  return s;
}

}  // namespace faultmux
