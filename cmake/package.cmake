# `cpack -G DEB` in the build directory (or `./faultmux package`):
# faultmux_<version>_amd64.deb, the install layout under /usr.
set(CPACK_PACKAGE_NAME faultmux)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "fault-injection harness for Mitogen-style connection multiplexers")
set(CPACK_PACKAGE_DESCRIPTION
    "faultmux runs seeded scenarios of faults (dying and hostile workers, EAGAIN, \
full backlogs, fd exhaustion) against its own mux, Mitogen 0.3.3 or a mux of \
your own, and judges that errors are logged and nothing else is lost.")
set(CPACK_PACKAGE_CONTACT "faultmux maintainers <faultmux@invalid>")
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
# The build is RelWithDebInfo: the package carries no debug info.
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION devel)
set(CPACK_DEBIAN_PACKAGE_HOMEPAGE "https://mitogen.networkgenomics.com/")
# `--target mitogen` and mitogen_mux.py run python3 with Debian's Mitogen;
# the HTML report's browser checks use Chromium.
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS python3)
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "python3-mitogen, chromium")
# The shared libraries faultmux links, as dpkg-shlibdeps (dpkg-dev) finds
# them; without it, the ones Debian 12 provides.
find_program(FAULTMUX_DPKG_SHLIBDEPS dpkg-shlibdeps)
if(FAULTMUX_DPKG_SHLIBDEPS)
  set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
else()
  set(CPACK_DEBIAN_PACKAGE_DEPENDS
      "libc6 (>= 2.36), libtomlplusplus3, libstdc++6 (>= 12), libgcc-s1")
endif()
include(CPack)
