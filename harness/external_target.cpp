#include "harness/external_target.hpp"

#include <time.h>

#include <fstream>
#include <regex>

#include <nlohmann/json.hpp>

#include "faults/event_log.hpp"
#include "harness/install_paths.hpp"

namespace faultmux {
namespace {

void replace_all(std::string& s, const std::string& from, const std::string& to) {
  for (auto at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size()))
    s.replace(at, from.size(), to);
}

int level_rank(const std::string& level) {
  if (level == "critical") return 4;
  if (level == "error") return 3;
  if (level == "warning") return 2;
  if (level == "info") return 1;
  return 0;
}

// Seconds to add to a wall-clock time to get CLOCK_MONOTONIC's.
double wall_to_monotonic() {
  timespec rt{};
  ::clock_gettime(CLOCK_REALTIME, &rt);
  return faults::monotonic_seconds() - (static_cast<double>(rt.tv_sec) + rt.tv_nsec / 1e9);
}

struct parsed_line {
  double wall = -1;  // -1: the line has no time of its own
  std::string level;
  std::string msg;
};

// "2024-05-01 12:00:00,123 mitogen_mux[42] ERROR mitogen: text": Python
// logging's asctime (local time, milliseconds) as mitogen_mux.py formats it.
parsed_line parse(const std::string& line) {
  static const std::regex re(
      R"(^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d),(\d{3}) \S+ (DEBUG|INFO|WARNING|ERROR|CRITICAL) (.*)$)");
  std::smatch m;
  parsed_line p;
  if (!std::regex_match(line, m, re)) {
    p.msg = line;
    return p;
  }
  std::tm tm{};
  if (::strptime(m[1].str().c_str(), "%Y-%m-%d %H:%M:%S", &tm)) {
    tm.tm_isdst = -1;
    p.wall = static_cast<double>(::mktime(&tm)) + std::stoi(m[2].str()) / 1000.0;
  }
  p.level = m[3].str();
  for (auto& c : p.level) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  p.msg = m[4].str();
  return p;
}

}  // namespace

std::vector<log_pattern> mitogen_log_patterns() {
  return {{"failed to read remote identity", "identity_failed", "error"},
          {"failed to assign identity to PID", "identity_failed", "error"},
          {"Corruption detected", "corrupt_frame", "error"},
          {"Maximum message size exceeded", "oversize_message", "error"},
          {"bad auth_id", "bad_auth_id", "error"},
          {"bad src_id", "bad_src_id", "error"},
          // mitogen_mux.py's own word that Mitogen's event loop is gone.
          {"the Mitogen broker thread died", "broker_died", "critical"}};
}

std::string source_dir() {
  return own_install_paths().data_dir;
}

target_spec mitogen_target(const target_spec& base, const std::string& mitogen_src) {
  target_spec t = base;
  t.kind = target_spec::kind_t::external;
  t.command = {"/usr/bin/python3",   "{source}/scenarios/mitogen_mux.py",
               "--listen",           "{socket}",
               "--backlog",          "{backlog}",
               "--max-message-size", "{max_message_size}"};
  if (base.unidirectional) t.command.push_back("--unidirectional");
  if (!mitogen_src.empty()) t.command.insert(t.command.end(), {"--mitogen-src", mitogen_src});
  t.log = mitogen_log_patterns();
  // A scenario written for an external target keeps its own patterns too.
  if (base.kind == target_spec::kind_t::external)
    t.log.insert(t.log.end(), base.log.begin(), base.log.end());
  return t;
}

std::vector<std::string> external_argv(const target_spec& t, const std::string& socket,
                                       int backlog) {
  std::vector<std::string> argv = t.command;
  for (auto& a : argv) {
    replace_all(a, "{socket}", socket);
    replace_all(a, "{backlog}", std::to_string(backlog));
    replace_all(a, "{max_message_size}", std::to_string(t.max_message_size));
    replace_all(a, "{source}", source_dir());
  }
  return argv;
}

int log_to_events(const std::string& stderr_path, const std::string& events_path, pid_t pid,
                  const std::vector<log_pattern>& patterns, double fallback_t) {
  std::vector<std::pair<std::regex, const log_pattern*>> res;
  for (const auto& p : patterns) res.emplace_back(std::regex(p.pattern), &p);
  std::ifstream in(stderr_path, std::ios::binary);
  std::ofstream out(events_path, std::ios::app | std::ios::binary);
  if (!out) return -1;
  const double offset = wall_to_monotonic();
  double last_t = fallback_t;
  std::vector<nlohmann::json> events;
  std::size_t last_log = std::string::npos;  // the previous line's "log" event
  bool in_traceback = false;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    parsed_line p = parse(line);
    if (p.wall >= 0) last_t = p.wall + offset;
    // A traceback belongs to the line that logged it; its last line (the
    // exception) is the part a person needs.
    if (p.level.empty()) {
      if (line.rfind("Traceback ", 0) == 0) {
        in_traceback = true;
        continue;
      }
      if (in_traceback && (line.empty() || line[0] == ' ')) continue;
      if (in_traceback) {
        in_traceback = false;
        if (last_log != std::string::npos) {
          events[last_log]["msg"] = events[last_log]["msg"].get<std::string>() + ": " + line;
          continue;
        }
      }
    } else {
      in_traceback = false;
    }
    std::string level = level_rank(p.level) >= 2 ? p.level : "";
    std::vector<const log_pattern*> hits;
    for (const auto& [re, pat] : res) {
      if (!std::regex_search(p.msg, re)) continue;
      hits.push_back(pat);
      if (level_rank(pat->level) > level_rank(level)) level = pat->level;
    }
    auto base = [&](const std::string& event) {
      return nlohmann::json{{"t", last_t}, {"pid", pid}, {"role", "mux"}, {"event", event}};
    };
    last_log = std::string::npos;
    if (!level.empty()) {
      nlohmann::json e = base("log");
      e["level"] = level;
      e["msg"] = p.msg;
      last_log = events.size();
      events.push_back(std::move(e));
    }
    for (const log_pattern* pat : hits) {
      if (pat->event == "log") continue;
      nlohmann::json e = base(pat->event);
      e["level"] = pat->level;
      e["msg"] = p.msg;
      events.push_back(std::move(e));
    }
  }
  for (const auto& e : events)
    out << e.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
  out.flush();
  return out ? static_cast<int>(events.size()) : -1;
}

}  // namespace faultmux
