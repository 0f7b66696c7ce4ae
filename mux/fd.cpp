#include "mux/fd.hpp"

#include <string.h>
#include <unistd.h>

#include <fmt/format.h>

namespace faultmux {

void unique_fd::reset(int fd) {
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
}

std::string errno_text(int err) {
  const char* name = strerrorname_np(err);
  return fmt::format("{} ({})", name ? name : fmt::format("errno {}", err), strerror(err));
}

}  // namespace faultmux
