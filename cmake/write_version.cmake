# Writes OUTPUT (a .cpp) from cmake/version.cpp.in with FAULTMUX_VERSION and
# the checkout's git revision ("unknown" outside git). Run on every build;
# configure_file leaves OUTPUT untouched when its text is unchanged, so only
# a new revision recompiles (one file) and relinks.
#   cmake -DSOURCE_DIR=... -DOUTPUT=... -DFAULTMUX_VERSION=x.y.z -P write_version.cmake
set(FAULTMUX_GIT_REVISION unknown)
find_program(GIT_PROGRAM git)
if(GIT_PROGRAM)
  execute_process(COMMAND ${GIT_PROGRAM} -C ${SOURCE_DIR} rev-parse --short=12 HEAD
                  OUTPUT_VARIABLE rev OUTPUT_STRIP_TRAILING_WHITESPACE
                  RESULT_VARIABLE rc ERROR_QUIET)
  if(rc EQUAL 0 AND rev MATCHES "^[0-9a-f]+$")
    set(FAULTMUX_GIT_REVISION ${rev})
  endif()
endif()
configure_file(${CMAKE_CURRENT_LIST_DIR}/version.cpp.in ${OUTPUT} @ONLY)
