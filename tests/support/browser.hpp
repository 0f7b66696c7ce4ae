// Test helpers for the HTML report in headless Chromium: finding the
// browser, running it bounded (nothing of it left behind), and what it
// renders (the DOM, a screenshot, the layout of the page's drawings).
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "tests/support/run_dir.hpp"

namespace faultmux::test {

// Why a browser test fails when no Chromium is found.
extern const char* const no_chromium;

// $FAULTMUX_CHROMIUM, else the first Chromium installed, else "".
std::string find_chromium();

struct browser_result {
  bool finished = false;  // exited before the timeout
  int status = -1;
  std::string out, err;
};

// Runs Chromium with args in its own process group, at most `timeout`, and
// reaps whatever is left of it and its helpers.
browser_result run_browser(const std::string& exe, const std::vector<std::string>& args,
                           const run_dir& tmp, std::chrono::seconds timeout);

// The headless flags every run uses, with a profile in `tmp`.
std::vector<std::string> browser_args(const run_dir& tmp);

// Console messages and uncaught exceptions Chromium logged for the page.
std::string console_errors(const std::string& err);

// The rendered page's DOM, or "" with a failure; its console errors into
// `console` when given.
std::string dump_dom(const std::string& chromium, const std::string& page, std::string* console);

// A 1400x3000 screenshot of `page` into `png`, checked to be a real PNG.
void screenshot(const std::string& chromium, const std::string& page, const std::string& png);

// Labels of the page's drawings (every svg with a viewBox: timelines,
// histograms, charts) drawn outside it, as the browser lays them out
// ("label x+width of viewBox-width; ..."), and how many drawings there are.
struct chart_layout {
  int charts = -1;
  std::string overflowing;
};
chart_layout chart_labels(const std::string& chromium, const std::string& page);

}  // namespace faultmux::test
