// Test helpers for the Python programs of tests/interop/, run with Debian's
// python3 (the one python3-mitogen is installed for): bounded runs, their
// "key=value" output lines, and whether Mitogen can be imported at all.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "roles/process.hpp"

namespace faultmux::test {

// Every run passes -B so no __pycache__ is left in the source tree.
inline const std::string python = "/usr/bin/python3";
// What the Python programs get as their own deadline, in seconds; the C++
// side waits a little longer so a Python timeout is reported by Python.
inline const std::string py_timeout = "60";
inline constexpr std::chrono::milliseconds wait_limit{90000};

// tests/interop/<name> of the checkout.
std::string interop_script(const std::string& name);

// "a=1 b=two" -> {a: 1, b: two}
std::map<std::string, std::string> fields(const std::string& line);
// The numeric field `key`; throws std::runtime_error when it is missing.
std::uint32_t id_field(const std::map<std::string, std::string>& f, const std::string& key);

// A program run to its end: its stdout lines and wait status (nullopt when
// it did not finish in time; it is then killed and reaped).
struct finished {
  std::optional<int> status;
  std::vector<std::string> lines;
  bool exited_zero() const;
  // The status, every stdout line, and `stderr_text` when given.
  std::string describe(const std::string& stderr_text = "") const;
};

// Reads p's stdout lines until EOF, then waits for it, within `limit`.
finished wait_end(child_process& p, std::chrono::milliseconds limit = wait_limit);
// Runs argv to its end; stderr goes to `stderr_path`, or stays the test's.
finished run_program(const std::vector<std::string>& argv, const std::string& stderr_path = "",
                     std::chrono::milliseconds limit = wait_limit);

// Mitogen's version as python3 prints it ("(0, 3, 3)"), or nullopt when
// mitogen.core and mitogen.unix cannot be imported. Asked once.
const std::optional<std::string>& mitogen_version();

}  // namespace faultmux::test
