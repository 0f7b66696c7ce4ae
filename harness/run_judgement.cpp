#include "harness/run_state.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "harness/explore/single_fault_oracles.hpp"
#include "harness/oracles.hpp"
#include "harness/report_timeline.hpp"
#include "harness/timeline.hpp"

namespace faultmux {
namespace {

// A sanitizer build's scenarios get build_slack times their timeout.
scenario with_build_slack(scenario s) {
  s.timeout_ms *= build_slack;
  return s;
}

}  // namespace

run_state::run_state(const scenario& s, std::uint64_t seed, const driver_options& o)
    : s_(with_build_slack(s)),
      seed_(seed),
      o_(o),
      faults_(packages_for(s_)),
      t_(effective_target(s.target, o.target, o.mitogen_src)),
      target_name_(target_name(s.target, o.target)) {}

scenario_result run_state::judged() const {
  scenario_result r;
  r.name = s_.name;
  r.file = s_.file;
  r.seed = seed_;
  r.target = target_name_;
  if (target_name_ == "mitogen") r.mitogen_src = o_.mitogen_src;
  r.target_version = target_version_;
  r.legacy_bugs = o_.legacy_bugs;
  r.interrupted = interrupt_requested();
  r.start_ms = start_ms_;
  timeline tl = load_timeline(paths_.dir);
  if (!setup_error_.empty()) {
    r.oracles.push_back({"setup", verdict::fail, {setup_error_}});
  } else if (!r.interrupted) {
    r.oracles =
        s_.expect.fault_class.empty() ? judge(s_, tl, out_) : judge_single_fault(s_, tl, out_);
    if (o_.observe) o_.observe(tl, out_);
  }
  r.passed = !r.interrupted && !first_failure(r.oracles) && setup_error_.empty();
  if (r.passed) r.unserved = unserved_call_groups(s_, out_);
  r.error = r.interrupted || !setup_error_.empty();
  const auto missing = setup_error_.empty() && !r.interrupted
                           ? missing_groups()
                           : std::map<std::string, not_started_group>{};
  judge_started(r, s_, missing, by_target_);
  add_unfired_faults(r);
  r.report.origin = s_.origin;
  r.report.description = s_.description;
  r.report.faults = describe_faults(faults_, tl);
  r.report.workers_total = static_cast<int>(workers_.all().size());
  r.report.settings = settings();
  describe_for_report(tl, r.report);
  if (r.report.timeline) {
    add_not_started_rows(*r.report.timeline, s_.workers, missing);
    if (!r.passed && !r.interrupted && setup_error_.empty())
      r.report.headline =
          run_headline(*r.report.timeline, tl, out_, s_.expect.target_dies, r.oracles);
  }
  return r;
}

std::map<std::string, not_started_group> run_state::missing_groups() const {
  std::map<std::string, not_started_group> out;
  for (const auto& g : s_.workers) {
    int started = 0;
    for (const auto& w : workers_.all()) started += w.group == &g ? 1 : 0;
    if (started >= g.count) continue;
    auto why = not_started_why_.find(g.name);
    out[g.name] = {
        started,
        why != not_started_why_.end() ? why->second
        : g.start_after_ms > 0
            ? fmt::format("the run ended before its start_after_ms ({} ms) came", g.start_after_ms)
            : std::string("the run ended before it was started")};
  }
  return out;
}

reports::target_settings run_state::settings() const {
  reports::target_settings t;
  t.backlog = target_backlog(s_, t_);
  t.max_message_size = t_.max_message_size;
  t.output_cap = t_.output_cap;
  t.handshake_timeout_ms = t_.handshake_timeout_ms;
  t.shutdown_grace_ms = t_.shutdown_grace_ms;
  t.unidirectional = t_.unidirectional;
  return t;
}

void run_state::describe_for_report(const timeline& tl, reports::scenario_entry& e) const {
  if (tl.empty() || target_.pid() <= 0) return;
  traced_process target{"mux", "", 0, target_.pid(), false, target_.exited_at(), target_.status()};
  std::vector<traced_process> ws;  // by group, then index (each group spawns in order)
  for (const auto& g : s_.workers)
    for (const auto& w : workers_.all())
      if (w.group == &g)
        ws.push_back({w.name, g.name, w.index, w.proc.pid(), w.long_lived(), w.proc.exited_at(),
                      w.proc.status()});
  e.timeline = timeline_rows(tl, target, ws, s_.workers);
  e.windows = windows_of(tl, target, ws, e.timeline->duration_s);
  e.latency = latency_of(tl);
  e.resources = resources_of(target_.pid(), sampler_.interval_ms(), baseline_fds_,
                             sampler_.samples(), tl.front().t);
}

std::vector<reports::phase_entry> run_state::phases_of(run_clock::time_point started,
                                                       run_clock::time_point judge_from,
                                                       run_clock::time_point ended) const {
  const auto stop_from = stop_from_.value_or(judge_from);
  const auto traffic_from = traffic_from_.value_or(stop_from);
  auto s = [](run_clock::time_point a, run_clock::time_point b) {
    return std::max(0.0, std::chrono::duration<double>(b - a).count());
  };
  return {{"spawn", s(started, traffic_from)},
          {"traffic", s(traffic_from, stop_from)},
          {"stop", s(stop_from, judge_from)},
          {"judge", s(judge_from, ended)}};
}

}  // namespace faultmux
