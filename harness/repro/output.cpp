#include "harness/repro/output.hpp"

#include <cstdio>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>

namespace faultmux::repro {

std::string scenario_name(const signature& sig) {
  std::string cls = sig.hits.empty() ? "failure" : sig.hits.front().cls;
  for (const auto& h : sig.hits)
    if (h.from == side::mux && h.cls.rfind("other", 0) != 0) {
      cls = h.cls;
      break;
    }
  std::string out = "repro-";
  for (char c : cls)
    if (std::isalnum(static_cast<unsigned char>(c)))
      out += static_cast<char>(std::tolower(c));
    else if (out.back() != '-')
      out += '-';
  while (out.back() == '-') out.pop_back();
  return out;
}

std::string origin_of(const signature& sig, int reproduced, int runs) {
  std::string files;
  for (const auto& s : sig.sources) files += (files.empty() ? "" : ", ") + s;
  return fmt::format("faultmux repro from {}: reproduced {}/{}", files, reproduced, runs);
}

std::string write_scenario(const toml::table& t, const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::path(path).has_parent_path()) fs::create_directories(fs::path(path).parent_path(), ec);
  std::ofstream out(path);
  out << t << "\n";
  out.close();
  return out ? "" : fmt::format("cannot write {}", path);
}

void print_best(const search_result& r) {
  if (r.best.empty()) {
    std::printf("  no candidate ran\n");
    return;
  }
  std::printf("  closest candidates:\n");
  for (const auto& b : r.best) {
    std::printf("    %d/%d  %s\n", b.reproduced, b.runs, b.c.what().c_str());
    if (!b.missing.empty()) {
      std::string miss;
      for (const auto& m : b.missing) miss += (miss.empty() ? "" : "; ") + m;
      std::printf("          its first run showed %.0f%% of the signature; missing: %s\n",
                  b.closeness * 100, miss.c_str());
    }
  }
}

}  // namespace faultmux::repro
