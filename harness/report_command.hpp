// `faultmux report`: index.html from results.json files (one run, or several
// compared as a history), or the shards of explorations merged into one
// results.json; and the suite's reports/latest/index.html with the
// history of the last suite runs kept under reports/history/.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace faultmux {

struct report_options {
  std::vector<std::string> files;  // results.json documents, any order
  std::string out_dir;             // index.html (or the merged results.json) goes here
  std::string command_line;        // as typed: the run of merged older explore-*.json
  // --merge: the runs side by side in one matrix (reports::merge_runs), not
  // the newest with a history of the others.
  bool merge = false;
};

// 0 written (prints the path of index.html, or each merged exploration's
// certificate and the path of results.json), 2 on a file that is missing,
// unreadable or not a results document, or shards that do not merge (named
// with what is wrong).
int run_report(const report_options& o);

// Copies latest_dir/results.json to history_dir/<run.started>.json, then
// renders latest_dir/index.html from the newest `keep` files of history_dir
// (the run just copied included). "" or what failed; *index_path is set to
// the page written.
std::string render_with_history(const std::string& latest_dir, const std::string& history_dir,
                                std::size_t keep, std::string* index_path);

}  // namespace faultmux
