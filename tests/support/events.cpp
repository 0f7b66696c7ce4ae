#include "tests/support/events.hpp"

#include <stdexcept>

#include "tests/support/process_support.hpp"
#include "tests/support/run_dir.hpp"

namespace faultmux::test {

std::vector<json> read_events(const std::string& path, bool strict) {
  std::vector<json> out;
  std::string text = slurp(path);
  std::size_t at = 0;
  for (int line_no = 1; at < text.size(); ++line_no) {
    auto nl = text.find('\n', at);
    if (nl == std::string::npos) {
      if (!strict) break;
      nl = text.size();
    }
    auto j = json::parse(text.begin() + static_cast<long>(at), text.begin() + static_cast<long>(nl),
                         nullptr, false);
    if (!j.is_discarded())
      out.push_back(std::move(j));
    else if (strict)
      throw std::runtime_error(path + " line " + std::to_string(line_no) +
                               " is not JSON: " + text.substr(at, nl - at));
    at = nl + 1;
  }
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
