#include "tests/support/install_support.hpp"

#include <filesystem>

#include "tests/support/process_support.hpp"

namespace faultmux::test::install {
namespace fs = std::filesystem;

std::string build_dir() {
  return FAULTMUX_BUILD_DIR;
}

std::string source_dir() {
  return FAULTMUX_SOURCE_DIR;
}

std::string cmake_version() {
  return FAULTMUX_CMAKE_VERSION;
}

std::string sh_quote(const std::string& text) {
  std::string out = "'";
  for (char c : text) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

finished run_program(const run_dir& dir, const std::vector<std::string>& argv, ms timeout) {
  static int serial = 0;
  const std::string name = "program" + std::to_string(++serial);
  child_process p = spawn_logged(argv, dir.file(name + ".stderr"));
  return fault::finish(p, dir, name, timeout);
}

std::string install_into(const run_dir& dir, const std::string& prefix) {
  finished f =
      run_program(dir, {FAULTMUX_CMAKE_COMMAND, "--install", build_dir(), "--prefix", prefix});
  return f.exited(0) ? "" : f.describe();
}

bool can_hide_trees() {
  static const bool can = [] {
    if (!fs::exists("/usr/bin/unshare")) return false;
    run_dir dir("faultmux-unshare");
    return run_program(dir,
                       {"/usr/bin/unshare", "-rm", "/bin/sh", "-c",
                        "mount -t tmpfs faultmux-hidden " + sh_quote(dir.path())},
                       ms(10000))
        .exited(0);
  }();
  return can;
}

finished run_without_trees(const run_dir& dir, const std::string& cwd, const std::string& script,
                           ms timeout) {
  std::string hide;
  const fs::path src = fs::weakly_canonical(source_dir()),
                 build = fs::weakly_canonical(build_dir());
  auto inside = [](const fs::path& p, const fs::path& root) {
    return p.lexically_relative(root).string().rfind("..", 0) != 0;
  };
  // A $TMPDIR inside the trees would hide the test's own directories too.
  const fs::path tmp = fs::weakly_canonical(temp_root());
  if (can_hide_trees() && !inside(tmp, src) && !inside(tmp, build)) {
    hide = "mount -t tmpfs faultmux-hidden " + sh_quote(src.string()) + "\n";
    if (!inside(build, src))
      hide += "mount -t tmpfs faultmux-hidden " + sh_quote(build.string()) + "\n";
  }
  const std::string body = hide + "cd " + sh_quote(cwd) + "\nexec 2>&1\n" + script;
  std::vector<std::string> argv{"/bin/sh", "-ec", body};
  if (!hide.empty()) argv.insert(argv.begin(), {"/usr/bin/unshare", "-rm"});
  return run_program(dir, argv, timeout);
}

}  // namespace faultmux::test::install
