// The library versions a report names: each from the macros of the header
// faultmux was compiled against, so the report says what was really built
// in; python3-mitogen's from its installed source, read without running Python.
#include <fstream>
#include <regex>
#include <string>

#include <fmt/core.h>
#include <spdlog/version.h>
#include <toml++/impl/version.h>
#include <CLI/Version.hpp>
#include <boost/version.hpp>
#include <nlohmann/json.hpp>

#include "reports/results.hpp"

namespace faultmux::reports {

std::string mitogen_version(const std::string& init_py) {
  std::ifstream in(init_py);
  // (0, 3, 3) or, in a development tree, (0, 3, 52, 'dev'): "0.3.52.dev".
  static const std::regex line(
      R"(^__version__\s*=\s*\(\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)\s*(?:,\s*'([^']*)'\s*)?\))");
  std::smatch m;
  for (std::string l; std::getline(in, l);)
    if (std::regex_search(l, m, line))
      return fmt::format("{}.{}.{}{}", m[1].str(), m[2].str(), m[3].str(),
                         m[4].matched ? "." + m[4].str() : "");
  return "";
}

library_versions collect_library_versions() {
  library_versions v;
  v.boost = fmt::format("{}.{}.{}", BOOST_VERSION / 100000, BOOST_VERSION / 100 % 1000,
                        BOOST_VERSION % 100);
  v.fmt = fmt::format("{}.{}.{}", FMT_VERSION / 10000, FMT_VERSION / 100 % 100, FMT_VERSION % 100);
  v.spdlog = fmt::format("{}.{}.{}", SPDLOG_VER_MAJOR, SPDLOG_VER_MINOR, SPDLOG_VER_PATCH);
  v.nlohmann_json = fmt::format("{}.{}.{}", NLOHMANN_JSON_VERSION_MAJOR,
                                NLOHMANN_JSON_VERSION_MINOR, NLOHMANN_JSON_VERSION_PATCH);
  v.tomlplusplus = fmt::format("{}.{}.{}", TOML_LIB_MAJOR, TOML_LIB_MINOR, TOML_LIB_PATCH);
  v.cli11 = CLI11_VERSION;
  v.python3_mitogen = mitogen_version("/usr/lib/python3/dist-packages/mitogen/__init__.py");
  return v;
}

}  // namespace faultmux::reports
