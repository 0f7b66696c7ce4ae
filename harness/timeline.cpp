#include "harness/timeline.hpp"

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <numeric>

namespace faultmux {

timeline read_events_file(const std::string& path, const std::string& source) {
  return wire::read_event_file(path, source);
}

void sort_timeline(timeline& tl) {
  // By time, equal times in their order. The order is found on indices and
  // the events moved into it in place: a stable sort of the events
  // themselves takes a buffer of half of them, the judging's peak memory.
  std::vector<std::uint32_t> order(tl.size());
  std::iota(order.begin(), order.end(), 0u);
  std::stable_sort(order.begin(), order.end(),
                   [&](std::uint32_t a, std::uint32_t b) { return tl[a].t < tl[b].t; });
  // Position i takes the event at order[i]: each cycle of the permutation once.
  for (std::uint32_t i = 0; i < order.size(); ++i) {
    if (order[i] == i) continue;
    timeline_event first = std::move(tl[i]);
    std::uint32_t j = i;
    while (order[j] != i) {
      const std::uint32_t from = order[j];
      tl[j] = std::move(tl[from]);
      order[j] = j;
      j = from;
    }
    tl[j] = std::move(first);
    order[j] = j;
  }
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
  std::vector<timeline> parts;
  std::size_t total = 0;
  for (const auto& f : files) {
    std::string source = f.filename() == "faults.log" ? "faults" : f.stem().string();
    parts.push_back(read_events_file(f.string(), source));
    total += parts.back().size();
  }
  // Reserved once: a run's events are its driver's largest allocation.
  timeline all;
  all.reserve(total);
  for (auto& part : parts) {
    all.insert(all.end(), std::make_move_iterator(part.begin()),
               std::make_move_iterator(part.end()));
    timeline().swap(part);
  }
  sort_timeline(all);
  return all;
}

const timeline_index::events timeline_index::none_;

timeline_index::timeline_index(const timeline& tl) : tl_(tl) {
  for (const auto& e : tl) {
    const pid_t pid = e.pid();
    const std::string& name = e.event();
    by_pid_[pid].push_back(&e);
    by_source_[e.source].push_back(&e);
    std::string stream = e.str("stream");
    if (!stream.empty()) by_stream_[std::move(stream)].push_back(&e);
    by_event_[name].push_back(&e);
    by_pid_event_[{pid, name}].push_back(&e);
  }
}

const timeline_index::events& timeline_index::of(pid_t pid, std::string_view event) const {
  return find(by_pid_event_, std::pair<pid_t, std::string>(pid, std::string(event)));
}

const timeline_index::events& timeline_index::named(std::string_view event) const {
  return find(by_event_, std::string(event));
}

bool is_error_line(const timeline_event& e) {
  if (e.event() != "log") return false;
  std::string level = e.str("level");
  return level == "error" || level == "critical";
}

}  // namespace faultmux
