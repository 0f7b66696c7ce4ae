// The helpers of the shim tests: programs run under LD_PRELOAD with rules,
// their output and the shim's fault log read back.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "faults/decide.hpp"
#include "faults/rules.hpp"
#include "tests/support/events.hpp"
#include "tests/support/run_dir.hpp"

extern char** environ;

namespace faultmux::faults {
namespace {

using json = nlohmann::json;
using testing::ElementsAre;
using testing::HasSubstr;

const char* const shim = FAULTMUX_SHIM;
const char* const probe = FAULTMUX_SHIM_PROBE;
const char* const python = "/usr/bin/python3";

struct result {
  int status = -1;  // exit code, or 128 + signal
  std::string out;
  std::string err;
};

// Runs a program to completion (killed after 60 s) with the test's
// environment minus any FAULTMUX_* and LD_PRELOAD, plus `env`.
inline result run(const test::run_dir& dir, const std::vector<std::string>& argv,
                  const std::vector<std::string>& env, bool preload = true) {
  static int serial = 0;
  std::string out_path = dir.file("out." + std::to_string(++serial));
  std::string err_path = dir.file("err." + std::to_string(serial));
  std::vector<std::string> envs;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string_view v(*e);
    if (v.starts_with("FAULTMUX_") || v.starts_with("LD_PRELOAD=")) continue;
    envs.emplace_back(v);
  }
  if (preload) envs.push_back(std::string("LD_PRELOAD=") + shim);
  envs.insert(envs.end(), env.begin(), env.end());
  std::vector<char*> argp, envp;
  for (const auto& a : argv) argp.push_back(const_cast<char*>(a.c_str()));
  argp.push_back(nullptr);
  for (const auto& e : envs) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);

  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&fa, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addchdir_np(&fa, dir.path().c_str());
  pid_t pid = -1;
  int rc = posix_spawn(&pid, argp[0], &fa, nullptr, argp.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  result r;
  if (rc != 0) {
    r.err = "posix_spawn failed";
    return r;
  }
  int status = 0;
  for (int waited_ms = 0;; waited_ms += 10) {
    if (::waitpid(pid, &status, WNOHANG) == pid) break;
    if (waited_ms >= 60'000) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      break;
    }
    ::usleep(10'000);
  }
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = test::slurp(out_path);
  r.err = test::slurp(err_path);
  return r;
}

inline std::vector<std::string> split_lines(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

// The probe's lines for one side and call, without the timing:
// "call=2 ret=-1 errno=EAGAIN".
inline std::vector<std::string> calls(const std::string& out, const std::string& prefix) {
  std::vector<std::string> v;
  for (std::string l : split_lines(out)) {
    if (!l.starts_with(prefix + " call=")) continue;
    l = l.substr(prefix.size() + 1);
    if (auto ms = l.find(" ms="); ms != std::string::npos) l.erase(ms);
    v.push_back(l);
  }
  return v;
}

inline std::string first_call(const std::string& out, const std::string& prefix) {
  auto v = calls(out, prefix);
  return v.empty() ? "" : v.front();
}

inline std::string without_timing(const std::string& out) {
  std::string s;
  for (std::string l : split_lines(out)) {
    if (auto ms = l.find(" ms="); ms != std::string::npos) l.erase(ms);
    s += l + "\n";
  }
  return s;
}

inline double call_ms(const std::string& out, const std::string& prefix, int call_no) {
  std::string key = prefix + " call=" + std::to_string(call_no) + " ";
  for (const std::string& l : split_lines(out)) {
    if (l.starts_with(key)) return std::stod(l.substr(l.find(" ms=") + 4));
  }
  return -1;
}

// The fault log of a program that has ended: every line must be whole JSON.
inline std::vector<json> events(const std::string& path) {
  return test::read_events(path, /*strict=*/true);
}

// What was decided, without when and in which pid: equal across runs.
inline std::vector<std::string> decisions(const std::vector<json>& evs) {
  std::vector<std::string> v;
  for (json e : evs) {
    e.erase("t");
    e.erase("pid");
    v.push_back(e.dump());
  }
  return v;
}

class Shim : public testing::Test {
 protected:
  test::run_dir dir;
  std::string log = dir.file("faults.jsonl");

  result probe_run(std::vector<std::string> args, const std::string& rules,
                   std::vector<std::string> env = {}) {
    args.insert(args.begin(), probe);
    env.push_back("FAULTMUX_FAULTS=" + rules);
    env.push_back("FAULTMUX_FAULT_LOG=" + log);
    return run(dir, args, env);
  }
  result stream(const std::string& rules, const std::string& recv_kind = "recv",
                const std::string& send_kind = "send", int rounds = 3) {
    return probe_run({"stream", dir.path(), std::to_string(rounds), recv_kind, send_kind}, rules);
  }
};

}  // namespace
}  // namespace faultmux::faults
