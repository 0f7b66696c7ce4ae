// Process hygiene: a faultmux process started with stdio closed holds fds
// 0-2 on /dev/null before anything else opens a descriptor (no socket, epoll
// or event file lands on stdio), and a context gets only its channel and
// stdio from its parent: nothing else the parent holds, not even a
// descriptor without FD_CLOEXEC.
#include <fcntl.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "tests/support/context_fixture.hpp"
#include "tests/support/process_support.hpp"

namespace faultmux {
namespace {

std::string link_of(pid_t pid, int fd) {
  char buf[512] = {};
  std::string p = "/proc/" + std::to_string(pid) + "/fd/" + std::to_string(fd);
  ssize_t n = ::readlink(p.c_str(), buf, sizeof buf - 1);
  return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string();
}

std::vector<std::pair<int, std::string>> fds_of(pid_t pid) {
  std::vector<std::pair<int, std::string>> out;
  for (int fd = 0; fd < 1024; ++fd)
    if (auto l = link_of(pid, fd); !l.empty()) out.emplace_back(fd, l);
  return out;
}

class hygiene : public process_hygiene, public testing::Test {};

TEST_F(hygiene, a_mux_started_without_stdio_holds_0_to_2_on_dev_null) {
  std::string sock = dir_.file("mux.sock");
  child_process mux = child_process::spawn(
      {"/bin/sh", "-c", "exec \"$0\" mux --events \"$1\" --listen \"$2\" <&- >&- 2>&-",
       test::binary(), dir_.file("mux.events"), sock});
  ASSERT_TRUE(eventually([&] { return ::access(sock.c_str(), F_OK) == 0; }, 10s));
  for (int fd = 0; fd <= 2; ++fd) EXPECT_EQ(link_of(mux.pid(), fd), "/dev/null") << "fd " << fd;
  // The mux still works: it logs (to the /dev/null stderr) and ends cleanly.
  mux.signal(SIGTERM);
  auto status = mux.wait(10s);
  ASSERT_TRUE(status);
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << *status;
}

TEST_F(hygiene, a_context_holds_only_its_channel_and_stdio_of_its_parent) {
  // Held by the parent without FD_CLOEXEC: a child must still not get it.
  int leak[2];
  ASSERT_EQ(::pipe(leak), 0);
  std::string leaked = link_of(::getpid(), leak[0]);
  {
    root_node root(faultmux_children(dir_));
    auto s = root.start("clean");
    ASSERT_TRUE(s.info) << s.error;
    int sockets = 0;
    for (const auto& [fd, l] : fds_of(s.info->pid)) {
      EXPECT_NE(l, leaked) << "fd " << fd << " of the context is the parent's pipe";
      if (l.starts_with("socket:")) {
        ++sockets;
        EXPECT_EQ(fd, 3) << "a socket other than the channel: " << l;
      }
    }
    EXPECT_EQ(sockets, 1);
    for (int fd = 0; fd <= 2; ++fd) EXPECT_FALSE(link_of(s.info->pid, fd).empty()) << fd;
  }
  ::close(leak[0]);
  ::close(leak[1]);
}

}  // namespace
}  // namespace faultmux
