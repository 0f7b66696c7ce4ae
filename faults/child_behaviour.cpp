#include "faults/child_behaviour.hpp"

#include <fmt/format.h>

#include <charconv>

namespace faultmux::faults {
namespace {

struct act_entry {
  const char* name;
  child_act act;
  std::uint64_t default_n;  // 0: the act takes no N
  const char* n_is;
};
constexpr act_entry acts[] = {
    {"linger", child_act::linger, 3000, "ms"},
    {"linger-ignoring-sigterm", child_act::linger_ignoring_sigterm, 4000, "ms"},
    {"stderr-then-exit", child_act::stderr_then_exit, 65536, "bytes"},
    {"stderr-without-newline", child_act::stderr_without_newline, 1 << 20, "bytes"},
    {"log-flood", child_act::log_flood, 10000, "records"},
    {"malformed-log", child_act::malformed_log, 0, nullptr},
};

const act_entry* entry_of(child_act a) {
  for (const auto& e : acts)
    if (e.act == a) return &e;
  return nullptr;
}

bool parse_number(std::string_view s, std::uint64_t& out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size() && !s.empty();
}

}  // namespace

const char* act_name(child_act a) {
  const act_entry* e = entry_of(a);
  return e ? e->name : "?";
}

std::string acts_accepted() {
  std::string out;
  for (const auto& e : acts) {
    if (!out.empty()) out += ", ";
    out += e.name;
    if (e.n_is) out += fmt::format("[:{}] (default {})", e.n_is, e.default_n);
  }
  return out;
}

bool before_hello(child_act a) {
  return a == child_act::stderr_then_exit;
}

std::string to_string(const child_behaviour& b) {
  std::string out = act_name(b.act);
  if (entry_of(b.act)->n_is) out += fmt::format(":{}", b.n);
  if (b.pipe_bytes) out += fmt::format(" pipe={}", b.pipe_bytes);
  return out;
}

std::optional<child_behaviour> parse_child_behaviour(std::string_view text, std::string* error) {
  auto fail = [&](std::string why) -> std::optional<child_behaviour> {
    if (error)
      *error = std::move(why) + "; expected NAME[:N][ pipe=BYTES], NAME one of " + acts_accepted();
    return std::nullopt;
  };
  child_behaviour b;
  if (auto sp = text.find(' '); sp != std::string_view::npos) {
    std::string_view pipe = text.substr(sp + 1);
    std::uint64_t bytes = 0;
    if (pipe.substr(0, 5) != "pipe=" || !parse_number(pipe.substr(5), bytes) || bytes == 0 ||
        bytes > (1u << 30))
      return fail(fmt::format("{:?} is not pipe=BYTES (1 to 2^30)", pipe));
    b.pipe_bytes = static_cast<std::uint32_t>(bytes);
    text = text.substr(0, sp);
  }
  std::string_view name = text.substr(0, text.find(':'));
  const act_entry* e = nullptr;
  for (const auto& a : acts)
    if (name == a.name) e = &a;
  if (!e) return fail(fmt::format("no behaviour {:?}", name));
  b.act = e->act;
  b.n = e->default_n;
  if (name.size() < text.size()) {
    std::string_view n = text.substr(name.size() + 1);
    if (!e->n_is) return fail(fmt::format("{} takes no number, got {:?}", e->name, n));
    if (!parse_number(n, b.n) || b.n == 0 || b.n > (std::uint64_t{1} << 32))
      return fail(fmt::format("{}: {:?} is not a number of {} (1 to 2^32)", e->name, n, e->n_is));
  }
  return b;
}

}  // namespace faultmux::faults
