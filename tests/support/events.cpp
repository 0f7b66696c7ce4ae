#include "tests/support/events.hpp"

#include <algorithm>
#include <stdexcept>

#include "tests/support/process_support.hpp"
#include "tests/support/run_dir.hpp"
#include "wire/event_reader.hpp"

namespace faultmux::test {

namespace {

// Throws naming the first line of `path` that is not JSON, the last one
// included even without its newline: for logs that must be whole.
void require_every_line_json(const std::string& path) {
  std::string text = slurp(path);
  std::size_t at = 0;
  for (int line_no = 1; at < text.size(); ++line_no) {
    auto nl = std::min(text.find('\n', at), text.size());
    if (json::parse(text.begin() + static_cast<long>(at), text.begin() + static_cast<long>(nl),
                    nullptr, false)
            .is_discarded())
      throw std::runtime_error(path + " line " + std::to_string(line_no) +
                               " is not JSON: " + text.substr(at, nl - at));
    at = nl + 1;
  }
}

}  // namespace

std::vector<json> read_events(const std::string& path, bool strict) {
  if (strict) require_every_line_json(path);
  std::vector<json> out;
  for (const auto& e : wire::read_event_file(path, "")) out.push_back(e.fields());
  return out;
}

std::optional<json> wait_event(const std::string& events_path,
                               const std::function<bool(const json&)>& pred,
                               std::chrono::milliseconds timeout) {
  std::optional<json> found;
  eventually(
      [&] {
        for (auto& e : read_events(events_path))
          if (pred(e)) {
            found = std::move(e);
            return true;
          }
        return false;
      },
      timeout);
  return found;
}

}  // namespace faultmux::test
