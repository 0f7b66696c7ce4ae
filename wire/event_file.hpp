// An events file: opened for appending, one write(2) per line. O_APPEND
// makes each line one atomic append, so every process of a run can write
// whole lines into one file. Used by the mux's events and the fault layer's
// event_log alike (the shim has its own, reopening, fd).
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <string_view>

#include "wire/event_line.hpp"

namespace faultmux::wire {

class event_file {
 public:
  event_file() = default;  // closed: write_line() does nothing
  ~event_file() { close(); }
  event_file(const event_file&) = delete;
  event_file& operator=(const event_file&) = delete;

  // Appends to `path` (created 0644); an empty path leaves the file closed.
  // Returns 0, or the errno of open(2).
  int open(const std::string& path) {
    close();
    if (path.empty()) return 0;
    fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    return fd_ < 0 ? errno : 0;
  }
  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  bool is_open() const { return fd_ >= 0; }

  // Writes the whole line (retrying short writes and EINTR); a failed write
  // drops the rest of the line, since an event must never stop its writer.
  void write_line(std::string_view line) const {
    const char* p = line.data();
    std::size_t left = line.size();
    while (fd_ >= 0 && left > 0) {
      ssize_t n = ::write(fd_, p, left);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return;
      p += n;
      left -= static_cast<std::size_t>(n);
    }
  }

 private:
  int fd_ = -1;
};

}  // namespace faultmux::wire
