#include "harness/shrink.hpp"

#include <stdlib.h>

#include <cerrno>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <toml++/toml.h>

#include "harness/driver.hpp"
#include "harness/scenario.hpp"

namespace faultmux {
namespace {

namespace fs = std::filesystem;

std::string toml_text(const toml::table& t) {
  std::ostringstream out;
  out << t << "\n";
  return out.str();
}

class shrinker {
 public:
  shrinker(const shrink_options& o, std::uint64_t seed, std::string tmp)
      : o_(o), seed_(seed), tmp_(std::move(tmp)) {
    d_.self = o.self;
    d_.verbosity = o.verbosity;
    d_.target = o.target;
    d_.mitogen_src = o.mitogen_src;
    d_.legacy_bugs = o.legacy_bugs;
  }

  int runs() const { return runs_; }
  const driver_options& options() const { return d_; }
  bool out_of_runs() const { return runs_ >= o_.max_runs; }
  bool interrupted() const { return interrupted_; }
  // The last run's verdict and why it did not pass ("" when it did).
  verdict last() const { return last_; }
  const std::string& last_why() const { return why_; }

  // Runs a candidate from its own file, as `faultmux run` would read it.
  // A candidate that does not load (the smaller value breaks a constraint
  // of the loader) does not fail the way the original did, and costs no run.
  // With differential() on, a candidate that fails must also pass without
  // the legacy bugs, so that what is kept is still the bug's failure.
  bool fails(const toml::table& candidate, const std::string& what) {
    if (out_of_runs() || interrupted_) return false;
    std::string path = fmt::format("{}/candidate-{}.toml", tmp_, runs_ + 1);
    std::ofstream(path) << toml_text(candidate);
    scenario s;
    try {
      s = load_scenario(path);
    } catch (const scenario_error& e) {
      std::printf("shrink: skip %s: %s\n", what.c_str(), e.what());
      std::fflush(stdout);
      return false;
    }
    if (judge(s, d_, what) != verdict::fail) return false;
    if (!same_failure()) {
      std::printf("shrink: %s fails otherwise (%s), not kept\n", what.c_str(), why_.c_str());
      std::fflush(stdout);
      return false;
    }
    if (!differential_) return true;
    driver_options without = d_;
    without.legacy_bugs.clear();
    const verdict control = judge(s, without, what + ", without the legacy bugs");
    return control == verdict::pass || control == verdict::not_applicable;
  }

  // Whether the scenario as given passes without the legacy bugs: then every
  // candidate must too (see fails()). No legacy bugs: false, at no cost.
  bool passes_without_bugs(const toml::table& given) {
    if (o_.legacy_bugs.empty()) return false;
    std::string path = fmt::format("{}/given.toml", tmp_);
    std::ofstream(path) << toml_text(given);
    driver_options without = d_;
    without.legacy_bugs.clear();
    const verdict v = judge(load_scenario(path), without, "as given, without the legacy bugs");
    return v == verdict::pass || v == verdict::not_applicable;
  }
  void set_differential(bool on) { differential_ = on; }

 private:
  // Whether the last run failed as the first one did: one of the oracles
  // that failed first fails again. A fault that no longer fires ("faults
  // fired") is not that failure: a candidate that removed what the fault
  // lands on fails only for that, and would shrink to nothing.
  bool same_failure() {
    if (first_failures_.empty()) {
      first_failures_ = failures_;
      return true;
    }
    for (const auto& f : failures_)
      if (f != "faults fired" && first_failures_.count(f)) return true;
    return failures_ == first_failures_;
  }

  // One run of `s` under `d`: its verdict, printed with why it did not pass.
  // Only a judged failure counts: a candidate that could not be run (its
  // setup failed) says nothing about the failure being shrunk, and keeping
  // it would converge on a broken scenario.
  verdict judge(const scenario& s, const driver_options& d, const std::string& what) {
    ++runs_;
    scenario_result r = run_scenario(s, seed_, d);
    if (r.interrupted) interrupted_ = true;
    last_ = verdict_of(r);
    why_.clear();
    failures_.clear();
    for (const auto& o : r.oracles)
      if (o.v == verdict::fail) failures_.insert(o.name);
    if (is_failure(last_))
      if (const oracle_result* f = first_failure(r.oracles))
        why_ = f->name + (f->evidence.empty() ? "" : ": " + f->evidence.front());
    std::printf("shrink run %d/%d: %s: %s (%.1f s)%s\n", runs_, o_.max_runs, what.c_str(),
                r.interrupted             ? "interrupted"
                : last_ == verdict::error ? "could not run"
                : last_ == verdict::fail  ? "fails"
                                          : "passes",
                r.seconds, why_.empty() ? "" : (": " + why_).c_str());
    std::fflush(stdout);
    return r.interrupted ? verdict::error : last_;
  }

  const shrink_options& o_;
  std::uint64_t seed_;
  std::string tmp_;
  driver_options d_;
  int runs_ = 0;
  bool interrupted_ = false;
  bool differential_ = false;
  verdict last_ = verdict::pass;
  std::string why_;
  std::set<std::string> failures_;        // the failing oracles of the last run
  std::set<std::string> first_failures_;  // of the first run that failed: what is shrunk
};

// The scenario being shrunk, and which of the given [[faults]] are left
// (numbered from 1 as written), so the log and the description name a
// fault by the number it had in the given file.
struct shrink_state {
  toml::table table;
  std::vector<int> faults;
};

std::string fault_label(const toml::node& n) {
  const toml::table* f = n.as_table();
  if (!f) return "";
  if (auto rule = (*f)["rule"].value<std::string>()) return " (" + *rule + ")";
  if (auto sig = (*f)["signal"].value<std::string>()) return " (" + *sig + ")";
  if (auto kind = (*f)["kind"].value<std::string>()) return " (" + *kind + ")";
  return "";
}

// Drops each [[faults]] entry in turn, keeping the drop when it still fails.
bool drop_faults(shrink_state& cur, shrinker& sh) {
  bool kept = false;
  std::size_t i = 0;
  while (true) {
    const toml::array* faults = cur.table["faults"].as_array();
    if (!faults || i >= faults->size() || sh.out_of_runs() || sh.interrupted()) return kept;
    toml::table cand = cur.table;
    toml::array& arr = *cand["faults"].as_array();
    const int number = i < cur.faults.size() ? cur.faults[i] : static_cast<int>(i) + 1;
    std::string what = fmt::format("without fault #{}{}", number, fault_label(arr[i]));
    arr.erase(arr.begin() + static_cast<std::ptrdiff_t>(i));
    // No faults at all is written as no [[faults]], not an empty array.
    if (arr.empty()) cand.erase("faults");
    if (sh.fails(cand, what)) {
      cur.table = std::move(cand);  // the next entry moved into slot i
      if (i < cur.faults.size()) cur.faults.erase(cur.faults.begin() + i);
      kept = true;
    } else {
      ++i;
    }
  }
}

// Halves the integer `key` of the table `at` (within `cur`) while the
// scenario still fails; `where` names it in the log.
bool halve(toml::table& cur, const std::function<toml::table*(toml::table&)>& at, const char* key,
           const std::string& where, shrinker& sh) {
  bool kept = false;
  while (!sh.out_of_runs() && !sh.interrupted()) {
    auto value = (*at(cur))[key].value<std::int64_t>();
    if (!value || *value <= 1) return kept;
    const std::int64_t half = *value / 2;
    toml::table cand = cur;
    at(cand)->insert_or_assign(key, half);
    if (!sh.fails(cand, fmt::format("{}: {} {} -> {}", where, key, *value, half))) return kept;
    cur = std::move(cand);
    kept = true;
  }
  return kept;
}

// Halves `key` of every [[workers]] group in turn.
bool halve_groups(shrink_state& cur, const char* key, shrinker& sh) {
  bool kept = false;
  // Each kept halving replaces the table, so the group is looked up afresh.
  for (std::size_t g = 0;; ++g) {
    const toml::array* groups = cur.table["workers"].as_array();
    if (!groups || g >= groups->size()) return kept;
    const toml::table* group = groups->get(g)->as_table();
    if (!group) continue;
    auto at = [g](toml::table& t) { return t["workers"].as_array()->get(g)->as_table(); };
    kept |= halve(cur.table, at, key, "workers " + (*group)["name"].value_or(std::string("?")), sh);
  }
}

// The target's settings: a smaller backlog (with fewer workers a backlog
// problem needs a smaller queue to show), and each limit back to its
// default, which a report need not explain.
bool shrink_target(shrink_state& cur, shrinker& sh) {
  if (!cur.table["target"].as_table()) return false;
  auto at = [](toml::table& t) { return t["target"].as_table(); };
  bool kept = halve(cur.table, at, "backlog", "target", sh);
  for (const char* key :
       {"max_message_size", "output_cap", "handshake_timeout_ms", "shutdown_grace_ms"}) {
    if (sh.out_of_runs() || sh.interrupted()) break;
    if (!at(cur.table)->contains(key)) continue;
    toml::table cand = cur.table;
    at(cand)->erase(key);
    if (!sh.fails(cand, fmt::format("target: {} as default", key))) continue;
    cur.table = std::move(cand);
    kept = true;
  }
  return kept;
}

// Rounds over every dimension until one keeps nothing: a smaller backlog
// may let fewer workers fail, fewer workers a fault go.
void shrink_all(shrink_state& cur, shrinker& sh) {
  bool kept = true;
  while (kept && !sh.out_of_runs() && !sh.interrupted()) {
    kept = drop_faults(cur, sh);
    kept |= halve_groups(cur, "count", sh);
    kept |= shrink_target(cur, sh);
    kept |= halve_groups(cur, "messages", sh);
    kept |= halve_groups(cur, "size", sh);
  }
}

}  // namespace

namespace {

std::string fault_text(const fault_spec& f) {
  switch (f.kind) {
    case fault_spec::kind_t::syscall:
      return f.rule;
    case fault_spec::kind_t::signal:
      return f.signal + (f.process == "mux" ? "" : " to " + f.process);
    case fault_spec::kind_t::nofile:
      return fmt::format("fd limit {}", f.limit);
    case fault_spec::kind_t::context:
      return "context " + f.context + " " + (f.behave.empty() ? f.fault_at : f.behave);
  }
  return "";
}

template <typename T>
std::string was(const T& now, const T& before) {
  return now == before ? "" : fmt::format(" (was {})", before);
}

std::string groups_text(const scenario& given, const scenario& now) {
  std::string out;
  for (const auto& g : now.workers) {
    const worker_group* w = nullptr;
    for (const auto& x : given.workers)
      if (x.name == g.name) w = &x;
    if (!w) w = &g;
    out += fmt::format("{}{} worker{} of group {}{}", out.empty() ? "" : ", ", g.count,
                       g.count == 1 ? "" : "s", g.name, was(g.count, w->count));
    if (g.messages != w->messages)
      out += fmt::format(", {} message{}{}", g.messages, g.messages == 1 ? "" : "s",
                         was(g.messages, w->messages));
    if (g.size != w->size)
      out +=
          fmt::format(", {} byte{} each{}", g.size, g.size == 1 ? "" : "s", was(g.size, w->size));
  }
  return out;
}

std::string faults_text(const scenario& given, const scenario& now, const std::vector<int>& kept) {
  if (given.faults.empty()) return "";
  if (now.faults.empty()) return fmt::format("none of its {} faults", given.faults.size());
  std::string out = kept.size() == 1 ? "fault " : "faults ";
  for (std::size_t i = 0; i < now.faults.size(); ++i) {
    const int number = i < kept.size() ? kept[i] : static_cast<int>(i) + 1;
    out += fmt::format("{}#{} ({})", i ? ", " : "", number, fault_text(now.faults[i]));
  }
  return out + fmt::format(" of {}", given.faults.size());
}

std::string target_text(const target_spec& given, const target_spec& now) {
  std::string out;
  auto add = [&](const char* key, auto n, auto g) {
    if (n != g) out += fmt::format("{}{} {} (was {})", out.empty() ? "" : ", ", key, n, g);
  };
  add("backlog", now.backlog, given.backlog);
  add("max_message_size", now.max_message_size, given.max_message_size);
  add("output_cap", now.output_cap, given.output_cap);
  add("handshake_timeout_ms", now.handshake_timeout_ms, given.handshake_timeout_ms);
  add("shutdown_grace_ms", now.shutdown_grace_ms, given.shutdown_grace_ms);
  return out;
}

}  // namespace

std::string shrunk_description(const scenario& given, const scenario& now,
                               const std::vector<int>& kept_faults) {
  std::string out = groups_text(given, now);
  for (const std::string& part :
       {faults_text(given, now, kept_faults), target_text(given.target, now.target)})
    if (!part.empty()) out += "; " + part;
  return out + fmt::format(" (shrunk from {}: {})", given.name, given.description);
}

std::string shrunk_name(const std::string& name) {
  return name.ends_with("-shrunk") ? name : name + "-shrunk";
}

namespace {

// Names and describes the shrunk scenario as what it now is, writes it
// beside the given file (or to --out), and prints it with its rerun command.
int write_shrunk(const shrink_options& o, const scenario& original, shrink_state& st,
                 std::uint64_t seed, const shrinker& sh) {
  const std::string name = shrunk_name(original.name);
  std::string out = o.out;
  if (out.empty()) out = (fs::path(o.file).parent_path() / (name + ".toml")).string();
  try {
    const scenario now = parse_scenario(toml_text(st.table), out);
    st.table.insert_or_assign("name", name);
    st.table.insert_or_assign("description", shrunk_description(original, now, st.faults));
  } catch (const scenario_error& e) {
    std::fprintf(stderr, "faultmux shrink: %s\n", e.what());  // every kept candidate loaded
    return 2;
  }
  std::string text = toml_text(st.table);
  {
    std::ofstream f(out);
    f << text;
    if (!f.flush()) {
      std::fprintf(stderr, "faultmux shrink: cannot write %s: %s\n", out.c_str(),
                   std::strerror(errno));
      return 2;
    }
  }
  std::printf("\n%s\n", text.c_str());
  std::printf("shrunk in %d runs, written to %s\nrerun: %s\n", sh.runs(), out.c_str(),
              rerun_command(out, seed, sh.options()).c_str());
  std::fflush(stdout);
  return 0;
}

}  // namespace

int run_shrink(const shrink_options& o) {
  // o.legacy_bugs were checked by the command line (harness/cli/legacy_bug_option).
  // The strict loader first, so a bad file is reported as `faultmux
  // validate` would; the table is what gets edited, so every key not shrunk
  // is written back as the user wrote it.
  scenario original;
  toml::table cur;
  try {
    original = load_scenario(o.file);
    cur = toml::parse_file(o.file);
  } catch (const scenario_error& e) {
    std::fprintf(stderr, "faultmux shrink: %s\n", e.what());
    return 2;
  } catch (const toml::parse_error& e) {
    std::fprintf(stderr, "faultmux shrink: %s: %s\n", o.file.c_str(), e.what());
    return 2;
  }
  const std::uint64_t seed = o.seed.value_or(original.seed);

  std::string tmpl = (fs::temp_directory_path() / "faultmux-shrink-XXXXXX").string();
  if (!::mkdtemp(tmpl.data())) {
    std::fprintf(stderr, "faultmux shrink: cannot make a temporary directory: %s\n",
                 std::strerror(errno));
    return 2;
  }
  const std::string tmp = tmpl;
  struct cleanup {
    std::string dir;
    ~cleanup() {
      std::error_code ec;
      fs::remove_all(dir, ec);
    }
  } cleanup_tmp{tmp};

  shrinker sh(o, seed, tmp);
  if (!sh.fails(cur, "as given")) {
    if (sh.interrupted()) return 130;
    if (sh.last() == verdict::error) {
      std::fprintf(stderr, "faultmux shrink: %s could not be run with seed %llu: %s\n",
                   o.file.c_str(), static_cast<unsigned long long>(seed), sh.last_why().c_str());
      return 2;
    }
    std::fprintf(stderr, "faultmux shrink: %s passes with seed %llu: nothing to shrink\n",
                 o.file.c_str(), static_cast<unsigned long long>(seed));
    return 2;
  }
  // A failure that is the legacy bugs' (the scenario passes without them)
  // shrinks to a scenario that still tells the two muxes apart.
  if (sh.passes_without_bugs(cur)) {
    std::printf(
        "shrink: the scenario passes without the legacy bugs: every smaller one must too\n");
    sh.set_differential(true);
  }
  if (sh.interrupted()) return 130;
  shrink_state st{std::move(cur), {}};
  for (int i = 1; i <= static_cast<int>(original.faults.size()); ++i) st.faults.push_back(i);
  shrink_all(st, sh);
  if (sh.interrupted()) return 130;
  if (sh.out_of_runs())
    std::printf("shrink: stopped after %d runs; the scenario may shrink further\n", sh.runs());

  return write_shrunk(o, original, st, seed, sh);
}

}  // namespace faultmux
