#include "harness/bundle.hpp"

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include <fmt/format.h>

#include "reports/bug_summary.hpp"
#include "reports/html.hpp"

namespace faultmux {
namespace {

namespace fs = std::filesystem;

// Copies each scenario file the run's entries name into dir/scenarios/,
// returning each original path's name in the bundle ("scenarios/x.toml").
std::string copy_scenarios(const nlohmann::json& doc, const fs::path& dir,
                           std::map<std::string, std::string>* in_bundle) {
  std::error_code ec;
  fs::create_directories(dir / "scenarios", ec);
  if (ec) return fmt::format("cannot create {}: {}", (dir / "scenarios").string(), ec.message());
  std::set<std::string> taken;
  for (const auto& e : doc["scenarios"]) {
    const std::string file = e.value("file", std::string());
    if (file.empty() || in_bundle->count(file)) continue;
    // Two files of one name from two directories stay apart.
    std::string name = fs::path(file).filename().string();
    for (int i = 2; !taken.insert(name).second; ++i)
      name = fmt::format("{}-{}{}", fs::path(file).stem().string(), i,
                         fs::path(file).extension().string());
    fs::copy_file(file, dir / "scenarios" / name, fs::copy_options::overwrite_existing, ec);
    if (ec) return fmt::format("cannot copy {}: {}", file, ec.message());
    (*in_bundle)[file] = "scenarios/" + name;
  }
  return "";
}

std::string join_command(const std::vector<std::string>& words) {
  std::string out;
  for (const auto& w : words) out += (out.empty() ? "" : " ") + sh_quote(w);
  return out;
}

// One entry's own command, on the bundle's copy of its file.
std::string entry_rerun(const nlohmann::json& e, const std::string& file, const driver_options& d) {
  std::vector<std::string> words = {"faultmux", "run", file, "--seed",
                                    std::to_string(e.value("seed", std::uint64_t{0}))};
  if (e.value("target", std::string()) == "mitogen") {
    words.insert(words.end(), {"--target", "mitogen"});
    if (!d.mitogen_src.empty())
      words.insert(words.end(), {"--mitogen-src", fs::absolute(d.mitogen_src).string()});
  }
  for (const auto& b : e.value("legacy_bugs", nlohmann::json::array()))
    if (b.is_string()) words.insert(words.end(), {"--legacy-bug", b.get<std::string>()});
  return join_command(words);
}

std::string write_text(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  if (!out.flush()) return fmt::format("cannot write {}", path.string());
  return "";
}

}  // namespace

std::string sh_quote(const std::string& word) {
  if (!word.empty() && word.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                              "0123456789-_./=:,+@%") == std::string::npos)
    return word;
  std::string out = "'";
  for (char c : word) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::vector<std::string> rerun_options(const driver_options& d) {
  std::vector<std::string> out;
  if (d.seed) out.insert(out.end(), {"--seed", std::to_string(*d.seed)});
  if (d.target != "builtin") out.insert(out.end(), {"--target", d.target});
  if (!d.mitogen_src.empty())
    out.insert(out.end(), {"--mitogen-src", fs::absolute(d.mitogen_src).string()});
  for (const auto& b : d.legacy_bugs) out.insert(out.end(), {"--legacy-bug", b});
  if (d.with_mitogen) out.push_back("--with-mitogen");
  if (d.repeat > 1) out.insert(out.end(), {"--repeat", std::to_string(d.repeat)});
  return out;
}

std::string write_bundle(const driver_options& d, const std::string& dir) {
  const fs::path from = d.report_dir, to = dir;
  std::string why;
  auto doc = reports::load_results((from / "results.json").string(), &why);
  if (!doc) return why;
  std::error_code ec;
  if (!fs::equivalent(from, to, ec)) {
    fs::create_directories(to, ec);
    for (const char* f : {"results.json", "junit.xml", "index.html"}) {
      fs::copy_file(from / f, to / f, fs::copy_options::overwrite_existing, ec);
      if (ec) return fmt::format("cannot copy {}: {}", (from / f).string(), ec.message());
    }
  }
  std::map<std::string, std::string> in_bundle;
  if (std::string err = copy_scenarios(*doc, to, &in_bundle); !err.empty()) return err;

  // The whole run again, from the bundle's copies: the files that ran (not
  // --filter), each with its own seed unless --seed gave one.
  std::vector<std::string> run = {"faultmux", "run"};
  std::set<std::string> listed;
  for (const auto& e : (*doc)["scenarios"])
    if (auto it = in_bundle.find(e.value("file", std::string()));
        it != in_bundle.end() && listed.insert(it->second).second)
      run.push_back(it->second);
  for (auto& w : rerun_options(d)) run.push_back(std::move(w));
  const std::string rerun_all = join_command(run);
  run.erase(run.begin());  // "faultmux": the script's $FAULTMUX
  const std::string script = fmt::format(
      "#!/bin/sh\n# Reruns the run this bundle reports, exactly (seeds, target, legacy bugs),\n"
      "# from the scenario files beside it. FAULTMUX names the faultmux to run.\n"
      "cd \"$(dirname \"$0\")\" || exit 2\nexec \"${{FAULTMUX:-faultmux}}\" {} \"$@\"\n",
      join_command(run));
  if (std::string err = write_text(to / "rerun.sh", script); !err.empty()) return err;
  ::chmod((to / "rerun.sh").c_str(), 0755);

  for (auto& e : (*doc)["scenarios"])
    if (auto it = in_bundle.find(e.value("file", std::string())); it != in_bundle.end()) {
      e["rerun"] = entry_rerun(e, it->second, d);
      e["file"] = it->second;
    }
  return write_text(to / "summary.md", reports::bug_summary_markdown(*doc, rerun_all));
}

}  // namespace faultmux
