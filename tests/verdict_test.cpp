// The verdict type: the names results.json and junit.xml store are today's
// (the schema's enum), each is read back as the verdict it names, and only
// fail and error count as failures.
#include "reports/verdict.hpp"

#include <string>

#include <gtest/gtest.h>

#include "harness/oracles.hpp"

namespace faultmux {
namespace {

using reports::parse_verdict;

TEST(Verdict, NamesAreTheSchemaEnum) {
  EXPECT_STREQ(verdict_name(verdict::pass), "pass");
  EXPECT_STREQ(verdict_name(verdict::fail), "fail");
  EXPECT_STREQ(verdict_name(verdict::error), "error");
  EXPECT_STREQ(verdict_name(verdict::not_applicable), "not applicable");
  EXPECT_STREQ(reports::verdict_label(verdict::fail), "FAIL");
  EXPECT_STREQ(reports::verdict_label(verdict::not_applicable), "n/a");
}

TEST(Verdict, ParsesWhatItWrites) {
  for (const auto& t : reports::all_verdicts) EXPECT_EQ(parse_verdict(t.name), t.value) << t.name;
  EXPECT_EQ(parse_verdict(""), std::nullopt);
  EXPECT_EQ(parse_verdict("Pass"), std::nullopt);
  EXPECT_EQ(parse_verdict("not_applicable"), std::nullopt);
}

TEST(Verdict, OnlyFailAndErrorAreFailures) {
  EXPECT_FALSE(is_failure(verdict::pass));
  EXPECT_TRUE(is_failure(verdict::fail));
  EXPECT_TRUE(is_failure(verdict::error));
  EXPECT_FALSE(is_failure(verdict::not_applicable));
}

// A run's verdict: could not run beats any oracle; a failed oracle beats
// unserved groups.
TEST(Verdict, RunVerdictFromItsOracles) {
  const std::vector<oracle_result> ok = {{"finished", verdict::pass, {}},
                                         {"resources", verdict::not_applicable, {}}};
  std::vector<oracle_result> bad = ok;
  bad.push_back({"clean exit", verdict::fail, {"exit 1"}});
  EXPECT_EQ(run_verdict(false, ok), verdict::pass);
  EXPECT_EQ(run_verdict(false, ok, true), verdict::not_applicable);
  EXPECT_EQ(run_verdict(false, bad, true), verdict::fail);
  EXPECT_EQ(run_verdict(true, bad), verdict::error);
  EXPECT_EQ(run_verdict(true, {}), verdict::error);
  ASSERT_NE(first_failure(bad), nullptr);
  EXPECT_EQ(first_failure(bad)->name, "clean exit");
  EXPECT_EQ(first_failure(ok), nullptr);
}

}  // namespace
}  // namespace faultmux
