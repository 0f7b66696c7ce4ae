#include "harness/report_command.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <system_error>

#include <fmt/format.h>

#include "reports/html.hpp"

namespace faultmux {
namespace fs = std::filesystem;

int run_report(const report_options& o) {
  std::vector<nlohmann::json> runs;
  for (const auto& f : o.files) {
    std::string why;
    auto doc = reports::load_results(f, &why);
    if (!doc) {
      std::fprintf(stderr, "faultmux report: %s\n", why.c_str());
      return 2;
    }
    runs.push_back(std::move(*doc));
  }
  if (std::string err = reports::write_html(runs, o.out_dir); !err.empty()) {
    std::fprintf(stderr, "faultmux report: %s\n", err.c_str());
    return 2;
  }
  std::printf("%s\n", (fs::path(o.out_dir) / "index.html").c_str());
  return 0;
}

namespace {

// A file name from run.started ("2026-11-26T21:30:05Z"): ISO 8601 sorts in
// time order; anything unexpected becomes '-'.
std::string history_name(const std::string& started) {
  std::string n;
  for (char ch : started)
    n += (std::isalnum(static_cast<unsigned char>(ch)) || ch == '-' || ch == '.' || ch == ':')
             ? ch
             : '-';
  return n.empty() ? "unknown" : n;
}

}  // namespace

std::string render_with_history(const std::string& latest_dir, const std::string& history_dir,
                                std::size_t keep, std::string* index_path) {
  const fs::path latest = fs::path(latest_dir) / "results.json";
  std::string why;
  auto doc = reports::load_results(latest, &why);
  if (!doc) return why;
  std::error_code ec;
  fs::create_directories(history_dir, ec);
  if (ec) return fmt::format("cannot create {}: {}", history_dir, ec.message());
  const nlohmann::json& started_j = (*doc)["run"]["started"];
  std::string started = started_j.is_string() ? started_j.get<std::string>() : "";
  fs::path copy = fs::path(history_dir) / (history_name(started) + ".json");
  // Two runs started in the same second keep both.
  for (int i = 2; fs::exists(copy, ec); ++i)
    copy = fs::path(history_dir) / fmt::format("{}-{}.json", history_name(started), i);
  fs::copy_file(latest, copy, ec);
  if (ec)
    return fmt::format("cannot copy {} to {}: {}", latest.string(), copy.string(), ec.message());

  std::vector<fs::path> files;
  for (const auto& d : fs::directory_iterator(history_dir, ec))
    if (d.path().extension() == ".json") files.push_back(d.path());
  std::sort(files.begin(), files.end());
  if (files.size() > keep) files.erase(files.begin(), files.end() - static_cast<long>(keep));
  std::vector<nlohmann::json> runs;
  for (const auto& f : files) {
    // A damaged old copy costs its own history entry, not the report.
    if (auto r = reports::load_results(f, &why))
      runs.push_back(std::move(*r));
    else
      std::fprintf(stderr, "faultmux: history: skipping %s\n", why.c_str());
  }
  if (std::string err = reports::write_html(runs, latest_dir); !err.empty()) return err;
  if (index_path) *index_path = (fs::path(latest_dir) / "index.html").string();
  return "";
}

}  // namespace faultmux
