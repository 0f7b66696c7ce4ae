#include "tests/support/python_program.hpp"

#include <sys/wait.h>

#include <algorithm>
#include <sstream>
#include <stdexcept>

#include "tests/support/mux_process.hpp"

namespace faultmux::test {

std::string interop_script(const std::string& name) {
  return std::string(FAULTMUX_SOURCE_DIR) + "/tests/interop/" + name;
}

std::map<std::string, std::string> fields(const std::string& line) {
  std::map<std::string, std::string> out;
  std::istringstream in(line);
  std::string word;
  while (in >> word) {
    auto eq = word.find('=');
    if (eq != std::string::npos) out[word.substr(0, eq)] = word.substr(eq + 1);
  }
  return out;
}

std::uint32_t id_field(const std::map<std::string, std::string>& f, const std::string& key) {
  auto it = f.find(key);
  if (it == f.end()) throw std::runtime_error("no field " + key);
  return static_cast<std::uint32_t>(std::stoul(it->second));
}

bool finished::exited_zero() const {
  return status && WIFEXITED(*status) && WEXITSTATUS(*status) == 0;
}

std::string finished::describe(const std::string& stderr_text) const {
  std::string s = status ? describe_status(*status) : "did not exit in time";
  for (const auto& l : lines) s += "\n  stdout: " + l;
  if (!stderr_text.empty()) s += "\n  stderr: " + stderr_text;
  return s;
}

finished wait_end(child_process& p, std::chrono::milliseconds limit) {
  using namespace std::chrono;
  finished r;
  auto end = steady_clock::now() + limit;
  auto left = [&] {
    return std::max(milliseconds(0), duration_cast<milliseconds>(end - steady_clock::now()));
  };
  while (auto line = p.read_line(left())) r.lines.push_back(*line);
  r.status = p.wait(left());
  return r;
}

finished run_program(const std::vector<std::string>& argv, const std::string& stderr_path,
                     std::chrono::milliseconds limit) {
  child_process p =
      stderr_path.empty() ? child_process::spawn(argv, true) : spawn_logged(argv, stderr_path);
  return wait_end(p, limit);
}

const std::optional<std::string>& mitogen_version() {
  static const std::optional<std::string> version = [] {
    finished r = run_program(
        {python, "-B", "-c", "import mitogen.core, mitogen.unix; print(mitogen.__version__)"}, "",
        std::chrono::milliseconds(30000));
    return r.exited_zero() && !r.lines.empty() ? std::optional(r.lines.front()) : std::nullopt;
  }();
  return version;
}

}  // namespace faultmux::test
