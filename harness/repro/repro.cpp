#include "harness/repro/repro.hpp"

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <sstream>

#include <fmt/format.h>

#include "harness/driver.hpp"
#include "harness/repro/acceptance.hpp"
#include "harness/repro/base_scenario.hpp"
#include "harness/repro/output.hpp"
#include "harness/repro/search.hpp"
#include "harness/repro/signature.hpp"
#include "harness/shrink.hpp"

namespace faultmux::repro {
namespace {

namespace fs = std::filesystem;

// Reads each file into `sig`, saying which kind each was taken as; false
// (and why on stderr) for a file that is empty or of no kind.
bool read_all(const std::vector<std::string>& files, signature& sig, const char* what) {
  for (const auto& f : files) {
    std::string why;
    auto e = read_evidence(f, &why);
    if (!e) {
      std::fprintf(stderr, "faultmux repro: %s: %s\n", f.c_str(), why.c_str());
      return false;
    }
    std::printf("repro: %s%s taken as %s\n", what, f.c_str(), kind_name(e->kind));
    add_evidence(sig, *e);
  }
  return true;
}

// --scenario as the base: a scenario without faults of its own.
std::optional<toml::table> given_base(const std::string& file) {
  try {
    scenario s = load_scenario(file);
    if (!s.faults.empty()) {
      std::fprintf(stderr,
                   "faultmux repro: %s has [[faults]] of its own: the base must have none (repro "
                   "adds the faults)\n",
                   file.c_str());
      return std::nullopt;
    }
    return toml::parse_file(file);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "faultmux repro: %s\n", e.what());
    return std::nullopt;
  }
}

driver_options rerun_options(const repro_options& o) {
  driver_options d;
  d.target = o.target;
  d.mitogen_src = o.mitogen_src;
  d.legacy_bugs = o.legacy_bugs;
  return d;
}

// `faultmux shrink` on the written scenario; the smaller one replaces it only
// when it too reproduces the signature 9 times in 10.
void shrink_found(const repro_options& o, const signature& sig, const std::string& out) {
  shrink_options so;
  so.file = out;
  so.legacy_bugs = o.legacy_bugs;
  so.target = o.target;
  so.mitogen_src = o.mitogen_src;
  so.out = (fs::temp_directory_path() / fmt::format("repro-shrunk-{}.toml", ::getpid())).string();
  so.max_runs = 12;
  so.self = o.self;
  std::printf("repro: shrinking %s (at most %d runs)\n", out.c_str(), so.max_runs);
  std::fflush(stdout);
  if (run_shrink(so) != 0) {
    std::printf("repro: kept as found (shrink found nothing smaller that fails the same way)\n");
    return;
  }
  toml::table shrunk = toml::parse_file(so.out);
  fs::remove(so.out);
  const int ok = reproductions(o, sig, shrunk, accept_runs);
  if (ok < accept_min) {
    std::printf("repro: the shrunk scenario did not reproduce it %d times in %d: kept as found\n",
                accept_min, accept_runs);
    return;
  }
  shrunk.insert_or_assign("origin", origin_of(sig, ok, accept_runs));
  write_scenario(shrunk, out);
  std::printf("repro: shrunk, and it reproduced %d/%d\n", ok, accept_runs);
}

}  // namespace

int run_repro(const repro_options& o) {
  signature sig;
  if (!read_all(o.evidence, sig, "")) return 2;
  if (!o.good.empty()) {
    signature good;
    if (!read_all({o.good}, good, "good run: ")) return 2;
    remove_good(sig, good);
  }
  if (sig.empty()) {
    std::fprintf(stderr,
                 "faultmux repro: the evidence shows no error line and no failure (nothing new "
                 "beside the good run's, with --good): nothing to reproduce\n");
    return 2;
  }
  std::printf("%s", describe(sig).c_str());
  std::optional<toml::table> base =
      o.scenario.empty() ? std::optional(base_scenario(sig, o.target)) : given_base(o.scenario);
  if (!base) return 2;
  try {
    std::ostringstream text;
    text << *base << "\n";
    parse_scenario(text.str(), o.scenario.empty() ? "repro-base.toml" : o.scenario);
  } catch (const scenario_error& e) {
    std::fprintf(stderr, "faultmux repro: the base scenario: %s\n", e.what());
    return 2;
  }
  std::fflush(stdout);
  stop_on_interrupt();
  search_result r = search(o, sig, *base);
  if (!r.found) {
    std::printf("repro: not reproduced (%zu of %zu candidates tried%s); nothing written\n",
                r.tried_count, r.candidates,
                (r.stopped_because.empty() ? "" : ", stopped by " + r.stopped_because).c_str());
    print_best(r);
    return r.interrupted ? 130 : 1;
  }
  const std::string out =
      o.out.empty() ? fmt::format("scenarios/found/{}.toml", scenario_name(sig)) : o.out;
  toml::table t = r.scenario;
  t.insert_or_assign("name", fs::path(out).stem().string());
  t.insert_or_assign("origin", origin_of(sig, r.found->reproduced, r.found->runs));
  if (std::string err = write_scenario(t, out); !err.empty()) {
    std::fprintf(stderr, "faultmux repro: %s\n", err.c_str());
    return 2;
  }
  std::printf("repro: reproduced %d/%d by %s\n", r.found->reproduced, r.found->runs,
              r.found->c.what().c_str());
  if (!o.no_shrink && !r.found->c.faults.empty()) shrink_found(o, sig, out);
  std::printf("repro: wrote %s\n  run it: %s\n", out.c_str(),
              rerun_command(out, load_scenario(out).seed, rerun_options(o)).c_str());
  return 0;
}

}  // namespace faultmux::repro
