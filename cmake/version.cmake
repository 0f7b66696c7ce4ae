# faultmux_version: a static library of one generated file, version.cpp,
# holding PROJECT_VERSION and the checkout's git revision. The file is
# rewritten on every build only when its text changes, so a build without a
# new commit recompiles nothing (harness/version.hpp declares it).
set(FAULTMUX_VERSION_CPP ${PROJECT_BINARY_DIR}/generated/version.cpp)
set(write_version ${CMAKE_COMMAND} -DSOURCE_DIR=${PROJECT_SOURCE_DIR}
    -DOUTPUT=${FAULTMUX_VERSION_CPP} -DFAULTMUX_VERSION=${PROJECT_VERSION}
    -P ${CMAKE_CURRENT_LIST_DIR}/write_version.cmake)
# Once now, so the file exists for the first build and for compile_commands.json.
execute_process(COMMAND ${write_version})
add_custom_target(faultmux_version_file
  COMMAND ${write_version}
  BYPRODUCTS ${FAULTMUX_VERSION_CPP}
  VERBATIM)
add_library(faultmux_version STATIC ${FAULTMUX_VERSION_CPP})
add_dependencies(faultmux_version faultmux_version_file)
target_include_directories(faultmux_version PUBLIC ${PROJECT_SOURCE_DIR})
