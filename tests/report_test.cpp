// results.json and junit.xml: the JSON carries every documented field and
// parses; junit.xml is read by a real XML parser (Python's ElementTree) with
// the right counts and a failure element for a failing scenario; text that
// XML cannot hold is escaped or replaced; `faultmux run --report` writes both.
#include "reports/results.hpp"

#include <sys/wait.h>

#include <chrono>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "harness/process.hpp"
#include "tests/support/run_dir.hpp"

namespace faultmux {
namespace {

using json = nlohmann::json;
using ms = std::chrono::milliseconds;
using test::run_dir;

reports::results sample() {
  reports::results r;
  r.run.seed = 9;
  r.run.command_line = "faultmux run scenarios --seed 9";
  r.run.started = reports::utc_now();
  r.run.duration_s = 3.5;
  r.run.host = reports::collect_host_info();
  reports::scenario_entry ok;
  ok.file = "scenarios/a.toml";
  ok.name = "a";
  ok.origin = "SCENARIOS.md #1";
  ok.verdict = "pass";
  ok.seed = 9;
  ok.duration_s = 1.25;
  ok.oracles = {{"finished", "pass", {}}, {"listener alive", "pass", {"probe: ok"}}};
  ok.faults = {{0.5, "faults", 42, "syscall", "recv on accepted fd 7 -> EAGAIN"}};
  ok.rerun = "faultmux run scenarios/a.toml --seed 9";
  reports::scenario_entry bad = ok;
  bad.name = "b";
  bad.verdict = "fail";
  // Markup, quotes, a control byte and a byte that is not UTF-8 in the evidence.
  bad.oracles = {{"finished", "pass", {}},
                 {"nothing lost", "fail", {"worker <3> & \"x\" said 'no'\x01\xff", "second"}},
                 {"resources", "fail", {"left over"}}};
  bad.rerun = "faultmux run scenarios/a.toml --seed 9";
  reports::scenario_entry err = ok;
  err.file = "scenarios/c.toml";
  err.name = "c";
  err.verdict = "error";
  err.oracles = {{"setup", "fail", {"cannot start the mux"}}};
  r.scenarios = {ok, bad, err};
  return r;
}

TEST(Results, JsonHasEveryFieldAndParses) {
  run_dir dir;
  ASSERT_EQ(reports::write_reports(sample(), dir.path()), "");
  json j = json::parse(test::slurp(dir.file("results.json")));  // throws if not JSON
  EXPECT_EQ(j["schema"], "faultmux-results/1");
  const json& run = j["run"];
  EXPECT_EQ(run["seed"], 9);
  EXPECT_EQ(run["command_line"], "faultmux run scenarios --seed 9");
  EXPECT_TRUE(run["started"].is_string());
  EXPECT_TRUE(run["duration_s"].is_number());
  const json& host = run["host"];
  EXPECT_NE(host["kernel"].get<std::string>().find("Linux"), std::string::npos);
  EXPECT_GE(host["cores"].get<int>(), 1);
  EXPECT_GT(host["somaxconn"].get<long>(), 0);
  EXPECT_TRUE(host["rlimit_nofile"]["soft"].is_number());
  EXPECT_TRUE(host["rlimit_nofile"]["hard"].is_number());
  EXPECT_NE(host["compiler"].get<std::string>(), "");
  EXPECT_EQ(host["git_revision"].get<std::string>().size(), 40u) << host["git_revision"];
  EXPECT_EQ(j["summary"], json({{"passed", 1}, {"failed", 1}, {"errors", 1}}));
  ASSERT_EQ(j["scenarios"].size(), 3u);
  const json& a = j["scenarios"][0];
  for (const char* key : {"file", "name", "origin", "target", "verdict", "seed", "duration_s",
                          "oracles", "faults", "rerun"})
    EXPECT_TRUE(a.contains(key)) << key;
  EXPECT_EQ(a["target"], "builtin");
  EXPECT_EQ(a["oracles"][1],
            json({{"name", "listener alive"}, {"verdict", "pass"}, {"evidence", {"probe: ok"}}}));
  EXPECT_EQ(a["faults"][0]["at_s"], 0.5);
  EXPECT_EQ(a["faults"][0]["kind"], "syscall");
  EXPECT_EQ(a["faults"][0]["pid"], 42);
  EXPECT_EQ(j["scenarios"][1]["verdict"], "fail");
  // The byte that is not UTF-8 became U+FFFD instead of failing the report.
  EXPECT_NE(j["scenarios"][1]["oracles"][1]["evidence"][0].get<std::string>().find("\xef\xbf\xbd"),
            std::string::npos);
  EXPECT_EQ(j["scenarios"][2]["verdict"], "error");
}

// Python's ElementTree reads junit.xml and prints what it found, one line.
std::string parse_junit(const std::string& path) {
  const char* script =
      "import sys, xml.etree.ElementTree as ET\n"
      "root = ET.parse(sys.argv[1]).getroot()\n"
      "out = [root.tag, root.get('tests'), root.get('failures'), root.get('errors')]\n"
      "for s in root.findall('testsuite'):\n"
      "  out.append('suite %s %s/%s/%s' % (s.get('name'), s.get('tests'), s.get('failures'),"
      " s.get('errors')))\n"
      "  for c in s.findall('testcase'):\n"
      "    f = c.find('failure'); e = c.find('error'); so = c.find('system-out').text\n"
      "    out.append('case %s fail=%s error=%s seed=%s rerun=%s' % (c.get('name'),"
      " f.get('message') if f is not None else '-', e.get('message') if e is not None else '-',"
      " 'seed: 9' in so, 'rerun: faultmux run' in so))\n"
      "print(' | '.join(out))\n";
  run_dir out;
  auto p = child_process::spawn({"/usr/bin/python3", "-c", script, path}, true, out.file("stderr"));
  std::string text;
  while (auto line = p.read_line(ms(10000))) text += *line;
  auto st = p.wait(ms(10000));
  EXPECT_TRUE(st && WIFEXITED(*st) && WEXITSTATUS(*st) == 0)
      << "python3 could not parse " << path << ": " << test::slurp(out.file("stderr"));
  return text;
}

TEST(Results, JunitParsesWithCountsAndTheFirstFailure) {
  run_dir dir;
  ASSERT_EQ(reports::write_reports(sample(), dir.path()), "");
  std::string got = parse_junit(dir.file("junit.xml"));
  EXPECT_EQ(got,
            "testsuites | 3 | 1 | 1"
            " | suite scenarios/a.toml 2/1/0"
            " | case a [builtin] fail=- error=- seed=True rerun=True"
            " | case b [builtin] fail=nothing lost: worker <3> & \"x\" said 'no'\xef\xbf\xbd"
            "\xef\xbf\xbd error=- seed=True rerun=True"
            " | suite scenarios/c.toml 1/0/1"
            " | case c [builtin] fail=- error=setup: cannot start the mux seed=True rerun=True");
}

TEST(Results, XmlEscape) {
  EXPECT_EQ(reports::xml_escape("a<b>&\"'"), "a&lt;b&gt;&amp;&quot;&apos;");
  EXPECT_EQ(reports::xml_escape("tab\tnl\n"), "tab\tnl\n");
  EXPECT_EQ(reports::xml_escape(std::string("\x00\x1b", 2)), "\xef\xbf\xbd\xef\xbf\xbd");
  EXPECT_EQ(reports::xml_escape("caf\xc3\xa9 \xc0\xaf"), "caf\xc3\xa9 \xef\xbf\xbd\xef\xbf\xbd");
  EXPECT_EQ(reports::xml_escape("\xf0\x9f\x98\x80"), "\xf0\x9f\x98\x80");
}

const char* passing = R"(name = "quick"
description = "two workers connect"
origin = "report_test"
timeout_ms = 5000

[[workers]]
name = "forks"
count = 2
workload = "connect"
)";

const char* failing = R"(name = "hung"
description = "a worker stops itself once connected and nobody resumes it"
origin = "report_test"
timeout_ms = 1000

[[workers]]
name = "stuck"
workload = "connect"
fault_at = "connected:SIGSTOP"
)";

TEST(Results, RunWritesBothReports) {
  run_dir tmp, files, out;
  std::ofstream(files.file("quick.toml")) << passing;
  std::ofstream(files.file("hung.toml")) << failing;
  auto p = child_process::spawn(
      {"/usr/bin/env", "TMPDIR=" + tmp.path(), test::binary(), "run", files.file("quick.toml"),
       files.file("hung.toml"), "--report", out.path() + "/r"},
      true);
  std::string text;
  while (auto line = p.read_line(ms(30000))) text += *line + "\n";
  auto st = p.wait(ms(30000));
  ASSERT_TRUE(st && WIFEXITED(*st)) << text;
  EXPECT_EQ(WEXITSTATUS(*st), 1) << text;
  EXPECT_NE(text.find("report: " + out.path() + "/r/results.json"), std::string::npos) << text;
  json j = json::parse(test::slurp(out.path() + "/r/results.json"));
  EXPECT_EQ(j["run"]["command_line"].get<std::string>().find("faultmux run "), 0u);
  EXPECT_TRUE(j["run"]["seed"].is_null());
  ASSERT_EQ(j["scenarios"].size(), 2u);
  EXPECT_EQ(j["scenarios"][0]["verdict"], "pass");
  EXPECT_EQ(j["scenarios"][0]["origin"], "report_test");
  EXPECT_EQ(j["scenarios"][1]["verdict"], "fail");
  EXPECT_EQ(j["scenarios"][1]["rerun"], "faultmux run " + files.file("hung.toml") + " --seed 1");
  // The phase fault, and when it fired.
  ASSERT_EQ(j["scenarios"][1]["faults"].size(), 1u) << j["scenarios"][1].dump(2);
  EXPECT_EQ(j["scenarios"][1]["faults"][0]["kind"], "phase");
  EXPECT_GE(j["scenarios"][1]["faults"][0]["at_s"].get<double>(), 0.0);
  std::string got = parse_junit(out.path() + "/r/junit.xml");
  EXPECT_NE(got.find("testsuites | 2 | 1 | 0"), std::string::npos) << got;
  EXPECT_NE(got.find("case hung [builtin] fail=finished: still running after the 1000 ms"),
            std::string::npos)
      << got;
}

}  // namespace
}  // namespace faultmux
