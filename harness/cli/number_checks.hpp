// Checks for numeric options that say what was wrong in words ("--budget-min:
// must be more than 0, got 0") rather than CLI11's range of doubles.
#pragma once

#include <cstdlib>
#include <string>

#include <CLI/CLI.hpp>

namespace faultmux::cli {

inline CLI::Validator number_at_least(double low, bool inclusive, const std::string& words) {
  return CLI::Validator(
      [low, inclusive, words](std::string& in) -> std::string {
        char* end = nullptr;
        const double v = std::strtod(in.c_str(), &end);
        if (end == in.c_str() || *end != '\0') return "must be a number, got " + in;
        if (v < low || (!inclusive && v == low)) return "must be " + words + ", got " + in;
        return "";
      },
      inclusive ? "NUMBER>=0" : "NUMBER>0");
}

inline const CLI::Validator positive = number_at_least(0, false, "more than 0");
inline const CLI::Validator non_negative = number_at_least(0, true, "0 or more");

}  // namespace faultmux::cli
