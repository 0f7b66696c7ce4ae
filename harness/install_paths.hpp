// Where faultmux finds its own files (the syscall shim, the built-in
// scenarios, the Mitogen launcher): relative to the binary when installed
// (PREFIX/bin/faultmux with PREFIX/lib/faultmux/ and PREFIX/share/faultmux/),
// else the build tree and the checkout it was built from.
#pragma once

#include <string>

namespace faultmux {

// The files one faultmux binary uses.
struct install_paths {
  bool installed = false;  // found PREFIX/share/faultmux/ beside PREFIX/bin/
  std::string shim;        // libfaultmux_shim.so
  std::string data_dir;    // holds scenarios/ (*.toml, mitogen_mux.py); "{source}" in a target
  std::string report_dir;  // where `faultmux suite` writes latest/ and history/
  // faultmux-worker beside the faultmux binary, "" when absent: the worker
  // role alone, linked statically so it starts fast (harness/worker_main.cpp).
  std::string small_worker;
};

// The paths for the faultmux binary at `self`. Installed: PREFIX/lib/faultmux/,
// PREFIX/share/faultmux/ and ./reports (the working directory), never the
// build tree. In the build tree: the shim built with it (or beside it), the
// checkout, and the checkout's reports/.
install_paths find_install_paths(const std::string& self);

// The paths for the running program (/proc/self/exe).
const install_paths& own_install_paths();

// This program's executable, from /proc/self/exe ("" when unreadable).
std::string self_exe();

}  // namespace faultmux
