#include "harness/timeline.hpp"

#include <algorithm>
#include <filesystem>

namespace faultmux {

timeline read_events_file(const std::string& path, const std::string& source) {
  return wire::read_event_file(path, source);
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
