// results.json and junit.xml: the JSON carries every documented field and
// parses; junit.xml is read by a real XML parser (Python's ElementTree) with
// the right counts and a failure element for a failing scenario; text that
// XML cannot hold is escaped or replaced; `faultmux run --report` writes both.
#include "reports/results.hpp"

#include <sys/wait.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "roles/process.hpp"
#include "tests/support/run_dir.hpp"
#include "tests/support/sample_scenarios.hpp"
#include "tests/support/sanitizers.hpp"

namespace faultmux {
namespace {

using json = nlohmann::json;
using ms = std::chrono::milliseconds;
using test::run_dir;

reports::results sample() {
  constexpr auto pass = reports::verdict::pass, fail = reports::verdict::fail;
  reports::results r;
  r.run.seed = 9;
  r.run.command_line = "faultmux run scenarios --seed 9";
  r.run.started = reports::utc_now();
  r.run.duration_s = 3.5;
  r.run.host = reports::collect_host_info();
  reports::scenario_entry ok;
  ok.file = "scenarios/a.toml";
  ok.name = "a";
  ok.origin = "Mitogen 870bbe0e";
  ok.verdict = reports::verdict::pass;
  ok.seed = 9;
  ok.duration_s = 1.25;
  ok.oracles = {{"finished", pass, {}}, {"listener alive", pass, {"probe: ok"}}};
  ok.faults = {{0.5, "faults", 42, "syscall", "recv on accepted fd 7 -> EAGAIN"}};
  ok.rerun = "faultmux run scenarios/a.toml --seed 9";
  reports::scenario_entry bad = ok;
  bad.name = "b";
  bad.verdict = reports::verdict::fail;
  // Markup, quotes, a control byte and a byte that is not UTF-8 in the evidence.
  bad.oracles = {{"finished", pass, {}},
                 {"nothing lost", fail, {"worker <3> & \"x\" said 'no'\x01\xff", "second"}},
                 {"resources", fail, {"left over"}}};
  bad.rerun = "faultmux run scenarios/a.toml --seed 9";
  reports::scenario_entry err = ok;
  err.file = "scenarios/c.toml";
  err.name = "c";
  err.verdict = reports::verdict::error;
  err.oracles = {{"setup", fail, {"cannot start the mux"}}};
  r.scenarios = {ok, bad, err};
  return r;
}

TEST(Results, JsonHasEveryFieldAndParses) {
  run_dir dir;
  ASSERT_EQ(reports::write_reports(sample(), dir.path()), "");
  json j = json::parse(test::slurp(dir.file("results.json")));  // throws if not JSON
  EXPECT_EQ(j["schema"], "faultmux-results/3");
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
  EXPECT_EQ(j["summary"], json({{"total", 3},
                                {"passed", 1},
                                {"failed", 1},
                                {"error", 1},
                                {"errors", 1},
                                {"not_applicable", 0},
                                {"duration_s", 3.5}}));
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

// Python's ElementTree checks the structure CI reporters (GitLab, Jenkins,
// GitHub actions) read: <testsuites> of <testsuite name tests failures errors
// skipped time> of <testcase classname name time>, each with at most one
// <failure message>/<error message>/<skipped>, then <system-out> holding the
// seed and the rerun command; counts and times add up. Prints "ok" or the
// problems, then "FAIL name: message" per failure.
std::string check_junit_structure(const std::string& path) {
  const char* script = R"PY(
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
problems, fails = [], []
def number(el, attr, kind):
    v = el.get(attr)
    if v is None:
        problems.append('%s %r has no %s' % (el.tag, el.get('name'), attr)); return 0
    try:
        x = kind(v)
    except ValueError:
        problems.append('%s %r: %s=%r is not a number' % (el.tag, el.get('name'), attr, v)); return 0
    if x < 0: problems.append('%s %r: %s is negative' % (el.tag, el.get('name'), attr))
    return x
if root.tag != 'testsuites': problems.append('root element is ' + root.tag)
totals = {'tests': 0, 'failures': 0, 'errors': 0, 'skipped': 0}
for s in root:
    if s.tag != 'testsuite':
        problems.append('unexpected %s under testsuites' % s.tag); continue
    if not s.get('name'): problems.append('a testsuite without a name')
    cases = s.findall('testcase')
    if len(cases) != len(list(s)): problems.append('suite %s holds more than testcases' % s.get('name'))
    counts = {'tests': len(cases),
              'failures': sum(c.find('failure') is not None for c in cases),
              'errors': sum(c.find('error') is not None for c in cases),
              'skipped': sum(c.find('skipped') is not None for c in cases)}
    for k, n in counts.items():
        if number(s, k, int) != n: problems.append('suite %s: %s=%s but %d found' % (s.get('name'), k, s.get(k), n))
        totals[k] += n
    case_time = 0.0
    for c in cases:
        for a in ('classname', 'name'):
            if not c.get(a): problems.append('testcase %r without %s' % (c.get('name'), a))
        case_time += number(c, 'time', float)
        kids = [k.tag for k in c]
        verdicts = [k for k in kids if k in ('failure', 'error', 'skipped')]
        if len(verdicts) > 1: problems.append('testcase %s has %s' % (c.get('name'), verdicts))
        if kids[-1:] != ['system-out'] or kids.count('system-out') != 1:
            problems.append('testcase %s: children %s (one system-out, last)' % (c.get('name'), kids))
        for tag in ('failure', 'error'):
            f = c.find(tag)
            if f is None: continue
            if not f.get('message'): problems.append('%s of %s has no message' % (tag, c.get('name')))
            fails.append('%s %s: %s' % (tag.upper(), c.get('name'), f.get('message')))
        out = c.findtext('system-out') or ''
        if 'seed: ' not in out or 'rerun: faultmux ' not in out:
            problems.append('system-out of %s lacks the seed or the rerun command' % c.get('name'))
    if abs(case_time - number(s, 'time', float)) > 0.002 * (len(cases) + 1):
        problems.append('suite %s: time %s is not the sum of its cases' % (s.get('name'), s.get('time')))
for k, n in totals.items():
    if number(root, k, int) != n: problems.append('testsuites: %s=%s but %d found' % (k, root.get(k), n))
number(root, 'time', float)
print('; '.join(problems) if problems else 'ok')
for f in fails: print(f)
)PY";
  run_dir out;
  auto p = child_process::spawn({"/usr/bin/python3", "-c", script, path}, true, out.file("stderr"));
  std::string text;
  while (auto line = p.read_line(ms(10000))) text += *line + "\n";
  auto st = p.wait(ms(10000));
  EXPECT_TRUE(st && WIFEXITED(*st) && WEXITSTATUS(*st) == 0)
      << "python3 could not parse " << path << ": " << test::slurp(out.file("stderr"));
  return text;
}

TEST(Results, JunitHasTheStructureCiReportersRead) {
  run_dir dir;
  reports::results r = sample();
  reports::scenario_entry na = r.scenarios[0];
  na.name = "d";
  na.verdict = reports::verdict::not_applicable;
  r.scenarios.push_back(na);
  ASSERT_EQ(reports::write_reports(r, dir.path()), "");
  EXPECT_EQ(
      check_junit_structure(dir.file("junit.xml")),
      "ok\n"
      "FAILURE b [builtin]: nothing lost: worker <3> & \"x\" said 'no'\xef\xbf\xbd\xef\xbf\xbd\n"
      "ERROR c [builtin]: setup: cannot start the mux\n");
  // The not-applicable case is a skipped one.
  std::string xml = test::slurp(dir.file("junit.xml"));
  EXPECT_NE(xml.find("<testcase classname=\"d\" name=\"d [builtin]\""), std::string::npos);
  EXPECT_NE(xml.find("<skipped message=\"not applicable\"/>"), std::string::npos);
  EXPECT_NE(xml.find("skipped=\"1\""), std::string::npos);
}

// The checker is not a rubber stamp: a testcase without classname, a wrong
// count and a missing system-out are each reported.
TEST(Results, JunitCheckerRejectsBrokenStructure) {
  run_dir dir;
  std::ofstream(dir.file("bad.xml"))
      << "<?xml version=\"1.0\"?>\n<testsuites tests=\"2\" failures=\"0\" errors=\"0\" "
         "skipped=\"0\" time=\"1\">\n"
         "<testsuite name=\"s\" tests=\"2\" failures=\"0\" errors=\"0\" skipped=\"0\" "
         "time=\"1.000\">\n"
         "<testcase name=\"x\" time=\"1.000\"><failure message=\"m\"/></testcase>\n"
         "</testsuite></testsuites>\n";
  std::string got = check_junit_structure(dir.file("bad.xml"));
  EXPECT_NE(got.find("suite s: tests=2 but 1 found"), std::string::npos) << got;
  EXPECT_NE(got.find("suite s: failures=0 but 1 found"), std::string::npos) << got;
  EXPECT_NE(got.find("testcase 'x' without classname"), std::string::npos) << got;
  EXPECT_NE(got.find("testcase x: children ['failure'] (one system-out, last)"), std::string::npos)
      << got;
  EXPECT_EQ(got.find("ok\n"), std::string::npos) << got;
}

// Tens of thousands of syscall faults: results.json lists the first 500 in
// the order they fired and counts every one; junit.xml lists the first
// hundred and says how many more there are.
TEST(Results, JunitAndJsonListTheFirstFaultsAndCountThemAll) {
  run_dir dir;
  reports::results r = sample();
  r.scenarios.resize(1);
  // One shim rule, each firing a `what` of its own.
  r.scenarios[0].faults.clear();
  for (int i = 0; i < 999; ++i)
    r.scenarios[0].faults.push_back({0.5 + i / 1000.0, "faults", 42, "syscall",
                                     "send on fd 10 (call " + std::to_string(i) + ") -> EAGAIN",
                                     "rule 1 'send -> EAGAIN'"});
  // The earliest comes last: the list is by time, not by file.
  r.scenarios[0].faults.push_back({0.25, "driver", 7, "signal", "SIGSTOP -> mux"});
  ASSERT_EQ(reports::write_reports(r, dir.path()), "");
  std::string xml = test::slurp(dir.file("junit.xml"));
  std::size_t n = 0;
  for (auto at = xml.find(") -&gt; EAGAIN"); at != std::string::npos;
       at = xml.find(") -&gt; EAGAIN", at + 1))
    ++n;
  EXPECT_EQ(n, 99u);
  EXPECT_NE(xml.find("... and 900 more faults"), std::string::npos);
  json j = json::parse(test::slurp(dir.file("results.json")));
  const json& e = j["scenarios"][0];
  ASSERT_EQ(e["faults"].size(), reports::fault_list_cap);
  EXPECT_EQ(e["faults"][0]["what"], "SIGSTOP -> mux");
  EXPECT_EQ(e["faults_omitted"], 1000 - reports::fault_list_cap);
  ASSERT_EQ(e["fault_counts"].size(), 2u);
  for (const auto& c : e["fault_counts"]) {
    if (c["kind"] == "syscall") {
      EXPECT_EQ(c["what"], "rule 1 'send -> EAGAIN'");
      EXPECT_EQ(c["count"], 999);
      EXPECT_EQ(c["first_s"], 0.5);
      EXPECT_NEAR(c["last_s"].get<double>(), 1.498, 1e-9);
    } else {
      EXPECT_EQ(c["count"], 1);
      EXPECT_EQ(c["last_s"], 0.25);
    }
  }
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

TEST(Results, RunWritesBothReports) {
  run_dir tmp, files, out;
  std::ofstream(files.file("quick.toml")) << test::passing_scenario;
  std::ofstream(files.file("hung.toml")) << test::failing_scenario;
  auto p = child_process::spawn(
      {"/usr/bin/env", "TMPDIR=" + tmp.path(), test::binary(), "run", files.file("quick.toml"),
       files.file("hung.toml"), "--report", out.path() + "/r"},
      true);
  std::string text;
  while (auto line = p.read_line(ms(30000))) text += *line + "\n";
  auto st = p.wait(ms(30000));
  ASSERT_TRUE(st && WIFEXITED(*st)) << text;
  EXPECT_EQ(WEXITSTATUS(*st), 1) << text;
  EXPECT_NE(text.find("report: " + out.path() + "/r/index.html, " + out.path() +
                      "/r/results.json, " + out.path() + "/r/junit.xml"),
            std::string::npos)
      << text;
  // The page too, from the same results.
  EXPECT_NE(test::slurp(out.path() + "/r/index.html").find("data-scenario=\"hung\""),
            std::string::npos);
  json j = json::parse(test::slurp(out.path() + "/r/results.json"));
  EXPECT_EQ(j["run"]["command_line"].get<std::string>().find("faultmux run "), 0u);
  EXPECT_TRUE(j["run"]["seed"].is_null());
  ASSERT_EQ(j["scenarios"].size(), 2u);
  EXPECT_EQ(j["scenarios"][0]["verdict"], "pass");
  EXPECT_EQ(j["scenarios"][0]["origin"], "test support");
  EXPECT_EQ(j["scenarios"][1]["verdict"], "fail");
  EXPECT_EQ(j["scenarios"][1]["rerun"], "faultmux run " + files.file("hung.toml") + " --seed 1");
  // The phase fault, and when it fired.
  ASSERT_EQ(j["scenarios"][1]["faults"].size(), 1u) << j["scenarios"][1].dump(2);
  EXPECT_EQ(j["scenarios"][1]["faults"][0]["kind"], "phase");
  EXPECT_GE(j["scenarios"][1]["faults"][0]["at_s"].get<double>(), 0.0);
  // Its timeline: the worker stopped itself, was never resumed and was
  // killed at the timeout; the window lasts to the end.
  const json& tl = j["scenarios"][1]["timeline"];
  const json* stuck = nullptr;
  for (const auto& r : tl["processes"])
    if (r["name"] == "worker-stuck-0") stuck = &r;
  ASSERT_TRUE(stuck) << tl.dump(2);
  EXPECT_EQ((*stuck)["outcome"], "killed") << stuck->dump(2);
  std::vector<std::string> kinds;
  for (const auto& m : (*stuck)["marks"]) kinds.push_back(m["kind"]);
  // Spawned, stopped itself once connected, killed at the timeout (the mux
  // sees the connection go at about the same moment).
  ASSERT_GE(kinds.size(), 3u) << stuck->dump(2);
  EXPECT_EQ(kinds[0], "spawn");
  EXPECT_EQ(kinds[1], "fault");
  EXPECT_NE(std::find(kinds.begin(), kinds.end(), "killed"), kinds.end()) << stuck->dump(2);
  EXPECT_EQ((*stuck)["marks"][1]["text"], "SIGSTOP at connected");
  EXPECT_EQ(tl["groups"][0]["outcomes"], json({{"killed", 1}}));
  ASSERT_EQ(j["scenarios"][1]["windows"].size(), 1u);
  const json& w = j["scenarios"][1]["windows"][0];
  EXPECT_EQ(w["what"], "group stuck stopped itself at connected (SIGSTOP), never undone");
  EXPECT_DOUBLE_EQ(w["from_s"].get<double>(), j["scenarios"][1]["faults"][0]["at_s"].get<double>());
  EXPECT_DOUBLE_EQ(w["to_s"].get<double>(), tl["duration_s"].get<double>());
  // The passing one's connect workers ended ok, each on its row.
  EXPECT_EQ(j["scenarios"][0]["timeline"]["groups"][0]["outcomes"], json({{"ok", 2}}));
  std::string got = parse_junit(out.path() + "/r/junit.xml");
  EXPECT_NE(got.find("testsuites | 2 | 1 | 0"), std::string::npos) << got;
  // What happened leads the failure message, then the first failed oracle.
  const json& hung = j["scenarios"][1];
  const std::string headline = hung["headline"];
  EXPECT_EQ(headline,
            "0 of 1 workers could not connect; 0 lost after connecting; the listener "
            "survived; failed: finished, disconnected groups");
  EXPECT_NE(
      got.find("case hung [builtin] fail=" + headline + " (finished: still running after the " +
               std::to_string(1000 * test::scenario_time_factor) + " ms"),
      std::string::npos)
      << got;
  std::string first;
  for (const auto& o : hung["oracles"])
    if (o["verdict"] == "fail") {
      first = o["name"].get<std::string>() + ": " + o["evidence"][0].get<std::string>();
      break;
    }
  EXPECT_EQ(check_junit_structure(out.path() + "/r/junit.xml"),
            "ok\nFAILURE hung [builtin]: " + headline + " (" + first + ")\n");
}

}  // namespace
}  // namespace faultmux
