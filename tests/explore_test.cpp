// `faultmux explore` end to end, on real processes: the plain scenario is
// clean against the built-in mux; each legacy bug whose trigger is a fault is
// found blind; a found scenario and its shrunk reproducer fail again under
// `faultmux run`; shards cover exactly the unsharded set and their
// results.json merge; the mux's channels to its contexts and the contexts'
// own calls are points; bad input is named.
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/support/fault_support.hpp"
#include "tests/support/run_dir.hpp"
#include "tests/support/sample_scenarios.hpp"

namespace faultmux {
namespace {

using json = nlohmann::json;
using test::run_dir;

const std::string plain = std::string(FAULTMUX_SOURCE_DIR) + "/scenarios/plain-echo.toml";

struct command_result {
  int status = -1;  // the exit code; -1 when it did not exit
  std::string out, err;
};

command_result run_faultmux(const std::vector<std::string>& args) {
  run_dir dir;
  test::fault::finished f = test::fault::run_faultmux(dir, args, test::fault::ms(240000));
  command_result r;
  r.status = f.status && WIFEXITED(*f.status) ? WEXITSTATUS(*f.status) : -1;
  r.out = f.out;
  r.err = f.err;
  return r;
}

// The exploration of results.json's explore section in `dir` (the only one).
json exploration_in(const std::string& dir) {
  std::ifstream in(dir + "/results.json");
  if (!in) return json::object();
  json doc = json::parse(in);
  if (doc["explore"].size() != 1) return json::object();
  return doc["explore"][0];
}

json explore(const std::vector<std::string>& extra, const run_dir& out, int* status = nullptr) {
  std::vector<std::string> args{"explore", plain, "--jobs", "2", "--report", out.path()};
  args.insert(args.end(), extra.begin(), extra.end());
  auto r = run_faultmux(args);
  if (status) *status = r.status;
  json e = exploration_in(out.path());
  if (e.empty())
    ADD_FAILURE() << "no exploration in results.json; status " << r.status << "\n"
                  << r.out << r.err;
  return e;
}

// Workers a scenario file starts: the sum of its groups' counts.
long workers_in(const std::string& file) {
  std::ifstream in(file);
  std::string line;
  long n = 0;
  while (std::getline(in, line))
    if (line.rfind("count = ", 0) == 0) n += std::stol(line.substr(8));
  return n;
}

std::set<std::string> points_of(const json& doc) {
  std::set<std::string> out;
  for (const auto& r : doc["runs"]) out.insert(r["point"].get<std::string>());
  return out;
}

// The CI-sized exploration: every stable point of the plain scenario, the
// default effects, one fault per run; the built-in mux has no violation.
TEST(Explore, PlainScenarioHasNoViolationAgainstTheBuiltInMux) {
  run_dir out;
  int status = -1;
  json doc = explore({"--reruns", "3"}, out, &status);
  const json& c = doc["certificate"];
  EXPECT_EQ(status, 0) << doc.dump(2).substr(0, 4000);
  EXPECT_EQ(c["violations"], 0);
  EXPECT_TRUE(c["complete"].get<bool>());
  EXPECT_EQ(c["runs"], c["planned"]);
  EXPECT_EQ(c["activated"], c["runs"]) << "every planned fault fired";
  EXPECT_GT(c["stable"].get<int>(), 40) << "handshake and stream calls, accepts and phases";
  // Points the shim named by peer and phase, in both directions of the handshake.
  std::set<std::string> pts = points_of(doc);
  EXPECT_TRUE(pts.count("recv@accepted peer=good:0 phase=handshake #1"));
  EXPECT_TRUE(pts.count("send@accepted peer=good:0 phase=handshake #1"));
  EXPECT_TRUE(pts.count("accept4@listener #1"));
  EXPECT_TRUE(pts.count("process peer=servers:0 phase=request-received"));
  // The workers' own calls, named by the worker, in each phase of its connection.
  EXPECT_TRUE(pts.count("connect@connecting self=good:0 phase=connect #1"));
  EXPECT_TRUE(pts.count("send@connecting self=good:0 phase=handshake #1"));
  EXPECT_TRUE(pts.count("recv@connecting self=good:0 phase=handshake #1"));
  EXPECT_GT(c["by_role"]["worker"].value("activated", 0), 0) << c["by_role"].dump();
}

// The workers' connects are points (refused or missing: that worker alone
// fails); --mux-only keeps to the target's: no worker call, no worker phase.
TEST(Explore, WorkerCallsArePointsUnlessMuxOnly) {
  const std::vector<std::string> only{"--effects", "ECONNREFUSED,ENOENT,SIGKILL", "--reruns", "0"};
  run_dir out, mux_only;
  int status = -1;
  json doc = explore(only, out, &status);
  EXPECT_EQ(status, 0) << doc.dump(2).substr(0, 3000);
  std::set<std::string> pts = points_of(doc);
  EXPECT_TRUE(pts.count("connect@connecting self=servers:0 phase=connect #1"));
  EXPECT_TRUE(pts.count("connect@connecting self=late:0 phase=connect #1"));
  EXPECT_EQ(doc["certificate"]["violations"], 0);
  std::vector<std::string> args = only;
  args.push_back("--mux-only");
  json narrow = explore(args, mux_only, &status);
  EXPECT_EQ(status, 0);
  for (const auto& p : points_of(narrow)) {
    EXPECT_EQ(p.find("self="), std::string::npos) << p;
    EXPECT_EQ(p.find("process"), std::string::npos) << p;
  }
  EXPECT_FALSE(narrow["certificate"]["by_role"].contains("worker"));
  EXPECT_LT(narrow["certificate"]["stable"].get<int>(), doc["certificate"]["stable"].get<int>());
}

struct blind_catch {
  const char* bug;
  // The kind of effect to explore: with every effect and --first, the first
  // violation found may be one whose trigger came by itself (a SIGKILLed
  // worker meets the epipe-crash bug only when the mux's send loses the
  // race), which reproduces only sometimes.
  const char* effects;
};

class ExploreBlind : public ::testing::TestWithParam<blind_catch> {};

// Without any hand-written fault, explore finds each legacy bug whose trigger
// is a fault, and the scenario it writes fails again under `faultmux run`
// and passes without the bug; so does the scenario shrunk from it, with at
// most as many workers.
TEST_P(ExploreBlind, FindsTheLegacyBugAndItsScenarioFailsAgain) {
  run_dir out;
  int status = -1;
  json doc = explore(
      {"--legacy-bug", GetParam().bug, "--effects", GetParam().effects, "--reruns", "5", "--first"},
      out, &status);
  EXPECT_EQ(status, 1);
  // The violation reproduced best by its reruns (two runs are in flight
  // when the first violation stops the rest).
  const json* found = nullptr;
  int best = -1;
  for (const auto& r : doc["runs"]) {
    if (!r.contains("scenario")) continue;
    const std::string rate = r.value("reproduced", std::string("0/0"));
    if (int n = std::stoi(rate.substr(0, rate.find('/'))); n > best) best = n, found = &r;
  }
  ASSERT_NE(found, nullptr) << doc.dump(2).substr(0, 4000);
  EXPECT_EQ((*found)["verdict"], "fail");
  // The page's map links the violation to its row, which has its command.
  std::ifstream page_in(out.file("explore-plain-echo.html"));
  std::string page((std::istreambuf_iterator<char>(page_in)), std::istreambuf_iterator<char>());
  EXPECT_NE(page.find("v-fail\"><a href=\"#violation-0\">"), std::string::npos);
  EXPECT_NE(page.find("<tr id=\"violation-0\">"), std::string::npos);
  // crash-on-eagain's trigger also comes by itself (a client's pid not yet
  // there at the first recv): its violations reproduce as often as that
  // comes, and only that one was found is asserted.
  if (std::string(GetParam().bug) == "crash-on-eagain") return;
  EXPECT_GE(best, 4) << (*found).dump();
  const std::string file = (*found)["scenario"];
  auto again = run_faultmux({"run", file, "--legacy-bug", GetParam().bug});
  EXPECT_EQ(again.status, 1) << again.out;
  auto fixed = run_faultmux({"run", file});
  EXPECT_EQ(fixed.status, 0) << fixed.out;
  // Shrunk beside it, and named with the command that runs it.
  ASSERT_TRUE(found->contains("shrunk")) << found->dump();
  const std::string shrunk = (*found)["shrunk"];
  EXPECT_EQ(shrunk, file.substr(0, file.size() - 5) + "-shrunk.toml");
  EXPECT_NE((*found)["shrunk_command"].get<std::string>().find("run " + shrunk), std::string::npos);
  ASSERT_TRUE(std::ifstream(shrunk).good()) << shrunk;
  EXPECT_GT(workers_in(shrunk), 0);
  EXPECT_LE(workers_in(shrunk), workers_in(file));
  auto small = run_faultmux({"run", shrunk, "--legacy-bug", GetParam().bug});
  EXPECT_EQ(small.status, 1) << small.out;
  auto small_fixed = run_faultmux({"run", shrunk});
  EXPECT_EQ(small_fixed.status, 0) << small_fixed.out;
  // Shown in the page's table and in junit's failure.
  EXPECT_NE(page.find("<code>" + (*found)["shrunk_command"].get<std::string>()), std::string::npos);
  std::ifstream junit_in(out.file("explore-plain-echo.junit.xml"));
  std::string junit((std::istreambuf_iterator<char>(junit_in)), std::istreambuf_iterator<char>());
  EXPECT_NE(junit.find("shrunk: " + (*found)["shrunk_command"].get<std::string>()),
            std::string::npos)
      << junit;
  // --no-shrink (a CI gate that only wants the verdict) keeps the scenarios
  // as found.
  if (std::string(GetParam().bug) != "accept-crash") return;
  run_dir gate;
  json verdict_only = explore({"--legacy-bug", GetParam().bug, "--effects", GetParam().effects,
                               "--reruns", "1", "--first", "--no-shrink"},
                              gate, &status);
  EXPECT_EQ(status, 1);
  EXPECT_GT(verdict_only["certificate"]["violations"].get<int>(), 0);
  for (const auto& r : verdict_only["runs"]) EXPECT_FALSE(r.contains("shrunk")) << r.dump();
  for (const auto& f : std::filesystem::directory_iterator(gate.file("found")))
    EXPECT_EQ(f.path().string().find("-shrunk."), std::string::npos) << f.path();
  EXPECT_NE(run_faultmux({"explore", "--help"}).out.find("--no-shrink"), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(LegacyBugs, ExploreBlind,
                         ::testing::Values(blind_catch{"crash-on-eagain", "EAGAIN"},
                                           blind_catch{"epipe-crash", "EPIPE"},
                                           blind_catch{"blocking-handshake", "SIGSTOP"},
                                           blind_catch{"accept-crash", "EMFILE"}),
                         [](const auto& info) {
                           std::string n = info.param.bug;
                           for (char& c : n)
                             if (c == '-') c = '_';
                           return n;
                         });

// Against Mitogen 0.3.3, blind, its three known failures: an EMFILE at accept
// ends its listener; an EAGAIN on the first recv of a client's identity, and
// one on the send of its identity, each drop that client and every message
// it was to send. Each is a violation whose scenario fails again under
// `faultmux run` at least 9 times in 10.
TEST(ExploreMitogen, FindsMitogensKnownFailuresBlind) {
  struct known {
    const char *effect, *points, *where, *why;
  };
  for (const known& k :
       {known{"EMFILE", "^accept", "accept4@listener", "listener"},
        known{"EAGAIN", "^recv.*phase=handshake", "phase=handshake", "read remote identity"},
        known{"EAGAIN", "^send.*phase=handshake", "phase=handshake", "assign identity"}}) {
    run_dir out;
    int status = -1;
    json doc = explore({"--target", "mitogen", "--mux-only", "--effects", k.effect, "--points",
                        k.points, "--reruns", "10", "--first"},
                       out, &status);
    EXPECT_EQ(status, 1) << k.points;
    int best = -1;
    std::string found;
    for (const auto& r : doc["runs"]) {
      if (!r.contains("scenario")) continue;
      const std::string rate = r.value("reproduced", std::string("0/0"));
      if (int n = std::stoi(rate.substr(0, rate.find('/'))); n > best) {
        best = n;
        found = r["point"].get<std::string>() + ": " + r.value("why", "") + " (" + rate + ")";
      }
    }
    ASSERT_GE(best, 0) << k.points << "\n" << doc.dump(2).substr(0, 3000);
    EXPECT_NE(found.find(k.where), std::string::npos) << found;
    EXPECT_NE(found.find(k.why), std::string::npos) << found;
    EXPECT_GE(best, 9) << found;
  }
}

TEST(Explore, TwoShardsCoverExactlyTheUnshardedPointsAndMergeIntoItsCertificate) {
  run_dir all, one, two;
  const std::vector<std::string> narrow{"--effects", "EAGAIN,SIGKILL", "--reruns", "0"};
  auto with = [&](std::vector<std::string> extra) {
    extra.insert(extra.end(), narrow.begin(), narrow.end());
    return extra;
  };
  json whole = explore(with({}), all);
  json a = explore(with({"--shard", "1/2"}), one);
  json b = explore(with({"--shard", "2/2"}), two);
  std::set<std::string> merged = points_of(a), pb = points_of(b);
  for (const auto& p : pb) EXPECT_FALSE(merged.count(p)) << p << " in both shards";
  merged.insert(pb.begin(), pb.end());
  EXPECT_EQ(merged, points_of(whole));
  EXPECT_EQ(a["certificate"]["shard"], "1/2");
  // `faultmux report` merges the shards into the unsharded certificate.
  run_dir merged_dir;
  auto r = run_faultmux(
      {"report", one.file("results.json"), two.file("results.json"), "-o", merged_dir.path()});
  ASSERT_EQ(r.status, 0) << r.err;
  json m = exploration_in(merged_dir.path());
  EXPECT_EQ(points_of(m), points_of(whole));
  for (const char* k : {"runs", "activated", "violations", "explored_classes", "classes", "by_role",
                        "by_phase", "effects_per_class"})
    EXPECT_EQ(m["certificate"][k], whole["certificate"][k]) << k;
  EXPECT_TRUE(m["certificate"]["complete"].get<bool>());
  EXPECT_NE(r.out.find("classes"), std::string::npos) << r.out;
  // junit.xml: a testcase per point class.
  std::ifstream junit(merged_dir.file("explore-plain-echo.junit.xml"));
  std::string xml((std::istreambuf_iterator<char>(junit)), std::istreambuf_iterator<char>());
  std::size_t cases = 0;
  for (auto at = xml.find("<testcase"); at != std::string::npos; at = xml.find("<testcase", at + 1))
    ++cases;
  EXPECT_EQ(cases, m["certificate"]["explored_classes"].get<std::size_t>());
  // The page: the certificate, a coverage map of every explored phase and
  // call, and the table of violations (none here).
  std::ifstream page_in(merged_dir.file("explore-plain-echo.html"));
  std::string page((std::istreambuf_iterator<char>(page_in)), std::istreambuf_iterator<char>());
  EXPECT_NE(page.find("<table class=\"matrix coverage\">"), std::string::npos);
  EXPECT_NE(page.find("<tr><th>handshake</th><th>recv</th>"), std::string::npos);
  EXPECT_NE(page.find("<th>SIGKILL</th>"), std::string::npos);
  EXPECT_NE(page.find("Violations (0)"), std::string::npos);
  EXPECT_EQ(page.find("class=\"cell v-fail\""), std::string::npos);
  // The older explore-SCENARIO.json documents still merge, with results.json.
  json old = b;
  old["schema"] = "faultmux-explore/1";
  std::ofstream(merged_dir.file("explore-plain-echo.json")) << old.dump();
  run_dir old_dir;
  auto from_old = run_faultmux({"report", one.file("results.json"),
                                merged_dir.file("explore-plain-echo.json"), "-o", old_dir.path()});
  ASSERT_EQ(from_old.status, 0) << from_old.err;
  EXPECT_EQ(points_of(exploration_in(old_dir.path())), points_of(whole));
  // A shard of another exploration is refused.
  json other = b;
  other["seed"] = 99;
  other["schema"] = "faultmux-explore/1";
  std::ofstream(merged_dir.file("other.json")) << other.dump();
  auto bad = run_faultmux(
      {"report", one.file("results.json"), merged_dir.file("other.json"), "-o", merged_dir.path()});
  EXPECT_EQ(bad.status, 2);
  EXPECT_NE(bad.err.find("not a shard of the same exploration"), std::string::npos) << bad.err;
  EXPECT_GT(points_of(a).size(), 0u);
  EXPECT_GT(points_of(b).size(), 0u);
}

// A budget stops starting runs and the certificate says so: partial, with
// what was planned and what ran.
TEST(Explore, ABudgetGivesAPartialButHonestCertificate) {
  run_dir out;
  int status = -1;
  json doc = explore({"--budget-min", "0.005", "--reruns", "0"}, out, &status);
  const json& c = doc["certificate"];
  EXPECT_EQ(status, 0);
  EXPECT_FALSE(c["complete"].get<bool>());
  EXPECT_EQ(c["stopped_because"], "the budget of 0.005 min");
  EXPECT_LT(c["runs"].get<int>(), c["planned"].get<int>());
  std::size_t not_run = 0;
  for (const auto& r : doc["runs"]) not_run += r["ran"].get<bool>() ? 0 : 1;
  EXPECT_EQ(not_run, c["planned"].get<std::size_t>() - c["runs"].get<std::size_t>());
}

TEST(Explore, BadInputIsNamed) {
  run_dir out;
  auto faulted =
      run_faultmux({"explore", std::string(FAULTMUX_SOURCE_DIR) + "/scenarios/eagain-on-send.toml",
                    "--report", out.path()});
  EXPECT_EQ(faulted.status, 2);
  EXPECT_NE(faulted.err.find("it has [[faults]] of its own"), std::string::npos) << faulted.err;
  auto effect = run_faultmux({"explore", plain, "--effects", "EBOGUS"});
  EXPECT_EQ(effect.status, 2);
  EXPECT_NE(effect.err.find("unknown effect EBOGUS"), std::string::npos) << effect.err;
  auto regex = run_faultmux({"explore", plain, "--points", "(unclosed"});
  EXPECT_EQ(regex.status, 2);
  EXPECT_NE(regex.err.find("--points (unclosed: not a regular expression"), std::string::npos)
      << regex.err;
  auto shard = run_faultmux({"explore", plain, "--shard", "3/2"});
  EXPECT_EQ(shard.status, 2);
  EXPECT_NE(shard.err.find("expected K/N"), std::string::npos) << shard.err;
}

// A scenario of one fault whose fault never fires is not a pass: under
// `faultmux run` its "faults fired" oracle fails, and explore counts such a
// run as not activated, never as covered.
TEST(Explore, AFaultThatNeverFiresIsReportedNotActivated) {
  run_dir dir;
  std::ifstream in(plain);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  text += R"(
[[faults]]
kind = "syscall"
rule = "recv@accepted peer=nobody:0 phase=stream #1 per-fd -> EIO"

[expect]
fault_class = "hard"
faulted_peer = "nobody:0"
)";
  std::ofstream(dir.file("never.toml")) << text;
  auto r = run_faultmux({"run", dir.file("never.toml"), "-v"});
  EXPECT_EQ(r.status, 1) << r.out;
  EXPECT_NE(r.out.find("faults fired: fail"), std::string::npos) << r.out;
}

// A context started up front and one started by its first call.
const std::string contexts_scenario = R"(name = "contexts-plain"
description = "context a started up front, b when its first call asks; a calls group for each"
origin = "the mux's channels to its contexts, and the contexts' own calls"
seed = 1
timeout_ms = 9000
contexts = ["a"]
)" + test::context_call_groups(3);

// The mux's channels to its contexts and the contexts' calls on them are
// points, named by the contexts (whatever order they started in), and a
// hard fault on one costs only that context's calls: no violation.
TEST(Explore, ChannelsToContextsAndTheContextsOwnCallsArePoints) {
  run_dir dir;
  std::ofstream(dir.file("contexts.toml")) << contexts_scenario;
  auto r =
      run_faultmux({"explore", dir.file("contexts.toml"), "--jobs", "2", "--points", "@channel",
                    "--effects", "EAGAIN,EIO,EPIPE", "--reruns", "0", "--report", dir.file("out")});
  json doc = exploration_in(dir.file("out"));
  ASSERT_FALSE(doc.empty()) << r.out << r.err;
  EXPECT_EQ(r.status, 0) << r.out << r.err;
  EXPECT_EQ(r.out.find("not addressable"), std::string::npos) << r.out;
  const json& c = doc["certificate"];
  EXPECT_EQ(c["violations"], 0) << doc.dump(2).substr(0, 4000);
  EXPECT_EQ(c["runs"], c["planned"]);
  EXPECT_GT(c["by_role"]["mux"].value("activated", 0), 0) << c["by_role"].dump();
  EXPECT_GT(c["by_role"]["context"].value("activated", 0), 0) << c["by_role"].dump();
  std::set<std::string> pts = points_of(doc);
  for (const char* ctx : {"a", "b"}) {
    EXPECT_TRUE(pts.count(fmt::format("recv@channel peer=context:{} phase=stream #1", ctx)));
    EXPECT_TRUE(pts.count(fmt::format("sendmsg@channel peer=context:{} phase=stream #1", ctx)));
    EXPECT_TRUE(
        pts.count(fmt::format("recv@channel self=context:{} peer=mux phase=stream #1", ctx)));
    EXPECT_TRUE(
        pts.count(fmt::format("sendmsg@channel self=context:{} peer=mux phase=stream #1", ctx)));
  }
  // Each context is its own class: nothing collapsed.
  for (const auto& run : doc["runs"]) EXPECT_EQ(run["members"], 1) << run["point"];
  // A hard fault on a context's channel was judged as costing that context.
  std::size_t hard = 0;
  for (const auto& run : doc["runs"])
    if (run["fault_class"] == "hard" && run.value("activated", false)) ++hard;
  EXPECT_GT(hard, 10u);
}

// One server and one echo worker: small enough for the full cross product of
// its single faults to run in the suite.
const std::string tiny_scenario = R"(name = "tiny-echo"
description = "1 server and 1 echo worker, no faults"
origin = "the smallest plain scenario: the cross product of its single faults is affordable"
seed = 1
timeout_ms = 9000
)" + test::echo_groups(1, 1, 2);

json explore_tiny(const run_dir& dir, const std::vector<std::string>& extra, const char* sub) {
  std::ofstream(dir.file("tiny.toml")) << tiny_scenario;
  std::vector<std::string> args{"explore",  dir.file("tiny.toml"), "--jobs", "2", "--mux-only",
                                "--report", dir.file(sub)};
  args.insert(args.end(), extra.begin(), extra.end());
  auto r = run_faultmux(args);
  json e = exploration_in(dir.file(sub));
  if (e.empty()) ADD_FAILURE() << "no results; status " << r.status << "\n" << r.out << r.err;
  return e;
}

std::string fault_of(const json& run) {
  return run.value("point", "") + " " + run.value("effect", "");
}

bool violated(const json& run) {
  return run.value("activated", false) && run.value("verdict", "") == "fail";
}

// The pruned pairs against the full cross product, on a mux with the
// epipe-crash bug: every violation a pair of the cross product shows is
// found by the pruned exploration (by a single fault of it, or by a pair),
// in at least ten times fewer pair runs, and the pruned pairs find what no
// single fault and no pair of single-fault points can: an EPIPE on the send
// that retries an EAGAIN.
TEST(ExploreWithPairs, PrunedPairsFindEveryViolationOfTheCrossProductInATenthOfTheRuns) {
  run_dir dir;
  const std::vector<std::string> common{"--legacy-bug", "epipe-crash",
                                        "--effects",    "EAGAIN,EPIPE,ECONNRESET,EMFILE",
                                        "--reruns",     "0"};
  std::vector<std::string> pruned_args = common, all_args = common;
  pruned_args.push_back("--pairs");
  all_args.push_back("--all-pairs");
  const json pruned = explore_tiny(dir, pruned_args, "pruned");
  const json all = explore_tiny(dir, all_args, "all");
  const json &pp = pruned["certificate"]["pairs"], &ap = all["certificate"]["pairs"];
  ASSERT_TRUE(pp.is_object() && ap.is_object()) << pruned.dump(2).substr(0, 2000);
  EXPECT_EQ(pp["cross_product"], ap["cross_product"]);
  EXPECT_GT(pp["runs"].get<std::size_t>(), 0u);
  EXPECT_GE(ap["runs"].get<std::size_t>(), 10 * pp["runs"].get<std::size_t>())
      << "pruned " << pp.dump() << "\nall " << ap.dump();

  std::set<std::string> single_violations, pair_violations;
  for (const auto& r : pruned["runs"]) {
    if (!violated(r)) continue;
    if (r.contains("second"))
      pair_violations.insert(fault_of(r) + " + " + fault_of(r["second"]));
    else
      single_violations.insert(fault_of(r));
  }
  std::size_t cross_violations = 0;
  for (const auto& r : all["runs"]) {
    if (!r.contains("second") || !violated(r)) continue;
    ++cross_violations;
    const std::string a = fault_of(r), b = fault_of(r["second"]);
    EXPECT_TRUE(single_violations.count(a) || single_violations.count(b) ||
                pair_violations.count(a + " + " + b))
        << "the cross product's violation " << a << " + " << b << " (" << r.value("why", "")
        << ") is not found by the pruned pairs";
  }
  EXPECT_GT(cross_violations, 0u) << "the comparison needs violations to compare";
  ASSERT_FALSE(pair_violations.empty()) << pruned.dump(2).substr(0, 3000);
  bool retried_send = false;
  for (const auto& v : pair_violations)
    retried_send |= v.find("EAGAIN + send@accepted") != std::string::npos &&
                    v.find("phase=handshake #2 EPIPE") != std::string::npos;
  EXPECT_TRUE(retried_send) << ::testing::PrintToString(pair_violations);
}

// Against the built-in mux the pairs are as clean as the single faults, each
// pair run's scenario carries both faults, and every single fault is
// accounted for: its pairs explored, or why not.
TEST(ExploreWithPairs, PairsAreCleanAgainstTheBuiltInMuxAndEveryFirstFaultIsAccountedFor) {
  run_dir dir;
  const json doc = explore_tiny(dir, {"--pairs", "--reruns", "0"}, "out");
  const json& c = doc["certificate"];
  EXPECT_EQ(c["violations"], 0) << doc.dump(2).substr(0, 3000);
  std::size_t singles = 0, pairs = 0, first_faults = 0;
  for (const auto& r : doc["runs"]) (r.contains("second") ? pairs : singles) += 1;
  for (const auto& [why, n] : c["pairs"]["first_faults"].items())
    first_faults += n.get<std::size_t>();
  EXPECT_EQ(first_faults, singles);
  EXPECT_EQ(c["pairs"]["runs"].get<std::size_t>(), pairs);
  EXPECT_GT(c["pairs"]["first_faults"].value("explored", std::size_t{0}), 0u);
  EXPECT_GT(c["pairs"]["first_faults"].value("same consequences as an earlier first fault",
                                             std::size_t{0}),
            0u)
      << "EAGAIN and EINTR on one call both make it again: their pairs are merged";
}

}  // namespace
}  // namespace faultmux
