// What an exploration covered, from its runs: the certificate's counts, the
// merge of shards into one document, and junit.xml with one testcase per
// point class.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace faultmux {

inline constexpr const char* explore_schema = "faultmux-explore/1";

// Whether `doc` is an exploration's document (explore-SCENARIO.json).
bool is_explore_document(const nlohmann::json& doc);

// Counts an exploration's runs into its certificate: planned, runs,
// activated, not_activated, errors, violations and complete.
void count_runs(const nlohmann::json& runs, nlohmann::json& certificate);

// The shards of one exploration (same scenario, target and legacy bugs) as
// one document: their runs together, the certificate counted again from
// them. "" or why they cannot be merged in *why.
nlohmann::json merge_explorations(const std::vector<nlohmann::json>& shards, std::string* why);

// "explore NAME: points N (stable S, unstable U), classes C (explored E,
// shard K/N), runs R of P, activated A, not activated U, errors X,
// violations V[ (partial: ...)]".
std::string certificate_line(const nlohmann::json& doc);

// junit.xml: a testsuite per exploration, a testcase per point class, a
// failure per violation (its point, effect, why and the command to run it).
std::string explore_junit(const nlohmann::json& doc);

}  // namespace faultmux
