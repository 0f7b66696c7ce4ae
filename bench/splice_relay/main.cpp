// The capacity floor: a listener that speaks only the unix handshake, then
// splices each client that sends to another (a load worker) with that one
// (its echo worker) byte for byte, on one thread. It parses one header per
// client, routes nothing, keeps no state per message: no mux can relay the
// same workers' traffic with less work, so its capacity bounds any mux's.
//   faultmux_splice_relay --listen PATH --backlog N
#include <signal.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <vector>

namespace {

struct client {
  std::uint32_t id = 0;
  int partner = -1;
  std::string early;  // bytes before the header that names its partner
};

std::uint32_t get_u32(const char* p) {
  const auto* u = reinterpret_cast<const unsigned char*>(p);
  return (std::uint32_t{u[0]} << 24) | (std::uint32_t{u[1]} << 16) | (std::uint32_t{u[2]} << 8) |
         u[3];
}

void put_u32(unsigned char* p, std::uint32_t v) {
  p[0] = static_cast<unsigned char>(v >> 24);
  p[1] = static_cast<unsigned char>(v >> 16);
  p[2] = static_cast<unsigned char>(v >> 8);
  p[3] = static_cast<unsigned char>(v);
}

bool write_all(int fd, const char* p, std::size_t n) {
  while (n > 0) {
    ssize_t w = ::send(fd, p, n, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    p += w;
    n -= static_cast<std::size_t>(w);
  }
  return true;
}

bool read_all(int fd, char* p, std::size_t n) {
  while (n > 0) {
    ssize_t r = ::recv(fd, p, n, 0);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    p += r;
    n -= static_cast<std::size_t>(r);
  }
  return true;
}

class relay {
 public:
  relay(int listener, int ep) : listener_(listener), ep_(ep) {}

  void accept_one() {
    int fd = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) return;
    // The handshake: 4 bytes of pid in; context id, our id (0), our pid out.
    char pid[4];
    unsigned char identity[12];
    const std::uint32_t id = next_id_++;
    put_u32(identity, id);
    put_u32(identity + 4, 0);
    put_u32(identity + 8, static_cast<std::uint32_t>(::getpid()));
    if (!read_all(fd, pid, 4) ||
        !write_all(fd, reinterpret_cast<const char*>(identity), sizeof identity)) {
      ::close(fd);
      return;
    }
    clients_[fd].id = id;
    by_id_[id] = fd;
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = fd;
    ::epoll_ctl(ep_, EPOLL_CTL_ADD, fd, &ev);
  }

  void readable(int fd) {
    ssize_t r = ::recv(fd, buf_, sizeof buf_, MSG_DONTWAIT);
    if (r < 0 && (errno == EAGAIN || errno == EINTR)) return;
    if (r <= 0) return drop(fd);
    client& c = clients_[fd];
    if (c.partner < 0) {
      // The first header names the peer: its dst_id, after the 2-byte magic.
      c.early.append(buf_, static_cast<std::size_t>(r));
      if (c.early.size() < 6) return;
      auto peer = by_id_.find(get_u32(c.early.data() + 2));
      if (peer == by_id_.end()) return drop(fd);
      c.partner = peer->second;
      clients_[peer->second].partner = fd;
      std::string early = std::move(c.early);
      if (!write_all(c.partner, early.data(), early.size())) drop(c.partner);
      return;
    }
    if (!write_all(c.partner, buf_, static_cast<std::size_t>(r))) drop(c.partner);
  }

 private:
  void drop(int fd) {
    auto it = clients_.find(fd);
    if (it == clients_.end()) return;
    if (it->second.partner >= 0) clients_[it->second.partner].partner = -1;
    by_id_.erase(it->second.id);
    clients_.erase(it);
    ::epoll_ctl(ep_, EPOLL_CTL_DEL, fd, nullptr);
    ::close(fd);
  }

  int listener_, ep_;
  std::uint32_t next_id_ = 1;
  std::map<int, client> clients_;
  std::map<std::uint32_t, int> by_id_;
  char buf_[65536];
};

}  // namespace

int main(int argc, char** argv) {
  std::string path;
  int backlog = 128;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--listen") == 0) path = argv[i + 1];
    if (std::strcmp(argv[i], "--backlog") == 0) backlog = std::atoi(argv[i + 1]);
  }
  sockaddr_un addr{};
  if (path.empty() || path.size() >= sizeof addr.sun_path) {
    std::fprintf(stderr, "usage: faultmux_splice_relay --listen PATH [--backlog N]\n");
    return 2;
  }
  ::signal(SIGPIPE, SIG_IGN);
  int listener = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size());
  if (listener < 0 || ::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(listener, backlog) != 0) {
    std::fprintf(stderr, "faultmux_splice_relay: cannot listen on %s: %s\n", path.c_str(),
                 std::strerror(errno));
    return 1;
  }
  int ep = ::epoll_create1(EPOLL_CLOEXEC);
  epoll_event lev{};
  lev.events = EPOLLIN;
  lev.data.fd = listener;
  ::epoll_ctl(ep, EPOLL_CTL_ADD, listener, &lev);
  std::printf("listening %s\n", path.c_str());
  std::fflush(stdout);
  relay r(listener, ep);
  std::vector<epoll_event> ready(64);
  for (;;) {  // ends by SIGTERM, as the benchmark stops a mux
    int n = ::epoll_wait(ep, ready.data(), static_cast<int>(ready.size()), -1);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return 1;
    for (int i = 0; i < n; ++i) {
      if (ready[static_cast<std::size_t>(i)].data.fd == listener)
        r.accept_one();
      else
        r.readable(ready[static_cast<std::size_t>(i)].data.fd);
    }
  }
}
