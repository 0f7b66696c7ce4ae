#include "harness/probe.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "mux/connect.hpp"
#include "wire/protocol.hpp"

namespace faultmux {
namespace {

std::string errno_name(int err) {
  const char* name = strerrorname_np(err);
  return name ? name : fmt::format("errno {}", err);
}

}  // namespace

std::string send_message(int fd, const message& m, run_clock::time_point end) {
  std::string bytes = encode_frame(m);
  std::string_view rest(bytes);
  while (!rest.empty()) {
    ssize_t n = ::send(fd, rest.data(), rest.size(), MSG_NOSIGNAL);
    if (n > 0) {
      rest.remove_prefix(static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno != EAGAIN) return errno_name(errno);
    // The errno of the send is EAGAIN here: only the wait can end it now.
    if (left(end).count() <= 0) return "timeout";
    pollfd p{fd, POLLOUT, 0};
    int r = ::poll(&p, 1, static_cast<int>(left(end).count()));
    if (r == 0) return "timeout";
    if (r < 0 && errno != EINTR) return fmt::format("poll: {}", errno_name(errno));
  }
  return "";
}

std::optional<message> read_message(int fd, std::uint32_t handle, run_clock::time_point end,
                                    std::string* why) {
  frame_decoder dec;
  std::vector<message> got;
  for (;;) {
    for (auto& m : got)
      if (m.handle == handle) return std::move(m);
    got.clear();
    pollfd p{fd, POLLIN, 0};
    int r = ::poll(&p, 1, static_cast<int>(left(end).count()));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) {
      *why = "no reply in time";
      return std::nullopt;
    }
    char buf[4096];
    ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    if (n <= 0) {
      *why = n == 0 ? std::string("EOF") : fmt::format("recv: {}", errno_name(errno));
      return std::nullopt;
    }
    if (dec.feed(std::string(buf, static_cast<std::size_t>(n)), got) != frame_error::none) {
      *why = dec.error_detail();
      return std::nullopt;
    }
  }
}

probe_result probe_listener(const std::string& socket, ms budget) {
  probe_result out;
  auto end = run_clock::now() + budget;
  try {
    connection a = connect_unix(socket, left(end));
    connection b = connect_unix(socket, left(end));
    message m;
    m.dst_id = b.context_id;
    m.src_id = m.auth_id = a.context_id;
    m.handle = worker_echo_handle;
    m.reply_to = 1001;
    m.data = fmt::format("faultmux probe {}", ::getpid());
    std::string why = send_message(a.fd.get(), m, end);
    if (!why.empty()) {
      out.detail = fmt::format("probe: cannot send to context {}: {}", b.context_id, why);
      return out;
    }
    auto there = read_message(b.fd.get(), worker_echo_handle, end, &why);
    if (!there || there->data != m.data) {
      out.detail = fmt::format("probe: the message from context {} to {} did not arrive: {}",
                               a.context_id, b.context_id, there ? "wrong body" : why);
      return out;
    }
    message reply;
    reply.dst_id = a.context_id;
    reply.src_id = reply.auth_id = b.context_id;
    reply.handle = m.reply_to;
    reply.data = m.data;
    why = send_message(b.fd.get(), reply, end);
    auto back = why.empty() ? read_message(a.fd.get(), m.reply_to, end, &why) : std::nullopt;
    if (!back || back->data != m.data) {
      out.detail = fmt::format("probe: the reply from context {} to {} did not arrive: {}",
                               b.context_id, a.context_id, back ? "wrong body" : why);
      return out;
    }
    out.ok = true;
    out.detail = fmt::format("probe: contexts {} and {} handshook and a round trip went through",
                             a.context_id, b.context_id);
    // b leaves first, and a stays until the mux has told it so (DEL_ROUTE):
    // closing both at once would have the mux write to a client already
    // gone, an EPIPE it rightly logs as an error.
    b.fd.reset();
    read_message(a.fd.get(), handle::del_route, std::min(end, run_clock::now() + ms(200)), &why);
    return out;
  } catch (const connect_error& e) {
    out.detail = fmt::format("probe: {}", e.what());
    out.connect_errno = e.error();
    return out;
  }
}

}  // namespace faultmux
