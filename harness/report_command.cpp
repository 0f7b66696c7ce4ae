#include "harness/report_command.hpp"
#include "harness/explore/certificate.hpp"
#include "reports/explore_html.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <system_error>

#include <fmt/format.h>

#include "reports/html.hpp"

namespace faultmux {
namespace fs = std::filesystem;

namespace {

std::string started_of(const nlohmann::json& doc) {
  const auto& run = doc["run"];
  return run.contains("started") && run["started"].is_string() ? run["started"].get<std::string>()
                                                               : std::string();
}

// Gathers runs for the page: the newest (by run.started; the later one of a
// tie) in full, the others cut to what the history needs, so memory holds
// one full document at a time.
class run_set {
 public:
  void add(nlohmann::json doc) {
    if (!newest_) {
      newest_ = std::move(doc);
    } else if (started_of(doc) >= started_of(*newest_)) {
      older_.push_back(reports::history_only(*newest_));
      newest_ = std::move(doc);
    } else {
      older_.push_back(reports::history_only(doc));
    }
  }
  std::vector<nlohmann::json> take() {
    std::vector<nlohmann::json> all = std::move(older_);
    if (newest_) all.push_back(std::move(*newest_));
    return all;
  }

 private:
  std::optional<nlohmann::json> newest_;
  std::vector<nlohmann::json> older_;
};

}  // namespace

namespace {

// Explorations' documents (the shards of one) merged into one: its
// explore-SCENARIO.json and junit.xml in out_dir, the certificate printed.
int merge_explore_shards(const std::vector<nlohmann::json>& docs, const std::string& out_dir) {
  std::string why;
  nlohmann::json merged = merge_explorations(docs, &why);
  if (!why.empty()) {
    std::fprintf(stderr, "faultmux report: %s\n", why.c_str());
    return 2;
  }
  std::error_code ec;
  fs::create_directories(out_dir, ec);
  const std::string name = merged.value("scenario", std::string("scenario"));
  const fs::path json_path = fs::path(out_dir) / ("explore-" + name + ".json");
  std::ofstream(json_path) << merged.dump(2) << "\n";
  std::ofstream(fs::path(out_dir) / ("explore-" + name + ".junit.xml")) << explore_junit(merged);
  std::ofstream(fs::path(out_dir) / ("explore-" + name + ".html"))
      << reports::render_explore_html(merged);
  if (!std::ifstream(json_path)) {
    std::fprintf(stderr, "faultmux report: cannot write %s\n", json_path.c_str());
    return 2;
  }
  std::printf("%s\n%s\n", certificate_line(merged).c_str(), json_path.c_str());
  return 0;
}

}  // namespace

int run_report(const report_options& o) {
  // Shards of an exploration are merged; results.json documents rendered.
  std::vector<nlohmann::json> explorations;
  for (const auto& f : o.files) {
    std::error_code ec;
    if (!fs::is_regular_file(f, ec)) continue;  // named below, as results.json is
    std::ifstream in(f);
    try {
      auto doc = nlohmann::json::parse(in, nullptr, false);
      if (is_explore_document(doc)) explorations.push_back(std::move(doc));
    } catch (const std::exception&) {
      // Unreadable: load_results below says why.
    }
  }
  if (!explorations.empty()) {
    if (explorations.size() != o.files.size()) {
      std::fprintf(stderr,
                   "faultmux report: give either explore-*.json shards (merged) or results.json "
                   "files (rendered), not both\n");
      return 2;
    }
    return merge_explore_shards(explorations, o.out_dir);
  }
  run_set set;
  for (const auto& f : o.files) {
    std::string why;
    auto doc = reports::load_results(f, &why);
    if (!doc) {
      std::fprintf(stderr, "faultmux report: %s\n", why.c_str());
      return 2;
    }
    set.add(std::move(*doc));
  }
  std::vector<nlohmann::json> runs = set.take();
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

namespace {

// Copies what the history shows of `doc` into history_dir as
// <run.started>.json (a suite's results.json runs to megabytes); "" or what
// failed, *copy set to the file written.
std::string copy_to_history(const nlohmann::json& doc, const std::string& history_dir,
                            fs::path* copy) {
  std::error_code ec;
  fs::create_directories(history_dir, ec);
  if (ec) return fmt::format("cannot create {}: {}", history_dir, ec.message());
  const std::string name = history_name(started_of(doc));
  *copy = fs::path(history_dir) / (name + ".json");
  // Two runs started in the same second keep both.
  for (int i = 2; fs::exists(*copy, ec); ++i)
    *copy = fs::path(history_dir) / fmt::format("{}-{}.json", name, i);
  std::ofstream(*copy) << reports::history_only(doc).dump();
  if (!fs::exists(*copy, ec)) return fmt::format("cannot write {}", copy->string());
  return "";
}

// The newest `keep` files of history_dir, oldest first; older ones are
// removed, so the directory stays bounded.
std::vector<fs::path> prune_history(const std::string& history_dir, std::size_t keep) {
  std::error_code ec;
  std::vector<fs::path> files;
  for (const auto& d : fs::directory_iterator(history_dir, ec))
    if (d.path().extension() == ".json") files.push_back(d.path());
  std::sort(files.begin(), files.end());
  while (files.size() > keep) {
    fs::remove(files.front(), ec);
    files.erase(files.begin());
  }
  return files;
}

}  // namespace

std::string render_with_history(const std::string& latest_dir, const std::string& history_dir,
                                std::size_t keep, std::string* index_path) {
  const fs::path latest = fs::path(latest_dir) / "results.json";
  std::string why;
  auto doc = reports::load_results(latest, &why);
  if (!doc) return why;
  fs::path copy;
  if (std::string err = copy_to_history(*doc, history_dir, &copy); !err.empty()) return err;
  run_set set;
  for (const auto& f : prune_history(history_dir, keep)) {
    if (f == copy) continue;  // this run goes in whole, below
    // A damaged old copy costs its own history entry, not the report.
    if (auto r = reports::load_results(f, &why))
      set.add(std::move(*r));
    else
      std::fprintf(stderr, "faultmux: history: skipping %s\n", why.c_str());
  }
  set.add(std::move(*doc));
  std::vector<nlohmann::json> runs = set.take();
  if (std::string err = reports::write_html(runs, latest_dir); !err.empty()) return err;
  if (index_path) *index_path = (fs::path(latest_dir) / "index.html").string();
  return "";
}

}  // namespace faultmux
