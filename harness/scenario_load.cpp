// Strict loading of scenario files: an unknown key, a wrong type, a value
// out of range or an impossible combination is an error with the file, line
// and column, and what was expected; the load reads on and reports them all.
#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include <fmt/format.h>

#include "faults/child_behaviour.hpp"
#include "faults/rules.hpp"
#include "harness/fault_packages/signal_keys.hpp"
#include "harness/scenario.hpp"
#include "harness/scenario_reader.hpp"

namespace faultmux {
namespace {

using scenario_reading::reader;

void read_answer_bytes(reader& r, const toml::table& t, target_spec& s) {
  const toml::node* n = t.get("answer_bytes");
  if (!n) return;
  const toml::array* a = n->as_array();
  if (!a || a->empty())
    return r.note(*n, "'answer_bytes' in [target] must be a non-empty array of integers -1..11");
  for (const toml::node& e : *a) {
    if (!e.is_integer() || *e.value<std::int64_t>() < -1 || *e.value<std::int64_t>() > 11) {
      r.note(e,
             "each 'answer_bytes' entry must be an integer -1..11 (identity bytes sent before "
             "closing; -1: close before reading the pid)");
      continue;
    }
    s.answer_bytes.push_back(static_cast<int>(*e.value<std::int64_t>()));
  }
  if (s.kind != target_spec::kind_t::fake_listener)
    r.note(*n, "'answer_bytes' belongs to a fake-listener [target]");
}

void read_target_log(reader& r, const toml::table& t, target_spec& s) {
  const char* sec = "target.log";
  for (const toml::table* l : r.tables(t, "log")) {
    r.only_keys(*l, sec);
    log_pattern p{r.text(*l, sec, "pattern", true), r.text(*l, sec, "event", true),
                  r.text(*l, sec, "level", false, "error")};
    r.check_regex(r.at(*l, "pattern"), p.pattern, "pattern");
    if (p.level != "error" && p.level != "warning" && p.level != "info")
      r.note(r.at(*l, "level"),
             fmt::format("level must be error, warning or info, got {:?}", p.level));
    s.log.push_back(std::move(p));
  }
}

target_spec read_target(reader& r, const toml::table& t) {
  const char* sec = "target";
  r.only_keys(t, sec);
  target_spec s;
  std::string kind = r.text(t, sec, "kind", false, "builtin");
  if (kind == "external")
    s.kind = target_spec::kind_t::external;
  else if (kind == "fake-listener")
    s.kind = target_spec::kind_t::fake_listener;
  else if (kind != "builtin")
    r.note(r.at(t, "kind"),
           fmt::format(
               "[target] kind must be \"builtin\", \"external\" or \"fake-listener\", got {:?}",
               kind));
  s.stale_socket = r.boolean(t, sec, "stale_socket", false);
  read_answer_bytes(r, t, s);
  if (s.kind == target_spec::kind_t::fake_listener && s.answer_bytes.empty())
    r.note(t, "a fake-listener [target] needs 'answer_bytes', e.g. [0, 5, 11]");
  s.backlog = static_cast<int>(r.integer(t, sec, "backlog", 0));
  s.max_message_size = static_cast<std::uint64_t>(
      r.integer(t, sec, "max_message_size", static_cast<std::int64_t>(s.max_message_size)));
  s.output_cap = static_cast<std::uint64_t>(
      r.integer(t, sec, "output_cap", static_cast<std::int64_t>(s.output_cap)));
  s.unidirectional = r.boolean(t, sec, "unidirectional", false);
  s.handshake_timeout_ms = static_cast<int>(r.integer(t, sec, "handshake_timeout_ms", 10000));
  s.shutdown_grace_ms = static_cast<int>(r.integer(t, sec, "shutdown_grace_ms", 5000));
  s.command = r.strings(t, sec, "command");
  read_target_log(r, t, s);
  if (s.kind == target_spec::kind_t::external && s.command.empty())
    r.note(t,
           "an external [target] needs 'command', the argv that starts it (with {socket} for the "
           "path)");
  if (s.kind == target_spec::kind_t::builtin && (t.get("command") || t.get("log")))
    r.note(t.get("command") ? *t.get("command") : *t.get("log"),
           "'command' and 'log' belong to an external [target]; set kind = \"external\" or remove "
           "them");
  return s;
}

// What a group's workload needs and forbids, and its function.
void check_group(reader& r, const toml::table& t, const worker_group& g, const std::string& w) {
  auto needs = [&](bool ok, const char* what) {
    if (!ok) r.note(t, fmt::format("worker group '{}' with workload {} {}", g.name, w, what));
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
    r.note(r.at(t, "function"),
           fmt::format("function must be echo, checksum, make_bytes, getpid, sleep or caller_ids, "
                       "got {:?}",
                       g.function));
  if (!g.relay_to.empty() && g.relay_to == g.context)
    r.note(r.at(t, "relay_to"),
           fmt::format("relay_to {:?} is the called context itself; name another context",
                       g.relay_to));
}

worker_group read_group(reader& r, const toml::table& t) {
  const char* sec = "workers";
  r.only_keys(t, sec);
  worker_group g;
  g.name = r.text(t, sec, "name", true);
  g.count = static_cast<int>(r.integer(t, sec, "count", 1));
  std::string w = r.text(t, sec, "workload", false, "connect");
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
    r.note(r.at(t, "workload"),
           fmt::format(
               "workload must be connect, serve, echo, calls, hostile or second-mux, got {:?}", w));
  else
    g.workload = it->second;
  g.peer = r.text(t, sec, "peer", false);
  g.messages = static_cast<int>(r.integer(t, sec, "messages", 0));
  g.size = static_cast<std::uint64_t>(r.integer(t, sec, "size", 64));
  g.in_flight = static_cast<int>(r.integer(t, sec, "in_flight", 1));
  g.context = r.text(t, sec, "context", false);
  g.function = r.text(t, sec, "function", false, "echo");
  g.relay_to = r.text(t, sec, "relay_to", false);
  g.behave = r.text(t, sec, "behave", false);
  g.fault_at = r.text(t, sec, "fault_at", false);
  g.fault_at_index = static_cast<int>(r.integer(t, sec, "fault_at_index", -1));
  g.fault_resume_after_ms = static_cast<int>(r.integer(t, sec, "fault_resume_after_ms", -1));
  g.start_after_ms = static_cast<int>(r.integer(t, sec, "start_after_ms", 0));
  g.connect_timeout_ms = static_cast<int>(r.integer(t, sec, "connect_timeout_ms", -1));
  g.backlog_wait_ms = static_cast<int>(r.integer(t, sec, "backlog_wait_ms", -1));
  g.path = r.text(t, sec, "path", false);
  if (!g.path.empty() && g.path != "missing" && g.path != "stale")
    r.note(r.at(t, "path"),
           fmt::format("path must be \"missing\" (nothing bound there) or \"stale\" (a socket file "
                       "nobody listens on), got {:?}",
                       g.path));
  g.uid = static_cast<int>(r.integer(t, sec, "uid", -1));
  g.user = r.text(t, sec, "user", false);
  if (auto e = set_worker_client(g, r.text(t, sec, "client", false, "faultmux")); !e.empty())
    r.note(t, e);
  if (it != std::end(workloads)) check_group(r, t, g, w);
  return g;
}

void read_syscall_fault(reader& r, const toml::table& t, fault_spec& f) {
  f.rule = r.text(t, "faults", "rule", true);
  faults::rule parsed;
  if (t.get("rule") && t.get("rule")->is_string())
    if (auto err = faults::parse_rule(f.rule, parsed))
      r.note(r.at(t, "rule"),
             fmt::format("bad syscall rule: column {}: {}", err->column, err->message));
  f.in = r.text(t, "faults", "in", false, "mux");
  if (f.in != "mux" && f.in != "workers")
    r.note(r.at(t, "in"),
           fmt::format("in must be \"mux\" (the target) or \"workers\" (every worker, each "
                       "addressed by self=GROUP:INDEX), got {:?}",
                       f.in));
}

// A misbehaving context: `behave`, in canonical form, instead of a phase fault.
void read_context_behaviour(reader& r, const toml::table& t, fault_spec& f) {
  if (t.get("fault_at"))
    r.note(r.at(t, "fault_at"),
           "a context fault has either 'fault_at' or 'behave', not both: make them two faults");
  if (t.get("victim")) r.note(r.at(t, "victim"), "'victim' belongs to a 'fault_at' fault");
  std::string text = r.text(t, "faults", "behave", true), why;
  if (auto b = faults::parse_child_behaviour(text, &why))
    f.behave = faults::to_string(*b);
  else
    r.note(r.at(t, "behave"), fmt::format("behave {:?}: {}", text, why));
}

void read_context_fault(reader& r, const toml::table& t, fault_spec& f) {
  f.context = r.text(t, "faults", "context", true);
  if (!f.context.empty() &&
      (f.context.front() == '/' || f.context.back() == '/' ||
       f.context.find("//") != std::string::npos || f.context.find('=') != std::string::npos))
    r.note(r.at(t, "context"),
           fmt::format("context must be a ContextService name or path like \"a/b\", got {:?}",
                       f.context));
  if (t.get("behave")) return read_context_behaviour(r, t, f);
  f.fault_at = r.text(t, "faults", "fault_at", false);
  if (!t.get("fault_at"))
    r.note(t, "a context fault needs 'fault_at' (a phase fault) or 'behave' (a misbehaviour)");
  static const std::regex phase("mid-call:(SIG)?(KILL|TERM|STOP)", std::regex::icase);
  if (t.get("fault_at") && !std::regex_match(f.fault_at, phase))
    r.note(r.at(t, "fault_at"),
           fmt::format("a context's fault_at must be mid-call:SIGKILL, mid-call:SIGTERM or "
                       "mid-call:SIGSTOP, got {:?}",
                       f.fault_at));
  f.victim = r.text(t, "faults", "victim", false, "self");
  if (f.victim != "self" && f.victim != "parent")
    r.note(r.at(t, "victim"),
           fmt::format("victim must be \"self\" or \"parent\" (the context that started it), "
                       "got {:?}",
                       f.victim));
}

// Keys that belong to one kind of fault only.
void check_fault_keys(reader& r, const toml::table& t, const fault_spec& f,
                      const std::string& kind) {
  auto only = [&](const char* key, bool allowed, const char* why) {
    if (t.get(key) && !allowed) r.note(*t.get(key), fmt::format("'{}' {}", key, why));
  };
  using kt = fault_spec::kind_t;
  bool sig = f.kind == kt::signal;
  only("rule", f.kind == kt::syscall, "belongs to a syscall fault");
  only("signal", sig, "belongs to a signal fault");
  only("limit", f.kind == kt::nofile, "belongs to a nofile fault");
  only("restore_after_ms", f.kind == kt::nofile, "belongs to a nofile fault");
  only("resume_after_ms", sig && f.signal == "SIGSTOP", "belongs to a SIGSTOP signal fault");
  only("before_workers", sig, "belongs to a signal fault");
  for (const char* key : {"sequence", "gaps_ms", "storm_hz", "storm_ms"})
    only(key, sig, "belongs to a signal fault");
  only("at_ms", sig || f.kind == kt::nofile,
       "belongs to signal and nofile faults (a syscall rule is addressed by its own selectors, a "
       "context fault by its phase)");
  only("context", f.kind == kt::context, "belongs to a context fault");
  only("fault_at", f.kind == kt::context, "belongs to a context fault");
  only("victim", f.kind == kt::context, "belongs to a context fault");
  only("behave", f.kind == kt::context, "belongs to a context fault");
  only("in", f.kind == kt::syscall, "belongs to a syscall fault");
  if (!sig && f.process != "mux")
    r.note(r.at(t, "process"),
           fmt::format("{} faults apply to the mux only, not {:?}", kind, f.process));
}

// The fault; nullopt when its kind is unknown (its other keys mean nothing then).
std::optional<fault_spec> read_fault(reader& r, const toml::table& t) {
  const char* sec = "faults";
  r.only_keys(t, sec);
  fault_spec f;
  std::string kind = r.text(t, sec, "kind", true);
  f.process = r.text(t, sec, "process", false, "mux");
  if (kind == "syscall") {
    f.kind = fault_spec::kind_t::syscall;
    read_syscall_fault(r, t, f);
  } else if (kind == "signal") {
    f.kind = fault_spec::kind_t::signal;
    f.signal = r.text(t, sec, "signal", true);
    if (t.get("signal") && !fault_signal_number(f.signal))
      r.note(r.at(t, "signal"),
             fmt::format("signal must be SIGKILL, SIGTERM, SIGSTOP, SIGCONT, SIGINT, SIGHUP, "
                         "SIGCHLD, SIGALRM, SIGUSR1, SIGUSR2 or SIGWINCH, got {:?}",
                         f.signal));
    if (auto bad = read_signal_extras(t, f))
      r.note(bad->at ? *bad->at : static_cast<const toml::node&>(t), bad->what);
  } else if (kind == "nofile") {
    f.kind = fault_spec::kind_t::nofile;
    f.limit = static_cast<int>(r.integer(t, sec, "limit", 0));
    if (!t.get("limit")) r.note(t, "a nofile fault needs 'limit', the soft RLIMIT_NOFILE to set");
  } else if (kind == "context") {
    f.kind = fault_spec::kind_t::context;
    read_context_fault(r, t, f);
  } else {
    r.note(r.at(t, "kind"),
           fmt::format("fault kind must be syscall, signal, nofile or context, got {:?}", kind));
    return std::nullopt;
  }
  f.before_workers = r.boolean(t, sec, "before_workers", false);
  f.at_ms = static_cast<int>(r.integer(t, sec, "at_ms", 0));
  f.resume_after_ms = static_cast<int>(r.integer(t, sec, "resume_after_ms", -1));
  f.restore_after_ms = static_cast<int>(r.integer(t, sec, "restore_after_ms", -1));
  check_fault_keys(r, t, f, kind);
  return f;
}

const worker_group* find_group(const scenario& s, const std::string& name) {
  for (const auto& g : s.workers)
    if (g.name == name) return &g;
  return nullptr;
}

// The entries of an inline array of tables (`errors = [{ ... }]`).
std::vector<const toml::table*> entries(reader& r, const toml::node& n, const char* key,
                                        const char* like) {
  std::vector<const toml::table*> out;
  const toml::array* a = n.as_array();
  if (!a) {
    r.note(n, fmt::format("'{}' must be an array of tables like {}", key, like));
    return out;
  }
  for (const toml::node& item : *a) {
    if (item.as_table())
      out.push_back(item.as_table());
    else
      r.note(item, fmt::format("each entry of '{}' must be a table like {}", key, like));
  }
  return out;
}

std::vector<error_expectation> read_error_expectations(reader& r, const toml::node& n) {
  const char* sec = "expect.errors";
  std::vector<error_expectation> out;
  for (const toml::table* et :
       entries(r, n, "errors", "{ process = \"mux\", pattern = \"...\", min = 1 }")) {
    r.only_keys(*et, sec);
    error_expectation x;
    x.process = r.text(*et, sec, "process", false, "mux");
    x.pattern = r.text(*et, sec, "pattern", true);
    r.check_regex(r.at(*et, "pattern"), x.pattern, "pattern");
    x.min = static_cast<int>(r.integer(*et, sec, "min", 1));
    x.max = static_cast<int>(r.integer(*et, sec, "max", -1));
    if (x.max >= 0 && x.max < x.min)
      r.note(*et, fmt::format("max ({}) is below min ({})", x.max, x.min));
    x.level = r.text(*et, sec, "level", false, "error");
    if (x.level != "error" && x.level != "warning")
      r.note(r.at(*et, "level"),
             fmt::format("level must be \"error\" or \"warning\" (warning and error lines), "
                         "got {:?}",
                         x.level));
    out.push_back(std::move(x));
  }
  return out;
}

// The group an [expect] calls entry names: a calls or echo group.
void check_call_group(reader& r, const toml::table& ct, const call_expectation& c,
                      const scenario& s) {
  const worker_group* g = find_group(s, c.group);
  if (!g)
    return r.note(r.at(ct, "group"),
                  fmt::format("calls names group '{}', which is not a worker group", c.group));
  // An echo workload records only the replies that failed: a dead reply is its "disconnected".
  const bool echo = g->workload == worker_group::workload_t::echo;
  if (g->workload != worker_group::workload_t::calls && !echo)
    r.note(r.at(ct, "group"),
           fmt::format("calls names group '{}', whose workload is {}, not calls or echo", c.group,
                       workload_name(g->workload)));
  else if (echo && c.outcome != "disconnected")
    r.note(r.at(ct, "outcome"),
           fmt::format("group '{}' is an echo workload: only outcome = \"disconnected\" (a dead "
                       "reply) can be judged, got {:?}",
                       c.group, c.outcome));
  else if (c.from_call >= g->messages)
    r.note(r.at(ct, "from_call"),
           fmt::format("from_call {} is past the last of group '{}''s {} calls", c.from_call,
                       c.group, g->messages));
}

std::vector<call_expectation> read_call_expectations(reader& r, const toml::node& n,
                                                     const scenario& s) {
  const char* sec = "expect.calls";
  std::vector<call_expectation> out;
  for (const toml::table* ct :
       entries(r, n, "calls", "{ group = \"...\", outcome = \"disconnected\" }")) {
    r.only_keys(*ct, sec);
    call_expectation c;
    c.group = r.text(*ct, sec, "group", true);
    c.outcome = r.text(*ct, sec, "outcome", true);
    static const std::set<std::string> outcomes{"result", "call_error", "disconnected", "timeout"};
    if (ct->get("outcome") && !outcomes.count(c.outcome))
      r.note(r.at(*ct, "outcome"),
             fmt::format("outcome must be result, call_error, disconnected or timeout, got {:?}",
                         c.outcome));
    c.reason = r.text(*ct, sec, "reason", false);
    r.check_regex(r.at(*ct, "reason"), c.reason, "reason");
    c.within_ms = static_cast<int>(r.integer(*ct, sec, "within_ms", -1));
    c.from_call = static_cast<int>(r.integer(*ct, sec, "from_call", 0));
    c.to_call = static_cast<int>(r.integer(*ct, sec, "to_call", -1));
    if (c.to_call >= 0 && c.to_call < c.from_call)
      r.note(*ct, fmt::format("to_call ({}) is below from_call ({})", c.to_call, c.from_call));
    if (ct->get("group")) check_call_group(r, *ct, c, s);
    out.push_back(std::move(c));
  }
  return out;
}

// The group an outcome names; a second-mux group has exactly refused-to-listen.
void check_outcome_group(reader& r, const toml::table& o, const outcome_expectation& x,
                         const scenario& s) {
  const worker_group* g = find_group(s, x.group);
  if (!g)
    return r.note(r.at(o, "group"),
                  fmt::format("outcomes names group '{}', which is not a worker group", x.group));
  const bool second = g->workload == worker_group::workload_t::second_mux;
  if ((x.outcome == "refused-to-listen") != second)
    r.note(r.at(o, "outcome"),
           second ? fmt::format("group '{}' is a second-mux: its outcome is refused-to-listen",
                                x.group)
                  : fmt::format("refused-to-listen is the outcome of a second-mux group, not "
                                "of '{}'",
                                x.group));
}

std::vector<outcome_expectation> read_outcome_expectations(reader& r, const toml::table& t,
                                                           const scenario& s) {
  static const std::set<std::string> outcomes{"cannot-connect", "connection-lost",
                                              "connected",      "refused-to-listen",
                                              "flushed",        "force-closed"};
  const char* sec = "expect.outcomes";
  std::vector<outcome_expectation> out;
  for (const toml::table* o : r.tables(t, "outcomes")) {
    r.only_keys(*o, sec);
    outcome_expectation x;
    x.group = r.text(*o, sec, "group", true);
    x.outcome = r.text(*o, sec, "outcome", true);
    if (o->get("outcome") && !outcomes.count(x.outcome))
      r.note(r.at(*o, "outcome"),
             fmt::format("outcome must be cannot-connect, connection-lost, connected, "
                         "refused-to-listen, flushed or force-closed, got {:?}",
                         x.outcome));
    x.errnos = r.strings(*o, sec, "errno");
    for (const auto& name : x.errnos)
      if (name != "EOF" && (name.size() < 2 || name[0] != 'E'))
        r.note(r.at(*o, "errno"),
               fmt::format("errno entries are names like ECONNREFUSED (or EOF), got {:?}", name));
    x.detail = r.text(*o, sec, "detail", false);
    if (!x.detail.empty()) r.check_regex(r.at(*o, "detail"), x.detail, "detail");
    x.min = static_cast<int>(r.integer(*o, sec, "min", -1));
    x.max = static_cast<int>(r.integer(*o, sec, "max", -1));
    if (x.min >= 0 && x.max >= 0 && x.min > x.max)
      r.note(r.at(*o, "min"), fmt::format("min ({}) is above max ({})", x.min, x.max));
    x.fraction = r.number(*o, sec, "fraction", -1);
    if (o->get("group") && o->get("outcome")) check_outcome_group(r, *o, x, s);
    out.push_back(std::move(x));
  }
  return out;
}

void read_expect_checks(reader& r, const toml::table& t, expectations& e, const scenario& s) {
  const char* sec = "expect";
  e.allowed_errors = r.strings(t, sec, "allowed_errors");
  for (const auto& re : e.allowed_errors)
    r.check_regex(r.at(t, "allowed_errors"), re, "allowed_errors entry");
  e.no_unexpected_errors = r.boolean(t, sec, "no_unexpected_errors", true);
  e.disconnected_groups = r.strings(t, sec, "disconnected_groups");
  for (const auto& name : e.disconnected_groups)
    if (!find_group(s, name))
      r.note(r.at(t, "disconnected_groups"),
             fmt::format("disconnected_groups names '{}', which is not a worker group", name));
  e.disconnect_within_ms = static_cast<int>(r.integer(t, sec, "disconnect_within_ms", 2000));
  e.listener_alive = r.boolean(t, sec, "listener_alive", true);
  e.nothing_lost = r.boolean(t, sec, "nothing_lost", true);
  e.resources = r.boolean(t, sec, "resources", true);
  e.max_rss_mib = static_cast<int>(r.integer(t, sec, "max_rss_mib", 512));
  e.faults_fired = r.boolean(t, sec, "faults_fired", true);
  e.clean_exit = r.boolean(t, sec, "clean_exit", true);
  e.target_dies = r.boolean(t, sec, "target_dies", false);
}

expectations read_expect(reader& r, const toml::table& t, const scenario& s) {
  const char* sec = "expect";
  r.only_keys(t, sec);
  expectations e;
  if (const toml::node* n = t.get("errors")) e.errors = read_error_expectations(r, *n);
  if (const toml::node* n = t.get("calls")) e.calls = read_call_expectations(r, *n, s);
  read_expect_checks(r, t, e, s);
  e.outcomes = read_outcome_expectations(r, t, s);
  e.fault_class = r.text(t, sec, "fault_class", false);
  if (!e.fault_class.empty() && e.fault_class != "transient" && e.fault_class != "hard" &&
      e.fault_class != "resource" && e.fault_class != "stall")
    r.note(
        r.at(t, "fault_class"),
        fmt::format("fault_class is transient, hard, resource or stall, got {:?}", e.fault_class));
  e.faulted_peer = r.text(t, sec, "faulted_peer", false);
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

void read_header(reader& r, const toml::table& root, scenario& s) {
  const char* sec = "";
  s.name = r.text(root, sec, "name", true);
  if (root.get("name") && root.get("name")->is_string() &&
      (s.name.empty() || !std::all_of(s.name.begin(), s.name.end(), [](char c) {
         return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
       })))
    r.note(r.at(root, "name"),
           fmt::format("name must be lowercase letters, digits and '-', got {:?}", s.name));
  s.description = r.text(root, sec, "description", true);
  s.origin = r.text(root, sec, "origin", true);
  s.seed = static_cast<std::uint64_t>(r.integer(root, sec, "seed", 1));
  s.timeout_ms = static_cast<int>(r.integer(root, sec, "timeout_ms", 60000));
  s.catches = r.strings(root, sec, "catches");
  s.symptoms = r.strings(root, sec, "symptoms");
  for (const auto& re : s.symptoms) r.check_regex(r.at(root, "symptoms"), re, "symptoms entry");
  s.mitogen_affected = r.text(root, sec, "mitogen_affected", false, "unknown");
  s.mitogen_fixed = r.text(root, sec, "mitogen_fixed", false, "unknown");
}

// The [[workers]] groups, then each echo group's peer (known once every group is).
void read_workers(reader& r, const toml::table& root, scenario& s) {
  const auto groups = r.tables(root, "workers");
  for (const toml::table* t : groups) {
    worker_group g = read_group(r, *t);
    if (find_group(s, g.name))
      r.note(r.at(*t, "name"), fmt::format("a second worker group named '{}'", g.name));
    s.workers.push_back(std::move(g));
  }
  if (s.workers.empty()) r.note(root, "a scenario needs at least one [[workers]] group");
  for (std::size_t i = 0; i < s.workers.size(); ++i) {
    const worker_group& g = s.workers[i];
    if (g.workload != worker_group::workload_t::echo || g.peer.empty()) continue;
    const worker_group* peer = find_group(s, g.peer);
    if (!peer || peer->workload != worker_group::workload_t::serve)
      r.note(r.at(*groups[i], "peer"),
             fmt::format("peer '{}' of group '{}' must name a group whose workload is serve",
                         g.peer, g.name));
  }
}

void read_faults(reader& r, const toml::table& root, scenario& s) {
  for (const toml::table* t : r.tables(root, "faults")) {
    std::optional<fault_spec> f = read_fault(r, *t);
    if (!f) continue;
    if (f->process != "mux" && !find_group(s, f->process))
      r.note(r.at(*t, "process"),
             fmt::format("process {:?} is neither \"mux\" nor a worker group", f->process));
    s.faults.push_back(std::move(*f));
  }
}

// Every second-mux group has an [[expect.outcomes]] entry.
void check_second_mux_outcomes(reader& r, const toml::table& root, const scenario& s) {
  for (const auto& g : s.workers)
    if (g.workload == worker_group::workload_t::second_mux &&
        std::none_of(s.expect.outcomes.begin(), s.expect.outcomes.end(),
                     [&](const outcome_expectation& x) { return x.group == g.name; }))
      r.note(root, fmt::format("second-mux group '{}' needs an [[expect.outcomes]] entry "
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
  r.only_keys(root, "");
  scenario s;
  s.file = path;
  read_header(r, root, s);
  if (const toml::table* t = r.table(root, "target")) s.target = read_target(r, *t);
  s.contexts = r.strings(root, "", "contexts");
  read_workers(r, root, s);
  read_faults(r, root, s);
  if (const toml::table* t = r.table(root, "expect")) s.expect = read_expect(r, *t, s);
  check_second_mux_outcomes(r, root, s);
  if (s.target.kind == target_spec::kind_t::fake_listener && s.expect.listener_alive)
    r.note(root, "a fake-listener target answers no probe: set listener_alive = false in [expect]");
  if (auto errors = r.errors(); !errors.empty()) throw scenario_error(std::move(errors));
  return s;
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
      for (const auto& line : e.lines()) fmt::print("{}\n", line);
    }
  }
  if (bad) fmt::print("{} of {} file(s) with errors\n", bad, files.size());
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
