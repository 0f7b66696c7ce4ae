#include "harness/cli/legacy_bug_option.hpp"

#include <cstdio>

namespace faultmux::cli {

std::optional<legacy_bugs> legacy_bugs_named(std::string_view command, std::string_view option,
                                             const std::vector<std::string>& names) {
  legacy_bugs bugs;
  for (const std::string& name : names) {
    if (!bugs.enable(name)) {
      std::fprintf(stderr, "faultmux %.*s: %.*s %s: no such bug; known: %s\n",
                   static_cast<int>(command.size()), command.data(),
                   static_cast<int>(option.size()), option.data(), name.c_str(),
                   legacy_bugs::known_names().c_str());
      return std::nullopt;
    }
  }
  return bugs;
}

std::string legacy_bug_help(const std::string& what) {
  return what + ": " + legacy_bugs::known_names();
}

}  // namespace faultmux::cli
