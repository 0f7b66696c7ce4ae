// The evidence `faultmux repro` starts from: files a user has from a field
// failure, each recognised by its content (never by its name), and the lines
// of each that say something went wrong.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace faultmux::repro {

enum class evidence_kind {
  strace,         // strace -f of the mux (-tt, -T, -e trace=..., split lines joined)
  faultmux_log,   // faultmux's stderr lines ("06:06:01.796 mux[6151] error: ...")
  mitogen_log,    // Mitogen's log lines ("... ERROR mitogen.unix: ...", tracebacks)
  events,         // faultmux's events (JSON lines with "event")
  results,        // a results.json
  client_errors,  // a worker's or client's error output, or notes with errors pasted in
};

const char* kind_name(evidence_kind k);

// Which process a line came from: the mux (or Mitogen's router), or a client.
enum class side { mux, client };
const char* side_name(side s);

// One line that says something went wrong, with where it came from.
struct evidence_line {
  side from = side::mux;
  std::string text;  // the message, without timestamp or process prefix
};

struct evidence_file {
  std::string path;
  evidence_kind kind = evidence_kind::client_errors;
  std::string text;  // the whole file
};

// Reads and recognises `path`; nullopt with *why ("empty", "not text", "not
// recognised: ...") when it is none of the kinds.
std::optional<evidence_file> read_evidence(const std::string& path, std::string* why);

// The kind of `text`, or nullopt when it is none (no line looks like an
// error and it is no log, trace, events or results file).
std::optional<evidence_kind> recognise(const std::string& text);

// Whether a line of free text looks like an error report.
bool looks_like_error(const std::string& line);

// The error lines of a log or of free text (strace, events and results are
// read by their own readers): faultmux's lines at level error or critical,
// Mitogen's at ERROR or CRITICAL with each traceback's last line, and any
// error-looking line of a client's output or notes.
std::vector<evidence_line> error_lines(const evidence_file& f);

// A line with its timestamps, pids, paths, addresses and numbers made
// generic, so that the same message from two runs compares equal.
std::string normalised(const std::string& line);

}  // namespace faultmux::repro
