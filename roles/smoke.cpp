// The built-in smoke workload `faultmux suite` runs: one mux, one echo
// worker, eight load workers through it, four call workloads into a context
// the mux starts; every reply checked, the mux shut down cleanly and its
// socket removed.
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "roles/process.hpp"
#include "roles/roles.hpp"
#include "wire/hello.hpp"

namespace faultmux {

int run_smoke(const std::string& self, int verbosity) {
  using namespace std::chrono_literals;
  // Under $TMPDIR like the driver's run directories, /tmp when unset.
  const char* tmp = std::getenv("TMPDIR");
  std::string tmpl = std::string(tmp && *tmp ? tmp : "/tmp") + "/faultmux-suite-XXXXXX";
  if (!::mkdtemp(tmpl.data())) {
    std::perror(("faultmux suite: mkdtemp " + tmpl).c_str());
    return 2;
  }
  std::string dir = tmpl, sock = dir + "/mux.sock";
  int failures = 0;
  auto check = [&](bool ok, const std::string& what) {
    std::printf("%s  %s\n", ok ? "PASS" : "FAIL", what.c_str());
    if (!ok) ++failures;
    return ok;
  };
  std::vector<std::string> v;
  for (int i = 0; i < verbosity; ++i) v.push_back("-v");
  {
    std::vector<std::string> mux_argv{self, "mux", "--listen", sock, "--backlog", "16"};
    mux_argv.insert(mux_argv.end(), v.begin(), v.end());
    auto mux = child_process::spawn(mux_argv, true);
    auto line = mux.read_line(10s);
    if (!check(line && line->starts_with("listening"), "mux listens on " + sock)) return 1;

    auto echo = child_process::spawn({self, "worker", "--connect", sock}, true);
    auto id_line = echo.read_line(10s);
    auto hello = id_line ? wire::parse_hello(*id_line) : std::nullopt;
    if (!check(hello.has_value(), "echo worker connected")) return 1;
    const std::uint32_t peer = hello->context_id;

    std::vector<child_process> load;
    const int workers = 8;
    for (int i = 0; i < workers; ++i) {
      load.push_back(child_process::spawn(
          {self, "worker", "--connect", sock, "--peer", std::to_string(peer), "--count", "500",
           "--size", std::to_string(64 << (i % 6)), "--in-flight", "8"},
          true));
    }
    // Call workloads into one context the mux starts on the first request.
    std::vector<child_process> callers;
    const char* functions[] = {"echo", "checksum", "make_bytes", "getpid"};
    for (const char* fn : functions) {
      callers.push_back(child_process::spawn(
          {self, "worker", "--connect", sock, "--context", "smoke", "--function", fn, "--count",
           "200", "--size", "4096", "--in-flight", "4"},
          true));
    }
    int ok = 0;
    for (auto& w : load) {
      auto st = w.wait(60s);
      if (st && WIFEXITED(*st) && WEXITSTATUS(*st) == 0) ++ok;
    }
    check(ok == workers,
          fmt::format("{} of {} load workers got every reply back, correct and in order", ok,
                      workers));
    int calls_ok = 0;
    for (auto& w : callers) {
      auto st = w.wait(60s);
      if (st && WIFEXITED(*st) && WEXITSTATUS(*st) == 0) ++calls_ok;
    }
    check(calls_ok == static_cast<int>(callers.size()),
          fmt::format("{} of {} call workloads into context 'smoke' got every result right",
                      calls_ok, callers.size()));

    mux.signal(SIGTERM);
    auto mst = mux.wait(15s);
    check(mst && WIFEXITED(*mst) && WEXITSTATUS(*mst) == 0,
          "mux exits cleanly on SIGTERM (" +
              (mst ? describe_status(*mst) : std::string("still running")) + ")");
    auto est = echo.wait(10s);
    check(est.has_value(), "echo worker exits when the mux goes away");
    struct stat st {};
    check(::lstat(sock.c_str(), &st) != 0, "socket file removed on shutdown");
  }
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  std::printf("%s\n", failures ? "smoke suite FAILED" : "smoke suite passed");
  return failures ? 1 : 0;
}

}  // namespace faultmux
