#include "reports/results.hpp"

#include <sys/resource.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include <fmt/format.h>

#include "reports/utf8.hpp"

namespace faultmux::reports {
namespace {

std::string first_line_of(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

// The checkout's HEAD, read from .git without running git (no process, no
// dependency on git being installed): a detached HEAD or a ref, loose or packed.
// In a linked worktree .git is a file naming its git dir, whose "commondir"
// holds the refs.
std::string git_revision(const std::string& root) {
  std::string git = root + "/.git";
  if (std::string link = first_line_of(git); link.rfind("gitdir: ", 0) == 0) {
    git = link.substr(8);
    if (!git.empty() && git.front() != '/') git = root + "/" + git;
  }
  std::string common = git;
  if (std::string c = first_line_of(git + "/commondir"); !c.empty())
    common = c.front() == '/' ? c : git + "/" + c;
  std::string head = first_line_of(git + "/HEAD");
  if (head.rfind("ref: ", 0) != 0) return head;
  const std::string ref = head.substr(5);
  if (std::string rev = first_line_of(git + "/" + ref); !rev.empty()) return rev;
  if (std::string rev = first_line_of(common + "/" + ref); !rev.empty()) return rev;
  std::ifstream packed(common + "/packed-refs");
  for (std::string line; std::getline(packed, line);) {
    auto sp = line.find(' ');
    if (sp != std::string::npos && line.substr(sp + 1) == ref) return line.substr(0, sp);
  }
  return "";
}

nlohmann::json oracle_json(const oracle_entry& o) {
  return {{"name", o.name}, {"verdict", verdict_name(o.verdict)}, {"evidence", o.evidence}};
}

nlohmann::json fault_json(const fault_entry& f) {
  return {
      {"at_s", f.at_s}, {"source", f.source}, {"pid", f.pid}, {"kind", f.kind}, {"what", f.what}};
}

// The faults in the order they fired (the timeline lists them by source).
std::vector<const fault_entry*> by_time(const std::vector<fault_entry>& faults) {
  std::vector<const fault_entry*> sorted;
  sorted.reserve(faults.size());
  for (const auto& f : faults) sorted.push_back(&f);
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const fault_entry* a, const fault_entry* b) { return a->at_s < b->at_s; });
  return sorted;
}

// The first fault_list_cap faults in the order they fired, and how many more.
std::pair<nlohmann::json, std::size_t> fault_list(const std::vector<fault_entry>& faults) {
  const auto sorted = by_time(faults);
  nlohmann::json out = nlohmann::json::array();
  for (std::size_t i = 0; i < sorted.size() && i < fault_list_cap; ++i)
    out.push_back(fault_json(*sorted[i]));
  return {out, sorted.size() - out.size()};
}

// Every declared fault (kind and rule) with how often and when it fired.
nlohmann::json fault_counts(const std::vector<fault_entry>& faults) {
  struct count {
    std::size_t n = 0;
    double first = 0, last = 0;
  };
  std::map<std::pair<std::string, std::string>, count> by;
  for (const auto& f : faults) {
    count& c = by[{f.kind, f.rule.empty() ? f.what : f.rule}];
    c.first = c.n == 0 ? f.at_s : std::min(c.first, f.at_s);
    c.last = c.n == 0 ? f.at_s : std::max(c.last, f.at_s);
    ++c.n;
  }
  nlohmann::json out = nlohmann::json::array();
  for (const auto& [key, c] : by)
    out.push_back({{"kind", key.first},
                   {"what", key.second},
                   {"count", c.n},
                   {"first_s", c.first},
                   {"last_s", c.last}});
  return out;
}

// null for a missing value.
template <typename T>
nlohmann::json or_null(const std::optional<T>& v) {
  return v ? nlohmann::json(*v) : nlohmann::json();
}

nlohmann::json timeline_json(const timeline_info& tl) {
  nlohmann::json rows = nlohmann::json::array(), groups = nlohmann::json::array();
  for (const auto& p : tl.processes) {
    nlohmann::json marks = nlohmann::json::array();
    for (const auto& m : p.marks) marks.push_back({{"t", m.t}, {"kind", m.kind}, {"text", m.text}});
    rows.push_back({{"name", p.name},
                    {"role", p.role},
                    {"group", p.group},
                    {"index", p.index},
                    {"pid", p.pid},
                    {"start_s", p.start_s},
                    {"end_s", or_null(p.end_s)},
                    {"outcome", p.outcome},
                    {"marks", marks}});
  }
  for (const auto& g : tl.groups) {
    nlohmann::json outcomes = nlohmann::json::object();
    for (const auto& [k, n] : g.outcomes) outcomes[k] = n;
    groups.push_back(
        {{"name", g.name}, {"role", g.role}, {"count", g.count}, {"outcomes", outcomes}});
  }
  return {{"duration_s", tl.duration_s},
          {"processes", rows},
          {"processes_omitted", tl.processes_omitted},
          {"groups", groups}};
}

nlohmann::json latency_json(const latency_summary& l) {
  nlohmann::json buckets = nlohmann::json::array();
  for (const auto& b : l.buckets) buckets.push_back({{"le_ms", b.le_ms}, {"count", b.count}});
  return {{"count", l.count},   {"mean_ms", l.mean_ms}, {"p50_ms", l.p50_ms}, {"p90_ms", l.p90_ms},
          {"p99_ms", l.p99_ms}, {"max_ms", l.max_ms},   {"buckets", buckets}};
}

nlohmann::json soak_json(const soak_info& s) {
  nlohmann::json metrics = nlohmann::json::array();
  for (const auto& m : s.metrics)
    metrics.push_back(
        {{"name", m.name},
         {"slope_per_min", m.slope_per_min ? nlohmann::json(*m.slope_per_min) : nlohmann::json()},
         {"bound_per_min", m.bound_per_min}});
  return {{"seconds", s.seconds},
          {"cycles", s.cycles},
          {"messages", s.messages},
          {"lost", s.lost},
          {"metrics", metrics}};
}

nlohmann::json resources_json(const resource_info& r) {
  nlohmann::json samples = nlohmann::json::array();
  for (const auto& s : r.samples) {
    samples.push_back({{"t", s.t}, {"fds", s.fds}, {"rss_kib", s.rss_kib}});
    if (s.accept_queue) samples.back()["accept_queue"] = *s.accept_queue;
  }
  nlohmann::json out = {{"pid", r.pid},
                        {"interval_ms", r.interval_ms},
                        {"baseline_fds", or_null(r.baseline_fds)},
                        {"samples", samples}};
  if (r.listen_backlog) out["listen_backlog"] = *r.listen_backlog;
  return out;
}

nlohmann::json settings_json(const target_settings& t) {
  return {{"backlog", t.backlog},
          {"max_message_size", t.max_message_size},
          {"output_cap", t.output_cap},
          {"handshake_timeout_ms", t.handshake_timeout_ms},
          {"shutdown_grace_ms", t.shutdown_grace_ms},
          {"unidirectional", t.unidirectional}};
}

}  // namespace

host_info collect_host_info() {
  host_info h;
  utsname u{};
  if (::uname(&u) == 0)
    h.kernel = fmt::format("{} {} {} {}", u.sysname, u.release, u.version, u.machine);
  h.cores = static_cast<int>(::sysconf(_SC_NPROCESSORS_ONLN));
  std::string s = first_line_of("/proc/sys/net/core/somaxconn");
  if (!s.empty()) h.somaxconn = std::atol(s.c_str());
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) == 0) {
    h.nofile_soft = rl.rlim_cur == RLIM_INFINITY ? -1 : static_cast<long long>(rl.rlim_cur);
    h.nofile_hard = rl.rlim_max == RLIM_INFINITY ? -1 : static_cast<long long>(rl.rlim_max);
  }
#if defined(__clang__)
  h.compiler = "clang " __clang_version__;
#elif defined(__GNUC__)
  h.compiler = "g++ " __VERSION__;
#else
  h.compiler = "unknown";
#endif
  h.git_revision = git_revision(FAULTMUX_SOURCE_DIR);
  h.libraries = collect_library_versions();
  return h;
}

std::string utc_now() {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  ::gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

nlohmann::json to_json(const results& r) {
  const host_info& h = r.run.host;
  nlohmann::json host = {{"kernel", h.kernel},
                         {"cores", h.cores},
                         {"somaxconn", h.somaxconn},
                         {"rlimit_nofile", {{"soft", h.nofile_soft}, {"hard", h.nofile_hard}}},
                         {"compiler", h.compiler},
                         {"git_revision", h.git_revision},
                         {"libraries",
                          {{"boost", h.libraries.boost},
                           {"fmt", h.libraries.fmt},
                           {"spdlog", h.libraries.spdlog},
                           {"nlohmann_json", h.libraries.nlohmann_json},
                           {"tomlplusplus", h.libraries.tomlplusplus},
                           {"cli11", h.libraries.cli11},
                           {"python3_mitogen", h.libraries.python3_mitogen}}}};
  nlohmann::json run = {{"seed", r.run.seed ? nlohmann::json(*r.run.seed) : nlohmann::json()},
                        {"faultmux_version", r.run.faultmux_version},
                        {"command_line", r.run.command_line},
                        {"started", r.run.started},
                        {"duration_s", r.run.duration_s},
                        {"host", host}};
  nlohmann::json scenarios = nlohmann::json::array();
  int passed = 0, failed = 0, errors = 0, not_applicable = 0;
  for (const auto& s : r.scenarios) {
    (s.verdict == verdict::pass             ? passed
     : s.verdict == verdict::fail           ? failed
     : s.verdict == verdict::not_applicable ? not_applicable
                                            : errors)++;
    nlohmann::json oracles = nlohmann::json::array(), windows = nlohmann::json::array();
    for (const auto& o : s.oracles) oracles.push_back(oracle_json(o));
    auto [faults, faults_omitted] = fault_list(s.faults);
    for (const auto& w : s.windows)
      windows.push_back({{"from_s", w.from_s}, {"to_s", w.to_s}, {"what", w.what}});
    nlohmann::json phases = nlohmann::json::array();
    for (const auto& p : s.phases) phases.push_back({{"name", p.name}, {"seconds", p.seconds}});
    scenarios.push_back(
        {{"file", s.file},
         {"name", s.name},
         {"origin", s.origin},
         {"target", s.target},
         {"verdict", verdict_name(s.verdict)},
         {"seed", s.seed},
         {"duration_s", s.duration_s},
         {"oracles", oracles},
         {"faults", faults},
         {"faults_omitted", faults_omitted},
         {"fault_counts", fault_counts(s.faults)},
         {"rerun", s.rerun},
         {"repeat", s.repeat},
         {"legacy_bugs", s.legacy_bugs},
         {"description", s.description},
         {"workers", {{"total", s.workers_total}, {"spawn_ms", s.spawn_ms}}},
         {"timeline", s.timeline ? timeline_json(*s.timeline) : nlohmann::json()},
         {"latency", s.latency ? latency_json(*s.latency) : nlohmann::json()},
         {"resources", s.resources ? resources_json(*s.resources) : nlohmann::json()},
         {"windows", windows},
         {"phases", phases}});
    if (!s.target_version.empty()) scenarios.back()["target_version"] = s.target_version;
    if (s.soak) scenarios.back()["soak"] = soak_json(*s.soak);
    if (!s.headline.empty()) scenarios.back()["headline"] = s.headline;
    if (!s.notices.empty()) scenarios.back()["notices"] = s.notices;
    if (s.settings) scenarios.back()["target_settings"] = settings_json(*s.settings);
  }
  // "errors" is schema 1's name for "error", kept: a field's meaning never changes.
  nlohmann::json summary = {{"total", r.scenarios.size()},
                            {"passed", passed},
                            {"failed", failed},
                            {"error", errors},
                            {"errors", errors},
                            {"not_applicable", not_applicable},
                            {"duration_s", r.run.duration_s}};
  return {{"schema", schema_version},
          {"run", run},
          {"summary", summary},
          {"scenarios", scenarios},
          {"explore", r.explore}};
}

run_info run_info_from_json(const nlohmann::json& run) {
  run_info r;
  if (!run.is_object()) return r;
  if (run.contains("seed") && run["seed"].is_number_unsigned())
    r.seed = run["seed"].get<std::uint64_t>();
  r.command_line = run.value("command_line", "");
  r.started = run.value("started", "");
  r.duration_s = run.value("duration_s", 0.0);
  const nlohmann::json host = run.value("host", nlohmann::json::object());
  host_info& h = r.host;
  h.kernel = host.value("kernel", "");
  h.cores = host.value("cores", 0);
  h.somaxconn = host.value("somaxconn", -1L);
  const nlohmann::json nofile = host.value("rlimit_nofile", nlohmann::json::object());
  h.nofile_soft = nofile.value("soft", -1LL);
  h.nofile_hard = nofile.value("hard", -1LL);
  h.compiler = host.value("compiler", "");
  h.git_revision = host.value("git_revision", "");
  const nlohmann::json libs = host.value("libraries", nlohmann::json::object());
  library_versions& l = h.libraries;
  for (auto [key, field] : {std::pair<const char*, std::string*>{"boost", &l.boost},
                            {"fmt", &l.fmt},
                            {"spdlog", &l.spdlog},
                            {"nlohmann_json", &l.nlohmann_json},
                            {"tomlplusplus", &l.tomlplusplus},
                            {"cli11", &l.cli11},
                            {"python3_mitogen", &l.python3_mitogen}})
    *field = libs.value(key, "");
  return r;
}

std::string xml_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    char32_t c = next_code_point(text, i);
    switch (c) {
      case '&':
        out += "&amp;";
        continue;
      case '<':
        out += "&lt;";
        continue;
      case '>':
        out += "&gt;";
        continue;
      case '"':
        out += "&quot;";
        continue;
      case '\'':
        out += "&apos;";
        continue;
      default:
        break;
    }
    // XML 1.0 has no way to write other control characters, escaped or not.
    const bool allowed =
        c == '\t' || c == '\n' || c == '\r' || (c >= 0x20 && c < 0xFFFE && c != 0x7F);
    put_utf8(out, allowed || c >= 0x10000 ? c : 0xFFFD);
  }
  return out;
}

namespace {

// A testcase's system-out: how to rerun it, every oracle with its evidence
// and the first faults.
std::string junit_system_out(const scenario_entry& s) {
  std::string out = fmt::format("seed: {}\nrerun: {}\norigin: {}\n", s.seed, s.rerun, s.origin);
  for (const auto& o : s.oracles) {
    out += fmt::format("{}: {}\n", o.name, verdict_name(o.verdict));
    for (const auto& l : o.evidence) out += "  " + l + "\n";
  }
  // A syscall fault rule can fire tens of thousands of times: the first
  // ones show what happened, results.json counts them all.
  constexpr std::size_t max_faults = 100;
  const auto faults = by_time(s.faults);
  for (std::size_t i = 0; i < faults.size() && i < max_faults; ++i) {
    const auto& fl = *faults[i];
    out += fmt::format("fault +{:.3f}s {} (pid {}): {} {}\n", fl.at_s, fl.source, fl.pid, fl.kind,
                       fl.what);
  }
  if (faults.size() > max_faults)
    out += fmt::format("... and {} more faults (counted in results.json)\n",
                       faults.size() - max_faults);
  return "      <system-out>" + xml_escape(out) + "</system-out>\n";
}

}  // namespace

std::string to_junit(const results& r) {
  // One testsuite per scenario file, one testcase per scenario and target.
  std::vector<std::string> files;
  for (const auto& s : r.scenarios)
    if (std::find(files.begin(), files.end(), s.file) == files.end()) files.push_back(s.file);
  int tests = 0, failures = 0, errors = 0, skipped = 0;
  double total = 0;
  std::ostringstream body;
  for (const auto& file : files) {
    int t = 0, f = 0, e = 0, k = 0;
    double secs = 0;
    std::ostringstream cases;
    for (const auto& s : r.scenarios) {
      if (s.file != file) continue;
      ++t;
      secs += s.duration_s;
      cases << fmt::format("    <testcase classname=\"{}\" name=\"{}\" time=\"{:.3f}\">\n",
                           xml_escape(s.name), xml_escape(s.name + " [" + s.target + "]"),
                           s.duration_s);
      const oracle_entry* first = nullptr;
      for (const auto& o : s.oracles)
        if (is_failure(o.verdict)) {
          first = &o;
          break;
        }
      if (s.verdict == verdict::not_applicable) {
        ++k;
        cases << "      <skipped message=\"not applicable\"/>\n";
      } else if (is_failure(s.verdict)) {
        const bool error = s.verdict == verdict::error;
        (error ? e : f)++;
        std::string message =
            first ? first->name + (first->evidence.empty() ? "" : ": " + first->evidence.front())
                  : verdict_name(s.verdict);
        // What happened comes first; the expectation that failed follows.
        if (!s.headline.empty()) message = s.headline + " (" + message + ")";
        std::string detail;
        for (const auto& n : s.notices) detail += n + "\n";
        if (first)
          for (const auto& l : first->evidence) detail += l + "\n";
        cases << fmt::format("      <{} message=\"{}\" type=\"{}\">{}</{}>\n",
                             error ? "error" : "failure", xml_escape(message),
                             xml_escape(first ? first->name : verdict_name(s.verdict)),
                             xml_escape(detail), error ? "error" : "failure");
      }
      cases << junit_system_out(s);
      cases << "    </testcase>\n";
    }
    tests += t;
    failures += f;
    errors += e;
    skipped += k;
    total += secs;
    body << fmt::format(
        "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" "
        "time=\"{:.3f}\">\n",
        xml_escape(file), t, f, e, k, secs);
    body << cases.str() << "  </testsuite>\n";
  }
  return fmt::format(
             "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
             "<testsuites name=\"faultmux\" tests=\"{}\" failures=\"{}\" errors=\"{}\" "
             "skipped=\"{}\" time=\"{:.3f}\">\n",
             tests, failures, errors, skipped, total) +
         body.str() + "</testsuites>\n";
}

namespace {

// Writes dir/NAME for each (NAME, text), each beside and renamed, so a reader
// never sees half a report; "" or what failed.
std::string write_files(const std::string& dir,
                        const std::vector<std::pair<std::string, std::string>>& files) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return fmt::format("cannot make {}: {}", dir, ec.message());
  for (const auto& [name, text] : files) {
    const std::string path = fmt::format("{}/{}", dir, name), tmp = path + ".tmp";
    {
      std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
      out << text;
      if (!out.flush()) return fmt::format("cannot write {}", tmp);
    }
    std::filesystem::rename(tmp, path, ec);
    if (ec) return fmt::format("cannot rename {} to {}: {}", tmp, path, ec.message());
  }
  return "";
}

// Evidence holds log lines from any process: bytes that are not UTF-8
// become U+FFFD rather than a failed report.
std::string results_text(const results& r) {
  return to_json(r).dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

}  // namespace

std::string write_reports(const results& r, const std::string& dir) {
  return write_files(dir, {{"results.json", results_text(r)}, {"junit.xml", to_junit(r)}});
}

std::string write_results_json(const results& r, const std::string& dir) {
  return write_files(dir, {{"results.json", results_text(r)}});
}

}  // namespace faultmux::reports
