#include "faults/nofile.hpp"

#include <dirent.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <set>

namespace faultmux::faults {

std::optional<nofile_limits> get_nofile(pid_t pid, int* err) {
  rlimit old{};
  if (::prlimit(pid, RLIMIT_NOFILE, nullptr, &old) != 0) {
    if (err) *err = errno;
    return std::nullopt;
  }
  return nofile_limits{old.rlim_cur, old.rlim_max};
}

int set_nofile_soft(pid_t pid, rlim_t soft, nofile_limits* previous) {
  rlimit old{};
  if (::prlimit(pid, RLIMIT_NOFILE, nullptr, &old) != 0) return errno;
  if (previous) *previous = {old.rlim_cur, old.rlim_max};
  if (soft > old.rlim_max) return EINVAL;
  rlimit now{soft, old.rlim_max};
  if (::prlimit(pid, RLIMIT_NOFILE, &now, nullptr) != 0) return errno;
  return 0;
}

int lowest_free_fd(pid_t pid, int* err) {
  std::string dir = "/proc/" + (pid > 0 ? std::to_string(pid) : std::string("self")) + "/fd";
  DIR* d = ::opendir(dir.c_str());
  if (!d) {
    if (err) *err = errno;
    return -1;
  }
  std::set<long> open;
  while (dirent* e = ::readdir(d)) {
    if (e->d_name[0] == '.') continue;
    open.insert(std::strtol(e->d_name, nullptr, 10));
  }
  ::closedir(d);
  int fd = 0;
  while (open.count(fd)) ++fd;
  return fd;
}

int exec_with_nofile(rlim_t soft, const std::vector<std::string>& argv, std::string* what) {
  if (argv.empty()) {
    if (what) *what = "exec";
    return EINVAL;
  }
  if (int err = set_nofile_soft(0, soft); err != 0) {
    if (what) *what = "setrlimit(RLIMIT_NOFILE)";
    return err;
  }
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  ::execvp(args[0], args.data());
  if (what) *what = "exec " + argv[0];
  return errno;
}

std::string limit_text(rlim_t v) {
  return v == RLIM_INFINITY ? std::string("unlimited") : std::to_string(v);
}

}  // namespace faultmux::faults
