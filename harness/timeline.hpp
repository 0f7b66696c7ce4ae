// One run's timeline: every process's events file and the shim's fault log,
// merged and sorted by time (CLOCK_MONOTONIC seconds, one clock for every
// process of the machine). The oracles and the reports read only this.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "wire/event_reader.hpp"

namespace faultmux {

// One event line, as wire/ reads it: t, source, the whole line as JSON.
using timeline_event = wire::event_record;

using timeline = std::vector<timeline_event>;

// Every complete JSON line of `path` tagged with `source`; a line still being
// written (no newline) or not JSON is skipped.
timeline read_events_file(const std::string& path, const std::string& source);
// Every "*.events" file of `dir` and its fault log "faults.log" (source
// "faults"), merged and sorted by time; equal times keep file order.
timeline load_timeline(const std::string& dir);
// Sorts by time, keeping the order of equal times.
void sort_timeline(timeline& tl);

// One pass over a timeline, so that judging a run and drawing its report
// look events up instead of scanning the whole run once per process (a run
// of 2000 workers has hundreds of thousands of events). Every list keeps
// timeline order. The index points into `tl`, which must outlive it.
class timeline_index {
 public:
  using events = std::vector<const timeline_event*>;

  explicit timeline_index(const timeline& tl);

  const timeline& all() const { return tl_; }
  // Events whose "pid" field is `pid` (for the mux's handshake events, the client's).
  const events& of_pid(pid_t pid) const { return find(by_pid_, pid); }
  // Events of `pid` named `event`: of_pid(pid) with that "event" field.
  const events& of(pid_t pid, std::string_view event) const;
  // Events named `event`, from every source.
  const events& named(std::string_view event) const;
  // Events of one events file ("mux", "driver", "worker-good-3", "faults").
  const events& of_source(const std::string& source) const { return find(by_source_, source); }
  // Events whose "stream" field is `stream` ("unix_client.1234").
  const events& of_stream(const std::string& stream) const { return find(by_stream_, stream); }
  // The first and the last event of `list`, or nullptr when it is empty.
  static const timeline_event* first(const events& list) {
    return list.empty() ? nullptr : list.front();
  }
  static const timeline_event* last(const events& list) {
    return list.empty() ? nullptr : list.back();
  }

 private:
  struct pid_event_hash {
    std::size_t operator()(const std::pair<pid_t, std::string>& k) const {
      return std::hash<std::string>{}(k.second) * 31 + static_cast<std::size_t>(k.first);
    }
  };
  template <class Map, class Key>
  static const events& find(const Map& m, const Key& k) {
    auto it = m.find(k);
    return it == m.end() ? none_ : it->second;
  }

  static const events none_;
  const timeline& tl_;
  std::unordered_map<pid_t, events> by_pid_;
  std::unordered_map<std::pair<pid_t, std::string>, events, pid_event_hash> by_pid_event_;
  std::unordered_map<std::string, events> by_event_, by_source_, by_stream_;
};

// A logged error: a "log" event at level error or critical.
bool is_error_line(const timeline_event& e);

}  // namespace faultmux
