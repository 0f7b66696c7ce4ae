#include "harness/install_paths.hpp"

#include <unistd.h>

#include <climits>
#include <filesystem>

namespace faultmux {
namespace fs = std::filesystem;

install_paths find_install_paths(const std::string& self) {
  install_paths p;
  const fs::path bin = fs::path(self).parent_path();
  if (const fs::path w = bin / "faultmux-worker"; ::access(w.c_str(), X_OK) == 0)
    p.small_worker = w.string();
  const fs::path share = bin / ".." / "share" / "faultmux";
  std::error_code ec;
  if (fs::is_directory(share / "scenarios", ec)) {
    const fs::path prefix = fs::weakly_canonical(bin / "..", ec);
    p.installed = true;
    p.shim = (prefix / "lib" / "faultmux" / "libfaultmux_shim.so").string();
    p.data_dir = (prefix / "share" / "faultmux").string();
    p.report_dir = "reports";
    return p;
  }
  p.shim = (bin / "libfaultmux_shim.so").string();
#ifdef FAULTMUX_SHIM_PATH
  // The build tree: the shim sits in faults/, not beside harness/faultmux.
  if (::access(FAULTMUX_SHIM_PATH, R_OK) == 0) p.shim = FAULTMUX_SHIM_PATH;
#endif
  p.data_dir = FAULTMUX_SOURCE_DIR;
  p.report_dir = p.data_dir + "/reports";
  return p;
}

std::string self_exe() {
  char buf[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string();
}

const install_paths& own_install_paths() {
  static const install_paths p = find_install_paths(self_exe());
  return p;
}

}  // namespace faultmux
