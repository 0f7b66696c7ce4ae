// Structured events: every process appends JSON lines (monotonic time, pid,
// role, event, fields) to a file named on its command line. The driver merges
// them into one timeline. Safe from any thread; one write(2) per line.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

#include "wire/event_field.hpp"

namespace faultmux::events {

using field = wire::event_field;

// Opens (appends to) `path`; an empty path disables events. Throws
// std::system_error naming the path when it cannot be opened.
void open(const std::string& path, std::string role);
void close();
bool enabled();
// Seconds on CLOCK_MONOTONIC, comparable across processes of one machine.
double now();
void emit(std::string_view event, std::initializer_list<field> fields = {});

}  // namespace faultmux::events
