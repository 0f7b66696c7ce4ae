#include "mux/frame.hpp"

#include <algorithm>
#include <bit>
#include <cstring>

#include <fmt/format.h>

namespace faultmux {
namespace {

// Big-endian, as one load or store each: every frame in and out passes here.
void put32(std::uint8_t* p, std::uint32_t v) {
  if constexpr (std::endian::native == std::endian::little) v = __builtin_bswap32(v);
  std::memcpy(p, &v, sizeof v);
}

std::uint32_t get32(const std::uint8_t* p) {
  std::uint32_t v;
  std::memcpy(&v, p, sizeof v);
  if constexpr (std::endian::native == std::endian::little) v = __builtin_bswap32(v);
  return v;
}

std::string hex_dump(const std::uint8_t* p, std::size_t n) {
  std::string s;
  for (std::size_t i = 0; i < n; ++i) s += fmt::format("{:02x}", p[i]);
  return s;
}

}  // namespace

header_bytes encode_header(const message& m) {
  header_bytes h{};
  h[0] = static_cast<std::uint8_t>(m.magic >> 8);
  h[1] = static_cast<std::uint8_t>(m.magic & 0xff);
  put32(&h[2], m.dst_id);
  put32(&h[6], m.src_id);
  put32(&h[10], m.auth_id);
  put32(&h[14], m.handle);
  put32(&h[18], m.reply_to);
  put32(&h[22], static_cast<std::uint32_t>(m.data.size()));
  return h;
}

std::string encode_frame(const message& m) {
  header_bytes h = encode_header(m);
  std::string out;
  out.reserve(header_size + m.data.size());
  out.append(reinterpret_cast<const char*>(h.data()), h.size());
  out.append(m.data);
  return out;
}

frame_error frame_decoder::parse_header() {
  std::uint16_t magic = static_cast<std::uint16_t>((header_[0] << 8) | header_[1]);
  if (magic != magic_pickled_legacy && magic != magic_pickled && magic != magic_raw) {
    detail_ = fmt::format(
        "Corruption detected: frame signature incorrect (expected 0x{:04x}, got 0x{:04x}); header: "
        "{}",
        magic_pickled_legacy, magic, hex_dump(header_.data(), header_.size()));
    return error_ = frame_error::bad_magic;
  }
  std::uint64_t len = get32(&header_[22]);
  if (len > max_) {
    detail_ = fmt::format("Maximum message size exceeded (got {}, max {})", len, max_);
    return error_ = frame_error::too_large;
  }
  current_ = message{};
  current_.magic = magic;
  current_.dst_id = get32(&header_[2]);
  current_.src_id = get32(&header_[6]);
  current_.auth_id = get32(&header_[10]);
  current_.handle = get32(&header_[14]);
  current_.reply_to = get32(&header_[18]);
  body_target_ = static_cast<std::size_t>(len);
  body_len_ = 0;
  in_body_ = true;
  return frame_error::none;
}

// The body grows as its bytes arrive (1 MiB, then doubling), so a header
// that claims a large body costs at most 1 MiB until the bytes are sent.
void frame_decoder::grow_body(std::size_t need) {
  std::size_t have = current_.data.size();
  if (need <= have) return;
  std::size_t next = std::max({need, have * 2, std::size_t{1} << 20});
  current_.data.resize(std::min(next, body_target_));
}

void frame_decoder::finish(std::vector<message>& out) {
  out.push_back(std::move(current_));
  current_ = message{};
  in_body_ = false;
  header_len_ = 0;
  body_len_ = 0;
}

frame_error frame_decoder::feed(std::span<const std::uint8_t> bytes, std::vector<message>& out) {
  const std::uint8_t* p = bytes.data();
  std::size_t n = bytes.size();
  while (error_ == frame_error::none) {
    if (!in_body_) {
      if (n == 0) break;
      std::size_t take = std::min(n, header_size - header_len_);
      std::memcpy(&header_[header_len_], p, take);
      header_len_ += take;
      p += take;
      n -= take;
      if (header_len_ < header_size) break;
      if (parse_header() != frame_error::none) break;
    }
    std::size_t take = std::min(n, body_target_ - body_len_);
    grow_body(body_len_ + take);
    if (take) std::memcpy(current_.data.data() + body_len_, p, take);
    body_len_ += take;
    p += take;
    n -= take;
    if (body_len_ < body_target_) break;
    finish(out);
  }
  return error_;
}

std::span<std::uint8_t> frame_decoder::body_space() {
  if (!in_body_ || error_ != frame_error::none) return {};
  grow_body(body_len_ + 1);
  return {reinterpret_cast<std::uint8_t*>(current_.data.data()) + body_len_,
          current_.data.size() - body_len_};
}

std::span<std::uint8_t> frame_decoder::body_space(std::size_t at_least) {
  if (!in_body_ || error_ != frame_error::none || body_target_ - body_len_ < at_least) return {};
  std::span<std::uint8_t> space = body_space();
  return space.size() >= at_least ? space : std::span<std::uint8_t>{};
}

void frame_decoder::commit_body(std::size_t n, std::vector<message>& out) {
  body_len_ += std::min(n, current_.data.size() - body_len_);
  if (in_body_ && body_len_ == body_target_) finish(out);
}

}  // namespace faultmux
