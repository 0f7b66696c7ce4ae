// Test helpers: a private run directory removed afterwards, and the path of
// the built faultmux binary.
#pragma once

#include <string>

namespace faultmux::test {

// $TMPDIR, or /tmp when it is unset or empty (as the driver does).
std::string temp_root();

// A fresh 0700 directory <temp_root()>/<prefix>-XXXXXX, removed with
// everything in it on destruction.
class run_dir {
 public:
  explicit run_dir(const std::string& prefix = "faultmux-test");
  ~run_dir();
  run_dir(const run_dir&) = delete;
  run_dir& operator=(const run_dir&) = delete;
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

inline const char* binary() {
  return FAULTMUX_BINARY_PATH;
}

// Reads a whole file ("" when missing).
std::string slurp(const std::string& path);

// Writes `text` to the file `name` in `dir`; returns its path.
std::string write_file(const run_dir& dir, const std::string& name, const std::string& text);

}  // namespace faultmux::test
