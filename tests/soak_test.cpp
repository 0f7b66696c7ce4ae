// `faultmux run --soak`: the growth oracle's slope fit and verdicts on
// planted samples; a short soak of the real mux under syscall faults
// passes and reports its figures (results.json valid: the schema test
// covers the fields); the same soak with a leak planted in the mux (one fd
// and 64 KiB per connection, tests/support/leak_preload.cpp) fails on
// growth; a scenario with a timed fault is refused. Soaks here last
// seconds: the time is given in fractions of a minute.
#include "harness/soak.hpp"

#include <sys/wait.h>

#include <chrono>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "roles/process.hpp"
#include "tests/support/run_dir.hpp"
#include "tests/support/sample_scenarios.hpp"

namespace faultmux {
namespace {

using json = nlohmann::json;
using ms = std::chrono::milliseconds;
using test::run_dir;

std::vector<resource_point> line_of(double per_min_rss, double seconds, double step) {
  std::vector<resource_point> out;
  for (double t = 0; t <= seconds; t += step)
    out.push_back({100 + t, 7, static_cast<long long>(10000 + per_min_rss * t / 60), 1});
  return out;
}

TEST(SoakOracle, SlopeIsPerMinuteOverTheSecondHalf) {
  auto s = line_of(600, 120, 1);
  auto slope = second_half_slope(s, &resource_point::rss_kib);
  ASSERT_TRUE(slope);
  EXPECT_NEAR(*slope, 600, 10);
  EXPECT_NEAR(*second_half_slope(s, &resource_point::fds), 0, 1e-9);
  // Growth only in the first half (warming up) does not count.
  for (auto& p : s)
    if (p.t < 160)
      p.fds = static_cast<long long>(p.t - 100);
    else
      p.fds = 60;
  EXPECT_NEAR(*second_half_slope(s, &resource_point::fds), 0, 1e-9);
  EXPECT_FALSE(second_half_slope(line_of(0, 2, 1), &resource_point::rss_kib))
      << "three samples in all: too few in the second half";
}

TEST(SoakOracle, FailsOnGrowthACrashOrALoss) {
  soak_record r;
  r.cycles = 100;
  r.messages = 4000;
  r.samples = line_of(100, 600, 2);
  const soak_bounds b;
  auto v = judge_soak(r, b);
  ASSERT_EQ(v.size(), 3u);
  EXPECT_EQ(v[0].name, "no growth");
  EXPECT_EQ(v[0].v, verdict::pass) << v[0].evidence[0];
  EXPECT_EQ(v[1].v, verdict::pass);
  EXPECT_EQ(v[2].v, verdict::pass);

  r.samples = line_of(2000, 600, 2);
  v = judge_soak(r, b);
  EXPECT_EQ(v[0].v, verdict::fail);
  EXPECT_NE(v[0].evidence[0].find("rss_kib: +2000.00 per minute"), std::string::npos)
      << v[0].evidence[0];
  EXPECT_NE(v[0].evidence[0].find("GROWS"), std::string::npos);

  // Above the bound, but growth within the floor: noise of a short soak.
  r.samples = line_of(2000, 60, 0.25);
  EXPECT_EQ(judge_soak(r, b)[0].v, verdict::pass) << judge_soak(r, b)[0].evidence[0];

  r.samples = line_of(0, 600, 2);
  r.crash = "the mux exited (killed by SIGSEGV) 12.0 s into the soak";
  r.lost = 2;
  r.lost_evidence = {"worker-good-1 (cycle 3): exit 1, done ok=39 failed=1"};
  v = judge_soak(r, b);
  EXPECT_EQ(v[0].v, verdict::pass);
  EXPECT_EQ(v[1].v, verdict::fail);
  EXPECT_EQ(v[1].evidence[0], r.crash);
  EXPECT_EQ(v[2].v, verdict::fail);
  EXPECT_EQ(v[2].evidence.back(), r.lost_evidence[0]);
}

const std::string soak_scenario = R"(name = "soak-check"
description = "one serve and two echo workers cycling"
origin = "soak_test"
seed = 3
timeout_ms = 10000
)" + test::echo_groups(1, 2, 10);

struct soaked {
  int status = -1;
  std::string out;
  json results;
};

// `faultmux run --soak MINUTES FILE --report DIR`, with `env` added.
soaked soak(const run_dir& d, const std::string& text, const std::string& minutes,
            const std::vector<std::string>& env = {}) {
  std::ofstream(d.file("soak.toml")) << text;
  std::vector<std::string> argv{"/usr/bin/env", "TMPDIR=" + d.path()};
  argv.insert(argv.end(), env.begin(), env.end());
  argv.insert(argv.end(), {test::binary(), "run", "--soak", minutes, d.file("soak.toml"),
                           "--report", d.file("r")});
  child_process p = child_process::spawn(argv, true, d.file("stderr"));
  soaked s;
  while (auto line = p.read_line(ms(120000))) s.out += *line + "\n";
  auto st = p.wait(ms(30000));
  s.out += test::slurp(d.file("stderr"));
  s.status = st && WIFEXITED(*st) ? WEXITSTATUS(*st) : -1;
  std::ifstream in(d.file("r/results.json"));
  if (in) s.results = json::parse(in, nullptr, false);
  return s;
}

TEST(Soak, TheMuxUnderSyscallFaultsPassesAndReportsItsFigures) {
  run_dir d;
  soaked s =
      soak(d,
           std::string(soak_scenario) +
               "\n[[faults]]\nkind = \"syscall\"\nrule = \"recv@accepted p=0.1 -> EAGAIN\"\n",
           "0.25");
  ASSERT_EQ(s.status, 0) << s.out;
  EXPECT_NE(s.out.find("PASS soak-check (soak 0."), std::string::npos) << s.out;
  const json& e = s.results["scenarios"][0];
  EXPECT_EQ(e["verdict"], "pass") << e.dump(2);
  EXPECT_GT(e["soak"]["cycles"].get<long long>(), 4) << e["soak"];
  EXPECT_EQ(e["soak"]["messages"].get<long long>(), 10 * e["soak"]["cycles"].get<long long>());
  EXPECT_EQ(e["soak"]["lost"], 0);
  ASSERT_EQ(e["soak"]["metrics"].size(), 3u);
  EXPECT_EQ(e["soak"]["metrics"][2]["name"], "threads");
  EXPECT_TRUE(e["soak"]["metrics"][1]["slope_per_min"].is_number()) << e["soak"];
  EXPECT_GT(e["resources"]["samples"].size(), 20u);
  ASSERT_EQ(e["phases"].size(), 4u);
  EXPECT_GT(e["phases"][1]["seconds"].get<double>(), 14.0) << "the soak's own time is traffic";
}

TEST(Soak, FailsOnALeakPlantedInTheMux) {
  run_dir d;
  soaked s = soak(d, soak_scenario, "0.25", {std::string("LD_PRELOAD=") + FAULTMUX_TEST_LEAK});
  EXPECT_EQ(s.status, 1) << s.out;
  EXPECT_NE(s.out.find("FAIL soak-check"), std::string::npos) << s.out;
  EXPECT_NE(s.out.find("no growth: fail"), std::string::npos) << s.out;
  EXPECT_NE(s.out.find("fds: +"), std::string::npos) << s.out;
  const json& e = s.results["scenarios"][0];
  EXPECT_EQ(e["verdict"], "fail");
  EXPECT_GT(e["soak"]["metrics"][1]["slope_per_min"].get<double>(), 60.0) << e["soak"];
  EXPECT_GT(e["soak"]["metrics"][0]["slope_per_min"].get<double>(), 60.0 * 64) << e["soak"];
}

TEST(Soak, RefusesATimedFault) {
  run_dir d;
  soaked s = soak(d,
                  std::string(soak_scenario) +
                      "\n[[faults]]\nkind = \"signal\"\nsignal = \"SIGSTOP\"\nat_ms = 10\n"
                      "resume_after_ms = 10\n",
                  "0.05");
  EXPECT_EQ(s.status, 2) << s.out;
  EXPECT_NE(s.out.find("fault 1 (signal) is not a syscall rule of the mux"), std::string::npos)
      << s.out;
}

}  // namespace
}  // namespace faultmux
