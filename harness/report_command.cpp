#include "harness/report_command.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <system_error>

#include <fmt/format.h>

#include "harness/explore/certificate.hpp"
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

// The run of merged shards: the first shard's (its host and command), from
// the earliest start and as long as the longest shard; older exploration
// documents have none, and get this report's own.
reports::run_info merged_run(const std::vector<nlohmann::json>& docs, const report_options& o) {
  reports::run_info run;
  bool found = false;
  for (const auto& d : docs) {
    if (!d.contains("run") || !d["run"].is_object()) continue;
    reports::run_info r;
    try {
      r = reports::run_info_from_json(d["run"]);
    } catch (const nlohmann::json::exception&) {
      continue;  // a field of the wrong type: that shard's run is not carried on
    }
    if (!found) {
      run = r;
      found = true;
      continue;
    }
    if (!r.started.empty() && r.started < run.started) run.started = r.started;
    run.duration_s = std::max(run.duration_s, r.duration_s);
    if (run.seed != r.seed) run.seed.reset();
  }
  if (!found) {
    run.command_line = o.command_line;
    run.started = reports::utc_now();
    run.host = reports::collect_host_info();
  }
  return run;
}

// The explorations in `docs` (results.json of `faultmux explore`, or older
// explore-SCENARIO.json documents), the shards of each scenario merged into
// one: out_dir/results.json with their explore section, and each one's
// junit.xml and page; each certificate printed.
int merge_explore_shards(const std::vector<nlohmann::json>& docs, const report_options& o) {
  std::vector<std::string> order;
  std::map<std::string, std::vector<nlohmann::json>> by_scenario;
  for (const auto& d : docs)
    for (auto& e : explorations_in(d)) {
      const std::string name = e.value("scenario", std::string());
      if (!by_scenario.count(name)) order.push_back(name);
      by_scenario[name].push_back(std::move(e));
    }
  reports::results merged;
  merged.run = merged_run(docs, o);
  for (const auto& name : order) {
    std::string why;
    nlohmann::json m = merge_explorations(by_scenario[name], &why);
    if (!why.empty()) {
      std::fprintf(stderr, "faultmux report: %s\n", why.c_str());
      return 2;
    }
    merged.explore.push_back(std::move(m));
  }
  if (std::string err = write_explore_reports(merged, o.out_dir); !err.empty()) {
    std::fprintf(stderr, "faultmux report: %s\n", err.c_str());
    return 2;
  }
  for (const auto& e : merged.explore) std::printf("%s\n", certificate_line(e).c_str());
  std::printf("%s\n", (fs::path(o.out_dir) / "results.json").c_str());
  return 0;
}

}  // namespace

int run_report(const report_options& o) {
  // Explorations' shards are merged; results.json documents of runs rendered.
  std::vector<nlohmann::json> explorations;
  for (const auto& f : o.files) {
    std::error_code ec;
    if (!fs::is_regular_file(f, ec)) continue;  // named below, as results.json is
    std::ifstream in(f);
    try {
      auto doc = nlohmann::json::parse(in, nullptr, false);
      if (!explorations_in(doc).empty()) explorations.push_back(std::move(doc));
    } catch (const std::exception&) {
      // Unreadable: load_results below says why.
    }
  }
  if (!explorations.empty()) {
    if (explorations.size() != o.files.size()) {
      std::fprintf(stderr,
                   "faultmux report: give either the shards of explorations (results.json of "
                   "faultmux explore, or explore-*.json), merged, or results.json files of runs, "
                   "rendered; not both\n");
      return 2;
    }
    return merge_explore_shards(explorations, o);
  }
  run_set set;
  std::vector<nlohmann::json> merged;  // --merge: every run in full, in the order given
  for (const auto& f : o.files) {
    std::string why;
    auto doc = reports::load_results(f, &why);
    if (!doc) {
      std::fprintf(stderr, "faultmux report: %s\n", why.c_str());
      return 2;
    }
    if (o.merge)
      merged.push_back(std::move(*doc));
    else
      set.add(std::move(*doc));
  }
  std::vector<nlohmann::json> runs =
      o.merge ? std::vector<nlohmann::json>{reports::merge_runs(merged)} : set.take();
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
