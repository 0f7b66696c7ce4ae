#include "tests/support/process_support.hpp"

#include <dirent.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <thread>

#include "tests/support/run_dir.hpp"

namespace faultmux::test {

child_process spawn_logged(const std::vector<std::string>& argv, const std::string& stderr_path,
                           bool capture_stdout) {
  return child_process::spawn(argv, capture_stdout, stderr_path);
}

bool eventually(const std::function<bool()>& cond, std::chrono::milliseconds timeout) {
  auto end = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (cond()) return true;
    if (std::chrono::steady_clock::now() >= end) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

int open_fd_count(pid_t pid, int below) {
  std::string dir = "/proc/" + std::to_string(pid) + "/fd";
  DIR* d = ::opendir(dir.c_str());
  if (!d) return -1;
  int n = 0;
  while (dirent* e = ::readdir(d))
    if (e->d_name[0] != '.' && std::atoi(e->d_name) < below) ++n;
  ::closedir(d);
  return n;
}

char process_state(pid_t pid) {
  std::string stat = slurp("/proc/" + std::to_string(pid) + "/stat");
  // "pid (comm) S ...": comm may hold spaces and parentheses, so take the last ')'.
  auto close = stat.rfind(')');
  if (close == std::string::npos || close + 2 >= stat.size()) return '?';
  return stat[close + 2];
}

long status_kib(pid_t pid, const char* field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  std::size_t n = std::strlen(field);
  while (std::getline(in, line)) {
    if (line.compare(0, n, field) == 0 && line.size() > n && line[n] == ':')
      return std::strtol(line.c_str() + n + 1, nullptr, 10);
  }
  return -1;
}

}  // namespace faultmux::test
