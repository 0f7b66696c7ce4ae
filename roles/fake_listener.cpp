#include "roles/fake_listener.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>

#include <fmt/format.h>

#include "mux/events.hpp"
#include "mux/fd.hpp"
#include "wire/event_names.hpp"

namespace faultmux {
namespace {

const char* errno_name(int err) {
  const char* n = ::strerrorname_np(err);
  return n ? n : "?";
}

// Reads exactly 4 bytes within 2 s; the number read.
std::size_t read_pid(int fd, std::uint32_t* pid) {
  unsigned char b[4];
  std::size_t got = 0;
  auto end = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (got < 4) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                    end - std::chrono::steady_clock::now())
                    .count();
    pollfd p{fd, POLLIN, 0};
    if (left <= 0 || ::poll(&p, 1, static_cast<int>(left)) <= 0) break;
    ssize_t n = ::recv(fd, b + got, 4 - got, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<std::size_t>(n);
  }
  *pid = got == 4 ? (std::uint32_t{b[0]} << 24) | (std::uint32_t{b[1]} << 16) |
                        (std::uint32_t{b[2]} << 8) | b[3]
                  : 0;
  return got;
}

}  // namespace

int run_fake_listener(const fake_listener_options& o) {
  events::open(o.events, "mux");
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (o.listen.size() >= sizeof(addr.sun_path)) {
    std::fprintf(stderr, "faultmux fake-listener: %s: path too long\n", o.listen.c_str());
    return 2;
  }
  std::memcpy(addr.sun_path, o.listen.c_str(), o.listen.size() + 1);
  unique_fd lfd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!lfd || ::bind(lfd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::listen(lfd.get(), 64) != 0) {
    std::fprintf(stderr, "faultmux fake-listener: cannot listen on %s: %s\n", o.listen.c_str(),
                 errno_name(errno));
    return 2;
  }
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  ::sigprocmask(SIG_BLOCK, &set, nullptr);
  unique_fd sfd(::signalfd(-1, &set, SFD_CLOEXEC));
  std::printf("listening %s\n", o.listen.c_str());
  std::fflush(stdout);
  std::fprintf(stderr, "faultmux fake-listener: listening on %s, answering %s identity bytes\n",
               o.listen.c_str(), fmt::format("{}", fmt::join(o.answer_bytes, ",")).c_str());
  for (std::size_t i = 0;;) {
    pollfd p[2] = {{lfd.get(), POLLIN, 0}, {sfd.get(), POLLIN, 0}};
    if (::poll(p, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (p[1].revents) break;
    if (!p[0].revents) continue;
    unique_fd c(::accept4(lfd.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (!c) continue;
    const int answer = o.answer_bytes[i++ % o.answer_bytes.size()];
    if (answer < 0) {
      events::emit(wire::ev::fake_answer, {{"answered_bytes", -1}, {"pid_bytes", 0}});
      std::fprintf(stderr, "faultmux fake-listener: closed a connection before its pid\n");
      continue;
    }
    std::uint32_t pid = 0;
    std::size_t got = read_pid(c.get(), &pid);
    // A short identity: context id, our id, our pid, cut at `answer` bytes.
    unsigned char id[12] = {0, 0, 0x03, 0xe8, 0, 0, 0, 0};
    auto me = static_cast<std::uint32_t>(::getpid());
    for (int k = 0; k < 4; ++k) id[8 + k] = static_cast<unsigned char>(me >> (24 - 8 * k));
    ssize_t sent =
        answer > 0 ? ::send(c.get(), id, static_cast<std::size_t>(answer), MSG_NOSIGNAL) : 0;
    events::emit(wire::ev::fake_answer, {{"answered_bytes", static_cast<std::int64_t>(sent)},
                                         {"pid_bytes", got},
                                         {"client_pid", pid}});
    std::fprintf(stderr,
                 "faultmux fake-listener: PID %u: answered %zd of 12 identity bytes, closing\n",
                 pid, sent);
  }
  ::unlink(o.listen.c_str());
  events::emit(wire::ev::exit, {{"code", 0}});
  return 0;
}

}  // namespace faultmux
