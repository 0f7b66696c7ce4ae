#include "mux/events.hpp"

#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <mutex>
#include <system_error>

#include <nlohmann/json.hpp>

namespace faultmux::events {
namespace {

std::mutex mu;
int fd = -1;
std::string role_name;

}  // namespace

void open(const std::string& path, std::string role) {
  std::lock_guard lock(mu);
  role_name = std::move(role);
  if (fd >= 0) ::close(fd);
  fd = -1;
  if (path.empty()) return;
  fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0)
    throw std::system_error(errno, std::generic_category(), "cannot open events file " + path);
}

void close() {
  std::lock_guard lock(mu);
  if (fd >= 0) ::close(fd);
  fd = -1;
}

bool enabled() {
  std::lock_guard lock(mu);
  return fd >= 0;
}

double now() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

void emit(std::string_view event, std::initializer_list<field> fields) {
  std::lock_guard lock(mu);
  if (fd < 0) return;
  nlohmann::json j;
  j["t"] = now();
  j["pid"] = ::getpid();
  j["role"] = role_name;
  j["event"] = event;
  for (const field& f : fields) {
    std::visit([&](const auto& v) { j[std::string(f.key)] = v; }, f.val);
  }
  // Log text may hold any byte; replace invalid UTF-8 rather than throw.
  std::string line = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  line += '\n';
  // O_APPEND makes each line one atomic append, even with many writers.
  const char* p = line.data();
  std::size_t left = line.size();
  while (left > 0) {
    ssize_t n = ::write(fd, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    p += n;
    left -= static_cast<std::size_t>(n);
  }
}

}  // namespace faultmux::events
