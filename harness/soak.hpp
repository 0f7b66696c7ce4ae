// `faultmux run --soak MINUTES SCENARIO`: one mux for the whole time under
// the scenario's syscall faults, its serve workers for the whole time, and
// its echo and calls workers cycling (connect, work, leave, and again) until
// the time is up; the mux's RSS, open fds and threads are sampled all along.
// Judged: no growth (a least-squares slope over the second half, per
// minute, above its bound), no crash, nothing lost.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "harness/oracles.hpp"
#include "harness/resource_sampler.hpp"

namespace faultmux {

struct driver_options;

// What the growth oracle allows. A slope fails when it is above its bound
// and the growth it fits over the second half is above its floor: a short
// soak cannot tell a small slope from the noise of workers coming and going.
struct soak_bounds {
  double rss_kib_per_min = 512;
  double fds_per_min = 5;
  double threads_per_min = 1;
  double rss_kib_floor = 2048;
  double fds_floor = 8;
  double threads_floor = 2;
};

// What one soak saw.
struct soak_record {
  double seconds = 0;                      // from the first cycling worker to the last one's end
  long long cycles = 0;                    // cycling workers that ended, whatever their outcome
  long long messages = 0;                  // round trips and calls answered
  long long lost = 0;                      // cycling workers that lost a message, failed or hung
  std::vector<std::string> lost_evidence;  // the first few of them
  std::string crash;  // the mux gone before the end, or not exiting cleanly; "" none
  std::vector<resource_point> samples;
};

// The least-squares slope, per minute, of one sampled value over the second
// half of the samples' span; nullopt with fewer than 3 samples there.
std::optional<double> second_half_slope(const std::vector<resource_point>& samples,
                                        long long resource_point::*value);

// The soak's oracles: "no growth", "no crash", "nothing lost".
std::vector<oracle_result> judge_soak(const soak_record& r, const soak_bounds& b);

// Runs `o.paths[0]` as a soak of `minutes` (fractions allowed); prints its
// progress on a terminal and its verdict, writes o.report_dir's reports.
// Exit status 0 passed, 1 failed, 2 bad input or setup, 130 interrupted.
int run_soak(const driver_options& o, double minutes);

}  // namespace faultmux
