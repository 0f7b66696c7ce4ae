#include "faults/rules.hpp"

#include <cerrno>
#include <charconv>
#include <cmath>

namespace faultmux::faults {
namespace {

constexpr const char* call_names[call_count] = {
    "accept", "accept4", "connect", "recv",   "recvfrom",   "recvmsg", "read",   "readv", "send",
    "sendto", "sendmsg", "write",   "writev", "socketpair", "fork",    "execve", "kill",
};

constexpr const char* calls_expected =
    "a call (accept, accept4, connect, recv, recvfrom, recvmsg, read, readv, send, sendto, "
    "sendmsg, write, writev, socketpair, fork, execve, kill) or a group (accept-like, recv-like, "
    "send-like)";
constexpr const char* classes_expected =
    "an fd class (listener, accepted, connecting, channel, other, any)";
constexpr const char* qualifiers_expected =
    "'#N', '#N..M', 'every K', 'p=P', 'per-fd', 'role=NAME', 'peer=NAME', 'self=NAME', "
    "'phase=NAME' or '->'";
constexpr const char* phases_expected = "a phase (accept, connect, handshake, stream)";
constexpr const char* effects_expected =
    "an effect (an errno such as EAGAIN, 'short K', 'bytewise', 'delay D' with D in us, ms or "
    "s, 'flip O', 'eof' or 'trace')";

struct errno_entry {
  const char* name;
  int value;
};
// EWOULDBLOCK is EAGAIN on Linux; the first name is the one logged.
constexpr errno_entry errnos[] = {
    {"EAGAIN", EAGAIN}, {"EWOULDBLOCK", EWOULDBLOCK},   {"EINTR", EINTR},
    {"EPIPE", EPIPE},   {"ECONNRESET", ECONNRESET},     {"EMFILE", EMFILE},
    {"ENFILE", ENFILE}, {"ENOBUFS", ENOBUFS},           {"ECONNABORTED", ECONNABORTED},
    {"EIO", EIO},       {"ECONNREFUSED", ECONNREFUSED}, {"ETIMEDOUT", ETIMEDOUT},
    {"ENOMEM", ENOMEM}, {"ENOTCONN", ENOTCONN},         {"ENOENT", ENOENT},
    {"EACCES", EACCES}, {"ENOEXEC", ENOEXEC},           {"EPERM", EPERM},
    {"ESRCH", ESRCH},
};

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}
bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_word(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '_' || c == '-';
}
bool is_peer_char(char c) {
  return is_word(c) || c == ':' || c == '.';
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

// A cursor over one rule's text; every error carries the column it was
// raised at.
class parser {
 public:
  explicit parser(std::string_view text) : s_(text) {}

  std::optional<parse_error> run(rule& r) {
    r = rule{};
    r.text = std::string(s_);
    if (!parse_target(r)) return err_;
    if (!parse_qualifiers(r)) return err_;
    if (!parse_effect(r)) return err_;
    skip();
    if (pos_ < s_.size()) return fail(pos_, "expected end of rule, got " + found());
    return std::nullopt;
  }

 private:
  void skip() {
    while (pos_ < s_.size() && is_space(s_[pos_])) ++pos_;
  }

  bool at_end() {
    skip();
    return pos_ >= s_.size();
  }

  // A word: letters, digits, '_' and '-', but never the '-' of "->".
  std::string_view word() {
    skip();
    std::size_t start = pos_;
    while (pos_ < s_.size() && is_word(s_[pos_])) {
      if (s_[pos_] == '-' && pos_ + 1 < s_.size() && s_[pos_ + 1] == '>') break;
      ++pos_;
    }
    return s_.substr(start, pos_ - start);
  }

  // What is at the cursor, quoted, for "got ..." in messages.
  std::string found() {
    skip();
    if (pos_ >= s_.size()) return "end of rule";
    if (s_.substr(pos_, 2) == "->") return "\"->\"";
    std::size_t at = pos_;
    std::string_view w = word();
    pos_ = at;
    if (w.empty()) w = s_.substr(at, 1);
    return "\"" + std::string(w) + "\"";
  }

  bool eat(std::string_view token) {
    skip();
    if (s_.substr(pos_, token.size()) != token) return false;
    pos_ += token.size();
    return true;
  }

  std::optional<parse_error> fail(std::size_t at, std::string message) {
    err_ = parse_error{};
    err_->rule_text = std::string(s_);
    err_->column = at + 1;
    err_->message = std::move(message);
    return err_;
  }

  // An unsigned decimal; `what` names it in the error.
  bool number(std::uint64_t& out, const char* what) {
    skip();
    std::size_t start = pos_;
    while (pos_ < s_.size() && is_digit(s_[pos_])) ++pos_;
    if (start == pos_) {
      fail(start, std::string("expected ") + what + ", got " + found());
      return false;
    }
    auto [ptr, ec] = std::from_chars(s_.data() + start, s_.data() + pos_, out);
    if (ec != std::errc{}) {
      fail(start, std::string(what) + " is too large");
      return false;
    }
    return true;
  }

  bool parse_target(rule& r) {
    std::size_t at = (skip(), pos_);
    std::string_view name = word();
    if (name == "accept-like") {
      r.calls = accept_like;
    } else if (name == "recv-like") {
      r.calls = recv_like;
    } else if (name == "send-like") {
      r.calls = send_like;
    } else {
      for (int i = 0; i < call_count; ++i) {
        if (name == call_names[i]) r.calls = bit(static_cast<call>(i));
      }
    }
    if (r.calls == 0) {
      pos_ = at;
      fail(at, std::string("expected ") + calls_expected + ", got " + found());
      return false;
    }
    if (!eat("@")) return true;
    at = (skip(), pos_);
    // socketpair makes its fds, fork, execve and kill have none: nothing to class.
    if (r.calls & process_calls) {
      fail(at, std::string(call_name(static_cast<call>(__builtin_ctz(r.calls)))) +
                   " acts on no fd: write it without '@CLASS'");
      return false;
    }
    std::string_view cls = word();
    if (cls == "any") {
      r.cls = fd_class::any;
    } else if (cls == "listener") {
      r.cls = fd_class::listener;
    } else if (cls == "accepted") {
      r.cls = fd_class::accepted;
    } else if (cls == "connecting") {
      r.cls = fd_class::connecting;
    } else if (cls == "other") {
      r.cls = fd_class::other;
    } else if (cls == "channel") {
      r.cls = fd_class::channel;
    } else {
      pos_ = at;
      fail(at, std::string("expected ") + classes_expected + ", got " + found());
      return false;
    }
    // accept only ever acts on a listener, connect on the fd it connects.
    if ((r.calls & accept_like) && r.cls != fd_class::any && r.cls != fd_class::listener) {
      fail(at, "accept calls act on listener fds: write @listener or no class");
      return false;
    }
    if ((r.calls & bit(call::connect)) && r.cls != fd_class::any && r.cls != fd_class::connecting) {
      fail(at, "connect acts on connecting fds: write @connecting or no class");
      return false;
    }
    return true;
  }

  bool parse_qualifiers(rule& r) {
    bool have_occurrence = false;
    bool have_role = false;
    std::size_t per_fd_at = 0;
    for (;;) {
      if (at_end()) {
        fail(pos_, std::string("expected ") + qualifiers_expected + ", got end of rule");
        return false;
      }
      std::size_t at = pos_;
      if (eat("->")) {
        return check_process_call(r, per_fd_at) && (!r.per_fd || check_per_fd(r, per_fd_at)) &&
               (r.phase == conn_phase::any || check_phase(r, phase_at_));
      }
      if (connection_selector(r, at)) continue;
      if (err_) return false;
      bool hash = eat("#");
      std::string_view w = hash ? std::string_view("#") : word();
      if (w == "#" || w == "every" || w == "p") {
        if (have_occurrence) {
          fail(at, "a rule takes one occurrence selector ('#N', '#N..M', 'every K' or 'p=P')");
          return false;
        }
        have_occurrence = true;
      }
      if (w == "#") {
        if (!range(r)) return false;
      } else if (w == "every") {
        std::size_t k_at = (skip(), pos_);
        if (!number(r.every, "K >= 1 after 'every'")) return false;
        if (r.every == 0) {
          fail(k_at, "every K needs K >= 1");
          return false;
        }
        r.occ = occurrence::every_kth;
      } else if (w == "p") {
        if (!eat("=")) {
          fail(pos_, "expected '=' after 'p', got " + found());
          return false;
        }
        if (!probability(r.p)) return false;
        r.occ = occurrence::probability;
      } else if (w == "per-fd") {
        if (r.per_fd) {
          fail(at, "a rule takes one 'per-fd'");
          return false;
        }
        r.per_fd = true;
        per_fd_at = at;
      } else if (w == "role") {
        if (have_role) {
          fail(at, "a rule takes one 'role='");
          return false;
        }
        have_role = true;
        if (!eat("=")) {
          fail(pos_, "expected '=' after 'role', got " + found());
          return false;
        }
        if (!role(r)) return false;
      } else {
        pos_ = at;
        fail(at, std::string("expected ") + qualifiers_expected + ", got " + found());
        return false;
      }
    }
  }

  // A process call (socketpair, fork, execve, kill) has no connection: no socket
  // to count per-fd, no peer at its other end, no phase.
  bool check_process_call(const rule& r, std::size_t per_fd_at) {
    if (!(r.calls & process_calls)) return true;
    const std::string name = call_name(static_cast<call>(__builtin_ctz(r.calls)));
    if (r.per_fd) {
      fail(per_fd_at, name + " acts on no fd: it is counted per process, not per-fd");
      return false;
    }
    if (!r.peer.empty() || r.phase != conn_phase::any) {
      fail(r.peer.empty() ? phase_at_ : peer_at_,
           name + " has no connection: it takes no 'peer=' or 'phase='");
      return false;
    }
    return true;
  }

  // per-fd counts the calls on each tracked socket separately: accepted and
  // connecting fds and listeners (by inode, so a reused number starts
  // afresh). With @any, calls on other fds are all call 0. The class rules
  // of parse_target already keep accept calls to listeners and connect to
  // connecting fds.
  bool check_per_fd(const rule& r, std::size_t at) {
    if (r.cls == fd_class::other) {
      fail(at,
           "per-fd counts the calls on each tracked socket: write @accepted, @connecting, "
           "@channel, @listener or @any");
      return false;
    }
    if (r.cls == fd_class::listener && (r.calls & ~accept_like)) {
      fail(at, "per-fd on @listener counts accept calls: write accept, accept4 or accept-like");
      return false;
    }
    if (r.occ == occurrence::probability) {
      fail(at, "per-fd takes '#N', '#N..M' or 'every K'; 'p=P' already decides each call");
      return false;
    }
    return true;
  }

  // peer=NAME, self=NAME or phase=NAME at `at`: true when one was parsed;
  // false with err_ set when it was malformed, or with err_ clear when the
  // word is something else (the cursor is then back at `at`).
  bool connection_selector(rule& r, std::size_t at) {
    std::string_view w = word();
    if (w != "peer" && w != "phase" && w != "self") {
      pos_ = at;
      return false;
    }
    const bool taken = w == "peer"   ? !r.peer.empty()
                       : w == "self" ? !r.self.empty()
                                     : r.phase != conn_phase::any;
    if (taken) {
      fail(at, std::string("a rule takes one '") + std::string(w) + "='");
      return false;
    }
    if (!eat("=")) {
      fail(pos_, "expected '=' after '" + std::string(w) + "', got " + found());
      return false;
    }
    if (w == "peer") {
      peer_at_ = at;
      return name(r.peer, r.peer_prefix, true);
    }
    if (w == "self") return name(r.self, r.self_prefix, false);
    return phase(r, at);
  }

  // A FAULTMUX_PEER name or GROUP* (a prefix, as in good:*); for a peer
  // also "-" or "?".
  bool name(std::string& out, bool& prefix, bool is_peer) {
    const char* what = is_peer ? "peer" : "self";
    std::size_t start = (skip(), pos_);
    if (is_peer && pos_ < s_.size() && s_[pos_] == '?') {
      ++pos_;
    } else {
      while (pos_ < s_.size() && is_peer_char(s_[pos_])) {
        if (s_[pos_] == '-' && pos_ + 1 < s_.size() && s_[pos_ + 1] == '>') break;
        ++pos_;
      }
    }
    std::string_view name = s_.substr(start, pos_ - start);
    if (pos_ < s_.size() && s_[pos_] == '*') {
      if (name.empty()) {
        fail(start, std::string("a ") + what + " prefix needs a group before '*', as in " + what +
                        "=good:*");
        return false;
      }
      ++pos_;
      prefix = true;
    }
    if (name.empty() || (!is_peer && name == "-")) {
      fail(start,
           std::string("expected a ") + what + " name after '" + what + "=' (" +
               (is_peer ? "GROUP:INDEX, GROUP:*, listener, - or ?" : "GROUP:INDEX or GROUP:*") +
               "), got " + found());
      return false;
    }
    if (name.size() > max_peer_name) {
      fail(start,
           std::string(what) + " names go up to " + std::to_string(max_peer_name) + " characters");
      return false;
    }
    out = std::string(name);
    return true;
  }

  bool phase(rule& r, std::size_t at) {
    std::size_t start = (skip(), pos_);
    std::string_view w = word();
    for (conn_phase p :
         {conn_phase::accept, conn_phase::connect, conn_phase::handshake, conn_phase::stream}) {
      if (w == conn_phase_name(p)) r.phase = p;
    }
    if (r.phase == conn_phase::any) {
      pos_ = start;
      fail(start, std::string("expected ") + phases_expected + " after 'phase=', got " + found());
      return false;
    }
    phase_at_ = at;
    return true;
  }

  // A phase belongs to some calls on some fds: a rule whose phase its calls
  // never have would silently never fire.
  bool check_phase(const rule& r, std::size_t at) {
    switch (r.phase) {
      case conn_phase::accept:
        if (r.calls & ~accept_like) {
          fail(at,
               "phase=accept is the phase of accept calls: write accept, accept4 or "
               "accept-like");
          return false;
        }
        return true;
      case conn_phase::connect:
        if (r.calls != bit(call::connect)) {
          fail(at, "phase=connect is the phase of connect calls: write connect");
          return false;
        }
        return true;
      default:
        if (r.calls & ~(recv_like | send_like)) {
          fail(at, std::string("phase=") + conn_phase_name(r.phase) +
                       " is a phase of data calls: write recv-like or send-like calls");
          return false;
        }
        if (r.cls == fd_class::listener || r.cls == fd_class::other) {
          fail(at, std::string("phase=") + conn_phase_name(r.phase) +
                       " is a phase of accepted, connecting and channel fds: write @accepted, "
                       "@connecting, @channel or no class");
          return false;
        }
        // A channel's ends are connected when they are made: no handshake.
        if (r.cls == fd_class::channel && r.phase == conn_phase::handshake) {
          fail(at, "a channel has no handshake: its data calls are all phase=stream");
          return false;
        }
        return true;
    }
  }

  // After '#': N, N..M or N.. (open end).
  bool range(rule& r) {
    std::size_t n_at = (skip(), pos_);
    if (!number(r.first, "a call number N >= 1 after '#'")) return false;
    if (r.first == 0) {
      fail(n_at, "call numbers start at 1");
      return false;
    }
    r.last = r.first;
    r.occ = occurrence::range;
    if (!eat("..")) return true;
    skip();
    if (pos_ >= s_.size() || !is_digit(s_[pos_])) {
      r.last = open_end;
      return true;
    }
    std::size_t last_at = pos_;
    if (!number(r.last, "the last call number")) return false;
    if (r.last < r.first) {
      fail(last_at, "the last call number is smaller than the first");
      return false;
    }
    return true;
  }

  bool probability(double& p) {
    skip();
    std::size_t start = pos_;
    while (pos_ < s_.size() && (is_digit(s_[pos_]) || s_[pos_] == '.')) ++pos_;
    auto [ptr, ec] = std::from_chars(s_.data() + start, s_.data() + pos_, p);
    if (start == pos_ || ec != std::errc{} || ptr != s_.data() + pos_) {
      pos_ = start;
      fail(start, "expected a probability P with 0 < P <= 1 after 'p=', got " + found());
      return false;
    }
    if (!(p > 0.0 && p <= 1.0)) {
      fail(start, "a probability must be > 0 and <= 1");
      return false;
    }
    return true;
  }

  bool role(rule& r) {
    skip();
    std::size_t start = pos_;
    while (pos_ < s_.size() && is_word(s_[pos_]) && s_[pos_] != ':') {
      if (s_[pos_] == '-' && pos_ + 1 < s_.size() && s_[pos_ + 1] == '>') break;
      ++pos_;
    }
    if (start == pos_) {
      fail(start, "expected a role name after 'role=', got " + found());
      return false;
    }
    r.role = std::string(s_.substr(start, pos_ - start));
    if (pos_ < s_.size() && s_[pos_] == ':') {
      ++pos_;
      std::uint64_t index = 0;
      if (!number(index, "a process index after ':'")) return false;
      if (index > static_cast<std::uint64_t>(INT64_MAX)) {
        fail(pos_, "the process index is too large");
        return false;
      }
      r.index = static_cast<std::int64_t>(index);
    }
    return true;
  }

  bool parse_effect(rule& r) {
    std::size_t at = (skip(), pos_);
    std::string_view w = word();
    bool moves_data = true;
    if (int e = errno_from_name(w); e != 0) {
      r.eff = effect::fail;
      r.err = e;
      moves_data = false;
    } else if (w == "short") {
      r.eff = effect::shorten;
      std::size_t k_at = (skip(), pos_);
      if (!number(r.amount, "a byte count K >= 1 after 'short'")) return false;
      if (r.amount == 0) {
        fail(k_at, "short K needs K >= 1 (a transfer of 0 bytes reads as end of file)");
        return false;
      }
    } else if (w == "bytewise") {
      r.eff = effect::bytewise;
    } else if (w == "flip") {
      r.eff = effect::flip;
      std::size_t o_at = (skip(), pos_);
      if (!number(r.amount, "a byte offset after 'flip'")) return false;
      if (r.amount > max_flip_offset) {
        fail(o_at, "flip offsets go up to " + std::to_string(max_flip_offset));
        return false;
      }
    } else if (w == "delay") {
      r.eff = effect::delay;
      moves_data = false;
      if (!duration(r.amount)) return false;
    } else if (w == "trace") {
      r.eff = effect::trace;
      moves_data = false;
    } else if (w == "eof") {
      r.eff = effect::eof;
      if (r.calls & ~recv_like) {
        fail(at, "eof is what a read returns: it applies to recv-like calls only");
        return false;
      }
    } else {
      pos_ = at;
      fail(at, std::string("expected ") + effects_expected + ", got " + found());
      return false;
    }
    if (moves_data && (r.calls & ~(recv_like | send_like))) {
      fail(at, std::string(w) + " acts on data: it applies to recv-like and send-like calls only");
      return false;
    }
    return true;
  }

  // D followed by us, ms or s (a space between is allowed).
  bool duration(std::uint64_t& us) {
    std::size_t at = (skip(), pos_);
    std::uint64_t n = 0;
    if (!number(n, "a duration such as 50ms after 'delay'")) return false;
    std::size_t unit_at = (skip(), pos_);
    std::string_view unit = word();
    std::uint64_t scale = 0;
    if (unit == "us") {
      scale = 1;
    } else if (unit == "ms") {
      scale = 1000;
    } else if (unit == "s") {
      scale = 1'000'000;
    } else {
      pos_ = unit_at;
      fail(unit_at, "expected a unit (us, ms or s) after the delay, got " + found());
      return false;
    }
    if (n > max_delay_us / scale) {
      fail(at, "delays go up to 60s");
      return false;
    }
    us = n * scale;
    return true;
  }

  std::string_view s_;
  std::size_t pos_ = 0;
  std::size_t phase_at_ = 0;  // where phase= began, for check_phase
  std::size_t peer_at_ = 0;   // where peer= began, for check_process_call
  std::optional<parse_error> err_;
};

}  // namespace

const char* call_name(call c) {
  return call_names[static_cast<int>(c)];
}

const char* fd_class_name(fd_class c) {
  switch (c) {
    case fd_class::any:
      return "any";
    case fd_class::listener:
      return "listener";
    case fd_class::accepted:
      return "accepted";
    case fd_class::connecting:
      return "connecting";
    case fd_class::other:
      return "other";
    case fd_class::channel:
      return "channel";
  }
  return "?";
}

const char* conn_phase_name(conn_phase p) {
  switch (p) {
    case conn_phase::any:
      return "any";
    case conn_phase::accept:
      return "accept";
    case conn_phase::connect:
      return "connect";
    case conn_phase::handshake:
      return "handshake";
    case conn_phase::stream:
      return "stream";
    case conn_phase::none:
      return "-";
  }
  return "?";
}

bool peer_matches(const rule& r, std::string_view peer) {
  // The harness's probe checks the listener after the faults: a rule hits it
  // only by name, or "listener alive" would judge the rule, not the target.
  if (r.peer.empty()) return peer != probe_peer;
  return r.peer_prefix ? peer.starts_with(r.peer) : peer == r.peer;
}

bool self_matches(const rule& r, std::string_view self) {
  if (r.self.empty()) return true;
  return r.self_prefix ? self.starts_with(r.self) : self == r.self;
}

int errno_from_name(std::string_view name) {
  for (const errno_entry& e : errnos) {
    if (name == e.name) return e.value;
  }
  return 0;
}

const char* errno_name(int err) {
  for (const errno_entry& e : errnos) {
    if (err == e.value) return e.name;
  }
  return nullptr;
}

std::string effect_text(const rule& r) {
  switch (r.eff) {
    case effect::fail:
      return errno_name(r.err) ? errno_name(r.err) : std::to_string(r.err);
    case effect::shorten:
      return "short " + std::to_string(r.amount);
    case effect::bytewise:
      return "bytewise";
    case effect::delay:
      if (r.amount % 1'000'000 == 0 && r.amount != 0) {
        return "delay " + std::to_string(r.amount / 1'000'000) + "s";
      }
      if (r.amount % 1000 == 0 && r.amount != 0) {
        return "delay " + std::to_string(r.amount / 1000) + "ms";
      }
      return "delay " + std::to_string(r.amount) + "us";
    case effect::flip:
      return "flip " + std::to_string(r.amount);
    case effect::trace:
      return "trace";
    case effect::eof:
      return "eof";
  }
  return "?";
}

std::string describe(const parse_error& e) {
  std::string out = "faultmux shim: bad fault rule " + std::to_string(e.rule_number) + " in " +
                    e.origin + ", column " + std::to_string(e.column) + ": " + e.message + "\n";
  out += "  " + e.rule_text + "\n";
  out += "  " + std::string(e.column > 0 ? e.column - 1 : 0, ' ') + "^\n";
  return out;
}

std::optional<parse_error> parse_rule(std::string_view text, rule& out) {
  return parser(trim(text)).run(out);
}

std::optional<parse_error> parse_rules(std::string_view text, std::string_view origin, bool is_file,
                                       std::vector<rule>& out) {
  std::size_t line_number = 0;
  std::size_t line_start = 0;
  while (line_start <= text.size()) {
    ++line_number;
    std::size_t line_end = text.find('\n', line_start);
    if (line_end == std::string_view::npos) line_end = text.size();
    std::string_view line = text.substr(line_start, line_end - line_start);
    line_start = line_end + 1;
    std::size_t pos = 0;
    while (pos <= line.size()) {
      std::size_t end = line.find(';', pos);
      if (end == std::string_view::npos) end = line.size();
      std::string_view piece = trim(line.substr(pos, end - pos));
      pos = end + 1;
      if (piece.empty()) continue;
      // No rule starts with '#': one there is a comment to the end of the line.
      if (piece.front() == '#') break;
      rule r;
      if (auto err = parse_rule(piece, r)) {
        err->rule_number = out.size() + 1;
        err->origin = std::string(origin);
        if (is_file) err->origin += " line " + std::to_string(line_number);
        return err;
      }
      out.push_back(std::move(r));
    }
  }
  return std::nullopt;
}

}  // namespace faultmux::faults
