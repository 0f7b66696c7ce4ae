#include "harness/repro/base_scenario.hpp"

#include <algorithm>

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
  t.insert("workers", std::move(groups));
  return t;
}

}  // namespace faultmux::repro
