// faultmux's version (project(VERSION) in CMakeLists.txt) and the git
// revision it was built from; both are compiled into a generated file that
// only changes when they do (cmake/write_version.cmake).
#pragma once

#include <string>
#include <string_view>

namespace faultmux {

// "0.2.0".
std::string_view faultmux_version();

// The short git revision of the checkout at build time, or "unknown".
std::string_view faultmux_build_revision();

// "0.2.0 (git 0123456789ab)": what --version prints after "faultmux ".
inline std::string faultmux_version_line() {
  return std::string(faultmux_version()) + " (git " + std::string(faultmux_build_revision()) + ")";
}

}  // namespace faultmux
