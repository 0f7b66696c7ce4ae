// Strict loading of scenario files: an unknown key, a wrong type, a value
// out of range or an impossible combination stops the load with the file,
// line and column, and what was expected.
#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <regex>
#include <set>
#include <span>
#include <sstream>

#include <fmt/format.h>
#include <toml++/toml.h>

#include "faults/rules.hpp"
#include "harness/outcome_counts.hpp"
#include "harness/scenario.hpp"

namespace faultmux {
namespace {

// The keys each table of a scenario file may hold: the strict loader refuses
// any other, and scenario_keys() lists them, so the two cannot drift apart.
using key_list = std::span<const std::string_view>;
struct key_table {
  std::string_view name;  // "" for the top level, else a dotted path ("expect.errors")
  key_list keys;
};
constexpr std::string_view root_keys[] = {"name",       "description", "origin", "seed",
                                          "timeout_ms", "catches",     "target", "contexts",
                                          "workers",    "faults",      "expect"};
constexpr std::string_view target_keys[] = {"kind",
                                            "backlog",
                                            "max_message_size",
                                            "output_cap",
                                            "unidirectional",
                                            "handshake_timeout_ms",
                                            "shutdown_grace_ms",
                                            "command",
                                            "log",
                                            "stale_socket",
                                            "answer_bytes"};
constexpr std::string_view target_log_keys[] = {"pattern", "event", "level"};
constexpr std::string_view worker_keys[] = {"name",
                                            "count",
                                            "workload",
                                            "peer",
                                            "messages",
                                            "size",
                                            "in_flight",
                                            "context",
                                            "function",
                                            "behave",
                                            "fault_at",
                                            "fault_at_index",
                                            "fault_resume_after_ms",
                                            "start_after_ms",
                                            "connect_timeout_ms",
                                            "backlog_wait_ms",
                                            "client_retry",
                                            "relay_to",
                                            "path"};
constexpr std::string_view fault_keys[] = {
    "kind",     "process",         "rule",  "signal",           "before_workers",
    "at_ms",    "resume_after_ms", "limit", "restore_after_ms", "context",
    "fault_at", "victim",          "in"};
constexpr std::string_view expect_keys[] = {"errors",
                                            "allowed_errors",
                                            "no_unexpected_errors",
                                            "calls",
                                            "disconnected_groups",
                                            "disconnect_within_ms",
                                            "listener_alive",
                                            "nothing_lost",
                                            "resources",
                                            "max_rss_mib",
                                            "faults_fired",
                                            "clean_exit",
                                            "target_dies",
                                            "outcomes",
                                            "fault_class",
                                            "faulted_peer"};
constexpr std::string_view expect_error_keys[] = {"process", "pattern", "min", "max", "level"};
constexpr std::string_view expect_call_keys[] = {"group",     "outcome",   "reason",
                                                 "within_ms", "from_call", "to_call"};
constexpr std::string_view expect_outcome_keys[] = {"group", "outcome", "errno",   "detail",
                                                    "min",   "max",     "fraction"};

constexpr key_table key_tables[] = {
    {"", root_keys},
    {"target", target_keys},
    {"target.log", target_log_keys},
    {"workers", worker_keys},
    {"faults", fault_keys},
    {"expect", expect_keys},
    {"expect.errors", expect_error_keys},
    {"expect.calls", expect_call_keys},
    {"expect.outcomes", expect_outcome_keys},
};

class reader {
 public:
  explicit reader(std::string path) : path_(std::move(path)) {}

  [[noreturn]] void fail(const toml::source_region& at, const std::string& what) const {
    throw scenario_error(fmt::format("{}:{}:{}: {}", path_, at.begin.line, at.begin.column, what));
  }
  [[noreturn]] void fail(const toml::node& n, const std::string& what) const {
    fail(n.source(), what);
  }

  // Every key of t must be one of `allowed`.
  void only_keys(const toml::table& t, std::string_view where, key_list allowed) const {
    for (const auto& [key, node] : t) {
      if (std::find(allowed.begin(), allowed.end(), key.str()) != allowed.end()) continue;
      fail(key.source(), fmt::format("unknown key '{}' in {} (expected one of: {})", key.str(),
                                     where, fmt::join(allowed, ", ")));
    }
  }

  const toml::node* find(const toml::table& t, std::string_view key) const { return t.get(key); }

  std::string text(const toml::table& t, std::string_view key, std::string_view where,
                   bool required, std::string fallback = {}) const {
    const toml::node* n = find(t, key);
    if (!n) {
      if (required) fail(t, fmt::format("{} needs '{}' (a string)", where, key));
      return fallback;
    }
    if (!n->is_string())
      fail(*n, fmt::format("'{}' in {} must be a string, not {}", key, where, type_of(*n)));
    return std::string(*n->value<std::string_view>());
  }

  std::int64_t integer(const toml::table& t, std::string_view key, std::string_view where,
                       std::int64_t fallback, std::int64_t lo, std::int64_t hi) const {
    const toml::node* n = find(t, key);
    if (!n) return fallback;
    if (!n->is_integer())
      fail(*n, fmt::format("'{}' in {} must be an integer, not {}", key, where, type_of(*n)));
    std::int64_t v = *n->value<std::int64_t>();
    if (v < lo || v > hi)
      fail(*n, fmt::format("'{}' in {} must be {}..{}, got {}", key, where, lo, hi, v));
    return v;
  }

  bool boolean(const toml::table& t, std::string_view key, std::string_view where,
               bool fallback) const {
    const toml::node* n = find(t, key);
    if (!n) return fallback;
    if (!n->is_boolean())
      fail(*n, fmt::format("'{}' in {} must be true or false, not {}", key, where, type_of(*n)));
    return *n->value<bool>();
  }

  std::vector<std::string> strings(const toml::table& t, std::string_view key,
                                   std::string_view where) const {
    std::vector<std::string> out;
    const toml::node* n = find(t, key);
    if (!n) return out;
    const toml::array* a = n->as_array();
    if (!a)
      fail(*n,
           fmt::format("'{}' in {} must be an array of strings, not {}", key, where, type_of(*n)));
    for (const toml::node& e : *a) {
      if (!e.is_string())
        fail(e, fmt::format("'{}' in {} must hold strings only, not {}", key, where, type_of(e)));
      out.emplace_back(*e.value<std::string_view>());
    }
    return out;
  }

  // An array of tables ([[key]]), or an empty list.
  std::vector<const toml::table*> tables(const toml::table& t, std::string_view key) const {
    std::vector<const toml::table*> out;
    const toml::node* n = find(t, key);
    if (!n) return out;
    const toml::array* a = n->as_array();
    if (!a)
      fail(*n,
           fmt::format("'{}' must be an array of tables ([[{}]]), not {}", key, key, type_of(*n)));
    for (const toml::node& e : *a) {
      if (!e.is_table())
        fail(e, fmt::format("each entry of '{}' must be a table, not {}", key, type_of(e)));
      out.push_back(e.as_table());
    }
    return out;
  }

  const toml::table* table(const toml::table& t, std::string_view key) const {
    const toml::node* n = find(t, key);
    if (!n) return nullptr;
    if (!n->is_table())
      fail(*n, fmt::format("'{}' must be a table ([{}]), not {}", key, key, type_of(*n)));
    return n->as_table();
  }

  void check_regex(const toml::node& n, const std::string& re, std::string_view what) const {
    try {
      std::regex check(re);
    } catch (const std::regex_error& e) {
      fail(n, fmt::format("{} {:?} is not a valid regular expression: {}", what, re, e.what()));
    }
  }

  static const char* type_of(const toml::node& n) {
    switch (n.type()) {
      case toml::node_type::string:
        return "a string";
      case toml::node_type::integer:
        return "an integer";
      case toml::node_type::floating_point:
        return "a float";
      case toml::node_type::boolean:
        return "a boolean";
      case toml::node_type::array:
        return "an array";
      case toml::node_type::table:
        return "a table";
      default:
        return "a date or time";
    }
  }

 private:
  std::string path_;
};

constexpr std::int64_t max_ms = 3'600'000;

int signal_number(std::string_view name) {
  static const std::pair<std::string_view, int> known[] = {
      {"SIGKILL", 9}, {"SIGTERM", 15}, {"SIGSTOP", 19}, {"SIGCONT", 18}, {"SIGINT", 2}};
  for (auto [n, v] : known)
    if (n == name) return v;
  return 0;
}

target_spec read_target(const reader& r, const toml::table& t) {
  r.only_keys(t, "[target]", target_keys);
  target_spec s;
  std::string kind = r.text(t, "kind", "[target]", false, "builtin");
  if (kind == "external")
    s.kind = target_spec::kind_t::external;
  else if (kind == "fake-listener")
    s.kind = target_spec::kind_t::fake_listener;
  else if (kind != "builtin")
    r.fail(*t.get("kind"),
           fmt::format(
               "[target] kind must be \"builtin\", \"external\" or \"fake-listener\", got {:?}",
               kind));
  s.stale_socket = r.boolean(t, "stale_socket", "[target]", false);
  if (const toml::node* n = t.get("answer_bytes")) {
    const toml::array* a = n->as_array();
    if (!a || a->empty())
      r.fail(*n, "'answer_bytes' in [target] must be a non-empty array of integers -1..11");
    for (const toml::node& e : *a) {
      if (!e.is_integer() || *e.value<std::int64_t>() < -1 || *e.value<std::int64_t>() > 11)
        r.fail(e,
               "each 'answer_bytes' entry must be an integer -1..11 (identity bytes sent before "
               "closing; -1: close before reading the pid)");
      s.answer_bytes.push_back(static_cast<int>(*e.value<std::int64_t>()));
    }
    if (s.kind != target_spec::kind_t::fake_listener)
      r.fail(*n, "'answer_bytes' belongs to a fake-listener [target]");
  }
  if (s.kind == target_spec::kind_t::fake_listener && s.answer_bytes.empty())
    r.fail(t, "a fake-listener [target] needs 'answer_bytes', e.g. [0, 5, 11]");
  s.backlog = static_cast<int>(r.integer(t, "backlog", "[target]", 0, 0, 65535));
  s.max_message_size = static_cast<std::uint64_t>(
      r.integer(t, "max_message_size", "[target]", static_cast<std::int64_t>(s.max_message_size),
                64, 1ll << 32));
  s.output_cap = static_cast<std::uint64_t>(r.integer(
      t, "output_cap", "[target]", static_cast<std::int64_t>(s.output_cap), 4096, 1ll << 34));
  s.unidirectional = r.boolean(t, "unidirectional", "[target]", false);
  s.handshake_timeout_ms =
      static_cast<int>(r.integer(t, "handshake_timeout_ms", "[target]", 10000, 1, max_ms));
  s.shutdown_grace_ms =
      static_cast<int>(r.integer(t, "shutdown_grace_ms", "[target]", 5000, 0, max_ms));
  s.command = r.strings(t, "command", "[target]");
  for (const toml::table* l : r.tables(t, "log")) {
    r.only_keys(*l, "[[target.log]]", target_log_keys);
    log_pattern p{r.text(*l, "pattern", "[[target.log]]", true),
                  r.text(*l, "event", "[[target.log]]", true),
                  r.text(*l, "level", "[[target.log]]", false, "error")};
    r.check_regex(*l->get("pattern"), p.pattern, "pattern");
    if (p.level != "error" && p.level != "warning" && p.level != "info")
      r.fail(*l->get("level"),
             fmt::format("level must be error, warning or info, got {:?}", p.level));
    s.log.push_back(std::move(p));
  }
  if (s.kind == target_spec::kind_t::external && s.command.empty())
    r.fail(t,
           "an external [target] needs 'command', the argv that starts it (with {socket} for the "
           "path)");
  if (s.kind == target_spec::kind_t::builtin && (t.get("command") || t.get("log")))
    r.fail(t.get("command") ? *t.get("command") : *t.get("log"),
           "'command' and 'log' belong to an external [target]; set kind = \"external\" or remove "
           "them");
  return s;
}

worker_group read_group(const reader& r, const toml::table& t) {
  const char* where = "[[workers]]";
  r.only_keys(t, where, worker_keys);
  worker_group g;
  g.name = r.text(t, "name", where, true);
  g.count = static_cast<int>(r.integer(t, "count", where, 1, 1, 10000));
  std::string w = r.text(t, "workload", where, false, "connect");
  static const std::pair<std::string_view, worker_group::workload_t> workloads[] = {
      {"connect", worker_group::workload_t::connect},
      {"serve", worker_group::workload_t::serve},
      {"echo", worker_group::workload_t::echo},
      {"calls", worker_group::workload_t::calls},
      {"hostile", worker_group::workload_t::hostile},
      {"second-mux", worker_group::workload_t::second_mux}};
  auto it = std::find_if(std::begin(workloads), std::end(workloads),
                         [&](auto& p) { return p.first == w; });
  if (it == std::end(workloads))
    r.fail(*t.get("workload"),
           fmt::format(
               "workload must be connect, serve, echo, calls, hostile or second-mux, got {:?}", w));
  g.workload = it->second;
  g.peer = r.text(t, "peer", where, false);
  g.messages = static_cast<int>(r.integer(t, "messages", where, 0, 0, 10'000'000));
  g.size = static_cast<std::uint64_t>(r.integer(t, "size", where, 64, 0, 1ll << 30));
  g.in_flight = static_cast<int>(r.integer(t, "in_flight", where, 1, 1, 4096));
  g.context = r.text(t, "context", where, false);
  g.function = r.text(t, "function", where, false, "echo");
  g.relay_to = r.text(t, "relay_to", where, false);
  g.behave = r.text(t, "behave", where, false);
  g.fault_at = r.text(t, "fault_at", where, false);
  g.fault_at_index = static_cast<int>(r.integer(t, "fault_at_index", where, -1, 0, 1'000'000));
  g.fault_resume_after_ms =
      static_cast<int>(r.integer(t, "fault_resume_after_ms", where, -1, 0, max_ms));
  g.start_after_ms = static_cast<int>(r.integer(t, "start_after_ms", where, 0, 0, max_ms));
  g.connect_timeout_ms = static_cast<int>(r.integer(t, "connect_timeout_ms", where, -1, 1, max_ms));
  g.backlog_wait_ms = static_cast<int>(r.integer(t, "backlog_wait_ms", where, -1, 0, max_ms));
  g.client_retry = r.boolean(t, "client_retry", where, false);
  g.path = r.text(t, "path", where, false);
  if (!g.path.empty() && g.path != "missing" && g.path != "stale")
    r.fail(*t.get("path"),
           fmt::format("path must be \"missing\" (nothing bound there) or \"stale\" (a socket file "
                       "nobody listens on), got {:?}",
                       g.path));

  auto needs = [&](bool ok, const char* what) {
    if (!ok) r.fail(t, fmt::format("worker group '{}' with workload {} {}", g.name, w, what));
  };
  using wl = worker_group::workload_t;
  needs(g.workload != wl::echo || !g.peer.empty(), "needs 'peer', a group whose workload is serve");
  needs(g.workload != wl::echo || g.messages > 0, "needs 'messages' > 0");
  needs(g.workload != wl::calls || !g.context.empty(), "needs 'context', the context to call");
  needs(g.workload != wl::calls || g.messages > 0, "needs 'messages' > 0 (the number of calls)");
  needs(g.workload != wl::hostile || !g.behave.empty(), "needs 'behave', the misbehaviour");
  needs(g.workload == wl::hostile || g.behave.empty(),
        "cannot have 'behave' (set workload = \"hostile\")");
  needs(g.workload == wl::echo || g.peer.empty(),
        "cannot have 'peer' (only echo workloads send to a peer)");
  needs(g.workload == wl::calls || g.context.empty(),
        "cannot have 'context' (only calls workloads call one)");
  needs(g.workload == wl::calls || g.relay_to.empty(),
        "cannot have 'relay_to' (only calls workloads relay calls)");
  needs(g.fault_at_index < 0 || (!g.fault_at.empty() && g.fault_at_index < g.count),
        "has 'fault_at_index' without 'fault_at', or an index not below 'count'");
  needs(g.fault_resume_after_ms < 0 || g.fault_at.find("SIGSTOP") != std::string::npos,
        "has 'fault_resume_after_ms' but its fault_at is not a SIGSTOP");
  needs(g.workload != wl::second_mux || (g.path.empty() && g.fault_at.empty()),
        "cannot have 'path' or 'fault_at' (it starts the target again on its own path)");
  static const std::set<std::string> functions{"echo",   "checksum", "make_bytes",
                                               "getpid", "sleep",    "caller_ids"};
  if (!functions.count(g.function))
    r.fail(*t.get("function"),
           fmt::format("function must be echo, checksum, make_bytes, getpid, sleep or caller_ids, "
                       "got {:?}",
                       g.function));
  if (!g.relay_to.empty() && g.relay_to == g.context)
    r.fail(*t.get("relay_to"),
           fmt::format("relay_to {:?} is the called context itself; name another context",
                       g.relay_to));
  return g;
}

fault_spec read_fault(const reader& r, const toml::table& t) {
  const char* where = "[[faults]]";
  r.only_keys(t, where, fault_keys);
  fault_spec f;
  std::string kind = r.text(t, "kind", where, true);
  f.process = r.text(t, "process", where, false, "mux");
  if (kind == "syscall") {
    f.kind = fault_spec::kind_t::syscall;
    f.rule = r.text(t, "rule", where, true);
    faults::rule parsed;
    if (auto err = faults::parse_rule(f.rule, parsed))
      r.fail(*t.get("rule"),
             fmt::format("bad syscall rule: column {}: {}", err->column, err->message));
    const std::string in = r.text(t, "in", where, false, "mux");
    if (in != "mux" && in != "workers")
      r.fail(*t.get("in"),
             fmt::format("in must be \"mux\" (the target) or \"workers\" (every worker, each "
                         "addressed by self=GROUP:INDEX), got {:?}",
                         in));
    f.in_workers = in == "workers";
  } else if (kind == "signal") {
    f.kind = fault_spec::kind_t::signal;
    f.signal = r.text(t, "signal", where, true);
    if (!signal_number(f.signal))
      r.fail(*t.get("signal"),
             fmt::format("signal must be SIGKILL, SIGTERM, SIGSTOP, SIGCONT or SIGINT, got {:?}",
                         f.signal));
  } else if (kind == "nofile") {
    f.kind = fault_spec::kind_t::nofile;
    f.limit = static_cast<int>(r.integer(t, "limit", where, 0, 1, 1 << 20));
    if (!t.get("limit")) r.fail(t, "a nofile fault needs 'limit', the soft RLIMIT_NOFILE to set");
  } else if (kind == "context") {
    f.kind = fault_spec::kind_t::context;
    f.context = r.text(t, "context", where, true);
    if (f.context.front() == '/' || f.context.back() == '/' ||
        f.context.find("//") != std::string::npos || f.context.find('=') != std::string::npos)
      r.fail(*t.get("context"),
             fmt::format("context must be a ContextService name or path like \"a/b\", got {:?}",
                         f.context));
    f.fault_at = r.text(t, "fault_at", where, true);
    static const std::regex phase("mid-call:(SIG)?(KILL|TERM|STOP)", std::regex::icase);
    if (!std::regex_match(f.fault_at, phase))
      r.fail(*t.get("fault_at"),
             fmt::format("a context's fault_at must be mid-call:SIGKILL, mid-call:SIGTERM or "
                         "mid-call:SIGSTOP, got {:?}",
                         f.fault_at));
    std::string victim = r.text(t, "victim", where, false, "self");
    if (victim != "self" && victim != "parent")
      r.fail(*t.get("victim"),
             fmt::format("victim must be \"self\" or \"parent\" (the context that started it), "
                         "got {:?}",
                         victim));
    f.signal_parent = victim == "parent";
  } else {
    r.fail(*t.get("kind"),
           fmt::format("fault kind must be syscall, signal, nofile or context, got {:?}", kind));
  }
  f.before_workers = r.boolean(t, "before_workers", where, false);
  f.at_ms = static_cast<int>(r.integer(t, "at_ms", where, 0, 0, max_ms));
  f.resume_after_ms = static_cast<int>(r.integer(t, "resume_after_ms", where, -1, 0, max_ms));
  f.restore_after_ms = static_cast<int>(r.integer(t, "restore_after_ms", where, -1, 0, max_ms));
  auto only = [&](const char* key, bool allowed, const char* why) {
    if (t.get(key) && !allowed) r.fail(*t.get(key), fmt::format("'{}' {}", key, why));
  };
  bool sig = f.kind == fault_spec::kind_t::signal;
  only("rule", f.kind == fault_spec::kind_t::syscall, "belongs to a syscall fault");
  only("signal", sig, "belongs to a signal fault");
  only("limit", f.kind == fault_spec::kind_t::nofile, "belongs to a nofile fault");
  only("restore_after_ms", f.kind == fault_spec::kind_t::nofile, "belongs to a nofile fault");
  only("resume_after_ms", sig && f.signal == "SIGSTOP", "belongs to a SIGSTOP signal fault");
  only("before_workers", sig, "belongs to a signal fault");
  only("at_ms", sig || f.kind == fault_spec::kind_t::nofile,
       "belongs to signal and nofile faults (a syscall rule is addressed by its own selectors, a "
       "context fault by its phase)");
  only("context", f.kind == fault_spec::kind_t::context, "belongs to a context fault");
  only("fault_at", f.kind == fault_spec::kind_t::context, "belongs to a context fault");
  only("victim", f.kind == fault_spec::kind_t::context, "belongs to a context fault");
  only("in", f.kind == fault_spec::kind_t::syscall, "belongs to a syscall fault");
  if (f.kind != fault_spec::kind_t::signal && f.process != "mux")
    r.fail(t.get("process") ? *t.get("process") : static_cast<const toml::node&>(t),
           fmt::format("{} faults apply to the mux only, not {:?}", kind, f.process));
  return f;
}

std::vector<error_expectation> read_error_expectations(const reader& r, const toml::node& n) {
  const char* what = "an [expect] errors entry";
  const toml::array* a = n.as_array();
  if (!a)
    r.fail(n,
           "'errors' must be an array of tables like { process = \"mux\", pattern = \"...\", min "
           "= 1 }");
  std::vector<error_expectation> out;
  for (const toml::node& item : *a) {
    const toml::table* et = item.as_table();
    if (!et) r.fail(item, "each entry of 'errors' must be a table like { pattern = \"...\" }");
    r.only_keys(*et, what, expect_error_keys);
    error_expectation x;
    x.process = r.text(*et, "process", what, false, "mux");
    x.pattern = r.text(*et, "pattern", what, true);
    r.check_regex(*et->get("pattern"), x.pattern, "pattern");
    x.min = static_cast<int>(r.integer(*et, "min", what, 1, 0, 1'000'000));
    x.max = static_cast<int>(r.integer(*et, "max", what, -1, 0, 1'000'000));
    if (x.max >= 0 && x.max < x.min)
      r.fail(item, fmt::format("max ({}) is below min ({})", x.max, x.min));
    std::string level = r.text(*et, "level", what, false, "error");
    if (level != "error" && level != "warning")
      r.fail(*et->get("level"),
             fmt::format("level must be \"error\" or \"warning\" (warning and error lines), "
                         "got {:?}",
                         level));
    x.with_warnings = level == "warning";
    out.push_back(std::move(x));
  }
  return out;
}

std::vector<call_expectation> read_call_expectations(const reader& r, const toml::node& n) {
  const char* what = "an [expect] calls entry";
  const toml::array* a = n.as_array();
  if (!a)
    r.fail(n,
           "'calls' must be an array of tables like { group = \"...\", outcome = "
           "\"disconnected\" }");
  std::vector<call_expectation> out;
  for (const toml::node& item : *a) {
    const toml::table* ct = item.as_table();
    if (!ct) r.fail(item, "each entry of 'calls' must be a table like { group = \"...\" }");
    r.only_keys(*ct, what, expect_call_keys);
    call_expectation c;
    c.group = r.text(*ct, "group", what, true);
    c.outcome = r.text(*ct, "outcome", what, true);
    static const std::set<std::string> outcomes{"result", "call_error", "disconnected", "timeout"};
    if (!outcomes.count(c.outcome))
      r.fail(*ct->get("outcome"),
             fmt::format("outcome must be result, call_error, disconnected or timeout, got {:?}",
                         c.outcome));
    c.reason = r.text(*ct, "reason", what, false);
    r.check_regex(ct->get("reason") ? *ct->get("reason") : item, c.reason, "reason");
    c.within_ms = static_cast<int>(r.integer(*ct, "within_ms", what, -1, 1, max_ms));
    c.from_call = static_cast<int>(r.integer(*ct, "from_call", what, 0, 0, 10'000'000));
    c.to_call = static_cast<int>(r.integer(*ct, "to_call", what, -1, 0, 10'000'000));
    if (c.to_call >= 0 && c.to_call < c.from_call)
      r.fail(item, fmt::format("to_call ({}) is below from_call ({})", c.to_call, c.from_call));
    out.push_back(std::move(c));
  }
  return out;
}

std::vector<outcome_expectation> read_outcome_expectations(const reader& r, const toml::table& t) {
  static const std::set<std::string> outcomes{"cannot-connect", "connection-lost",
                                              "connected",      "refused-to-listen",
                                              "flushed",        "force-closed"};
  const char* ow = "[[expect.outcomes]]";
  std::vector<outcome_expectation> out;
  for (const toml::table* o : r.tables(t, "outcomes")) {
    r.only_keys(*o, ow, expect_outcome_keys);
    outcome_expectation x;
    x.group = r.text(*o, "group", ow, true);
    x.outcome = r.text(*o, "outcome", ow, true);
    if (!outcomes.count(x.outcome))
      r.fail(*o->get("outcome"),
             fmt::format("outcome must be cannot-connect, connection-lost, connected, "
                         "refused-to-listen, flushed or force-closed, got {:?}",
                         x.outcome));
    x.errnos = r.strings(*o, "errno", ow);
    for (const auto& name : x.errnos)
      if (name != "EOF" && (name.size() < 2 || name[0] != 'E'))
        r.fail(*o->get("errno"),
               fmt::format("errno entries are names like ECONNREFUSED (or EOF), got {:?}", name));
    x.detail = r.text(*o, "detail", ow, false);
    if (!x.detail.empty()) r.check_regex(*o->get("detail"), x.detail, "detail");
    if (auto bad = read_outcome_counts(*o, x)) r.fail(*bad->node, bad->what);
    out.push_back(std::move(x));
  }
  return out;
}

expectations read_expect(const reader& r, const toml::table& t) {
  const char* where = "[expect]";
  r.only_keys(t, where, expect_keys);
  expectations e;
  if (const toml::node* n = t.get("errors")) e.errors = read_error_expectations(r, *n);
  if (const toml::node* n = t.get("calls")) e.calls = read_call_expectations(r, *n);
  e.allowed_errors = r.strings(t, "allowed_errors", where);
  for (const auto& re : e.allowed_errors)
    r.check_regex(*t.get("allowed_errors"), re, "allowed_errors entry");
  e.no_unexpected_errors = r.boolean(t, "no_unexpected_errors", where, true);
  e.disconnected_groups = r.strings(t, "disconnected_groups", where);
  e.disconnect_within_ms =
      static_cast<int>(r.integer(t, "disconnect_within_ms", where, 2000, 1, max_ms));
  e.listener_alive = r.boolean(t, "listener_alive", where, true);
  e.nothing_lost = r.boolean(t, "nothing_lost", where, true);
  e.resources = r.boolean(t, "resources", where, true);
  e.max_rss_mib = static_cast<int>(r.integer(t, "max_rss_mib", where, 512, 1, 1 << 20));
  e.faults_fired = r.boolean(t, "faults_fired", where, true);
  e.clean_exit = r.boolean(t, "clean_exit", where, true);
  e.target_dies = r.boolean(t, "target_dies", where, false);
  e.outcomes = read_outcome_expectations(r, t);
  e.fault_class = r.text(t, "fault_class", where, false);
  if (!e.fault_class.empty() && e.fault_class != "transient" && e.fault_class != "hard" &&
      e.fault_class != "resource" && e.fault_class != "stall")
    r.fail(
        *t.get("fault_class"),
        fmt::format("fault_class is transient, hard, resource or stall, got {:?}", e.fault_class));
  e.faulted_peer = r.text(t, "faulted_peer", where, false);
  return e;
}

}  // namespace

const char* workload_name(worker_group::workload_t w) {
  switch (w) {
    case worker_group::workload_t::connect:
      return "connect";
    case worker_group::workload_t::serve:
      return "serve";
    case worker_group::workload_t::echo:
      return "echo";
    case worker_group::workload_t::calls:
      return "calls";
    case worker_group::workload_t::hostile:
      return "hostile";
    case worker_group::workload_t::second_mux:
      return "second-mux";
  }
  return "?";
}

const char* fault_kind_name(fault_spec::kind_t k) {
  switch (k) {
    case fault_spec::kind_t::syscall:
      return "syscall";
    case fault_spec::kind_t::signal:
      return "signal";
    case fault_spec::kind_t::nofile:
      return "nofile";
    case fault_spec::kind_t::context:
      return "context";
  }
  return "?";
}

namespace {

const worker_group* find_group(const scenario& s, const std::string& name) {
  for (const auto& g : s.workers)
    if (g.name == name) return &g;
  return nullptr;
}

void read_header(const reader& r, const toml::table& root, scenario& s) {
  const char* where = "the scenario";
  s.name = r.text(root, "name", where, true);
  if (s.name.empty() || !std::all_of(s.name.begin(), s.name.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
      }))
    r.fail(*root.get("name"),
           fmt::format("name must be lowercase letters, digits and '-', got {:?}", s.name));
  s.description = r.text(root, "description", where, true);
  s.origin = r.text(root, "origin", where, true);
  s.seed = static_cast<std::uint64_t>(r.integer(root, "seed", where, 1, 0, INT64_MAX));
  s.timeout_ms = static_cast<int>(r.integer(root, "timeout_ms", where, 60000, 100, max_ms));
  s.catches = r.strings(root, "catches", where);
}

// The [[workers]] groups, then each echo group's peer (known once every group is).
void read_workers(const reader& r, const toml::table& root, scenario& s) {
  const auto groups = r.tables(root, "workers");
  for (const toml::table* t : groups) {
    worker_group g = read_group(r, *t);
    if (find_group(s, g.name))
      r.fail(*t->get("name"), fmt::format("a second worker group named '{}'", g.name));
    s.workers.push_back(std::move(g));
  }
  if (s.workers.empty()) r.fail(root, "a scenario needs at least one [[workers]] group");
  for (std::size_t i = 0; i < s.workers.size(); ++i) {
    const worker_group& g = s.workers[i];
    if (g.workload != worker_group::workload_t::echo) continue;
    const worker_group* peer = find_group(s, g.peer);
    if (!peer || peer->workload != worker_group::workload_t::serve)
      r.fail(*groups[i]->get("peer"),
             fmt::format("peer '{}' of group '{}' must name a group whose workload is serve",
                         g.peer, g.name));
  }
}

void read_faults(const reader& r, const toml::table& root, scenario& s) {
  for (const toml::table* t : r.tables(root, "faults")) {
    fault_spec f = read_fault(r, *t);
    if (f.process != "mux" && !find_group(s, f.process))
      r.fail(*t->get("process"),
             fmt::format("process {:?} is neither \"mux\" nor a worker group", f.process));
    s.faults.push_back(std::move(f));
  }
}

// [expect] calls entries name calls or echo groups, and calls those groups make.
void check_call_groups(const reader& r, const toml::table& root, const scenario& s) {
  for (std::size_t i = 0; i < s.expect.calls.size(); ++i) {
    const call_expectation& c = s.expect.calls[i];
    const worker_group* g = find_group(s, c.group);
    const toml::node& at = *root["expect"]["calls"][i]["group"].node();
    if (!g) r.fail(at, fmt::format("calls names group '{}', which is not a worker group", c.group));
    // An echo workload records only the replies that failed: a dead reply is its "disconnected".
    const bool echo = g->workload == worker_group::workload_t::echo;
    if (g->workload != worker_group::workload_t::calls && !echo)
      r.fail(at, fmt::format("calls names group '{}', whose workload is {}, not calls or echo",
                             c.group, workload_name(g->workload)));
    if (echo && c.outcome != "disconnected")
      r.fail(*root["expect"]["calls"][i]["outcome"].node(),
             fmt::format("group '{}' is an echo workload: only outcome = \"disconnected\" (a dead "
                         "reply) can be judged, got {:?}",
                         c.group, c.outcome));
    if (c.from_call >= g->messages)
      r.fail(*root["expect"]["calls"][i]["from_call"].node(),
             fmt::format("from_call {} is past the last of group '{}''s {} calls", c.from_call,
                         c.group, g->messages));
  }
}

// disconnected_groups and [[expect.outcomes]] name groups; a second-mux group has
// exactly the outcome refused-to-listen.
void check_outcome_groups(const reader& r, const toml::table& root, const scenario& s) {
  for (const auto& name : s.expect.disconnected_groups)
    if (!find_group(s, name))
      r.fail(*root["expect"]["disconnected_groups"].node(),
             fmt::format("disconnected_groups names '{}', which is not a worker group", name));
  for (std::size_t i = 0; i < s.expect.outcomes.size(); ++i) {
    const auto& x = s.expect.outcomes[i];
    const worker_group* g = find_group(s, x.group);
    const toml::table* at = r.tables(*root["expect"].as_table(), "outcomes")[i];
    if (!g)
      r.fail(*at->get("group"),
             fmt::format("outcomes names group '{}', which is not a worker group", x.group));
    const bool second = g->workload == worker_group::workload_t::second_mux;
    if ((x.outcome == "refused-to-listen") != second)
      r.fail(*at->get("outcome"),
             second ? fmt::format("group '{}' is a second-mux: its outcome is refused-to-listen",
                                  x.group)
                    : fmt::format("refused-to-listen is the outcome of a second-mux group, not "
                                  "of '{}'",
                                  x.group));
  }
  for (const auto& g : s.workers)
    if (g.workload == worker_group::workload_t::second_mux &&
        std::none_of(s.expect.outcomes.begin(), s.expect.outcomes.end(),
                     [&](const outcome_expectation& x) { return x.group == g.name; }))
      r.fail(root, fmt::format("second-mux group '{}' needs an [[expect.outcomes]] entry "
                               "(outcome = \"refused-to-listen\")",
                               g.name));
}

}  // namespace

scenario parse_scenario(const std::string& text, const std::string& path) {
  reader r(path);
  toml::table root;
  try {
    root = toml::parse(text, path);
  } catch (const toml::parse_error& e) {
    throw scenario_error(fmt::format("{}:{}:{}: {}", path, e.source().begin.line,
                                     e.source().begin.column, e.description()));
  }
  r.only_keys(root, "the scenario", root_keys);
  scenario s;
  s.file = path;
  read_header(r, root, s);
  if (const toml::table* t = r.table(root, "target")) s.target = read_target(r, *t);
  s.contexts = r.strings(root, "contexts", "the scenario");
  read_workers(r, root, s);
  read_faults(r, root, s);
  if (const toml::table* t = r.table(root, "expect")) s.expect = read_expect(r, *t);
  check_call_groups(r, root, s);
  check_outcome_groups(r, root, s);
  if (s.target.kind == target_spec::kind_t::fake_listener && s.expect.listener_alive)
    r.fail(root, "a fake-listener target answers no probe: set listener_alive = false in [expect]");
  return s;
}

std::vector<std::string> scenario_keys() {
  std::vector<std::string> out;
  for (const key_table& t : key_tables)
    for (std::string_view k : t.keys)
      out.push_back(t.name.empty() ? std::string(k) : fmt::format("{}.{}", t.name, k));
  return out;
}

int validate_scenarios(const std::vector<std::string>& files) {
  int bad = 0;
  for (const auto& f : files) {
    try {
      scenario s = load_scenario(f);
      fmt::print("ok {}: {} ({} workers in {} groups, {} faults)\n", f, s.name, s.worker_count(),
                 s.workers.size(), s.faults.size());
    } catch (const scenario_error& e) {
      ++bad;
      fmt::print("error {}\n", e.what());
    }
  }
  std::fflush(stdout);
  return bad ? 2 : 0;
}

scenario load_scenario(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw scenario_error(
        fmt::format("{}: cannot read the scenario file: {}", path, std::strerror(errno)));
  std::stringstream ss;
  ss << in.rdbuf();
  return parse_scenario(ss.str(), path);
}

}  // namespace faultmux
