# `cmake --install BUILD --prefix P`: the layout an installed faultmux finds
# its files in, relative to P/bin/faultmux (harness/install_paths.hpp):
#   P/bin/faultmux
#   P/bin/faultmux-worker               the workers' binary (harness/worker_main.cpp)
#   P/lib/faultmux/libfaultmux_shim.so
#   P/share/faultmux/scenarios/       built-in scenarios, mitogen_mux.py, mitogen_client.py
#   P/share/doc/faultmux/             README.md and docs/ (with the CI recipes)
#   P/lib/cmake/faultmux/             find_package(faultmux) for C++ projects
# Fixed lib/ (no multiarch directory): the binary looks for ../lib/faultmux.
include(CMakePackageConfigHelpers)

set(FAULTMUX_INSTALL_CMAKEDIR lib/cmake/faultmux)
set_target_properties(faultmux_shim PROPERTIES EXPORT_NAME shim)
install(TARGETS faultmux EXPORT faultmuxTargets RUNTIME DESTINATION bin)
# The worker role alone, beside faultmux, which finds it there.
install(TARGETS faultmux-worker RUNTIME DESTINATION bin)
install(TARGETS faultmux_shim EXPORT faultmuxTargets LIBRARY DESTINATION lib/faultmux)
# mitogen_mux.py imports nothing of the tree: the scenarios directory is all
# `--target mitogen` needs ("{source}" is P/share/faultmux).
install(DIRECTORY scenarios/ DESTINATION share/faultmux/scenarios
        FILES_MATCHING PATTERN "*.toml" PATTERN "mitogen_*.py")
install(FILES README.md DESTINATION share/doc/faultmux)
install(DIRECTORY docs/ DESTINATION share/doc/faultmux/docs
        FILES_MATCHING PATTERN "*.md" PATTERN "*.yml")

install(EXPORT faultmuxTargets NAMESPACE faultmux:: DESTINATION ${FAULTMUX_INSTALL_CMAKEDIR})
configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/faultmuxConfig.cmake.in
  ${PROJECT_BINARY_DIR}/faultmuxConfig.cmake
  INSTALL_DESTINATION ${FAULTMUX_INSTALL_CMAKEDIR})
# 0.x: a minor version may change scenario keys, so only 0.2.* satisfies 0.2.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/faultmuxConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/faultmuxConfig.cmake
              ${PROJECT_BINARY_DIR}/faultmuxConfigVersion.cmake
        DESTINATION ${FAULTMUX_INSTALL_CMAKEDIR})
