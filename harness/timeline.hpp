// One run's timeline: every process's events file and the shim's fault log,
// merged and sorted by time (CLOCK_MONOTONIC seconds, one clock for every
// process of the machine). The oracles and the reports read only this.
#pragma once

#include <string>
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

// A logged error: a "log" event at level error or critical.
bool is_error_line(const timeline_event& e);

}  // namespace faultmux
