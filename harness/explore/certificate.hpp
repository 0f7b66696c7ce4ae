// What an exploration covered, from its runs: the certificate's counts, the
// merge of shards into one exploration, junit.xml with one testcase per point
// class, and the reports of an exploring run (results.json's explore section,
// a junit.xml and a page per exploration).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "reports/results.hpp"

namespace faultmux {

// The schema of the document each exploration had of its own before
// results.json held them (explore-SCENARIO.json); still read.
inline constexpr const char* explore_schema = "faultmux-explore/1";

// Whether `doc` is such an older exploration document.
bool is_explore_document(const nlohmann::json& doc);

// The explorations `doc` holds: a results.json's explore section, or an
// older exploration document as one. Empty for anything else.
std::vector<nlohmann::json> explorations_in(const nlohmann::json& doc);

// Counts an exploration's runs into its certificate: planned, runs,
// activated, not_activated, errors, violations, complete, by_role, by_phase
// and effects_per_class.
void count_runs(const nlohmann::json& runs, nlohmann::json& certificate);

// The shards of one exploration (same scenario, target, legacy bugs and
// seed) as one: their runs together, the certificate counted again from
// them. "" or why they cannot be merged in *why.
nlohmann::json merge_explorations(const std::vector<nlohmann::json>& shards, std::string* why);

// "explore NAME: points N (stable S, unstable U), classes C (explored E,
// shard K/N), runs R of P, activated A, not activated U, errors X,
// violations V[ (partial: ...)]".
std::string certificate_line(const nlohmann::json& exploration);

// junit.xml: a testsuite per exploration, a testcase per point class, a
// failure per violation (its point, effect, why, the command to run it and
// its shrunk reproducer's).
std::string explore_junit(const nlohmann::json& exploration);

// Writes dir/results.json (the run, an empty scenarios list and `r.explore`)
// and, per exploration, dir/explore-SCENARIO.junit.xml and .html. "" or
// what failed.
std::string write_explore_reports(const reports::results& r, const std::string& dir);

// The reports of one `faultmux explore` as it goes: its run, started when
// this is made, and the explorations done so far, written after each one so
// that an interrupted run keeps what it finished.
class explore_report {
 public:
  explore_report(std::string command_line, std::optional<std::uint64_t> seed);
  // Adds an exploration and writes every report into dir; "" or what failed.
  std::string add(nlohmann::json exploration, const std::string& dir);

 private:
  reports::results r_;
  std::chrono::steady_clock::time_point started_;
};

}  // namespace faultmux
