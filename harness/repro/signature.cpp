#include "harness/repro/signature.hpp"

#include <string.h>

#include <algorithm>
#include <cerrno>
#include <map>
#include <regex>
#include <sstream>

#include <fmt/format.h>

namespace faultmux::repro {
namespace {

using json = nlohmann::json;

struct rule {
  const char* cls;
  std::regex re;
};

const std::vector<rule>& rules() {
  auto r = [](const char* cls, const char* re) {
    return rule{cls, std::regex(re, std::regex::icase)};
  };
  static const std::vector<rule> all{
      r("identity read failed",
        R"(failed to read remote identity|remote identity failed|identity.*(got \d+ bytes|unpack))"),
      r("identity send failed",
        R"(failed to assign identity|(sending|send(\(\))? of) (the |its )?identity|identity send)"),
      r("accept failed", R"(accept(\(\))? failed|accept\(\).*(EMFILE|ENFILE|too many open files))"),
      r("listener closed",
        R"(listener is closed|listener (was )?closed|closing (the )?listener|listener crashed)"),
      r("dead reply",
        R"(\bdead (reply|message)|message too large|respondent .*disconnected|no route)"),
      r("connect failed", R"(cannot connect|connect(\(\))? failed|connection refused)"),
      r("connection lost",
        R"(connection (to the mux )?(lost|closed under)|lost (its|the) connection)"),
      r("stream disconnected", R"(disconnect(ed|ing)?\b.*(E[A-Z]{3,}|errno))"),
      r("crash",
        R"(traceback|(^|[^-\w])crash(ed)?(?![-\w])|segmentation fault|core dumped|killed by sig|exit(ed)? (code|with) [1-9])"),
      r("hang", R"(timed out|timeout|still running|no reply for|\bhung\b|\bhangs?\b)"),
  };
  return all;
}

std::string reason_in(const std::string& line) {
  static const std::regex re(R"((message too large|respondent .*disconnected|no route[^:;,]*))",
                             std::regex::icase);
  std::smatch m;
  return std::regex_search(line, m, re) ? normalised(m[1]) : "";
}

std::string errno_name(int n) {
  const char* s = ::strerrorname_np(n);
  return s ? s : "";
}

const std::map<std::string, std::string>& by_text() {
  static const std::map<std::string, std::string> m = [] {
    std::map<std::string, std::string> out;
    for (int e = 1; e < 134; ++e)
      if (!errno_name(e).empty()) out.emplace(::strerror(e), errno_name(e));
    return out;
  }();
  return m;
}

void add_hits(signature& sig, side from, const std::string& line) {
  for (auto& h : classify(from, line)) sig.hits.push_back(std::move(h));
  static const std::regex max(R"(max (\d+) bytes)");
  std::smatch m;
  if (std::regex_search(line, m, max)) sig.max_message_size = std::stoull(m[1]);
  if (line.find("context") != std::string::npos && line.find("call") != std::string::npos)
    sig.contexts = true;
  // Mitogen's "pending work still existed 5 seconds after shutdown began",
  // faultmux's "after the 1500 ms shutdown grace period: force-closing".
  static const std::regex shutdown(R"(after shutdown began|shutdown grace period)");
  if (from == side::mux && std::regex_search(line, m, shutdown)) sig.shutdown = true;
  static const std::regex full(R"(backlog stayed full for (\d+) ms)");
  static const std::regex within(R"(no identity from the listener within (\d+) ms)");
  if (std::regex_search(line, m, full)) sig.backlog_wait_ms = std::stoi(m[1]);
  if (std::regex_search(line, m, within)) sig.connect_timeout_ms = std::stoi(m[1]);
}

// The pids a log names ("PID 6154", "worker[6154]"): how many clients it saw.
int pids_named(const std::string& text) {
  static const std::regex re(R"((?:PID |pid |worker\[)(\d+))");
  std::set<std::string> pids;
  for (std::sregex_iterator it(text.begin(), text.end(), re), end; it != end; ++it)
    pids.insert((*it)[1]);
  return static_cast<int>(pids.size());
}

// What a fatal call on a connection makes the mux log, when only a trace
// shows it: the classes a rerun must show.
void infer_from_calls(signature& sig, const strace_summary& s) {
  for (const auto& c : s.failures) {
    if (!c.fatal) continue;
    const std::string e = c.err == "EOF" || c.err == "short" ? "" : c.err;
    if (c.phase == "pid read")
      sig.hits.push_back({side::mux, "identity read failed", e, "(trace)"});
    if (c.phase == "identity send")
      sig.hits.push_back({side::mux, "identity send failed", e, "(trace)"});
    if (c.phase == "accept") sig.hits.push_back({side::mux, "accept failed", e, "(trace)"});
  }
  if (s.listener_closed) sig.hits.push_back({side::mux, "listener closed", "", "(trace)"});
  if (!s.killed_by.empty())
    sig.hits.push_back({side::mux, "crash", "", "killed by " + s.killed_by + " (trace)"});
}

void add_strace(signature& sig, const evidence_file& f) {
  strace_summary s = read_strace(f.text);
  sig.calls.insert(sig.calls.end(), s.failures.begin(), s.failures.end());
  sig.clients = std::max(sig.clients, s.accepted);
  // Its stderr, as a log: the lines the trace shows it writing.
  std::string text;
  for (const auto& l : s.stderr_lines) text += l + "\n";
  const std::size_t before = sig.hits.size();
  if (auto k = recognise(text); k && *k != evidence_kind::strace) {
    evidence_file log{f.path, *k, text};
    for (auto& l : error_lines(log)) add_hits(sig, side::mux, l.text);
  }
  // Written lines (a truncated one may miss its class) or not, the calls say
  // what the mux met.
  if (sig.hits.size() == before) infer_from_calls(sig, s);
}

void add_results(signature& sig, const json& doc) {
  for (const auto& s : doc.value("scenarios", json::array())) {
    sig.clients = std::max(sig.clients, s.value("workers_total", 0));
    for (const auto& o : s.value("oracles", json::array())) {
      if (o.value("verdict", "") != "fail") continue;
      sig.oracle_failures.insert(o.value("name", ""));
      for (const auto& ev : o.value("evidence", json::array())) {
        if (!ev.is_string()) continue;
        const std::string line = ev.get<std::string>();
        // "+0.278s mux (pid 6673): msg" / "+0.279s worker-servers-1 (pid 6684): msg"
        static const std::regex re(R"(^\+?[\d.]+s (\S+) \(pid \d+\): (.*)$)");
        std::smatch m;
        if (std::regex_match(line, m, re))
          add_hits(sig, m[1].str().rfind("worker", 0) == 0 ? side::client : side::mux, m[2]);
      }
    }
  }
}

}  // namespace

std::string error_hit::key() const {
  return fmt::format("{}: {}{}", side_name(from), cls, err.empty() ? "" : " " + err);
}

std::string errno_in(const std::string& line) {
  static const std::regex name(R"(\b(E[A-Z0-9]{2,})\b)");
  static const std::regex num(R"(\[Errno (\d+)\])");
  std::smatch m;
  if (std::regex_search(line, m, num)) return errno_name(std::stoi(m[1]));
  for (std::sregex_iterator it(line.begin(), line.end(), name), end; it != end; ++it) {
    std::string n = (*it)[1];
    for (const auto& [text, known] : by_text())
      if (known == n) return n;
  }
  for (const auto& [text, known] : by_text())
    if (line.find(text) != std::string::npos) return known;
  return "";
}

std::vector<error_hit> classify(side from, const std::string& line) {
  std::vector<error_hit> out;
  for (const auto& r : rules()) {
    if (!std::regex_search(line, r.re)) continue;
    std::string cls = r.cls;
    std::string err = cls == "dead reply" ? reason_in(line) : errno_in(line);
    if (cls == "hang") err.clear();
    out.push_back({from, cls, err, line});
  }
  if (out.empty()) {
    std::string g = normalised(line);
    if (g.size() > 60) g.resize(60);
    out.push_back({from, "other: " + g, "", line});
  }
  return out;
}

std::set<std::string> signature::keys() const {
  std::set<std::string> out;
  for (const auto& h : hits) out.insert(h.key());
  return out;
}

void add_event(signature& sig, const json& e, const std::string& source) {
  const std::string role = e.value("role", "");
  const side from = role == "worker" || source.rfind("worker", 0) == 0 ? side::client : side::mux;
  const std::string ev = e.value("event", "");
  auto s = [&](const char* k) {
    return e.contains(k) && e[k].is_string() ? e[k].get<std::string>() : "";
  };
  if (ev == "log") {
    const std::string level = s("level");
    if (level == "error" || level == "critical") add_hits(sig, from, s("msg"));
  } else if (ev == "fault" && (role == "mux" || role == "worker") && s("effect") != "trace" &&
             !s("call").empty()) {
    // The shim's injected fault: the call it failed and where.
    std::string err = s("effect");
    if (err == "eof") err = "EOF";
    const std::string ph = s("phase");
    const std::string fd_class = s("fd_class");
    sig.calls.push_back({s("call"), err, fd_class,
                         fd_class == "listener" ? "accept"
                         : ph == "stream"       ? "routing"
                                                : ph,
                         true});
  } else if (ev == "connected" && from == side::client) {
    ++sig.clients;
  } else if (ev == "call" && s("outcome") != "ok") {
    sig.contexts = true;
  }
}

void add_evidence(signature& sig, const evidence_file& f) {
  sig.sources.push_back(fmt::format("{} ({})", f.path, kind_name(f.kind)));
  switch (f.kind) {
    case evidence_kind::strace:
      add_strace(sig, f);
      return;
    case evidence_kind::results:
      add_results(sig, json::parse(f.text));
      return;
    case evidence_kind::events: {
      std::istringstream in(f.text);
      for (std::string l; std::getline(in, l);)
        if (!l.empty()) add_event(sig, json::parse(l), "");
      return;
    }
    default: {
      for (const auto& l : error_lines(f)) add_hits(sig, l.from, l.text);
      sig.clients = std::max(sig.clients, pids_named(f.text));
      // A size limit a warning names ("over the limit of 65536") shapes the workload too.
      static const std::regex limit(R"((?:limit of|max) (\d+)(?: bytes)?)");
      std::smatch m;
      if (std::regex_search(f.text, m, limit)) sig.max_message_size = std::stoull(m[1]);
    }
  }
}

void remove_good(signature& sig, const signature& good) {
  std::set<std::string> lines;
  for (const auto& h : good.hits) lines.insert(normalised(h.line));
  std::erase_if(sig.hits, [&](const error_hit& h) { return lines.count(normalised(h.line)) > 0; });
  std::erase_if(sig.calls, [&](const failed_call& c) {
    return std::any_of(good.calls.begin(), good.calls.end(), [&](const failed_call& g) {
      return g.call == c.call && g.err == c.err && g.fd_class == c.fd_class && g.phase == c.phase;
    });
  });
  for (const auto& o : good.oracle_failures) sig.oracle_failures.erase(o);
}

std::string describe(const signature& sig) {
  std::string out = "signature:\n";
  for (const auto& k : sig.keys()) {
    const auto& h = *std::find_if(sig.hits.begin(), sig.hits.end(),
                                  [&](const error_hit& x) { return x.key() == k; });
    std::string line = h.line.size() > 100 ? h.line.substr(0, 100) + "..." : h.line;
    out += fmt::format("  error line  {}   ({})\n", k, line);
  }
  std::set<std::string> calls;
  for (const auto& c : sig.calls)
    calls.insert(fmt::format("  failed call {} -> {} on {} fd, phase {}{}\n", c.call, c.err,
                             c.fd_class, c.phase.empty() ? "-" : c.phase,
                             c.fatal ? " (then closed)" : ""));
  for (const auto& c : calls) out += c;
  for (const auto& o : sig.oracle_failures) out += fmt::format("  oracle      {}: fail\n", o);
  out += fmt::format("  clients     {}\n", sig.clients ? std::to_string(sig.clients) : "not known");
  if (sig.max_message_size) out += fmt::format("  size limit  {} bytes\n", sig.max_message_size);
  if (sig.contexts) out += "  contexts    calls to contexts\n";
  if (sig.shutdown) out += "  shutdown    the mux shut down with clients connected\n";
  if (sig.backlog_wait_ms >= 0)
    out += fmt::format("  clients     retry a full backlog for {} ms\n", sig.backlog_wait_ms);
  if (sig.connect_timeout_ms >= 0)
    out += fmt::format("  clients     give up a handshake after {} ms\n", sig.connect_timeout_ms);
  return out;
}

}  // namespace faultmux::repro
