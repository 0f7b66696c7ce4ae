#include "harness/timeline.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace faultmux {

std::string timeline_event::str(const char* key) const {
  auto it = data.find(key);
  return it != data.end() && it->is_string() ? it->get<std::string>() : std::string();
}

long long timeline_event::num(const char* key, long long fallback) const {
  auto it = data.find(key);
  if (it == data.end() || !it->is_number()) return fallback;
  return it->get<long long>();
}

timeline read_events_file(const std::string& path, const std::string& source) {
  timeline out;
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string text = ss.str();
  std::size_t at = 0;
  for (;;) {
    auto nl = text.find('\n', at);
    if (nl == std::string::npos) break;
    auto j = nlohmann::json::parse(text.begin() + static_cast<long>(at),
                                   text.begin() + static_cast<long>(nl), nullptr, false);
    at = nl + 1;
    if (j.is_discarded() || !j.is_object()) continue;
    timeline_event e;
    auto t = j.find("t");
    e.t = t != j.end() && t->is_number() ? t->get<double>() : 0.0;
    e.source = source;
    e.data = std::move(j);
    out.push_back(std::move(e));
  }
  return out;
}

void sort_timeline(timeline& tl) {
  std::stable_sort(tl.begin(), tl.end(),
                   [](const timeline_event& a, const timeline_event& b) { return a.t < b.t; });
}

timeline load_timeline(const std::string& dir) {
  namespace fs = std::filesystem;
  std::vector<fs::path> files;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec))
    if (entry.path().extension() == ".events" || entry.path().filename() == "faults.log")
      files.push_back(entry.path());
  // Directory order is arbitrary: sort, so equal times merge the same way each run.
  std::sort(files.begin(), files.end());
  timeline all;
  for (const auto& f : files) {
    std::string source = f.filename() == "faults.log" ? "faults" : f.stem().string();
    timeline part = read_events_file(f.string(), source);
    all.insert(all.end(), std::make_move_iterator(part.begin()),
               std::make_move_iterator(part.end()));
  }
  sort_timeline(all);
  return all;
}

bool is_error_line(const timeline_event& e) {
  if (e.event() != "log") return false;
  std::string level = e.str("level");
  return level == "error" || level == "critical";
}

}  // namespace faultmux
