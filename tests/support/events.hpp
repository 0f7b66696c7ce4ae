// Event files (a mux's or a worker's --events, the shim's fault log) for
// tests and benchmarks, read with the one reader, wire/event_reader.hpp.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace faultmux::test {

using json = nlohmann::json;

// Every complete JSON line of an events file (a line still being written,
// without its newline yet, is skipped; so is one that does not parse). With
// strict, for a file that must be whole (the shim's fault log of a program
// that has ended), every line must parse: else std::runtime_error names the
// file and the line.
std::vector<json> read_events(const std::string& path, bool strict = false);
// Polls the events file until an event satisfies pred; nullopt on timeout.
std::optional<json> wait_event(const std::string& events_path,
                               const std::function<bool(const json&)>& pred,
                               std::chrono::milliseconds timeout);

}  // namespace faultmux::test
