// The SVG charts of a scenario's details: its timeline, latency histogram
// and resource plots.
#include <algorithm>
#include <cmath>
#include <limits>
#include <set>

#include <fmt/format.h>

#include "reports/html_parts.hpp"

namespace faultmux::reports::html_parts {

// Which marks of a crowded row are drawn first: the faults and errors.
int mark_priority(const std::string& kind) {
  if (kind == "fault" || kind == "error" || kind == "killed") return 0;
  if (kind == "disconnect" || kind == "stopped" || kind == "resumed") return 1;
  if (kind == "handshake" || kind == "connected") return 2;
  return 3;
}

// --- Small helpers for SVG plots. ---

double nice_step(double span, int max_ticks) {
  if (!(span > 0)) return 1;
  double raw = span / max_ticks;
  double p = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (m * p >= raw) return m * p;
  return 10 * p;
}

std::string tick_label(double v, double step) {
  if (step >= 1) return fmt::format("{:.0f}", v);
  if (step >= 0.1) return fmt::format("{:.1f}", v);
  if (step >= 0.01) return fmt::format("{:.2f}", v);
  return fmt::format("{:.3f}", v);
}

std::vector<window> windows_of(const json& e) {
  std::vector<window> w;
  for (const auto& x : arr(e, "windows")) {
    auto f = num(x, "from_s"), t = num(x, "to_s");
    if (f && t) w.push_back({*f, std::max(*f, *t), str(x, "what")});
  }
  return w;
}
std::vector<std::pair<double, std::string>> fault_times(const json& e) {
  std::vector<std::pair<double, std::string>> f;
  for (const auto& x : arr(e, "faults"))
    if (auto t = num(x, "at_s"))
      f.emplace_back(*t, str(x, "kind") + ": " + str(x, "what") + " (pid " + str(x, "pid") + ")");
  return f;
}

// Shaded windows and fault lines over a plot area; sx maps seconds to x.
std::string overlay(const json& e, double x0, double sx, double span, double top, double bottom) {
  std::string out;
  for (const auto& w : windows_of(e)) {
    double a = x0 + std::clamp(w.from, 0.0, span) * sx, b = x0 + std::clamp(w.to, 0.0, span) * sx;
    out += fmt::format(
        "<rect class=\"window\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\"><title>{} "
        "({:.3f}–{:.3f} s)</title></rect>",
        c(a), c(top), c(std::max(1.0, b - a)), c(bottom - top), esc_cut(w.what, 120), w.from, w.to);
  }
  std::size_t n = 0;
  for (const auto& [t, what] : fault_times(e)) {
    if (++n > lim.fault_lines) break;
    double x = x0 + std::clamp(t, 0.0, span) * sx;
    out += fmt::format(
        "<line class=\"faultline\" x1=\"{0}\" x2=\"{0}\" y1=\"{1}\" y2=\"{2}\"><title>fault at "
        "{3:.3f} s: {4}</title></line>",
        c(x), c(top), c(bottom), t, esc_cut(what, 160));
  }
  return out;
}

// Grid lines every nice step from y to bottom, labelled above y or below bottom.
// A label near the right end is anchored at its end: centred, it would cross
// the drawing's edge.
std::string time_axis(double x0, double sx, double span, double y, double bottom,
                      bool labels_below = false, int max_ticks = 8) {
  std::string out;
  double step = nice_step(span, max_ticks);
  const double x_end = x0 + span * sx;
  for (double t = 0; t <= span + step * 1e-6; t += step) {
    double x = x0 + t * sx;
    out += fmt::format(
        "<line class=\"grid\" x1=\"{0}\" x2=\"{0}\" y1=\"{1}\" y2=\"{2}\"/><text "
        "class=\"tick{5}\" x=\"{0}\" y=\"{3}\">{4} s</text>",
        c(x), c(y), c(bottom), c(labels_below ? bottom + 12 : y - 4), tick_label(t, step),
        x_end - x < 24 ? " end" : "");
  }
  return out;
}

// --- Timeline. ---

double span_of(const json& e) {
  const json& tl = at(e, "timeline");
  double span = num_or(tl, "duration_s", 0);
  for (const auto& p : arr(tl, "processes")) {
    span = std::max(span, num_or(p, "end_s", 0));
    span = std::max(span, num_or(p, "start_s", 0));
  }
  for (const auto& [t, w] : fault_times(e)) span = std::max(span, t);
  for (const auto& w : windows_of(e)) span = std::max(span, w.to);
  if (!(span > 0)) span = std::max(0.001, num_or(e, "duration_s", 1));
  return span;
}

// When the driver stopped the mux: its first "exit" mark (the final SIGTERM).
double stop_time(const json& procs) {
  for (const auto& p : procs) {
    if (str(p, "role") != "mux") continue;
    for (const auto& m : arr(p, "marks"))
      if (str(m, "kind") == "exit")
        if (auto t = num(m, "t")) return *t;
  }
  return std::numeric_limits<double>::infinity();
}

// A process the scenario hit: it ended badly, or was faulted, killed,
// stopped, or disconnected before the mux's own shutdown disconnected all.
bool affected(const json& p, double stop_t) {
  std::string o = str(p, "outcome");
  if (o != "ok" && o != "exited" && o != "running" && !o.empty()) return true;
  for (const auto& m : arr(p, "marks")) {
    std::string k = str(m, "kind");
    if (k == "fault" || k == "error" || k == "killed" || k == "stopped") return true;
    if (k == "disconnect" && num_or(m, "t", 0) < stop_t) return true;
  }
  return false;
}

std::string process_row(const json& p, double y, double x0, double sx, double span) {
  std::string out;
  std::string name = str(p, "name", "?");
  std::string outcome = str(p, "outcome", "?");
  double start = std::clamp(num_or(p, "start_s", 0), 0.0, span);
  auto end_opt = num(p, "end_s");
  double end = std::clamp(end_opt.value_or(span), start, span);
  std::string shown = name.size() > 26 ? name.substr(0, 25) + "…" : name;
  out += fmt::format(
      "<g class=\"proc\" data-outcome=\"{}\"><text class=\"label\" x=\"{}\" y=\"{}\">{}<title>{} "
      "(pid {}, {}): {}</title></text>",
      esc(outcome), c(x0 - 6), c(y + 4), esc(shown), esc(name), esc(str(p, "pid", "?")),
      esc(str(p, "role", "?")), esc(outcome));
  // A placeholder: a worker the scenario asked for that the run never
  // started, drawn as a dashed outline over the whole span.
  if (outcome == "not started")
    return out + fmt::format(
                     "<rect class=\"life placeholder\" x=\"{}\" y=\"{}\" width=\"{}\" "
                     "height=\"5\" fill=\"none\" stroke=\"{}\" stroke-dasharray=\"4 3\"><title>{}: "
                     "not started</title></rect></g>",
                     c(x0), c(y - 2.5), c(span * sx), outcome_colour(outcome), esc(name));
  out += fmt::format(
      "<rect class=\"life\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"5\" rx=\"2\" "
      "fill=\"{}\"><title>{}: {:.3f}–{} s, {}</title></rect>",
      c(x0 + start * sx), c(y - 2.5), c(std::max(1.5, (end - start) * sx)), outcome_colour(outcome),
      esc(name), start, end_opt ? fmt::format("{:.3f}", *end_opt) : std::string("(still running)"),
      esc(outcome));
  // Calls are many and alike: one path of ticks, no titles.
  std::string ticks, dots;
  std::vector<const json*> marks;
  for (const auto& m : arr(p, "marks")) {
    std::string k = str(m, "kind");
    auto t = num(m, "t");
    if (!t) continue;
    if (k == "call") {
      if (lim.call_ticks)
        ticks += fmt::format("M{},{}v7", c(x0 + std::clamp(*t, 0.0, span) * sx), c(y - 3.5));
    } else if (k == "connected" || k == "handshake") {
      dots += fmt::format("M{},{}h4v4h-4z", c(x0 + std::clamp(*t, 0.0, span) * sx - 2), c(y - 2));
    } else if (!mark_shape(k, 0, 0).empty()) {
      marks.push_back(&m);
    }
  }
  if (!ticks.empty()) out += "<path class=\"calls\" d=\"" + ticks + "\"/>";
  if (!dots.empty()) out += "<path class=\"mark handshake\" d=\"" + dots + "\"/>";
  if (marks.size() > lim.marks_per_row) {
    std::stable_sort(marks.begin(), marks.end(), [](const json* a, const json* b) {
      return mark_priority(str(*a, "kind")) < mark_priority(str(*b, "kind"));
    });
    marks.resize(lim.marks_per_row);
  }
  // Important marks last, so they are drawn on top.
  std::stable_sort(marks.begin(), marks.end(), [](const json* a, const json* b) {
    return mark_priority(str(*a, "kind")) > mark_priority(str(*b, "kind"));
  });
  for (const json* m : marks) {
    std::string k = str(*m, "kind");
    double t = num_or(*m, "t", 0);
    out += mark_shape(k, x0 + std::clamp(t, 0.0, span) * sx, y);
    out += fmt::format("><title>{} at {:.3f} s: {}</title></{}>", esc(k), t,
                       esc_cut(str(*m, "text"), 160),
                       k == "disconnect" ? "circle"
                       : k == "stopped"  ? "rect"
                                         : "path");
  }
  return out + "</g>";
}

std::string group_bars(const json& tl, double width) {
  const json& groups = arr(tl, "groups");
  if (groups.empty()) return "";
  const double x0 = 190, w = width - x0 - 200, row = 22;
  double h = 10 + groups.size() * row;
  std::string out = fmt::format(
      "<svg class=\"groups\" viewBox=\"0 0 {} {}\" role=\"img\" "
      "aria-label=\"outcome of every process, per group\">",
      c(width), c(h));
  double y = 8;
  for (const auto& g : groups) {
    double count = 0;
    if (at(g, "outcomes").is_object())
      for (const auto& [k, v] : at(g, "outcomes").items())
        if (v.is_number()) count += v.get<double>();
    count = std::max(count, num_or(g, "count", 0));
    out += fmt::format("<text class=\"label\" x=\"{}\" y=\"{}\">{} ({}, {})</text>", c(x0 - 6),
                       c(y + 11), esc(str(g, "name", "?").empty() ? "mux" : str(g, "name")),
                       esc(str(g, "role", "?")), c(count));
    double x = x0;
    std::string text;
    std::vector<std::pair<std::string, double>> parts;
    const json& outc = at(g, "outcomes");
    for (const auto& o : outcome_order())
      if (auto v = num(outc, o.c_str()); v && *v > 0) parts.emplace_back(o, *v);
    if (outc.is_object())
      for (const auto& [k, v] : outc.items())
        if (std::find(outcome_order().begin(), outcome_order().end(), k) == outcome_order().end() &&
            v.is_number() && v.get<double>() > 0)
          parts.emplace_back(k, v.get<double>());
    for (const auto& [o, v] : parts) {
      double pw = count > 0 ? w * v / count : 0;
      out += fmt::format(
          "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"14\" fill=\"{}\"><title>{}: {} "
          "{}</title></rect>",
          c(x), c(y), c(std::max(pw, 0.5)), outcome_colour(o), esc(str(g, "name")), c(v), esc(o));
      x += pw;
      text += (text.empty() ? "" : " · ") + fmt::format("{} {}", esc(o), c(v));
    }
    out += fmt::format("<text class=\"gcount\" x=\"{}\" y=\"{}\">{}</text>", c(x0 + w + 8),
                       c(y + 11), text);
    y += row;
  }
  return out + "</svg>";
}

std::string timeline_svg(const json& e, std::size_t id) {
  const json& tl = at(e, "timeline");
  const json& procs = arr(tl, "processes");
  if (!tl.is_object() || procs.empty()) return "";
  const double width = 1100, x0 = 190, x1 = width - 20, row = 16, top = 24;
  const double span = span_of(e);
  const double sx = (x1 - x0) / span;
  const double omitted = num_or(tl, "processes_omitted", 0);
  const bool summarise = omitted > 0 || procs.size() > lim.rows_drawn;
  std::vector<const json*> rows;
  std::string out;
  if (summarise) {
    std::size_t total = procs.size() + static_cast<std::size_t>(omitted);
    out += fmt::format(
        "<p class=\"note\">{} processes: too many to draw one row each. Outcome of every process "
        "per group:</p>",
        total);
    out += group_bars(tl, width);
    const double stop_t = stop_time(procs);
    for (const auto& p : procs)
      if (str(p, "role") == "mux" || affected(p, stop_t)) rows.push_back(&p);
    std::size_t affected_total = rows.size();
    if (rows.size() > lim.affected_rows) rows.resize(lim.affected_rows);
    out += fmt::format(
        "<p class=\"note\">Below: the mux and the processes that were hit (faulted, killed, "
        "disconnected or failed){}.</p>",
        affected_total > rows.size()
            ? fmt::format(", the first {} of {}", rows.size(), affected_total)
            : std::string());
  } else {
    for (const auto& p : procs) rows.push_back(&p);
  }
  if (rows.empty()) return out;
  const double bottom = top + rows.size() * row + 4;
  out += fmt::format(
      "<svg class=\"timeline\" id=\"tl{}\" viewBox=\"0 0 {} {}\" role=\"img\" "
      "aria-label=\"timeline of every process\">",
      id, c(width), c(bottom + 2));
  for (std::size_t i = 0; i < rows.size(); i += 2)
    out += fmt::format("<rect class=\"band\" x=\"0\" y=\"{}\" width=\"{}\" height=\"{}\"/>",
                       c(top + i * row), c(width), c(row));
  out += time_axis(x0, sx, span, top, bottom);
  out += overlay(e, x0, sx, span, top, bottom);
  double y = top + row / 2;
  for (const json* p : rows) {
    out += process_row(*p, y, x0, sx, span);
    y += row;
  }
  return out + "</svg>";
}

// --- Latency histogram. ---

std::string latency_svg(const json& lat) {
  if (!lat.is_object()) return "";
  std::vector<std::pair<double, double>> b;  // le_ms, count
  for (const auto& x : arr(lat, "buckets")) {
    auto le = num(x, "le_ms");
    auto n = num(x, "count");
    if (le && n) b.emplace_back(*le, *n);
  }
  std::string stats = fmt::format(
      "<p class=\"stats\">{} calls · mean {} · <b>p50 {}</b> · p90 {} · p99 {} · max {}</p>",
      c(num_or(lat, "count", 0)), ms_text(num_or(lat, "mean_ms", 0)),
      ms_text(num_or(lat, "p50_ms", 0)), ms_text(num_or(lat, "p90_ms", 0)),
      ms_text(num_or(lat, "p99_ms", 0)), ms_text(num_or(lat, "max_ms", 0)));
  // Drop empty buckets at either end; first_lo: the lower bound of the first kept.
  double first_lo = 0;
  while (!b.empty() && b.front().second == 0) {
    first_lo = b.front().first;
    b.erase(b.begin());
  }
  while (!b.empty() && b.back().second == 0) b.pop_back();
  if (b.empty()) return stats;
  const double width = 470, height = 170, x0 = 44, x1 = width - 30, top = 10, base = 130;
  double maxc = 0;
  for (const auto& [le, n] : b) maxc = std::max(maxc, n);
  const double bw = (x1 - x0) / b.size();
  std::string out = fmt::format(
      "<svg class=\"chart\" viewBox=\"0 0 {0} {1}\" width=\"{0}\" height=\"{1}\" role=\"img\" "
      "aria-label=\"latency histogram\">",
      c(width), c(height));
  out += fmt::format(
      "<line class=\"axis\" x1=\"{0}\" x2=\"{1}\" y1=\"{2}\" y2=\"{2}\"/><text class=\"tick end\" "
      "x=\"{3}\" y=\"{4}\">{5}</text><text class=\"tick end\" x=\"{3}\" y=\"{2}\">0</text>",
      c(x0), c(x1), c(base), c(x0 - 4), c(top + 8), c(maxc));
  std::size_t label_every = std::max<std::size_t>(1, (b.size() + 5) / 6);
  for (std::size_t i = 0; i < b.size(); ++i) {
    double h = maxc > 0 ? (base - top) * b[i].second / maxc : 0;
    double lo = i == 0 ? first_lo : b[i - 1].first;
    out += fmt::format(
        "<rect class=\"bar\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\"><title>{}–{}: {} "
        "calls</title></rect>",
        c(x0 + i * bw + 1), c(base - h), c(std::max(1.0, bw - 2)), c(h), ms_text(lo),
        ms_text(b[i].first), c(b[i].second));
    if (i % label_every == 0 || i + 1 == b.size())
      out += fmt::format("<text class=\"tick\" x=\"{}\" y=\"{}\">{}</text>", c(x0 + (i + 1) * bw),
                         c(base + 13), ms_text(b[i].first));
  }
  // Percentiles: placed inside their bucket on a log scale.
  auto x_of = [&](double v) {
    for (std::size_t i = 0; i < b.size(); ++i) {
      if (v <= b[i].first) {
        double lo = i > 0 ? b[i - 1].first : first_lo > 0 ? first_lo : b[0].first / 2;
        double f = lo > 0 && b[i].first > lo
                       ? std::clamp(std::log(v / lo) / std::log(b[i].first / lo), 0.0, 1.0)
                       : 1.0;
        return x0 + (i + f) * bw;
      }
    }
    return x1;
  };
  double label_y = top + 8;
  for (const char* p : {"p50", "p90", "p99"}) {
    auto v = num(lat, (std::string(p) + "_ms").c_str());
    if (!v || !(*v > 0)) continue;
    double x = x_of(*v);
    out += fmt::format(
        "<line class=\"pct\" x1=\"{0}\" x2=\"{0}\" y1=\"{1}\" y2=\"{2}\"/><text class=\"pct\" "
        "x=\"{3}\" y=\"{4}\">{5}</text>",
        c(x), c(top), c(base), c(x + 3), c(label_y), p);
    label_y += 11;
  }
  out += fmt::format(
      "<text class=\"tick\" x=\"{}\" y=\"{}\">calls per latency bucket (log-spaced; labels are "
      "bucket upper bounds)</text>",
      c((x0 + x1) / 2), c(height - 4));
  return stats + out + "</svg>";
}

// --- Resource charts. ---

std::string line_chart(const json& e, const json& samples, const char* field, double scale,
                       const char* title, const char* unit, std::optional<double> baseline) {
  std::vector<std::pair<double, double>> pts;
  for (const auto& s : samples) {
    auto t = num(s, "t");
    auto v = num(s, field);
    if (t && v) pts.emplace_back(*t, *v * scale);
  }
  if (pts.empty()) return "";
  const double width = 470, height = 160, x0 = 52, x1 = width - 14, top = 22, base = 140;
  double span = std::max(span_of(e), pts.back().first);
  double vmax = 0, vmin = std::numeric_limits<double>::max();
  for (const auto& [t, v] : pts) vmax = std::max(vmax, v), vmin = std::min(vmin, v);
  if (baseline) vmax = std::max(vmax, *baseline * scale), vmin = std::min(vmin, *baseline * scale);
  double lo = std::max(0.0, vmin - (vmax - vmin) * 0.1);
  if (vmax - lo < 1e-9) vmax = lo + 1;
  double hi = vmax + (vmax - lo) * 0.05;
  const double sx = (x1 - x0) / span;
  auto y_of = [&](double v) { return base - (v - lo) / (hi - lo) * (base - top); };
  // As many decimals as the range needs to tell the labels apart.
  auto value = [&](double v) {
    return fmt::format("{:.{}f}", v, hi - lo >= 20 ? 0 : hi - lo >= 2 ? 1 : 2);
  };
  std::string out = fmt::format(
      "<svg class=\"chart\" viewBox=\"0 0 {0} {1}\" width=\"{0}\" height=\"{1}\" role=\"img\" "
      "aria-label=\"{2}\">",
      c(width), c(height), title, c(x0));
  out += time_axis(x0, sx, span, top, base, true, 6);
  for (double v : {lo, (lo + hi) / 2, hi})
    out += fmt::format("<text class=\"tick end\" x=\"{}\" y=\"{}\">{}</text>", c(x0 - 4),
                       c(v == lo ? y_of(v) : y_of(v) + 3), value(v));
  out += overlay(e, x0, sx, span, top, base);
  if (baseline)
    out += fmt::format(
        "<line class=\"baseline\" x1=\"{0}\" x2=\"{1}\" y1=\"{2}\" y2=\"{2}\"><title>baseline {3} "
        "{4}</title></line>",
        c(x0), c(x1), c(y_of(*baseline * scale)), c(*baseline * scale), unit);
  std::size_t step =
      std::max<std::size_t>(1, (pts.size() + lim.chart_points - 1) / lim.chart_points);
  std::string poly;
  for (std::size_t i = 0; i < pts.size(); i += step)
    poly += c(x0 + pts[i].first * sx) + "," + c(y_of(pts[i].second)) + " ";
  if ((pts.size() - 1) % step != 0)
    poly += c(x0 + pts.back().first * sx) + "," + c(y_of(pts.back().second));
  out += "<polyline class=\"series\" points=\"" + poly + "\"/>";
  out += fmt::format("<text class=\"tick end\" x=\"{}\" y=\"{}\">max {} {}</text>", c(x1), c(13),
                     value(vmax), unit);
  return out + "</svg>";
}

}  // namespace faultmux::reports::html_parts
