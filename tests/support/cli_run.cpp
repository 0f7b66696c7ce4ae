#include "tests/support/cli_run.hpp"

#include <sys/wait.h>

#include <algorithm>
#include <filesystem>

#include "roles/process.hpp"
#include "tests/support/run_dir.hpp"

namespace faultmux::test {

ran run_cli(const std::string& tmp, const std::vector<std::string>& args,
            std::chrono::milliseconds timeout) {
  using namespace std::chrono;
  std::vector<std::string> argv{"/usr/bin/env", "TMPDIR=" + tmp, binary(), "run"};
  argv.insert(argv.end(), args.begin(), args.end());
  const auto start = steady_clock::now();
  const auto end = start + timeout;
  auto left = [&] {
    return std::max(milliseconds(1), duration_cast<milliseconds>(end - steady_clock::now()));
  };
  child_process p = child_process::spawn(argv, true);
  ran r;
  while (auto line = p.read_line(left())) r.out += *line + "\n";
  r.status = p.wait(left());
  r.seconds = duration<double>(steady_clock::now() - start).count();
  return r;
}

int exit_code(const ran& r) {
  return r.status && WIFEXITED(*r.status) ? WEXITSTATUS(*r.status) : -1;
}

std::vector<std::string> processes_mentioning(const std::string& needle) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator("/proc", ec)) {
    std::string cmd = slurp(e.path().string() + "/cmdline");
    for (auto& c : cmd)
      if (c == '\0') c = ' ';
    if (cmd.find(needle) != std::string::npos)
      out.push_back(e.path().filename().string() + ": " + cmd);
  }
  return out;
}

}  // namespace faultmux::test
