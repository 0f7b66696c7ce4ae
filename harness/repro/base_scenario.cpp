#include "harness/repro/base_scenario.hpp"

#include <algorithm>
#include <regex>
#include <vector>

namespace faultmux::repro {
namespace {

toml::table group(const char* name, int count, const char* workload) {
  return toml::table{{"name", name}, {"count", count}, {"workload", workload}};
}

// An echo group connecting as the evidence's clients did.
toml::table echo_group(const char* name, int count, const signature& sig) {
  toml::table g = group(name, count, "echo");
  g.insert("peer", "servers");
  g.insert("messages", 5);
  if (sig.backlog_wait_ms >= 0) g.insert("backlog_wait_ms", sig.backlog_wait_ms);
  if (sig.connect_timeout_ms > 0) g.insert("connect_timeout_ms", sig.connect_timeout_ms);
  return g;
}

// Callers of a context whose replies are over the limit the evidence names,
// beside callers of another context.
toml::table calls_base(const signature& sig) {
  const auto limit = static_cast<std::int64_t>(sig.max_message_size);
  toml::table t{{"name", "repro-base"},
                {"description", "calls to two contexts, one of them answering over the size limit"},
                {"origin", "faultmux repro: a workload like the evidence's"},
                {"seed", 1},
                {"timeout_ms", 6000}};
  t.insert("target", toml::table{{"max_message_size", limit}});
  toml::table good = group("good", 2, "calls");
  good.insert("context", "bystander");
  good.insert("function", "echo");
  good.insert("messages", 10);
  toml::table big = group("big", 2, "calls");
  big.insert("context", "big");
  big.insert("function", "make_bytes");
  big.insert("size", limit + limit / 16 + 1);
  big.insert("messages", 3);
  big.insert("in_flight", 3);
  t.insert("workers", toml::array{std::move(good), std::move(big)});
  return t;
}

// Peers that break the protocol on purpose, for the mux's lines that say
// what a peer did: the base has the kind of peer the evidence shows.
struct hostile_kind {
  const char* behave;
  std::regex said;
};

const std::vector<hostile_kind>& hostile_kinds() {
  auto k = [](const char* behave, const char* re) {
    return hostile_kind{behave, std::regex(re, std::regex::icase)};
  };
  static const std::vector<hostile_kind> all{
      k("route-abuse", R"(duplicate route|ADD_ROUTE|DEL_ROUTE)"),
      k("spoof-auth", R"(bad auth_id)"),
      k("bad-magic", R"(frame signature incorrect|corruption detected)"),
      k("oversize-body", R"(maximum message size exceeded)"),
      k("unknown-handle", R"(unknown handle|invalid handle)"),
  };
  return all;
}

void add_hostile_peers(const signature& sig, toml::array& groups) {
  for (const hostile_kind& k : hostile_kinds()) {
    const bool said = std::any_of(sig.hits.begin(), sig.hits.end(), [&](const error_hit& h) {
      return h.from == side::mux && std::regex_search(h.line, k.said);
    });
    if (!said) continue;
    toml::table g = group(k.behave, 2, "hostile");
    g.insert("behave", k.behave);
    groups.push_back(std::move(g));
  }
}

toml::table& expect_of(toml::table& t) {
  if (!t.contains("expect")) t.insert("expect", toml::table{});
  return *t["expect"].as_table();
}

// A second mux started on the live one's path: its bind meets EADDRINUSE
// (and Mitogen's probe of the path reads no identity on the first).
void add_second_mux(const signature& sig, toml::table& t, toml::array& groups) {
  const bool said = std::any_of(sig.hits.begin(), sig.hits.end(), [](const error_hit& h) {
    return h.err == "EADDRINUSE" || h.line.find("Address already in use") != std::string::npos;
  });
  if (!said) return;
  groups.push_back(group("second", 1, "second-mux"));
  // What a second mux must do, which a scenario says for each one it starts.
  expect_of(t).insert(
      "outcomes", toml::array{toml::table{{"group", "second"}, {"outcome", "refused-to-listen"}}});
}

// The mux told to stop (SIGTERM) while clients are on it, one of them a
// reader that never drains what it is sent, as the evidence's shutdown had.
void add_shutdown(toml::table& t, toml::array& groups) {
  toml::table stuck = group("stuck", 1, "hostile");
  stuck.insert("behave", "slow-reader");
  stuck.insert("messages", 60);
  groups.push_back(std::move(stuck));
  t.insert("faults",
           toml::array{toml::table{{"kind", "signal"}, {"signal", "SIGTERM"}, {"at_ms", 1200}}});
  expect_of(t).insert("target_dies", true);
  t.insert_or_assign("timeout_ms", 15000);
}

}  // namespace

toml::table base_scenario(const signature& sig, const std::string& target) {
  const bool dead = std::any_of(sig.hits.begin(), sig.hits.end(),
                                [](const error_hit& h) { return h.cls == "dead reply"; });
  if (target == "builtin" && sig.max_message_size > 0 && (dead || sig.contexts))
    return calls_base(sig);
  const int clients = std::clamp(sig.clients, 4, 10);
  const int echo = clients - 2;
  toml::table t{{"name", "repro-base"},
                {"description", "two servers and echo workers, some of them arriving late"},
                {"origin", "faultmux repro: a workload like the evidence's"},
                {"seed", 1},
                {"timeout_ms", 9000}};
  toml::array groups;
  groups.push_back(group("servers", 2, "serve"));
  groups.push_back(echo_group("good", echo - echo / 2, sig));
  if (echo / 2 > 0) {
    toml::table late = echo_group("late", echo / 2, sig);
    late.insert("start_after_ms", 50);
    groups.push_back(std::move(late));
  }
  // Callers of a context, as the evidence's clients were: a mux without
  // faultmux's ContextService (Mitogen's) fails them as it failed those.
  if (sig.contexts) {
    toml::table callers = group("callers", 2, "calls");
    callers.insert("context", "bystander");
    callers.insert("function", "echo");
    callers.insert("messages", 5);
    groups.push_back(std::move(callers));
  }
  add_hostile_peers(sig, groups);
  add_second_mux(sig, t, groups);
  if (sig.shutdown) add_shutdown(t, groups);
  t.insert("workers", std::move(groups));
  return t;
}

}  // namespace faultmux::repro
