// The listener's side of the unix handshake as a pure state machine: 4 bytes
// of client pid in (in any number of pieces), 12 bytes of identity out
// (context id, listener's context id, listener's pid), all big-endian.
#pragma once

#include <array>
#include <cstdint>
#include <span>

namespace faultmux {

class handshake {
 public:
  enum class state { reading_pid, writing_reply, done };

  state current() const { return state_; }
  std::size_t pid_bytes() const { return pid_len_; }
  std::uint32_t client_pid() const {
    return (std::uint32_t{pid_[0]} << 24) | (std::uint32_t{pid_[1]} << 16) |
           (std::uint32_t{pid_[2]} << 8) | pid_[3];
  }

  // Where the next pid bytes go, while reading_pid.
  std::span<std::uint8_t> pid_space() { return {pid_.data() + pid_len_, pid_.size() - pid_len_}; }
  // Returns true once all four pid bytes are in.
  bool pid_received(std::size_t n) {
    pid_len_ += n;
    return pid_len_ == pid_.size();
  }

  // Prepares the reply once the pid is in; moves to writing_reply.
  void set_identity(std::uint32_t context_id, std::uint32_t listener_id,
                    std::uint32_t listener_pid) {
    put(0, context_id);
    put(4, listener_id);
    put(8, listener_pid);
    state_ = state::writing_reply;
  }
  std::span<const std::uint8_t> reply_left() const {
    return {reply_.data() + reply_len_, reply_.size() - reply_len_};
  }
  // Returns true once the whole reply is sent; moves to done.
  bool reply_sent(std::size_t n) {
    reply_len_ += n;
    if (reply_len_ == reply_.size()) state_ = state::done;
    return state_ == state::done;
  }

 private:
  void put(std::size_t at, std::uint32_t v) {
    reply_[at] = static_cast<std::uint8_t>(v >> 24);
    reply_[at + 1] = static_cast<std::uint8_t>(v >> 16);
    reply_[at + 2] = static_cast<std::uint8_t>(v >> 8);
    reply_[at + 3] = static_cast<std::uint8_t>(v);
  }

  state state_ = state::reading_pid;
  std::array<std::uint8_t, 4> pid_{};
  std::size_t pid_len_ = 0;
  std::array<std::uint8_t, 12> reply_{};
  std::size_t reply_len_ = 0;
};

}  // namespace faultmux
