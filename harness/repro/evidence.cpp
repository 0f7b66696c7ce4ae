#include "harness/repro/evidence.hpp"

#include <fstream>
#include <regex>
#include <sstream>

#include <nlohmann/json.hpp>

#include "harness/repro/strace.hpp"

namespace faultmux::repro {
namespace {

using json = nlohmann::json;

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) {
    if (!l.empty() && l.back() == '\r') l.pop_back();
    out.push_back(l);
  }
  return out;
}

bool blank(const std::string& l) {
  return l.find_first_not_of(" \t") == std::string::npos;
}

// "06:06:01.796 mux[6151] error: listener: ..." (the time is optional).
const std::regex& faultmux_line() {
  static const std::regex re(
      R"(^(?:\d\d:\d\d:\d\d\.\d+ )?(mux|worker|context|fake-listener|driver)\[\d+\] )"
      R"((debug|info|warning|error|critical): (.*)$)");
  return re;
}

// Python logging as Mitogen and its launchers write it: "2026-12-07
// 06:06:09,732 mitogen_mux[6673] ERROR mitogen.unix: ...", "[mux 1234]
// 12:00:01 E mitogen: ...", "ERROR:mitogen:...", "mitogen: ...".
const std::regex& mitogen_line() {
  static const std::regex re(
      R"(^(?:\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d[,.]\d+ )?(?:\S+\[\d+\] )?(?:\[mux \d+\] )?)"
      R"((?:[\d:.]+ )?(DEBUG|INFO|WARNING|ERROR|CRITICAL|[DIWEC])?[ :]?\s*(mitogen[\w.]*)[: ] ?(.*)$)");
  return re;
}

bool is_json_object_line(const std::string& l, json* out) {
  if (l.empty() || l.front() != '{') return false;
  try {
    *out = json::parse(l);
    return out->is_object();
  } catch (const json::exception&) {
    return false;
  }
}

}  // namespace

const char* kind_name(evidence_kind k) {
  switch (k) {
    case evidence_kind::strace:
      return "strace -f of the mux";
    case evidence_kind::faultmux_log:
      return "faultmux's log";
    case evidence_kind::mitogen_log:
      return "Mitogen's log";
    case evidence_kind::events:
      return "faultmux events";
    case evidence_kind::results:
      return "results.json";
    case evidence_kind::client_errors:
      return "client errors";
  }
  return "?";
}

const char* side_name(side s) {
  return s == side::mux ? "mux" : "client";
}

bool looks_like_error(const std::string& line) {
  static const std::regex re(
      R"(\b(error|errors|failed|failure|fails|cannot|can't|refused|reset by peer|broken pipe|)"
      R"(timed out|timeout|traceback|exception|crash|crashed|disconnected|dead|killed|errno|)"
      R"(hung|hang|still running|unpack requires|E(AGAIN|WOULDBLOCK|CONNRESET|PIPE|CONNREFUSED|)"
      R"(MFILE|NFILE|IO|NOENT|CONNABORTED|INTR|NOBUFS|BADF|TIMEDOUT))\b)",
      std::regex::icase);
  return std::regex_search(line, re);
}

std::string normalised(const std::string& line) {
  static const std::regex stamp(R"(^(\d{4}-\d\d-\d\d[ T])?\d\d:\d\d:\d\d([.,]\d+)?\s*)");
  static const std::regex path(R"(/[^\s:,)'"]+)");
  static const std::regex hex(R"(0x[0-9a-fA-F]+)");
  // Mitogen's object ids, the low 16 bits of id() in hex: "Broker(ac90)",
  // "<Stream unix_client.14701 #5090>"; they differ in every run.
  static const std::regex object_id(R"(([(#])[0-9a-f]{4}\b)");
  static const std::regex num(R"(\d+)");
  std::string s = std::regex_replace(line, stamp, "");
  s = std::regex_replace(s, path, "PATH");
  s = std::regex_replace(s, hex, "X");
  s = std::regex_replace(s, object_id, "$1X");
  s = std::regex_replace(s, num, "N");
  return s;
}

std::optional<evidence_kind> recognise(const std::string& text) {
  if (blank(text)) return std::nullopt;
  if (text.front() == '{' || text.front() == '[') {
    try {
      json doc = json::parse(text);
      if (doc.is_object() && (doc.contains("scenarios") ||
                              doc.value("schema", std::string()).rfind("faultmux-results", 0) == 0))
        return evidence_kind::results;
    } catch (const json::exception&) {
    }
  }
  std::size_t n = 0, events = 0, traced = 0, fm = 0, fm_mux = 0, mit = 0, errs = 0;
  for (const auto& l : lines_of(text)) {
    if (blank(l)) continue;
    ++n;
    json j;
    std::smatch m;
    if (is_json_object_line(l, &j) && j.contains("event")) ++events;
    if (is_strace_line(l)) ++traced;
    if (std::regex_match(l, m, faultmux_line())) {
      ++fm;
      if (m[1] == "mux" || m[1] == "context") ++fm_mux;
    } else if (l.find("mitogen") != std::string::npos && std::regex_match(l, mitogen_line())) {
      ++mit;
    }
    if (looks_like_error(l)) ++errs;
  }
  if (events == n) return evidence_kind::events;
  if (traced >= 3 && traced * 10 >= n * 3) return evidence_kind::strace;
  if (fm > 0 && fm * 10 >= n * 3)
    return fm_mux ? evidence_kind::faultmux_log : evidence_kind::client_errors;
  if (mit > 0) return evidence_kind::mitogen_log;
  if (errs > 0) return evidence_kind::client_errors;
  return std::nullopt;
}

std::optional<evidence_file> read_evidence(const std::string& path, std::string* why) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    *why = "cannot be read";
    return std::nullopt;
  }
  std::ostringstream buf;
  buf << in.rdbuf();
  evidence_file f;
  f.path = path;
  f.text = buf.str();
  if (blank(f.text)) {
    *why = "empty";
    return std::nullopt;
  }
  if (f.text.find('\0') != std::string::npos) {
    *why = "not text";
    return std::nullopt;
  }
  auto k = recognise(f.text);
  if (!k) {
    *why =
        "not recognised: neither an strace -f log, a mux log (faultmux's or Mitogen's), "
        "events, a results.json, nor text with an error line in it";
    return std::nullopt;
  }
  f.kind = *k;
  return f;
}

std::vector<evidence_line> error_lines(const evidence_file& f) {
  std::vector<evidence_line> out;
  const auto lines = lines_of(f.text);
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const std::string& l = lines[i];
    std::smatch m;
    if (std::regex_match(l, m, faultmux_line())) {
      if (m[2] == "error" || m[2] == "critical")
        out.push_back({m[1] == "mux" || m[1] == "context" ? side::mux : side::client, m[3]});
      continue;
    }
    // A traceback: its last line says what was raised.
    if (l.rfind("Traceback (most recent call last)", 0) == 0 ||
        l.find("Traceback (most recent call last)") != std::string::npos) {
      std::size_t j = i + 1;
      while (j < lines.size() && (lines[j].empty() || lines[j][0] == ' ')) ++j;
      if (j < lines.size())
        out.push_back({f.kind == evidence_kind::client_errors ? side::client : side::mux,
                       "Traceback: " + lines[j]});
      i = j;
      continue;
    }
    if (f.kind == evidence_kind::mitogen_log && std::regex_match(l, m, mitogen_line())) {
      const std::string level = m[1];
      if (level == "ERROR" || level == "CRITICAL" || level == "E" || level == "C" ||
          (level.empty() && looks_like_error(l)))
        out.push_back({side::mux, std::string(m[2]) + ": " + std::string(m[3])});
      continue;
    }
    if (f.kind == evidence_kind::client_errors || f.kind == evidence_kind::mitogen_log)
      if (!blank(l) && looks_like_error(l))
        out.push_back({f.kind == evidence_kind::client_errors ? side::client : side::mux, l});
  }
  return out;
}

}  // namespace faultmux::repro
