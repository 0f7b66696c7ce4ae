#include "reports/html.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>

#include <fmt/format.h>

#include "reports/html_parts.hpp"
#include "reports/html_style.hpp"
#include "reports/utf8.hpp"

namespace faultmux::reports {
namespace html_parts {
namespace {

// --- Tables. ---

std::string evidence_list(const json& lines) {
  if (!lines.is_array() || lines.empty()) return "<span class=\"dim\">—</span>";
  std::string out = "<ul class=\"evidence\">";
  std::size_t n = 0;
  for (const auto& l : lines) {
    if (n++ == lim.evidence_lines) break;
    out += "<li><code>" + esc_cut(l.is_string() ? l.get<std::string>() : l.dump()) + "</code></li>";
  }
  out += "</ul>";
  if (lines.size() > lim.evidence_lines)
    out += fmt::format("<p class=\"more\">… and {} more line{} in results.json</p>",
                       lines.size() - lim.evidence_lines,
                       lines.size() - lim.evidence_lines == 1 ? "" : "s");
  return out;
}

std::string oracle_table(const json& e) {
  const json& orcs = arr(e, "oracles");
  if (orcs.empty()) return "<p class=\"dim\">No expectations recorded.</p>";
  std::string out =
      "<table class=\"oracles\"><thead><tr><th>expectation</th><th>verdict</th><th>evidence</th>"
      "</tr></thead><tbody>";
  for (const auto& o : orcs) {
    std::string name = str(o, "name", "?");
    const verdict v = verdict_of(o);
    auto it = std::find_if(oracle_meanings().begin(), oracle_meanings().end(),
                           [&](const auto& m) { return m.first == name; });
    const std::string meaning = it != oracle_meanings().end() ? esc(it->second) : std::string();
    // What a failed expectation means is spelled out; the others say it on hover.
    out += fmt::format(
        "<tr class=\"v-{0}\"><td><b title=\"{5}\">{1}</b>{2}</td><td><span class=\"badge "
        "v-{0}\">{3}</span></td><td>{4}</td></tr>",
        verdict_key(v), esc(name),
        !meaning.empty() && lim.meanings && v == verdict::fail
            ? "<div class=\"meaning\">" + meaning + "</div>"
            : std::string(),
        verdict_label(v), evidence_list(at(o, "evidence")), meaning);
  }
  return out + "</tbody></table>";
}

std::string fault_table(const json& e) {
  const json& faults = arr(e, "faults");
  if (faults.empty()) return "<p class=\"dim\">No fault was injected.</p>";
  std::string out =
      "<table class=\"faults\"><thead><tr><th>at</th><th>source</th><th>pid</th><th>kind</th>"
      "<th>what</th></tr></thead><tbody>";
  // In the order they fired (results.json lists them by source).
  std::vector<const json*> sorted;
  for (const auto& f : faults) sorted.push_back(&f);
  std::stable_sort(sorted.begin(), sorted.end(), [](const json* a, const json* b) {
    return num_or(*a, "at_s", 0) < num_or(*b, "at_s", 0);
  });
  std::size_t n = 0;
  for (const json* fp : sorted) {
    const json& f = *fp;
    if (n++ == lim.fault_rows) break;
    auto t = num(f, "at_s");
    out += fmt::format(
        "<tr><td class=\"num\">{}</td><td>{}</td><td class=\"num\">{}</td><td>{}</td><td><code>{}"
        "</code></td></tr>",
        t ? fmt::format("{:.3f} s", *t) : "?", esc(str(f, "source")), esc(str(f, "pid")),
        esc(str(f, "kind")), esc_cut(str(f, "what")));
  }
  out += "</tbody></table>";
  const std::size_t total =
      faults.size() + static_cast<std::size_t>(num_or(e, "faults_omitted", 0));
  if (total > lim.fault_rows)
    out += fmt::format("<p class=\"more\">… and {} more faults</p>", total - lim.fault_rows);
  // How often each fault fired, when the log above cannot show them all.
  const json& counts = arr(e, "fault_counts");
  if (total > lim.fault_rows && !counts.empty()) {
    out +=
        "<table class=\"faults\"><thead><tr><th>fired</th><th>first</th><th>last</th>"
        "<th>kind</th><th>what</th></tr></thead><tbody>";
    std::size_t n = 0;
    for (const auto& c : counts) {
      if (n++ == lim.fault_rows) break;
      out += fmt::format(
          "<tr><td class=\"num\">{}</td><td class=\"num\">{:.3f} s</td><td class=\"num\">{:.3f} "
          "s</td><td>{}</td><td><code>{}</code></td></tr>",
          esc(str(c, "count")), num_or(c, "first_s", 0), num_or(c, "last_s", 0),
          esc(str(c, "kind")), esc_cut(str(c, "what")));
    }
    out += "</tbody></table>";
  }
  return out;
}

// The plain summary of a run that did not pass, and what the harness could
// not do (a group not started, a fault never fired): shown before the rest.
std::string headline_block(const json& e) {
  std::string out;
  if (auto h = str(e, "headline"); !h.empty()) out += "<p class=\"headline\">" + esc(h) + "</p>";
  std::string notes;
  for (const auto& n : arr(e, "notices"))
    if (n.is_string()) notes += "<li>" + esc_cut(n.get<std::string>()) + "</li>";
  if (!notes.empty()) out += "<ul class=\"notices\">" + notes + "</ul>";
  return out;
}

// "backlog 20, max message 131072 B, ...": what the target was started with.
std::string settings_line(const json& t) {
  if (!t.is_object()) return "";
  std::string out = fmt::format(
      "backlog {}, max message {} B, output cap {} B, handshake timeout "
      "{} ms, shutdown grace {} ms",
      esc(str(t, "backlog", "?")), esc(str(t, "max_message_size", "?")),
      esc(str(t, "output_cap", "?")), esc(str(t, "handshake_timeout_ms", "?")),
      esc(str(t, "shutdown_grace_ms", "?")));
  if (t.contains("unidirectional") && t["unidirectional"] == true) out += ", unidirectional";
  return out;
}

std::string summary_section(const json& run, std::size_t runs_given) {
  const json& r = at(run, "run");
  counts n = count_run(run);
  std::string out =
      "<section id=\"summary\"><h2>Summary</h2><p class=\"intro\">faultmux runs scenarios "
      "against a connection multiplexer (its built-in mux, or Mitogen's): each starts the "
      "mux and worker processes, injects faults (failing system calls, signals, hostile clients, "
      "exhausted file descriptors) and checks expectations about what must survive them. Every "
      "run can be repeated exactly with the command shown beside it. <a href=\"#legend\">How to "
      "read this report</a>.</p><div class=\"cards\">";
  auto card = [&](const char* cls, int v, const char* label) {
    out += fmt::format("<div class=\"card {}\"><div class=\"big\">{}</div>{}</div>", cls, v, label);
  };
  card("pass", n.pass, "passed");
  card(n.fail ? "fail" : "zero", n.fail, "failed");
  card(n.error ? "error" : "zero", n.error, "could not run");
  card("na", n.na, "not applicable");
  out += fmt::format(
      "<div class=\"card time\"><div class=\"big\">{}</div>total time</div></div>",
      esc(seconds(num_or(r, "duration_s", num_or(at(run, "summary"), "duration_s", 0)))));
  out += "<table class=\"kv\">";
  auto kv = [&](const char* k, const std::string& v_html) {
    if (!v_html.empty()) out += fmt::format("<tr><th>{}</th><td>{}</td></tr>", k, v_html);
  };
  kv("started", esc(str(r, "started", "?")) + " (UTC)");
  const json& seed = at(r, "seed");
  kv("seed", seed.is_number() ? esc(seed.dump())
                              : std::string("each scenario's own (shown with each scenario)"));
  kv("command", "<code>" + esc(str(r, "command_line")) + "</code>");
  std::string rev = str(at(r, "host"), "git_revision");
  kv("revision", rev.empty() ? std::string("unknown") : "<code>" + esc(rev) + "</code>");
  kv("host", host_line(run));
  kv("built with", libraries_line(run));
  kv("schema", esc(str(run, "schema")));
  kv("by target", per_target_line(run));
  if (runs_given > 1)
    kv("history", fmt::format("<a href=\"#history\">{} runs compared</a>", runs_given));
  out += "</table>";

  // Failures first: what failed, why, and how to rerun it.
  const json& sc = arr(run, "scenarios");
  std::string fails;
  for (std::size_t i = 0; i < sc.size(); ++i) {
    const json& e = sc[i];
    const verdict v = verdict_of(e);
    if (!is_failure(v)) continue;
    fails += fmt::format("<li class=\"failure\"><a href=\"#{}\">{}</a> {}{}", anchor(i),
                         entry_title(e), verdict_badge(v),
                         column_of(e).key.rfind("legacy:", 0) == 0 && v == verdict::fail
                             ? " <span class=\"caught\">the re-enabled bug was caught</span>"
                             : "");
    // What happened leads; the expectation that failed first follows.
    fails += headline_block(e);
    if (const json* o = first_failed_oracle(e)) {
      fails += "<div>expectation <b>" + esc(str(*o, "name")) + "</b> failed:</div>";
      json ev = json::array();
      for (const auto& l : arr(*o, "evidence")) {
        if (ev.size() == 4) break;
        ev.push_back(l);
      }
      fails += evidence_list(ev);
      if (arr(*o, "evidence").size() > 4)
        fails += fmt::format("<p class=\"more\">… {} more lines in the details</p>",
                             arr(*o, "evidence").size() - 4);
    }
    fails += "<div class=\"dim\">rerun:</div>" + rerun_block(e) + "</li>";
  }
  if (!fails.empty())
    out += "<h3>Failures</h3>" +
           std::string(per_target_line(run).empty()
                           ? ""
                           : "<p class=\"dim\">A failure against Mitogen or with a "
                             "re-enabled legacy bug is a finding about that target, judged by "
                             "the same expectations as the built-in mux.</p>") +
           "<ol class=\"failures\">" + fails + "</ol>";
  else if (!sc.empty())
    out += "<p class=\"allgood\">Every scenario passed.</p>";
  return out + "</section>";
}

std::string matrix_section(const json& run, const std::vector<history_row>& history) {
  matrix_layout m = layout_of(run);
  auto cells = cells_of(run);
  std::map<std::string, bool> flaky;
  for (const auto& h : history) flaky[cell_key(h.scenario, h.column)] = h.flaky;
  std::string out =
      "<section id=\"matrix\"><h2>Scenarios × targets</h2><p class=\"note\">Each cell is one "
      "scenario run against one target; click it for the details. Legacy-bug columns run the "
      "built-in mux with a historical Mitogen bug re-enabled on purpose: there a failure means "
      "the suite <i>caught</i> the bug.</p><table class=\"matrix\"><thead><tr><th>scenario</th>";
  for (const auto& col : m.columns) out += "<th>" + esc(col.label) + "</th>";
  out += "</tr></thead><tbody>";
  const json& sc = arr(run, "scenarios");
  for (const auto& name : m.rows) {
    out += "<tr><th class=\"sname\">" + esc(name) + "</th>";
    for (const auto& col : m.columns) {
      auto it = cells.find(cell_key(name, col.key));
      if (it == cells.end()) {
        out += fmt::format(
            "<td class=\"cell none\" data-scenario=\"{}\" data-target=\"{}\" "
            "data-verdict=\"not-run\" title=\"not run in this report\">·</td>",
            esc(name), esc(col.key));
        continue;
      }
      const cell& cl = it->second;
      const std::string v = cl.key();
      std::size_t link = cl.entries.front();
      for (std::size_t i : cl.entries)
        if (verdict_of(sc[i]) != verdict::pass) {
          link = i;
          break;
        }
      std::string text = verdict_label(cl.overall());
      if (cl.entries.size() > 1)
        text = fmt::format("{} {}/{}", v == "pass" ? "pass" : "FAIL", cl.pass, cl.entries.size());
      bool is_flaky = cl.mixed() || flaky[cell_key(name, col.key)];
      // With a legacy bug re-enabled, a failure is the suite catching it.
      if (col.key.rfind("legacy:", 0) == 0 && v == "fail")
        text += " <span class=\"caught\">bug caught</span>";
      if (is_flaky) text += " <span class=\"flaky\">flaky</span>";
      std::string why;
      if (const json* o = first_failed_oracle(sc[link])) why = ": " + str(*o, "name");
      out += fmt::format(
          "<td class=\"cell v-{0}\" data-scenario=\"{1}\" data-target=\"{2}\" "
          "data-verdict=\"{0}\"{3}><a href=\"#{4}\" title=\"{5}\">{6}</a></td>",
          esc(v), esc(name), esc(col.key), is_flaky ? " data-flaky=\"true\"" : "", anchor(link),
          esc(str(sc[link], "verdict") + why), text);
    }
    out += "</tr>";
  }
  return out + "</tbody></table></section>";
}

std::string legend_section() {
  auto sym = [](const std::string& kind) {
    return "<svg class=\"sym\" viewBox=\"0 0 20 18\" width=\"20\" height=\"18\">" +
           mark_shape(kind, 10, 9) + "/></svg>";
  };
  std::string out =
      "<section id=\"legend\"><h2>How to read this report</h2><div class=\"legend\"><div><h3>"
      "Timeline</h3><p>One row per process (the mux first, then contexts, then workers). The bar "
      "is the process's life, coloured by how it ended:</p><ul class=\"keys\">";
  for (const auto& o : outcome_order())
    out += fmt::format("<li><span class=\"swatch\" style=\"background:{}\"></span>{}</li>",
                       outcome_colour(o), o);
  out += "</ul><ul class=\"keys\">";
  for (const auto& [k, what] : std::vector<std::pair<std::string, std::string>>{
           {"fault", "a fault injected into this process"},
           {"error", "an error it reported"},
           {"disconnect", "its stream was disconnected"},
           {"killed", "it was killed"},
           {"stopped", "stopped (SIGSTOP)"},
           {"resumed", "resumed (SIGCONT)"},
           {"handshake", "connected / handshake done"}})
    out += "<li>" + sym(k) + esc(what) + "</li>";
  out +=
      "<li><svg class=\"sym\" viewBox=\"0 0 20 18\" width=\"20\" height=\"18\"><path "
      "class=\"calls\" d=\"M10,5v8\"/></svg>a call or message round trip</li>"
      "<li><svg class=\"sym\" viewBox=\"0 0 20 18\" width=\"20\" height=\"18\"><line "
      "class=\"faultline\" x1=\"10\" x2=\"10\" y1=\"0\" y2=\"18\"/></svg>when a fault fired "
      "(across "
      "all rows)</li><li><svg class=\"sym\" viewBox=\"0 0 20 18\" width=\"20\" height=\"18\"><rect "
      "class=\"window\" x=\"2\" y=\"0\" width=\"16\" height=\"18\"/></svg>a fault window (e.g. the "
      "mux stopped, its fd limit lowered)</li></ul><p>Hover a symbol for its time and text. All "
      "times are seconds from the scenario's first event.</p></div><div><h3>Expectations "
      "(oracles)</h3><dl class=\"meanings\">";
  for (const auto& [k, v] : oracle_meanings())
    out += "<dt>" + esc(k) + "</dt><dd>" + esc(v) + "</dd>";
  out +=
      "</dl><p>A scenario passes when no expectation fails; <i>n/a</i> means the expectation "
      "does not apply to that scenario or target (Mitogen does not log what only the built-in mux "
      "records).</p><h3>Rerunning</h3><p>Each scenario shows the exact command that reruns it "
      "with the same seed, target and legacy bugs, from the checkout's root: "
      "<code>faultmux run scenarios/NAME.toml --seed N</code>. Add <code>-v</code> to print "
      "every expectation's evidence and keep the run directory. "
      "<code>faultmux shrink FILE</code> reduces a failing scenario.</p></div></div></section>";
  return out;
}

// A soak's figures: its time and cycles, and each slope beside its bound.
std::string soak_text(const json& soak) {
  if (!soak.is_object()) return "";
  std::string out = fmt::format("{} · {} worker cycles, {} messages, {} lost",
                                esc(seconds(num_or(soak, "seconds", 0))), esc(str(soak, "cycles")),
                                esc(str(soak, "messages")), esc(str(soak, "lost")));
  for (const auto& m : arr(soak, "metrics")) {
    auto slope = num(m, "slope_per_min");
    out += fmt::format("; {} {}/min (bound {})", esc(str(m, "name")),
                       slope ? fmt::format("{:+.2f}", *slope) : std::string("n/a"),
                       esc(str(m, "bound_per_min")));
  }
  return out;
}

// The run's wall time by phase: a bar of four stacked parts and their seconds.
std::string phases_bar(const json& e) {
  static const char* const colours[] = {"#7a9cc6", "#6cb27a", "#d7a04b", "#b07cc6"};
  double total = 0;
  for (const auto& p : arr(e, "phases")) total += num_or(p, "seconds", 0);
  if (total <= 0) return "";
  std::string bar, text;
  std::size_t i = 0;
  for (const auto& p : arr(e, "phases")) {
    const double s = std::max(0.0, num_or(p, "seconds", 0));
    const std::string name = esc(str(p, "name"));
    bar += fmt::format(
        "<span title=\"{} {}\" style=\"display:inline-block;height:10px;width:{}px;"
        "background:{}\"></span>",
        name, esc(seconds(s)), c(200 * s / total), colours[i++ % 4]);
    text += fmt::format("{}{} {}", text.empty() ? "" : " · ", name, esc(seconds(s)));
  }
  return "<span style=\"display:inline-block;white-space:nowrap;vertical-align:middle\">" + bar +
         "</span> " + text;
}

std::string detail_section(const json& e, std::size_t id) {
  const verdict v = verdict_of(e);
  std::string out = fmt::format(
      "<section class=\"detail v-{}\" id=\"{}\" data-scenario=\"{}\" data-target=\"{}\"><h3>{} "
      "{}</h3>",
      verdict_key(v), anchor(id), esc(str(e, "name")), esc(column_of(e).key), entry_title(e),
      verdict_badge(v));
  out += headline_block(e);
  if (auto d = str(e, "description"); !d.empty()) out += "<p class=\"desc\">" + esc(d) + "</p>";
  out += "<table class=\"kv\">";
  auto kv = [&](const char* k, const std::string& html) {
    if (!html.empty()) out += fmt::format("<tr><th>{}</th><td>{}</td></tr>", k, html);
  };
  kv("file", esc(str(e, "file")));
  kv("origin", esc(str(e, "origin")));
  kv("seed", esc(str(e, "seed")));
  kv("target settings", settings_line(at(e, "target_settings")));
  if (auto d = num(e, "duration_s")) kv("duration", esc(seconds(*d)));
  const json& w = at(e, "workers");
  if (auto t = num(w, "total"); t && *t > 0)
    kv("workers", fmt::format("{} started in {}", c(*t), ms_text(num_or(w, "spawn_ms", 0))));
  kv("phases", phases_bar(e));
  kv("soak", soak_text(at(e, "soak")));
  std::string bugs;
  for (const auto& b : arr(e, "legacy_bugs"))
    if (b.is_string()) bugs += (bugs.empty() ? "" : ", ") + esc(b.get<std::string>());
  if (!bugs.empty())
    kv("legacy bugs", bugs + " (re-enabled on purpose: a failure here is a catch)");
  out += "</table>";
  out += rerun_block(e);

  std::string tl = timeline_svg(e, id);
  if (!tl.empty()) {
    out += "<h4>Timeline</h4>";
    std::string wins;
    for (const auto& x : windows_of(e))
      wins += (wins.empty() ? "" : "; ") +
              fmt::format("{:.3f}–{:.3f} s: {}", x.from, x.to, esc_cut(x.what, 120));
    if (!wins.empty()) out += "<p class=\"note\">Shaded: " + wins + "</p>";
    out += "<div class=\"scroll\">" + tl + "</div>";
  }
  out += "<h4>Expectations</h4>" + oracle_table(e);
  out += "<h4>Fault log</h4>" + fault_table(e);
  std::string lat = latency_svg(at(e, "latency"));
  const json& res = at(e, "resources");
  std::optional<double> base = num(res, "baseline_fds");
  std::string fds = line_chart(e, arr(res, "samples"), "fds", 1, "mux open fds", "fds", base);
  std::string rss =
      line_chart(e, arr(res, "samples"), "rss_kib", 1.0 / 1024, "mux RSS (MiB)", "MiB", {});
  // The dashed line of the accept queue is its limit: at it, connects fail with EAGAIN.
  std::string queue = line_chart(e, arr(res, "samples"), "accept_queue", 1,
                                 "mux listen queue (Recv-Q)", "queued", num(res, "listen_backlog"));
  if (!lat.empty() || !fds.empty() || !queue.empty()) {
    out += "<div class=\"plots\">";
    if (!lat.empty()) out += "<div><h4>Latency</h4>" + lat + "</div>";
    const std::string sampled =
        fmt::format("sampled every {} ms (pid {}); shaded: fault windows",
                    esc(str(res, "interval_ms", "?")), esc(str(res, "pid", "?")));
    if (!fds.empty())
      out += "<div><h4>Mux open fds</h4><p class=\"stats\">" + sampled +
             "; dashed: before any worker</p>" + fds + "</div>";
    if (!rss.empty())
      out += "<div><h4>Mux RSS (MiB)</h4><p class=\"stats\">" + sampled + "</p>" + rss + "</div>";
    if (!queue.empty())
      out += "<div class=\"queue\"><h4>Mux listen queue (Recv-Q)</h4><p class=\"stats\">" +
             sampled + "; connections not yet accepted; dashed: the backlog</p>" + queue + "</div>";
    out += "</div>";
  }
  return out + "<p class=\"top\"><a href=\"#matrix\">↑ matrix</a></p></section>";
}

std::string render_page(const std::vector<json>& runs, bool compact) {
  static const json no_run = {
      {"schema", ""}, {"run", json::object()}, {"scenarios", json::array()}};
  const json& run = runs.empty() ? no_run : runs.back();
  // Repeats of the newest run are judged for flakiness too.
  std::vector<history_row> hist = compute_history(runs.empty() ? std::vector<json>{} : runs);
  const json& r = at(run, "run");
  counts n = count_run(run);
  std::string title =
      fmt::format("faultmux report {} — {} passed, {} failed{}", str(r, "started", ""), n.pass,
                  n.fail, n.error ? fmt::format(", {} could not run", n.error) : "");
  std::string out;
  out.reserve(std::size_t{256} * 1024);
  out +=
      "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" "
      "content=\"width=device-width, initial-scale=1\"><title>" +
      esc(title) + "</title><style>" + std::string(page_css) + "</style></head><body>";
  out += fmt::format(
      "<header><h1>faultmux reliability report</h1><p class=\"sub\">{} · revision <code>{}</code>"
      " · <span class=\"{}\">{}</span></p><nav><a href=\"#summary\">Summary</a><a "
      "href=\"#matrix\">Matrix</a>{}<a href=\"#details\">Details</a><a href=\"#legend\">How to "
      "read</a></nav></header><main>",
      esc(str(r, "started", "unknown start")),
      str(at(r, "host"), "git_revision").empty()
          ? std::string("unknown")
          : esc(short_rev(str(at(r, "host"), "git_revision"))),
      n.fail || n.error ? "bad" : "good",
      !per_target_line(run).empty() ? per_target_line(run)
      : n.fail || n.error
          ? fmt::format("{} of {} failed", n.fail + n.error, arr(run, "scenarios").size())
          : std::string("all passed"),
      runs.size() > 1 ? "<a href=\"#history\">History</a>" : "");
  if (compact)
    out +=
        "<p class=\"compact\">This run is large: the page shows fewer timeline rows, marks and "
        "evidence lines than usual to stay small. results.json has everything.</p>";
  out += summary_section(run, runs.size());
  out += matrix_section(run, hist);
  if (runs.size() > 1) out += history_section(runs, hist);
  out += "<section id=\"details\"><h2>Details</h2>";
  const json& sc = arr(run, "scenarios");
  // Failures first, so a reader scrolling lands on them.
  std::vector<std::size_t> order;
  for (std::size_t i = 0; i < sc.size(); ++i)
    if (verdict_of(sc[i]) != verdict::pass) order.push_back(i);
  for (std::size_t i = 0; i < sc.size(); ++i)
    if (verdict_of(sc[i]) == verdict::pass) order.push_back(i);
  for (std::size_t i : order) out += detail_section(sc[i], i);
  out += "</section>";
  out += legend_section();
  out +=
      "</main><footer>Rendered by <code>faultmux report</code> from results.json alone (schema " +
      esc(str(run, "schema")) + ").</footer></body></html>\n";
  return out;
}

}  // namespace
}  // namespace html_parts

std::string html_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size() + s.size() / 8);
  const char* replacement = "\xef\xbf\xbd";
  for (std::size_t i = 0; i < s.size();) {
    auto b = static_cast<unsigned char>(s[i]);
    if (b < 0x80) {
      switch (b) {
        case '<':
          out += "&lt;";
          break;
        case '>':
          out += "&gt;";
          break;
        case '&':
          out += "&amp;";
          break;
        case '"':
          out += "&quot;";
          break;
        case '\'':
          out += "&#39;";
          break;
        case '\t':
        case '\n':
          out += static_cast<char>(b);
          break;
        default:
          if (b < 0x20 || b == 0x7f)
            out += replacement;
          else
            out += static_cast<char>(b);
      }
      ++i;
      continue;
    }
    // A multi-byte sequence: kept only when it is well-formed UTF-8.
    put_utf8(out, next_code_point(s, i));
  }
  return out;
}

std::string render_html(const std::vector<nlohmann::json>& given) {
  std::vector<nlohmann::json> runs = order_runs(given);
  html_parts::lim = html_parts::normal_limits;
  std::string page = html_parts::render_page(runs, false);
  if (page.size() > html_parts::page_budget) {
    html_parts::lim = html_parts::compact_limits;
    page = html_parts::render_page(runs, true);
    html_parts::lim = html_parts::normal_limits;
  }
  return page;
}

std::string write_html(const std::vector<nlohmann::json>& runs, const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return fmt::format("cannot create {}: {}", dir, ec.message());
  const std::string path = dir + "/index.html";
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) return fmt::format("cannot write {}: {}", tmp, std::strerror(errno));
    out << render_html(runs);
    if (!out.flush()) return fmt::format("cannot write {}: {}", tmp, std::strerror(errno));
  }
  std::filesystem::rename(tmp, path, ec);
  if (ec) return fmt::format("cannot rename {} to {}: {}", tmp, path, ec.message());
  return "";
}

}  // namespace faultmux::reports
