#include "wire/event_reader.hpp"

#include <fstream>
#include <sstream>

namespace faultmux::wire {

std::string event_record::str(const char* key) const {
  auto it = data.find(key);
  return it != data.end() && it->is_string() ? it->get<std::string>() : std::string();
}

long long event_record::num(const char* key, long long fallback) const {
  auto it = data.find(key);
  if (it == data.end() || !it->is_number()) return fallback;
  return it->get<long long>();
}

std::vector<event_record> parse_event_lines(std::string_view text, const std::string& source) {
  std::vector<event_record> out;
  std::size_t at = 0;
  for (;;) {
    auto nl = text.find('\n', at);
    if (nl == std::string_view::npos) break;
    auto j = nlohmann::json::parse(text.begin() + static_cast<long>(at),
                                   text.begin() + static_cast<long>(nl), nullptr, false);
    at = nl + 1;
    if (j.is_discarded() || !j.is_object()) continue;
    event_record e;
    auto t = j.find("t");
    e.t = t != j.end() && t->is_number() ? t->get<double>() : 0.0;
    e.source = source;
    e.data = std::move(j);
    out.push_back(std::move(e));
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
