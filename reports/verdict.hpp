// The one verdict type of faultmux: what an oracle, a scenario run or a
// mutant cell came to. Like LLVM lit's ResultCode, each value carries the
// name the reports store (results.json, junit.xml), a label for people and
// whether it counts as a failure.
#pragma once

#include <array>
#include <cstddef>
#include <optional>
#include <string_view>

namespace faultmux::reports {

enum class verdict : unsigned char {
  pass,            // judged, nothing failed
  fail,            // judged, an expectation did not hold
  error,           // could not be run or judged (setup failed, interrupted)
  not_applicable,  // nothing to judge: the expectation, or the target, does not apply
};

// What a verdict is called and means.
struct verdict_traits {
  verdict value;
  const char* name;   // in results.json and junit.xml; unchanged across schema versions
  const char* label;  // for people: badges, tables
  bool is_failure;    // makes a run's exit status non-zero
};

inline constexpr std::array<verdict_traits, 4> all_verdicts{{
    {verdict::pass, "pass", "pass", false},
    {verdict::fail, "fail", "FAIL", true},
    {verdict::error, "error", "ERROR", true},
    {verdict::not_applicable, "not applicable", "n/a", false},
}};

static_assert([] {
  for (std::size_t i = 0; i < all_verdicts.size(); ++i)
    if (static_cast<std::size_t>(all_verdicts[i].value) != i) return false;
  return true;
}());

constexpr const verdict_traits& traits(verdict v) {
  return all_verdicts[static_cast<std::size_t>(v)];
}
// "pass", "fail", "error", "not applicable".
constexpr const char* verdict_name(verdict v) {
  return traits(v).name;
}
constexpr const char* verdict_label(verdict v) {
  return traits(v).label;
}
constexpr bool is_failure(verdict v) {
  return traits(v).is_failure;
}

// The verdict a report read back from disk names; nullopt for any other text.
constexpr std::optional<verdict> parse_verdict(std::string_view name) {
  for (const auto& t : all_verdicts)
    if (name == t.name) return t.value;
  return std::nullopt;
}

}  // namespace faultmux::reports
