#include "wire/event_reader.hpp"

#include <charconv>
#include <fstream>
#include <sstream>

namespace faultmux::wire {
namespace {

constexpr auto npos = std::string_view::npos;

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

std::size_t skip_space(std::string_view s, std::size_t i) {
  while (i < s.size() && is_space(s[i])) ++i;
  return i;
}

// Past the closing quote of the string that opens at s[i], or npos.
std::size_t string_end(std::string_view s, std::size_t i) {
  for (++i; i < s.size(); ++i) {
    if (s[i] == '\\')
      ++i;
    else if (s[i] == '"')
      return i + 1;
  }
  return npos;
}

// Past the value that starts at s[i] (a string, an object or array, or a
// number or literal), or npos. Values are delimited here, not checked: a
// field is checked when it is read.
std::size_t value_end(std::string_view s, std::size_t i) {
  if (i >= s.size()) return npos;
  if (s[i] == '"') return string_end(s, i);
  if (s[i] == '{' || s[i] == '[') {
    int depth = 0;
    for (; i < s.size(); ++i) {
      const char c = s[i];
      if (c == '"') {
        i = string_end(s, i);
        if (i == npos) return npos;
        --i;
      } else if (c == '{' || c == '[') {
        ++depth;
      } else if ((c == '}' || c == ']') && --depth == 0) {
        return i + 1;
      }
    }
    return npos;
  }
  std::size_t j = i;
  while (j < s.size() && s[j] != ',' && s[j] != '}' && s[j] != ']' && !is_space(s[j])) ++j;
  return j == i ? npos : j;
}

// Calls on_member(key, value text) for each member of the JSON object
// `line`, until it returns true. False when `line` is not one object.
template <class F>
bool for_each_member(std::string_view s, F&& on_member) {
  std::size_t i = skip_space(s, 0);
  if (i >= s.size() || s[i] != '{') return false;
  i = skip_space(s, i + 1);
  if (i < s.size() && s[i] == '}') return skip_space(s, i + 1) == s.size();
  for (;;) {
    if (i >= s.size() || s[i] != '"') return false;
    const std::size_t key_end = string_end(s, i);
    if (key_end == npos) return false;
    const std::string_view key = s.substr(i + 1, key_end - i - 2);  // keys are never escaped
    i = skip_space(s, key_end);
    if (i >= s.size() || s[i] != ':') return false;
    i = skip_space(s, i + 1);
    const std::size_t end = value_end(s, i);
    if (end == npos) return false;
    if (on_member(key, s.substr(i, end - i))) return true;
    i = skip_space(s, end);
    if (i < s.size() && s[i] == '}') return skip_space(s, i + 1) == s.size();
    if (i >= s.size() || s[i] != ',') return false;
    i = skip_space(s, i + 1);
  }
}

bool is_number(std::string_view v) {
  return !v.empty() && (v[0] == '-' || (v[0] >= '0' && v[0] <= '9'));
}

template <class T>
std::optional<T> number_of(std::string_view v) {
  if (!is_number(v)) return std::nullopt;
  T x{};
  auto r = std::from_chars(v.data(), v.data() + v.size(), x);
  if (r.ec != std::errc()) return std::nullopt;
  return x;
}

std::string string_of(std::string_view v) {
  if (v.size() < 2 || v.front() != '"') return {};
  const std::string_view inner = v.substr(1, v.size() - 2);
  if (inner.find('\\') == npos) return std::string(inner);
  auto j = nlohmann::json::parse(v, nullptr, false);  // escapes: rare
  return j.is_string() ? j.get<std::string>() : std::string();
}

}  // namespace

std::optional<event_record> event_record::parse(std::string_view line, std::string source) {
  event_record e;
  std::optional<std::string_view> t, pid, event;
  const bool object = for_each_member(line, [&](std::string_view key, std::string_view value) {
    if (key == "t") t = value;
    if (key == "pid") pid = value;
    if (key == "event") event = value;
    return false;
  });
  if (!object) return std::nullopt;
  e.t = t ? number_of<double>(*t).value_or(0.0) : 0.0;
  e.source = std::move(source);
  e.line_ = std::string(line);
  if (event) e.event_ = string_of(*event);
  if (pid) e.pid_ = static_cast<pid_t>(number_of<long long>(*pid).value_or(-1));
  return e;
}

event_record event_record::of(double t, std::string source, const nlohmann::json& fields) {
  auto e = parse(fields.dump(), std::move(source));
  event_record out = e ? std::move(*e) : event_record();
  out.t = t;
  return out;
}

std::optional<std::string_view> event_record::raw(std::string_view key) const {
  // The last of a repeated key counts, as in a JSON parser: the mux's
  // handshake event names the client's "pid" after its own.
  std::optional<std::string_view> found;
  for_each_member(line_, [&](std::string_view k, std::string_view value) {
    if (k == key) found = value;
    return false;
  });
  return found;
}

std::string event_record::str(std::string_view key) const {
  auto v = raw(key);
  return v ? string_of(*v) : std::string();
}

long long event_record::num(std::string_view key, long long fallback) const {
  auto v = raw(key);
  if (!v) return fallback;
  // An integer written as a float ("3.0", "1e3") is read as one.
  if (v->find_first_of(".eE") != npos) {
    auto d = number_of<double>(*v);
    return d ? static_cast<long long>(*d) : fallback;
  }
  return number_of<long long>(*v).value_or(fallback);
}

double event_record::real(std::string_view key, double fallback) const {
  auto v = raw(key);
  return v ? number_of<double>(*v).value_or(fallback) : fallback;
}

bool event_record::flag(std::string_view key, bool fallback) const {
  auto v = raw(key);
  if (v == "true") return true;
  if (v == "false") return false;
  return fallback;
}

nlohmann::json event_record::fields() const {
  auto j = nlohmann::json::parse(line_, nullptr, false);
  return j.is_object() ? j : nlohmann::json::object();
}

void event_record::set(std::string_view key, const nlohmann::json& value) {
  nlohmann::json j = fields();
  j[std::string(key)] = value;
  const double keep_t = t;
  *this = of(keep_t, std::move(source), j);
}

std::vector<event_record> parse_event_lines(std::string_view text, const std::string& source) {
  std::vector<event_record> out;
  std::size_t at = 0;
  for (;;) {
    auto nl = text.find('\n', at);
    if (nl == npos) break;
    if (auto e = event_record::parse(text.substr(at, nl - at), source))
      out.push_back(std::move(*e));
    at = nl + 1;
  }
  return out;
}

std::vector<event_record> read_event_file(const std::string& path, const std::string& source) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return parse_event_lines(ss.str(), source);
}

}  // namespace faultmux::wire
