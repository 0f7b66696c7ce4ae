// Just enough of the wire protocol for hostile peers: a frame writer, a
// frame reader, and a raw AF_UNIX client with bounded waits. faults/ cannot use mux/, and a hostile
// peer must be able to write bytes the mux's own codec never would (wrong magic, a length that
// lies, a frame cut anywhere).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "wire/limits.hpp"
#include "wire/protocol.hpp"

namespace faultmux::faults::raw {

struct frame {
  std::uint16_t magic = magic_pickled_legacy;
  std::uint32_t dst_id = 0, src_id = 0, auth_id = 0, handle = 0, reply_to = 0;
  std::string data;
  bool dead() const { return reply_to == handle::is_dead; }
};

// The header of f, with data_len as given (a lie when it differs from
// f.data.size()).
std::string header(const frame& f, std::uint32_t data_len);
// Header (data_len = f.data.size()) and body.
std::string encode(const frame& f);

// Turns bytes into frames. Frames with a data_len over `max` are an error
// (the reader stops), so a lying peer cannot make a hostile client allocate.
class reader {
 public:
  explicit reader(std::uint64_t max = limits::max_message_size) : max_(max) {}
  void feed(std::string_view bytes);
  std::optional<frame> next();
  bool failed() const { return failed_; }

 private:
  std::uint64_t max_;
  std::string buf_;
  std::size_t at_ = 0;
  bool failed_ = false;
};

using clock = std::chrono::steady_clock;

// A non-blocking AF_UNIX stream client; every wait is bounded by a deadline.
class client {
 public:
  client() = default;
  ~client();
  client(const client&) = delete;
  client& operator=(const client&) = delete;

  // connect(); a full backlog (EAGAIN on Linux) is retried until the deadline.
  // Returns 0 or the errno.
  int connect(const std::string& path, clock::time_point deadline);
  // Writes all of bytes; 0 or the errno (ETIMEDOUT at the deadline).
  // *written (when given) counts the bytes the kernel took.
  int send_all(std::string_view bytes, clock::time_point deadline, std::size_t* written = nullptr);
  // Reads exactly n bytes; 0, the errno, ETIMEDOUT, or ECONNRESET on EOF
  // (*got says how many came).
  int read_exact(std::size_t n, std::string& out, clock::time_point deadline);
  // The next frame that is not a route update (ADD_ROUTE / DEL_ROUTE);
  // nullopt on EOF, error or deadline (*err says which).
  std::optional<frame> read_frame(clock::time_point deadline, int* err = nullptr);
  // Bytes written but not yet read by the peer (SIOCOUTQ); -1 on error.
  int unread_by_peer() const;
  // Bytes received and waiting for us to read (SIOCINQ); -1 on error.
  int unread_here() const;
  // True once the peer has closed, without reading anything (POLLHUP);
  // waits until the deadline.
  bool wait_hangup(clock::time_point deadline) const;
  // Reads and discards until EOF or a connection error: true when the peer
  // closed before the deadline.
  bool wait_closed(clock::time_point deadline);
  void set_max_message_size(std::uint64_t max) { reader_ = reader(max); }
  int fd() const { return fd_; }
  void close();

 private:
  int fd_ = -1;
  reader reader_;
};

// Milliseconds left until deadline, for poll(2); 0 when passed.
int left_ms(clock::time_point deadline);

// A deterministic body of `size` bytes for message `seq` under `seed`.
std::string pattern(std::uint64_t seed, std::uint64_t seq, std::size_t size);

}  // namespace faultmux::faults::raw
