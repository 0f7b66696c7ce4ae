#include "faults/raw_peer.hpp"

#include <linux/sockios.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <thread>

#include "faults/decide.hpp"

namespace faultmux::faults::raw {
namespace {

void put32(std::string& s, std::uint32_t v) {
  s += static_cast<char>(v >> 24);
  s += static_cast<char>(v >> 16);
  s += static_cast<char>(v >> 8);
  s += static_cast<char>(v);
}

std::uint32_t get32(const char* p) {
  auto b = [&](int i) { return static_cast<std::uint32_t>(static_cast<unsigned char>(p[i])); };
  return (b(0) << 24) | (b(1) << 16) | (b(2) << 8) | b(3);
}

// poll() for `events`, bounded by the deadline; false on timeout.
bool wait_for(int fd, short events, clock::time_point deadline, short* revents = nullptr) {
  for (;;) {
    pollfd p{fd, events, 0};
    int n = ::poll(&p, 1, left_ms(deadline));
    if (n > 0) {
      if (revents) *revents = p.revents;
      return true;
    }
    if (n == 0) return false;
    if (errno != EINTR) return false;
  }
}

}  // namespace

int left_ms(clock::time_point deadline) {
  auto left =
      std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now()).count();
  return static_cast<int>(std::clamp<long long>(left, 0, 1 << 30));
}

std::string header(const frame& f, std::uint32_t data_len) {
  std::string h;
  h.reserve(header_size);
  h += static_cast<char>(f.magic >> 8);
  h += static_cast<char>(f.magic);
  put32(h, f.dst_id);
  put32(h, f.src_id);
  put32(h, f.auth_id);
  put32(h, f.handle);
  put32(h, f.reply_to);
  put32(h, data_len);
  return h;
}

std::string encode(const frame& f) {
  return header(f, static_cast<std::uint32_t>(f.data.size())) + f.data;
}

void reader::feed(std::string_view bytes) {
  if (at_ > 0 && at_ == buf_.size()) {
    buf_.clear();
    at_ = 0;
  }
  buf_.append(bytes);
}

std::optional<frame> reader::next() {
  if (failed_ || buf_.size() - at_ < header_size) return std::nullopt;
  const char* h = buf_.data() + at_;
  std::uint32_t len = get32(h + 22);
  if (len > max_) {
    failed_ = true;
    return std::nullopt;
  }
  if (buf_.size() - at_ < header_size + len) return std::nullopt;
  frame f;
  f.magic = static_cast<std::uint16_t>((static_cast<unsigned char>(h[0]) << 8) |
                                       static_cast<unsigned char>(h[1]));
  f.dst_id = get32(h + 2);
  f.src_id = get32(h + 6);
  f.auth_id = get32(h + 10);
  f.handle = get32(h + 14);
  f.reply_to = get32(h + 18);
  f.data.assign(h + header_size, len);
  at_ += header_size + len;
  if (at_ > (1u << 20)) {
    buf_.erase(0, at_);
    at_ = 0;
  }
  return f;
}

client::~client() {
  close();
}

void client::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

int client::connect(const std::string& path, clock::time_point deadline) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof(addr.sun_path)) return ENAMETOOLONG;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  for (auto backoff = std::chrono::milliseconds(1);;
       backoff = std::min(backoff * 2, std::chrono::milliseconds(50))) {
    close();
    fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd_ < 0) return errno;
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) return 0;
    int err = errno;
    if (err == EINTR) continue;
    // A full backlog: the listener is busy or stopped, not gone.
    if (err != EAGAIN || clock::now() + backoff >= deadline) {
      close();
      return err;
    }
    std::this_thread::sleep_for(backoff);
  }
}

int client::send_all(std::string_view bytes, clock::time_point deadline, std::size_t* written) {
  std::size_t done = 0;
  auto report = [&](int err) {
    if (written) *written = done;
    return err;
  };
  while (done < bytes.size()) {
    ssize_t n = ::send(fd_, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
    if (n > 0) {
      done += static_cast<std::size_t>(n);
      continue;
    }
    int err = n == 0 ? EPIPE : errno;
    if (err == EINTR) continue;
    if (err != EAGAIN) return report(err);
    if (!wait_for(fd_, POLLOUT, deadline)) return report(ETIMEDOUT);
  }
  return report(0);
}

int client::read_exact(std::size_t n, std::string& out, clock::time_point deadline) {
  out.clear();
  while (out.size() < n) {
    char buf[4096];
    ssize_t r = ::recv(fd_, buf, std::min(sizeof(buf), n - out.size()), 0);
    if (r > 0) {
      out.append(buf, static_cast<std::size_t>(r));
      continue;
    }
    if (r == 0) return ECONNRESET;
    if (errno == EINTR) continue;
    if (errno != EAGAIN) return errno;
    if (!wait_for(fd_, POLLIN, deadline)) return ETIMEDOUT;
  }
  return 0;
}

std::optional<frame> client::read_frame(clock::time_point deadline, int* err) {
  for (;;) {
    while (auto f = reader_.next()) {
      if (!f->dead() && (f->handle == handle::add_route || f->handle == handle::del_route))
        continue;
      return f;
    }
    if (reader_.failed()) {
      if (err) *err = EMSGSIZE;
      return std::nullopt;
    }
    char buf[65536];
    ssize_t r = ::recv(fd_, buf, sizeof(buf), 0);
    if (r > 0) {
      reader_.feed({buf, static_cast<std::size_t>(r)});
      continue;
    }
    if (r == 0) {
      if (err) *err = ECONNRESET;
      return std::nullopt;
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN) {
      if (err) *err = errno;
      return std::nullopt;
    }
    if (!wait_for(fd_, POLLIN, deadline)) {
      if (err) *err = ETIMEDOUT;
      return std::nullopt;
    }
  }
}

int client::unread_by_peer() const {
  int queued = 0;
  if (::ioctl(fd_, SIOCOUTQ, &queued) != 0) return -1;
  return queued;
}

int client::unread_here() const {
  int queued = 0;
  if (::ioctl(fd_, SIOCINQ, &queued) != 0) return -1;
  return queued;
}

bool client::wait_hangup(clock::time_point deadline) const {
  // No POLLIN: whatever the peer sent stays unread; POLLHUP is always reported.
  short revents = 0;
  for (;;) {
    if (!wait_for(fd_, 0, deadline, &revents)) return false;
    if (revents & (POLLHUP | POLLERR)) return true;
  }
}

bool client::wait_closed(clock::time_point deadline) {
  for (;;) {
    char buf[65536];
    ssize_t r = ::recv(fd_, buf, sizeof(buf), 0);
    if (r == 0) return true;
    if (r > 0) continue;
    if (errno == EINTR) continue;
    if (errno != EAGAIN) return true;  // ECONNRESET and the like: closed too
    if (!wait_for(fd_, POLLIN, deadline)) return false;
  }
}

std::string pattern(std::uint64_t seed, std::uint64_t seq, std::size_t size) {
  std::string s(size, '\0');
  std::uint64_t x = splitmix64(seed ^ splitmix64(seq));
  for (std::size_t i = 0; i < size; ++i) {
    if (i % 8 == 0) x = splitmix64(x);
    s[i] = static_cast<char>(x >> (8 * (i % 8)));
  }
  return s;
}

}  // namespace faultmux::faults::raw
