// results.json against reports/results.schema.json (python3-jsonschema, the
// Debian package): a real run through the driver validates and carries real
// values (mux samples, a row per worker, a fault window inside the span, a
// latency per call and round trip); so does a real exploration's, with its
// explore section; a document missing a required field or with a wrong
// value, there or in the explore section, does not validate. Also the pure parts: the latency
// summary, the sampler's thinning, row and mark caps, Mitogen's version.
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <functional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <CLI/Version.hpp>

#include "harness/report_timeline.hpp"
#include "harness/resource_sampler.hpp"
#include "reports/results.hpp"
#include "roles/process.hpp"
#include "tests/support/run_dir.hpp"

namespace faultmux {
namespace {

using json = nlohmann::json;
using ms = std::chrono::milliseconds;
using test::run_dir;

const std::string schema_path = std::string(FAULTMUX_SOURCE_DIR) + "/reports/results.schema.json";

struct validation {
  int status = -1;     // 0 valid, 1 invalid, else the validator could not run
  std::string output;  // "valid", or one line per error: path: message
};

// Debian's python3-jsonschema checks `doc` against the schema (itself
// checked as a draft 2020-12 schema first).
validation validate(const std::string& doc) {
  const char* script =
      "import json, sys, jsonschema\n"
      "schema = json.load(open(sys.argv[1]))\n"
      "jsonschema.Draft202012Validator.check_schema(schema)\n"
      "v = jsonschema.Draft202012Validator(schema)\n"
      "errors = sorted(v.iter_errors(json.load(open(sys.argv[2]))), key=lambda e: e.json_path)\n"
      "for e in errors: print('%s: %s' % (e.json_path, e.message[:300]))\n"
      "print('valid' if not errors else 'invalid')\n"
      "sys.exit(1 if errors else 0)\n";
  run_dir out;
  auto p = child_process::spawn({"/usr/bin/python3", "-c", script, schema_path, doc}, true,
                                out.file("stderr"));
  validation v;
  while (auto line = p.read_line(ms(20000))) v.output += *line + "\n";
  auto st = p.wait(ms(20000));
  if (st && WIFEXITED(*st)) v.status = WEXITSTATUS(*st);
  v.output += test::slurp(out.file("stderr"));
  return v;
}

const char* scenario_text = R"(name = "schema-check"
description = "serve, echo and call workers, with the mux stopped for a moment"
origin = "report_schema_test"
timeout_ms = 20000

[[workers]]
name = "servers"
count = 2
workload = "serve"

[[workers]]
name = "echo"
count = 2
workload = "echo"
peer = "servers"
messages = 10

[[workers]]
name = "callers"
count = 1
workload = "calls"
context = "c"
function = "echo"
messages = 5

[[faults]]
kind = "signal"
signal = "SIGSTOP"
at_ms = 30
resume_after_ms = 200
)";

// One real run of the scenario above with --report, shared by the tests.
class RealRun : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    files_ = new run_dir;
    run_dir tmp;
    std::ofstream(files_->file("schema-check.toml")) << scenario_text;
    auto p =
        child_process::spawn({"/usr/bin/env", "TMPDIR=" + tmp.path(), test::binary(), "run",
                              files_->file("schema-check.toml"), "--report", files_->file("r")},
                             true);
    while (auto line = p.read_line(ms(60000))) output_ += *line + "\n";
    auto st = p.wait(ms(60000));
    status_ = st && WIFEXITED(*st) ? WEXITSTATUS(*st) : -1;
  }
  static void TearDownTestSuite() {
    delete files_;
    files_ = nullptr;
  }
  static std::string results_path() { return files_->file("r/results.json"); }
  static json results() { return json::parse(test::slurp(results_path())); }

  static run_dir* files_;
  static std::string output_;
  static int status_;
};
run_dir* RealRun::files_ = nullptr;
std::string RealRun::output_;
int RealRun::status_ = -1;

TEST_F(RealRun, PassesAndValidatesAgainstTheSchema) {
  ASSERT_EQ(status_, 0) << output_;
  validation v = validate(results_path());
  EXPECT_EQ(v.status, 0) << v.output;
  EXPECT_EQ(v.output, "valid\n");
  json j = results();
  EXPECT_EQ(j["schema"], "faultmux-results/3");
  EXPECT_EQ(j["explore"], json::array()) << "a run explores nothing";
  EXPECT_EQ(j["summary"]["total"], 1);
  EXPECT_EQ(j["summary"]["passed"], 1);
  EXPECT_GT(j["summary"]["duration_s"].get<double>(), 0.0);
}

TEST_F(RealRun, CarriesTheScenarioAndHost) {
  json j = results();
  const json& s = j["scenarios"][0];
  EXPECT_EQ(s["repeat"], 1);
  EXPECT_EQ(s["legacy_bugs"], json::array());
  EXPECT_EQ(s["description"], "serve, echo and call workers, with the mux stopped for a moment");
  EXPECT_EQ(s["workers"]["total"], 5);
  EXPECT_GE(s["workers"]["spawn_ms"].get<double>(), 0.0);
  const json& libs = j["run"]["host"]["libraries"];
  EXPECT_EQ(libs["boost"].get<std::string>().rfind("1.", 0), 0u) << libs;
  EXPECT_EQ(libs["cli11"], CLI11_VERSION);
  if (::access("/usr/lib/python3/dist-packages/mitogen/__init__.py", R_OK) == 0) {
    EXPECT_EQ(libs["python3_mitogen"], "0.3.3");
  }
}

TEST_F(RealRun, SamplesTheMuxFdsAndRss) {
  json j = results();
  const json& s = j["scenarios"][0];
  const json& res = s["resources"];
  const double span = s["timeline"]["duration_s"].get<double>();
  ASSERT_TRUE(res.is_object()) << s.dump(2);
  EXPECT_EQ(res["pid"], s["timeline"]["processes"][0]["pid"]);
  EXPECT_EQ(res["interval_ms"], 50);
  EXPECT_GT(res["baseline_fds"].get<long>(), 0);
  // The run lasts over 200 ms (the mux is stopped that long): several samples.
  ASSERT_GE(res["samples"].size(), 3u) << res.dump();
  double last = -1;
  for (const auto& x : res["samples"]) {
    EXPECT_GT(x["fds"].get<long>(), 0) << x;
    EXPECT_GT(x["rss_kib"].get<long>(), 0) << x;
    EXPECT_GT(x["t"].get<double>(), last);
    EXPECT_LE(x["t"].get<double>(), span);
    last = x["t"].get<double>();
  }
  // Five workers and a context held connections at some point: more fds than at the start.
  long most = 0;
  for (const auto& x : res["samples"]) most = std::max(most, x["fds"].get<long>());
  EXPECT_GT(most, res["baseline_fds"].get<long>()) << res.dump();
}

TEST_F(RealRun, HasARowPerProcess) {
  json j = results();
  const json& tl = j["scenarios"][0]["timeline"];
  const json& rows = tl["processes"];
  EXPECT_EQ(tl["processes_omitted"], 0);
  ASSERT_GE(rows.size(), 1u);
  EXPECT_EQ(rows[0]["name"], "mux");
  EXPECT_EQ(rows[0]["role"], "mux");
  EXPECT_EQ(rows[0]["outcome"], "ok");
  std::vector<std::string> workers, contexts, probes;
  for (const auto& r : rows) {
    if (r["role"] == "worker") workers.push_back(r["name"]);
    if (r["role"] == "context") contexts.push_back(r["name"]);
    if (r["role"] == "probe") probes.push_back(r["name"]);
    EXPECT_GE(r["start_s"].get<double>(), 0.0) << r;
    ASSERT_TRUE(r["end_s"].is_number()) << r;
    EXPECT_GE(r["end_s"].get<double>(), r["start_s"].get<double>()) << r;
    EXPECT_LE(r["end_s"].get<double>(), tl["duration_s"].get<double>() + 1e-9) << r;
    EXPECT_EQ(r["marks"][0]["kind"], "spawn") << r;
    if (r["role"] == "worker") {
      EXPECT_EQ(r["outcome"], "ok") << r;
      EXPECT_GT(r["pid"].get<long>(), 0);
    }
  }
  EXPECT_EQ(workers,
            (std::vector<std::string>{"worker-servers-0", "worker-servers-1", "worker-echo-0",
                                      "worker-echo-1", "worker-callers-0"}));
  EXPECT_EQ(contexts, std::vector<std::string>{"c"});
  EXPECT_EQ(probes, std::vector<std::string>{"probe"});
  // Every worker's handshake at the mux is on its row.
  for (const auto& r : rows) {
    if (r["role"] != "worker") continue;
    int handshakes = 0;
    for (const auto& m : r["marks"]) handshakes += m["kind"] == "handshake";
    EXPECT_EQ(handshakes, 1) << r;
  }
  EXPECT_EQ(
      tl["groups"][0],
      json({{"name", "servers"}, {"role", "worker"}, {"count", 2}, {"outcomes", {{"ok", 2}}}}));
  EXPECT_EQ(tl["groups"][1]["count"], 2);
  EXPECT_EQ(tl["groups"][2]["count"], 1);
  EXPECT_EQ(tl["groups"][3]["role"], "context");
}

TEST_F(RealRun, FaultWindowIsInsideTheSpan) {
  json j = results();
  const json& s = j["scenarios"][0];
  const double span = s["timeline"]["duration_s"].get<double>();
  ASSERT_EQ(s["faults"].size(), 2u) << s["faults"].dump(2);  // SIGSTOP and SIGCONT
  for (const auto& f : s["faults"]) {
    EXPECT_GT(f["at_s"].get<double>(), 0.0) << f;
    EXPECT_LT(f["at_s"].get<double>(), span) << f;
  }
  ASSERT_EQ(s["windows"].size(), 1u) << s["windows"].dump(2);
  const json& w = s["windows"][0];
  EXPECT_EQ(w["what"], "mux stopped (SIGSTOP)");
  EXPECT_DOUBLE_EQ(w["from_s"].get<double>(), s["faults"][0]["at_s"].get<double>());
  EXPECT_DOUBLE_EQ(w["to_s"].get<double>(), s["faults"][1]["at_s"].get<double>());
  // resume_after_ms = 200, judged by the events' own times.
  EXPECT_GE(w["to_s"].get<double>() - w["from_s"].get<double>(), 0.2);
  // The mux's row shows it stopped and resumed.
  std::vector<std::string> kinds;
  for (const auto& m : s["timeline"]["processes"][0]["marks"]) kinds.push_back(m["kind"]);
  EXPECT_NE(std::find(kinds.begin(), kinds.end(), "stopped"), kinds.end());
  EXPECT_NE(std::find(kinds.begin(), kinds.end(), "resumed"), kinds.end());
}

TEST_F(RealRun, LatencyCountsEveryCallAndRoundTrip) {
  json j = results();
  const json& lat = j["scenarios"][0]["latency"];
  ASSERT_TRUE(lat.is_object());
  EXPECT_EQ(lat["count"], 2 * 10 + 5);  // two echo workers x 10 messages, 5 calls
  int sum = 0;
  double prev = 0;
  for (const auto& b : lat["buckets"]) {
    sum += b["count"].get<int>();
    EXPECT_GT(b["le_ms"].get<double>(), prev);
    prev = b["le_ms"].get<double>();
  }
  EXPECT_EQ(sum, 25);
  EXPECT_LE(lat["p50_ms"].get<double>(), lat["p90_ms"].get<double>());
  EXPECT_LE(lat["p90_ms"].get<double>(), lat["p99_ms"].get<double>());
  EXPECT_LE(lat["p99_ms"].get<double>(), lat["max_ms"].get<double>());
  EXPECT_GE(prev, lat["max_ms"].get<double>());
  EXPECT_GT(lat["mean_ms"].get<double>(), 0.0);
}

// A changed copy of the real document, validated.
validation validate_changed(const json& doc, const std::function<void(json&)>& change) {
  run_dir d;
  json copy = doc;
  change(copy);
  std::ofstream(d.file("changed.json")) << copy.dump(2);
  return validate(d.file("changed.json"));
}

TEST_F(RealRun, ADocumentMissingARequiredFieldFails) {
  json j = results();
  validation v = validate_changed(j, [](json& d) { d["scenarios"][0].erase("resources"); });
  EXPECT_EQ(v.status, 1) << v.output;
  EXPECT_NE(v.output.find("'resources' is a required property"), std::string::npos) << v.output;
  v = validate_changed(j, [](json& d) { d.erase("summary"); });
  EXPECT_EQ(v.status, 1) << v.output;
  EXPECT_NE(v.output.find("'summary' is a required property"), std::string::npos) << v.output;
  v = validate_changed(
      j, [](json& d) { d["scenarios"][0]["timeline"]["processes"][0].erase("marks"); });
  EXPECT_EQ(v.status, 1) << v.output;
}

TEST_F(RealRun, AWrongValueFails) {
  json j = results();
  validation v = validate_changed(j, [](json& d) { d["schema"] = "faultmux-results/1"; });
  EXPECT_EQ(v.status, 1) << v.output;
  v = validate_changed(j, [](json& d) { d["scenarios"][0]["verdict"] = "passed"; });
  EXPECT_EQ(v.status, 1) << v.output;
  v = validate_changed(
      j, [](json& d) { d["scenarios"][0]["timeline"]["processes"][0]["outcome"] = "fine"; });
  EXPECT_EQ(v.status, 1) << v.output;
  v = validate_changed(j,
                       [](json& d) { d["scenarios"][0]["resources"]["samples"][0]["fds"] = -1; });
  EXPECT_EQ(v.status, 1) << v.output;
  v = validate_changed(j, [](json& d) { d["scenarios"][0]["unknown_field"] = 1; });
  EXPECT_EQ(v.status, 1) << v.output;
}

// The run's phases: all four, in order, none negative, together about the
// run's duration (the rest is removing the run directory).
TEST_F(RealRun, CarriesItsPhasesInOrderSummingToItsDuration) {
  const json j = results();
  const json& s = j["scenarios"][0];
  ASSERT_EQ(s["phases"].size(), 4u) << s["phases"];
  const char* names[] = {"spawn", "traffic", "stop", "judge"};
  double sum = 0;
  for (std::size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(s["phases"][i]["name"], names[i]);
    const double t = s["phases"][i]["seconds"].get<double>();
    EXPECT_GE(t, 0.0) << names[i];
    sum += t;
  }
  const double whole = s["duration_s"].get<double>();
  EXPECT_GT(s["phases"][1]["seconds"].get<double>(), 0.0) << "the workers ran";
  EXPECT_NEAR(sum, whole, 0.05 * whole + 0.05) << s["phases"];
  validation v =
      validate_changed(results(), [](json& d) { d["scenarios"][0]["phases"][0]["seconds"] = -1; });
  EXPECT_EQ(v.status, 1) << v.output;
  v = validate_changed(results(),
                       [](json& d) { d["scenarios"][0]["phases"][0]["name"] = "warmup"; });
  EXPECT_EQ(v.status, 1) << v.output;
}

// A schema 2 document (no explore section) still validates: readers of
// either kind keep working.
TEST_F(RealRun, ASchemaTwoDocumentStillValidates) {
  validation v = validate_changed(results(), [](json& d) {
    d["schema"] = "faultmux-results/2";
    d.erase("explore");
  });
  EXPECT_EQ(v.status, 0) << v.output;
}

// One real exploration with a violation (the accept-crash legacy bug under
// EMFILE at accept), its results.json shared by the tests below.
class RealExplore : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    files_ = new run_dir;
    run_dir tmp;
    auto p =
        child_process::spawn({"/usr/bin/env", "TMPDIR=" + tmp.path(), test::binary(), "explore",
                              std::string(FAULTMUX_SOURCE_DIR) + "/scenarios/plain-echo.toml",
                              "--legacy-bug", "accept-crash", "--effects", "EMFILE", "--first",
                              "--reruns", "1", "--report", files_->file("x")},
                             true);
    while (auto line = p.read_line(ms(120000))) output_ += *line + "\n";
    auto st = p.wait(ms(120000));
    status_ = st && WIFEXITED(*st) ? WEXITSTATUS(*st) : -1;
  }
  static void TearDownTestSuite() {
    delete files_;
    files_ = nullptr;
  }
  static std::string results_path() { return files_->file("x/results.json"); }
  static json results() { return json::parse(test::slurp(results_path())); }

  static run_dir* files_;
  static std::string output_;
  static int status_;
};
run_dir* RealExplore::files_ = nullptr;
std::string RealExplore::output_;
int RealExplore::status_ = -1;

// An exploration with pairs: its pair runs (each with its second fault) and
// the certificate's pairs validate; a pair without its second point does not.
TEST(RealExplorePairs, ItsResultsValidateAgainstTheSchema) {
  run_dir tmp, files;
  auto p = child_process::spawn({"/usr/bin/env", "TMPDIR=" + tmp.path(), test::binary(), "explore",
                                 std::string(FAULTMUX_SOURCE_DIR) + "/scenarios/plain-echo.toml",
                                 "--mux-only", "--effects", "EAGAIN", "--points", "phase=handshake",
                                 "--pairs", "--reruns", "0", "--report", files.file("x")},
                                true);
  std::string out;
  while (auto line = p.read_line(ms(120000))) out += *line + "\n";
  auto st = p.wait(ms(120000));
  ASSERT_TRUE(st && WIFEXITED(*st) && WEXITSTATUS(*st) == 0) << out;
  validation v = validate(files.file("x/results.json"));
  EXPECT_EQ(v.output, "valid\n");
  json j = json::parse(test::slurp(files.file("x/results.json")));
  const json& e = j["explore"][0];
  ASSERT_TRUE(e["certificate"].contains("pairs")) << e.dump(2).substr(0, 2000);
  std::size_t pairs = 0;
  for (const auto& r : e["runs"]) pairs += r.contains("second");
  EXPECT_GT(pairs, 0u);
  EXPECT_EQ(e["certificate"]["pairs"]["runs"].get<std::size_t>(), pairs);
  v = validate_changed(j, [](json& d) {
    for (auto& r : d["explore"][0]["runs"])
      if (r.contains("second")) r["second"].erase("point");
  });
  EXPECT_EQ(v.status, 1) << v.output;
}

TEST_F(RealExplore, ItsResultsValidateAgainstTheSchema) {
  ASSERT_EQ(status_, 1) << output_;
  validation v = validate(results_path());
  EXPECT_EQ(v.status, 0) << v.output;
  EXPECT_EQ(v.output, "valid\n");
  json j = results();
  EXPECT_EQ(j["schema"], "faultmux-results/3");
  EXPECT_EQ(j["scenarios"], json::array());
  ASSERT_EQ(j["explore"].size(), 1u) << j.dump(2).substr(0, 3000);
  const json& e = j["explore"][0];
  EXPECT_EQ(e["scenario"], "plain-echo");
  EXPECT_GT(e["certificate"]["violations"].get<int>(), 0);
  EXPECT_TRUE(e["certificate"]["by_role"].contains("mux"));
  EXPECT_TRUE(e["certificate"]["by_phase"].contains("accept"));
  EXPECT_NE(j["run"]["command_line"].get<std::string>().find("faultmux explore "),
            std::string::npos);
  std::size_t found = 0, shrunk = 0;
  for (const auto& r : e["runs"]) {
    found += r.contains("scenario") ? 1 : 0;
    shrunk += r.contains("shrunk") ? 1 : 0;
  }
  EXPECT_GT(found, 0u) << e["runs"].dump(2);
  EXPECT_EQ(shrunk, found) << "each violation shrunk: " << e["runs"].dump(2);
}

// The explore section is checked too: a schema that let these through could
// not catch a writer that broke it.
TEST_F(RealExplore, ABrokenExploreSectionFails) {
  json j = results();
  ASSERT_EQ(j["explore"].size(), 1u) << output_;
  std::size_t violation = 0;
  while (violation < j["explore"][0]["runs"].size() &&
         !j["explore"][0]["runs"][violation].contains("shrunk"))
    ++violation;
  ASSERT_LT(violation, j["explore"][0]["runs"].size());
  const std::vector<std::pair<std::string, std::function<void(json&)>>> broken{
      {"'by_role' is a required property",
       [](json& d) { d["explore"][0]["certificate"].erase("by_role"); }},
      {"'runs' is a required property", [](json& d) { d["explore"][0].erase("runs"); }},
      {"is not one of", [](json& d) { d["explore"][0]["runs"][0]["verdict"] = "passed"; }},
      {"'reproduced' is a dependency of 'scenario'",
       [&](json& d) { d["explore"][0]["runs"][violation].erase("reproduced"); }},
      {"'shrunk_command' is a dependency of 'shrunk'",
       [&](json& d) { d["explore"][0]["runs"][violation].erase("shrunk_command"); }},
      {"-1 is less than the minimum of 0",
       [](json& d) { d["explore"][0]["certificate"]["by_phase"]["accept"]["runs"] = -1; }},
      {"Additional properties are not allowed",
       [](json& d) { d["explore"][0]["certificate"]["unknown_field"] = 1; }},
      {"does not match", [](json& d) { d["explore"][0]["certificate"]["shard"] = "first"; }},
  };
  for (const auto& [message, change] : broken) {
    validation v = validate_changed(j, change);
    EXPECT_EQ(v.status, 1) << message << "\n" << v.output;
    EXPECT_NE(v.output.find(message), std::string::npos) << v.output;
  }
}

TEST(ReportData, LatencySummary) {
  EXPECT_FALSE(summarize_latencies({}));
  auto s = summarize_latencies({0.3, 0.05, 1.5, 0.3, 12.0, 0.011, 0.4, 0.9, 2.0, 0.2});
  ASSERT_TRUE(s);
  EXPECT_EQ(s->count, 10);
  EXPECT_NEAR(s->mean_ms, 17.661 / 10, 1e-9);
  EXPECT_DOUBLE_EQ(s->p50_ms, 0.3);  // nearest rank: the 5th of 10
  EXPECT_DOUBLE_EQ(s->p90_ms, 2.0);
  EXPECT_DOUBLE_EQ(s->p99_ms, 12.0);
  EXPECT_DOUBLE_EQ(s->max_ms, 12.0);
  // 1-2-5 bounds from 0.02 (0.011's bucket) to 20 (12's); counts per bucket.
  std::vector<std::pair<double, int>> got;
  for (const auto& b : s->buckets) got.emplace_back(b.le_ms, b.count);
  std::vector<std::pair<double, int>> want{{0.02, 1}, {0.05, 1}, {0.1, 0}, {0.2, 1}, {0.5, 3},
                                           {1, 1},    {2, 2},    {5, 0},   {10, 0},  {20, 1}};
  ASSERT_EQ(got.size(), want.size());
  for (std::size_t i = 0; i < want.size(); ++i) {
    EXPECT_NEAR(got[i].first, want[i].first, 1e-12) << i;
    EXPECT_EQ(got[i].second, want[i].second) << i;
  }
}

TEST(ReportData, SamplerThinsALongRunToItsCap) {
  resource_sampler s(5, 8);
  s.start(::getpid());
  std::this_thread::sleep_for(ms(200));
  s.stop();
  auto got = s.samples();
  // About 40 readings at 5 ms do not fit in 8: halved until they do.
  EXPECT_LE(got.size(), 8u);
  EXPECT_GE(got.size(), 3u);
  EXPECT_GE(s.interval_ms(), 20);
  for (const auto& p : got) EXPECT_GT(p.fds, 0);
  EXPECT_FALSE(sample_process(-1));
}

// A timeline of 300 connect workers, one of them killed: the rows are
// capped at 200 with the killed one kept, and the group counts all 300.
TEST(ReportData, RowsAreCappedKeepingTheAffected) {
  timeline tl;
  auto ev = [&](double t, const std::string& source, json data) {
    tl.push_back(timeline_event::of(t, source, data));
  };
  ev(100.0, "driver", {{"event", "spawn"}, {"name", "mux"}, {"child_pid", 10}});
  std::vector<traced_process> ws;
  for (int i = 0; i < 300; ++i) {
    std::string name = "worker-forks-" + std::to_string(i);
    ev(100.1 + i * 0.001, "driver", {{"event", "spawn"}, {"name", name}, {"child_pid", 1000 + i}});
    for (int k = 0; k < 80; ++k)
      ev(100.5 + k * 0.001, name, {{"event", "reply"}, {"pid", 1000 + i}, {"outcome", "ok"}});
    traced_process w{name, "forks", i, 1000 + i, true, 101.0, 0};
    if (i == 250) w.status = SIGKILL;  // a wait status: killed by SIGKILL
    ws.push_back(w);
  }
  sort_timeline(tl);
  worker_group g;
  g.name = "forks";
  traced_process mux{"mux", "", 0, 10, false, 101.5, 0};
  auto out = timeline_rows(tl, mux, ws, {g});
  ASSERT_EQ(out.processes.size(), 200u);
  EXPECT_EQ(out.processes_omitted, 101);  // 1 mux + 300 workers - 200
  EXPECT_EQ(out.processes[0].name, "mux");
  bool kept = false;
  for (const auto& r : out.processes) {
    EXPECT_LE(r.marks.size(), 60u);
    if (r.name == "worker-forks-250") {
      kept = true;
      EXPECT_EQ(r.outcome, "killed");
      EXPECT_EQ(r.marks.back().kind, "killed");
    }
  }
  EXPECT_TRUE(kept);
  ASSERT_EQ(out.groups.size(), 1u);
  EXPECT_EQ(out.groups[0].count, 300);
  EXPECT_EQ(out.groups[0].outcomes, (std::map<std::string, int>{{"ok", 299}, {"killed", 1}}));
  EXPECT_NEAR(out.duration_s, 1.5, 1e-9);
}

// A synthetic timeline: an event of `source` at 100 + t seconds.
struct tl_builder {
  timeline tl;
  void add(double t, const std::string& source, json data) {
    tl.push_back(timeline_event::of(100 + t, source, data));
  }
  timeline done() {
    sort_timeline(tl);
    return tl;
  }
};

// Each outcome from what the timeline and the wait status say, and "ok" only
// when nothing went wrong.
TEST(ReportData, WorkerOutcomes) {
  tl_builder b;
  b.add(0, "driver", {{"event", "spawn"}, {"name", "mux"}});
  const char* names[] = {"ok", "refused", "timeout", "cut", "gone", "late", "failed", "running"};
  std::vector<traced_process> ws;
  for (int i = 0; i < 8; ++i) {
    std::string name = std::string("worker-g-") + names[i];
    b.add(0.1, "driver", {{"event", "spawn"}, {"name", name}});
    ws.push_back({name, "g", i, 500 + i, false, 100.9, 0});
  }
  auto own = [&](int i, double t, json data) {
    data["pid"] = 500 + i;
    data["role"] = "worker";
    b.add(t, ws[static_cast<std::size_t>(i)].name, std::move(data));
  };
  auto at_mux = [&](double t, json data) {
    data["pid"] = 10;
    data["role"] = "mux";
    b.add(t, "mux", std::move(data));
  };
  own(0, 0.3, {{"event", "workload_done"}, {"ok", 5}, {"failed", 0}});
  own(1, 0.2, {{"event", "connect_failed"}, {"errno", "ECONNREFUSED"}, {"detail", "refused"}});
  ws[1].status = 3 << 8;
  own(2, 0.2, {{"event", "connect_failed"}, {"errno", "ETIMEDOUT"}, {"detail", "timed out"}});
  ws[2].status = 3 << 8;
  own(3, 0.2, {{"event", "connect_failed"}, {"errno", "EPIPE"}, {"detail", "sending our pid"}});
  ws[3].status = 3 << 8;
  // Disconnected at the mux before its workload ended...
  at_mux(0.25, {{"event", "disconnect"}, {"stream", "unix_client.504"}, {"why", "bad magic"}});
  own(4, 0.3, {{"event", "workload_done"}, {"ok", 5}, {"failed", 0}});
  // ...and after it: a normal close.
  own(5, 0.3, {{"event", "workload_done"}, {"ok", 5}, {"failed", 0}});
  at_mux(0.35, {{"event", "disconnect"}, {"stream", "unix_client.505"}, {"why", "EOF"}});
  own(6, 0.3, {{"event", "workload_failed"}, {"why", "no reply"}});
  ws[6].status = 1 << 8;
  ws[7].status.reset();
  ws[7].exited.reset();
  b.add(0.8, "driver", {{"event", "mux_stop"}, {"signal", "SIGTERM"}});
  worker_group g;
  g.name = "g";
  auto out = timeline_rows(b.done(), {"mux", "", 0, 10, false, 100.85, 0}, ws, {g});
  ASSERT_EQ(out.processes.size(), 9u);
  std::vector<std::string> got;
  for (std::size_t i = 1; i < out.processes.size(); ++i) got.push_back(out.processes[i].outcome);
  // EPIPE sending its pid: the handshake never completed, so it never connected.
  EXPECT_EQ(got, (std::vector<std::string>{"ok", "refused", "timeout", "never connected",
                                           "disconnected", "ok", "failed", "running"}));
  EXPECT_EQ(out.processes[0].outcome, "ok");  // exit 0 after the driver's SIGTERM
  EXPECT_FALSE(out.processes[8].end_s);
  EXPECT_EQ(out.groups[0].outcomes, (std::map<std::string, int>{{"ok", 2},
                                                                {"refused", 1},
                                                                {"timeout", 1},
                                                                {"never connected", 1},
                                                                {"disconnected", 1},
                                                                {"failed", 1},
                                                                {"running", 1}}));
}

// Windows: a stop resumed, a limit never restored (to the end of the span),
// a group that stopped itself at a phase; a failed SIGSTOP opens none.
TEST(ReportData, FaultWindows) {
  tl_builder b;
  auto driver_fault = [&](double t, int index, const char* kind, long pid, const char* what,
                          const char* err = "") {
    b.add(t, "driver",
          {{"event", "fault"},
           {"kind", kind},
           {"fault", index},
           {"target_pid", pid},
           {"what", what},
           {"errno", err}});
  };
  b.add(0, "driver", {{"event", "spawn"}, {"name", "mux"}});
  driver_fault(0.1, 0, "signal", 10, "SIGSTOP");
  driver_fault(0.4, 0, "resume", 10, "SIGCONT");
  driver_fault(0.5, 1, "nofile", 10, "RLIMIT_NOFILE soft 1024 -> 12");
  driver_fault(0.6, 2, "signal", 10, "SIGSTOP", "ESRCH");
  for (int i = 0; i < 2; ++i) {
    b.add(0.2 + i * 0.1, "worker-s-" + std::to_string(i),
          {{"event", "fault"},
           {"pid", 20 + i},
           {"kind", "phase"},
           {"phase", "connected"},
           {"action", "SIGSTOP"}});
    b.add(
        0.7 + i * 0.1, "worker-s-" + std::to_string(i),
        {{"event", "fault_continued"}, {"pid", 20 + i}, {"kind", "phase"}, {"action", "SIGSTOP"}});
  }
  std::vector<traced_process> ws{{"worker-s-0", "s", 0, 20, false, {}, {}},
                                 {"worker-s-1", "s", 1, 21, false, {}, {}}};
  auto w = windows_of(b.done(), {"mux", "", 0, 10, false, {}, {}}, ws, 2.0);
  ASSERT_EQ(w.size(), 3u);
  EXPECT_EQ(w[0].what, "mux stopped (SIGSTOP)");
  EXPECT_NEAR(w[0].from_s, 0.1, 1e-9);
  EXPECT_NEAR(w[0].to_s, 0.4, 1e-9);
  EXPECT_EQ(w[1].what, "group s stopped itself at connected (SIGSTOP)");
  EXPECT_NEAR(w[1].from_s, 0.2, 1e-9);
  EXPECT_NEAR(w[1].to_s, 0.8, 1e-9);
  EXPECT_EQ(w[2].what, "mux RLIMIT_NOFILE soft 1024 -> 12, never undone");
  EXPECT_NEAR(w[2].from_s, 0.5, 1e-9);
  EXPECT_DOUBLE_EQ(w[2].to_s, 2.0);
}

TEST(ReportData, MitogenVersionFromItsSource) {
  run_dir d;
  std::ofstream(d.file("a.py")) << "# comment\n__version__ = (0, 3, 3)\nis_master = True\n";
  std::ofstream(d.file("b.py")) << "version = 1\n";
  std::ofstream(d.file("dev.py")) << "__version__ = (0, 3, 52, 'dev')\n";
  EXPECT_EQ(reports::mitogen_version(d.file("a.py")), "0.3.3");
  EXPECT_EQ(reports::mitogen_version(d.file("dev.py")), "0.3.52.dev");
  EXPECT_EQ(reports::mitogen_version(d.file("b.py")), "");
  EXPECT_EQ(reports::mitogen_version(d.file("missing.py")), "");
}

}  // namespace
}  // namespace faultmux
