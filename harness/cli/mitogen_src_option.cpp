#include "harness/cli/mitogen_src_option.hpp"

#include <cstdio>
#include <filesystem>

namespace faultmux::cli {

void add_mitogen_src_option(CLI::App* sub, std::string& dir) {
  sub->add_option("--mitogen-src", dir,
                  "with --target mitogen: import Mitogen from this source tree (the directory "
                  "holding mitogen/__init__.py) instead of the installed python3-mitogen");
}

bool mitogen_src_usable(std::string_view command, std::string& dir, const std::string& target) {
  if (dir.empty()) return true;
  namespace fs = std::filesystem;
  auto refuse = [&](const char* why) {
    std::fprintf(stderr, "faultmux %.*s: --mitogen-src %s: %s\n", static_cast<int>(command.size()),
                 command.data(), dir.c_str(), why);
    return false;
  };
  if (target != "mitogen") return refuse("needs --target mitogen");
  std::error_code ec;
  if (!fs::is_regular_file(fs::path(dir) / "mitogen" / "__init__.py", ec))
    return refuse(
        "no mitogen/__init__.py there: give the directory that holds the mitogen package "
        "(a Mitogen checkout's top directory)");
  dir = fs::absolute(dir, ec).lexically_normal().string();
  return true;
}

}  // namespace faultmux::cli
