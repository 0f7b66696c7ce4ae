#include "harness/repro/strace.hpp"

#include <functional>
#include <map>
#include <numeric>
#include <optional>
#include <regex>
#include <set>
#include <sstream>

namespace faultmux::repro {
namespace {

// "[pid 12] ", "12  " and a time ("06:00:01.123456", "1700000000.123").
const std::regex& prefix() {
  static const std::regex re(
      R"(^(?:\[pid\s+(\d+)\]\s+|(\d+)\s+)?(?:(?:\d\d:\d\d:\d\d(?:\.\d+)?|\d{9,}\.\d+)\s+)?(.*)$)");
  return re;
}

const std::regex& call_line() {
  static const std::regex re(
      R"(^([a-z_0-9]+)\((.*)\)\s+=\s+(-?\d+|\?|0x[0-9a-f]+)(?:\s+([A-Z][A-Z0-9_]+)\s+\([^)]*\))?.*$)");
  return re;
}

struct record {
  std::string pid;
  std::string name, args, err;  // err: "EAGAIN" when ret is -1
  long long ret = 0;
  std::string signal;  // "--- SIGTERM ..." (received) or "+++ killed by SIGSEGV +++"
  bool killed = false;
  bool exited = false;
};

bool one_of(const std::string& s, std::initializer_list<const char*> names) {
  for (const char* n : names)
    if (s == n) return true;
  return false;
}

bool reads(const std::string& c) {
  return one_of(c, {"read", "recv", "recvfrom", "recvmsg", "readv", "recvmmsg"});
}
bool writes(const std::string& c) {
  return one_of(c, {"write", "send", "sendto", "sendmsg", "writev", "sendmmsg"});
}

int first_int(const std::string& args) {
  try {
    return std::stoi(args);
  } catch (const std::exception&) {
    return -1;
  }
}

// The first C string of the arguments, unescaped as strace escapes it.
std::string first_string(const std::string& args) {
  auto q = args.find('"');
  std::string out;
  if (q == std::string::npos) return out;
  for (std::size_t i = q + 1; i < args.size(); ++i) {
    char c = args[i];
    if (c == '"') break;
    if (c != '\\' || i + 1 >= args.size()) {
      out += c;
      continue;
    }
    char e = args[++i];
    if (e == 'n')
      out += '\n';
    else if (e == 't')
      out += '\t';
    else if (e == 'r')
      out += '\r';
    else if (e == 'x' && i + 2 < args.size()) {
      out += static_cast<char>(std::stoi(args.substr(i + 1, 2), nullptr, 16));
      i += 2;
    } else if (e >= '0' && e <= '7') {
      std::size_t j = i;
      int v = 0;
      while (j < args.size() && j < i + 3 && args[j] >= '0' && args[j] <= '7')
        v = v * 8 + (args[j++] - '0');
      out += static_cast<char>(v);
      i = j - 1;
    } else {
      out += e;
    }
  }
  return out;
}

// Joins "<unfinished ...>" halves and parses each line into a record.
std::vector<record> records_of(const std::string& text) {
  std::vector<record> out;
  std::map<std::string, std::string> pending;  // pid -> "name(args" of an unfinished call
  std::istringstream in(text);
  static const std::regex resumed(R"(^<\.\.\. ([a-z_0-9]+) resumed>\s?(.*)$)");
  static const std::regex killed(R"(^\+\+\+ killed by (SIG[A-Z0-9]+).*\+\+\+$)");
  static const std::regex sig(R"(^--- (SIG[A-Z0-9]+) .*---$)");
  for (std::string l; std::getline(in, l);) {
    std::smatch m;
    if (!std::regex_match(l, m, prefix())) continue;
    record r;
    r.pid = m[1].matched ? m[1].str() : m[2].matched ? m[2].str() : "0";
    std::string rest = m[3];
    if (auto u = rest.find(" <unfinished ...>"); u != std::string::npos) {
      pending[r.pid] = rest.substr(0, u);
      continue;
    }
    std::smatch x;
    if (std::regex_match(rest, x, resumed)) {
      rest = pending.count(r.pid) ? pending[r.pid] + x[2].str() : x[1].str() + "(" + x[2].str();
      pending.erase(r.pid);
    }
    if (std::regex_match(rest, x, killed)) {
      r.signal = x[1];
      r.killed = true;
    } else if (std::regex_match(rest, x, sig)) {
      r.signal = x[1];
    } else if (rest.rfind("+++ exited with", 0) == 0) {
      r.exited = true;
    } else if (std::regex_match(rest, x, call_line())) {
      r.name = x[1];
      r.args = x[2];
      r.ret = x[3] == "?" ? 0 : std::stoll(x[3].str(), nullptr, 0);
      r.err = x[4].matched ? x[4].str() : "";
    } else {
      continue;
    }
    out.push_back(std::move(r));
  }
  return out;
}

// Threads and CLONE_FILES children share their parent's fds.
std::map<std::string, std::string> fd_tables(const std::vector<record>& rs) {
  std::map<std::string, std::string> parent;
  std::function<std::string(const std::string&)> root = [&](const std::string& p) {
    auto it = parent.find(p);
    return it == parent.end() || it->second == p ? p : root(it->second);
  };
  for (const auto& r : rs)
    if ((r.name == "clone" || r.name == "clone3") && r.ret > 0 &&
        r.args.find("CLONE_FILES") != std::string::npos)
      parent[std::to_string(r.ret)] = root(r.pid);
  std::map<std::string, std::string> table;
  for (const auto& r : rs) table[r.pid] = root(r.pid);
  return table;
}

struct fd_state {
  std::string cls = "other";
  long long in = 0, out = 0;
  std::optional<std::size_t> last_failure;  // index into the table's failures
  bool tentative = false;                   // an EOF or short read kept only when closed next
};

struct table_state {
  bool mux = false, stopped = false;
  std::map<int, fd_state> fds;
  std::vector<failed_call> failures;
  std::vector<bool> keep;
  std::string err_buf;
  strace_summary sum;
};

std::string phase_of(const fd_state& f) {
  if (f.cls == "listener") return "accept";
  if (f.cls == "connecting") return "connect";
  if (f.cls != "accepted") return "";
  return f.in < 4 ? "pid read" : f.out < 12 ? "identity send" : "routing";
}

void fail(table_state& t, fd_state& f, const record& r, const std::string& err, bool tentative) {
  f.last_failure = t.failures.size();
  f.tentative = tentative;
  t.failures.push_back({r.name, err, f.cls, phase_of(f), false});
  t.keep.push_back(!tentative && err != "EAGAIN" && err != "EINTR" && err != "EWOULDBLOCK");
}

void on_call(table_state& t, const record& r) {
  const int fd = first_int(r.args);
  if (r.name == "exit_group" && !t.stopped) t.sum.exit_code = fd;
  if (r.name == "listen" && r.ret == 0) {
    t.fds[fd].cls = "listener";
    t.mux = true;
    return;
  }
  if (r.name == "accept" || r.name == "accept4") {
    if (r.ret >= 0) {
      t.fds[static_cast<int>(r.ret)].cls = "accepted";
      ++t.sum.accepted;
    } else {
      fail(t, t.fds[fd], r, r.err, false);
    }
    return;
  }
  if (r.name == "connect") {
    t.fds[fd].cls = "connecting";
    if (r.ret < 0 && r.err != "EINPROGRESS") fail(t, t.fds[fd], r, r.err, false);
    return;
  }
  if (r.name == "close") {
    auto it = t.fds.find(fd);
    if (it == t.fds.end()) return;
    if (it->second.last_failure) {
      t.failures[*it->second.last_failure].fatal = true;
      t.keep[*it->second.last_failure] = true;
    }
    if (it->second.cls == "listener" && !t.stopped) t.sum.listener_closed = true;
    t.fds.erase(it);
    return;
  }
  if ((fd == 2 || fd == 1) && writes(r.name)) {
    t.err_buf += first_string(r.args);
    for (auto nl = t.err_buf.find('\n'); nl != std::string::npos; nl = t.err_buf.find('\n')) {
      t.sum.stderr_lines.push_back(t.err_buf.substr(0, nl));
      t.err_buf.erase(0, nl + 1);
    }
    return;
  }
  auto it = t.fds.find(fd);
  if (it == t.fds.end() || (!reads(r.name) && !writes(r.name))) return;
  fd_state& f = it->second;
  if (r.ret < 0) {
    fail(t, f, r, r.err, false);
  } else if (reads(r.name) && r.ret == 0 && f.cls == "accepted" && phase_of(f) != "routing") {
    fail(t, f, r, "EOF", true);
  } else {
    f.last_failure.reset();
    if (reads(r.name))
      f.in += r.ret;
    else
      f.out += r.ret;
    if (reads(r.name) && f.cls == "accepted" && f.in > 0 && f.in < 4) fail(t, f, r, "short", true);
  }
}

}  // namespace

bool is_strace_line(const std::string& line) {
  std::smatch m;
  if (!std::regex_match(line, m, prefix())) return false;
  const std::string rest = m[3];
  return std::regex_match(rest, call_line()) ||
         rest.find(" <unfinished ...>") != std::string::npos || rest.rfind("<... ", 0) == 0 ||
         rest.rfind("+++ ", 0) == 0 || (rest.rfind("--- SIG", 0) == 0);
}

std::string call_family(const std::string& call) {
  if (call == "accept" || call == "accept4") return "accept";
  if (call == "connect") return "connect";
  if (reads(call)) return "recv";
  if (writes(call)) return "send";
  return call;
}

std::string point_phase(const std::string& phase) {
  if (phase == "pid read" || phase == "identity send") return "handshake";
  if (phase == "routing") return "stream";
  return phase;
}

strace_summary read_strace(const std::string& text) {
  const std::vector<record> rs = records_of(text);
  const auto table_of = fd_tables(rs);
  std::map<std::string, table_state> tables;
  for (const auto& r : rs) {
    table_state& t = tables[table_of.at(r.pid)];
    if (!r.signal.empty() && !r.killed) {
      if (r.signal == "SIGTERM" || r.signal == "SIGINT" || r.signal == "SIGHUP") t.stopped = true;
      continue;
    }
    if (r.killed) {
      if (r.signal != "SIGTERM" && r.signal != "SIGKILL" && r.signal != "SIGINT")
        t.sum.killed_by = r.signal;
      continue;
    }
    if (!r.exited) on_call(t, r);
  }
  // The mux: the processes that listen; with none traced, all of them.
  bool any_mux = false;
  for (auto& [k, t] : tables) any_mux = any_mux || t.mux;
  strace_summary out;
  for (auto& [k, t] : tables) {
    if (any_mux && !t.mux) continue;
    if (!t.err_buf.empty()) t.sum.stderr_lines.push_back(t.err_buf);
    for (std::size_t i = 0; i < t.failures.size(); ++i)
      if (t.keep[i] && (t.failures[i].fd_class != "other")) out.failures.push_back(t.failures[i]);
    out.stderr_lines.insert(out.stderr_lines.end(), t.sum.stderr_lines.begin(),
                            t.sum.stderr_lines.end());
    out.listener_closed = out.listener_closed || t.sum.listener_closed;
    if (!t.sum.killed_by.empty()) out.killed_by = t.sum.killed_by;
    if (t.sum.exit_code) out.exit_code = t.sum.exit_code;
    out.accepted += t.sum.accepted;
  }
  return out;
}

}  // namespace faultmux::repro
