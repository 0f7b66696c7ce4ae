// Frame codec: encoding a message to bytes and a streaming decoder that
// accepts any fragmentation and many frames per read. Pure: no I/O.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "mux/message.hpp"

namespace faultmux {

using header_bytes = std::array<std::uint8_t, header_size>;

// The 26-byte header of `m` (its magic as is, data_len = m.data.size()).
header_bytes encode_header(const message& m);
// Header followed by the body, as one buffer.
std::string encode_frame(const message& m);

// Why a stream's input was rejected.
enum class frame_error { none, bad_magic, too_large };

// Turns a byte stream into messages. Checks run in docs/protocol.md's order:
// magic first, then data_len against the limit, before any body is buffered.
class frame_decoder {
 public:
  explicit frame_decoder(std::uint64_t max_message_size = limits::max_message_size)
      : max_(max_message_size) {}

  // Consumes `bytes`, appending every completed message to `out`. After an
  // error the decoder stays failed and consumes nothing more.
  frame_error feed(std::span<const std::uint8_t> bytes, std::vector<message>& out);
  frame_error feed(const std::string& bytes, std::vector<message>& out) {
    return feed({reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()}, out);
  }

  // While a large body is incomplete, the rest of it: a caller may read
  // straight into this span and then call commit_body(), saving a copy.
  std::span<std::uint8_t> body_space();
  // body_space() when at least `at_least` bytes of the body are still to
  // come and fit in it, else empty (and nothing is allocated for it).
  std::span<std::uint8_t> body_space(std::size_t at_least);
  void commit_body(std::size_t n, std::vector<message>& out);

  frame_error error() const { return error_; }
  // The log line for the error: Mitogen's wording plus a bounded hex dump.
  const std::string& error_detail() const { return detail_; }
  // Bytes held for a frame not yet complete.
  std::size_t buffered() const { return header_len_ + (in_body_ ? body_len_ : 0); }

 private:
  frame_error parse_header();
  void finish(std::vector<message>& out);
  void grow_body(std::size_t need);

  std::uint64_t max_;
  header_bytes header_{};
  std::size_t header_len_ = 0;
  bool in_body_ = false;
  message current_;
  std::size_t body_len_ = 0;     // body bytes received so far
  std::size_t body_target_ = 0;  // data_len of the current frame
  frame_error error_ = frame_error::none;
  std::string detail_;
};

}  // namespace faultmux
