# Packaging: the pkg-config file and the Debian packages (`cpack -G DEB` in the build directory).
# Included from CMakeLists.txt when REDISPEBBLE_INSTALL is ON, after the install rules. Components:
#   dev  -> libredispebble-dev: the libraries (static archives unless BUILD_SHARED_LIBS), headers,
#           CMake package, redispebble.pc, README and docs/
#   tool -> redispebble: the command-line tool and its example inputs
# See README.md, "Debian packages and pkg-config".

# --- redispebble.pc. What it says must match what the CMake targets link (redispebble_* above):
# the libraries in link order (testing and reconciler need pebble, pebble needs core), the public
# compile definitions of redispebble::pebble, Boost.JSON (PUBLIC in redispebble::pebble; Boost ships
# no .pc in Debian, so -lboost_json), Threads, and the PRIVATE dependencies yaml-cpp, fmt and
# libcrypto. Those are Requires.private for shared libraries; with static archives (the default)
# every link needs them, so they are plain Requires and `pkg-config --libs redispebble` links.
set(_rp_pc_dir ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}" OR IS_ABSOLUTE "${CMAKE_INSTALL_INCLUDEDIR}")
  set(REDISPEBBLE_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
  set(REDISPEBBLE_PC_LIBDIR "${CMAKE_INSTALL_FULL_LIBDIR}")
  set(REDISPEBBLE_PC_INCLUDEDIR "${CMAKE_INSTALL_FULL_INCLUDEDIR}")
else()
  # ${pcfiledir}: the directory of the .pc file (pkg-config and pkgconf both define it).
  file(RELATIVE_PATH _rp_up /r/${_rp_pc_dir} /r)
  string(REGEX REPLACE "/$" "" _rp_up "${_rp_up}")
  set(REDISPEBBLE_PC_PREFIX "\${pcfiledir}/${_rp_up}")
  set(REDISPEBBLE_PC_LIBDIR "\${prefix}/${CMAKE_INSTALL_LIBDIR}")
  set(REDISPEBBLE_PC_INCLUDEDIR "\${prefix}/${CMAKE_INSTALL_INCLUDEDIR}")
endif()
set(REDISPEBBLE_PC_LIBS)
foreach(t redispebble_testing redispebble_reconciler redispebble_pebble redispebble_core)
  get_target_property(_rp_type ${t} TYPE)
  if(NOT _rp_type STREQUAL "INTERFACE_LIBRARY")
    get_target_property(_rp_name ${t} OUTPUT_NAME)
    string(APPEND REDISPEBBLE_PC_LIBS " -l${_rp_name}")
  endif()
endforeach()
string(STRIP "${REDISPEBBLE_PC_LIBS}" REDISPEBBLE_PC_LIBS)
get_target_property(_rp_defs redispebble_pebble INTERFACE_COMPILE_DEFINITIONS)
list(TRANSFORM _rp_defs PREPEND "-D")
list(JOIN _rp_defs " " REDISPEBBLE_PC_DEFINES)
if(BUILD_SHARED_LIBS)
  set(REDISPEBBLE_PC_REQUIRES "Requires.private")
else()
  set(REDISPEBBLE_PC_REQUIRES "Requires")
endif()
configure_file(${CMAKE_CURRENT_LIST_DIR}/redispebble.pc.in ${CMAKE_CURRENT_BINARY_DIR}/redispebble.pc @ONLY)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/redispebble.pc DESTINATION ${_rp_pc_dir} COMPONENT dev)

# --- CPack, Debian generator: one package per component. Only for this project at the top level:
# a parent that adds us with add_subdirectory (and REDISPEBBLE_INSTALL=ON) keeps its own CPack setup.
if(NOT REDISPEBBLE_MASTER_PROJECT)
  return()
endif()
set(REDISPEBBLE_PACKAGE_MAINTAINER "redispebble maintainers <maintainers@users.noreply.r-seed-ff28969b.example>"
    CACHE STRING "Maintainer field of the Debian packages (Name <email>)")
set(CPACK_PACKAGE_NAME ${PROJECT_NAME})
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "${PROJECT_DESCRIPTION}")
set(CPACK_PACKAGE_CONTACT "${REDISPEBBLE_PACKAGE_MAINTAINER}")
set(CPACK_RESOURCE_FILE_LICENSE ${PROJECT_SOURCE_DIR}/LICENSE)
set(CPACK_GENERATOR DEB)
set(CPACK_COMPONENTS_ALL dev tool)
if(NOT REDISPEBBLE_TOOLS)
  set(CPACK_COMPONENTS_ALL dev)
endif()
set(CPACK_DEB_COMPONENT_INSTALL ON)
# Debian's file layout: the package installs under /usr whatever CMAKE_INSTALL_PREFIX was (the CMake
# package and redispebble.pc are relocatable). Configure with -DCMAKE_INSTALL_PREFIX=/usr for a
# package meant for distribution: the libraries then go to Debian's multiarch directory
# (lib/<triplet>, GNUInstallDirs) and the tool looks for its examples in /usr/share.
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)  # name_version_arch.deb, the Debian convention
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${REDISPEBBLE_PACKAGE_MAINTAINER}")
set(CPACK_DEBIAN_PACKAGE_SECTION libdevel)
find_program(REDISPEBBLE_DPKG dpkg)
if(REDISPEBBLE_DPKG)
  execute_process(COMMAND ${REDISPEBBLE_DPKG} --print-architecture OUTPUT_VARIABLE _rp_arch
                  OUTPUT_STRIP_TRAILING_WHITESPACE RESULT_VARIABLE _rp_rc)
  if(_rp_rc EQUAL 0 AND _rp_arch)
    set(CPACK_DEBIAN_PACKAGE_ARCHITECTURE ${_rp_arch})
  endif()
endif()

set(CPACK_DEBIAN_DEV_PACKAGE_NAME libredispebble-dev)
set(CPACK_DEBIAN_DEV_PACKAGE_SECTION libdevel)
# The Description's first line is CPACK_PACKAGE_DESCRIPTION_SUMMARY (project()'s DESCRIPTION); these
# lines are the extended description.
set(CPACK_DEBIAN_DEV_DESCRIPTION "The C++20 library, development files: redispebble::core (configuration,
peer data, Pebble layers, Redis flags, decide()), redispebble::pebble (an asynchronous Pebble
client on Boost.Asio), redispebble::reconciler and redispebble::testing (a Pebble-compatible test
server). Libraries, headers, the CMake package (find_package(redispebble)) and
redispebble.pc for pkg-config.")
# What the headers include and the archives need: Debian bookworm's names.
set(CPACK_DEBIAN_DEV_PACKAGE_DEPENDS
    "libboost1.81-dev, libboost-json1.81-dev, libyaml-cpp-dev, libfmt-dev, libssl-dev")

set(CPACK_DEBIAN_TOOL_PACKAGE_NAME redispebble)
set(CPACK_DEBIAN_TOOL_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_TOOL_DESCRIPTION "The command-line tool: redispebble plan, apply, status, diff and exec
compute the Pebble layer for a Redis unit, apply it through Pebble's API and report the unit's
status.")
# The shared libraries the tool links (Boost.JSON, yaml-cpp, fmt, libcrypto, libstdc++) come from
# dpkg-shlibdeps (package dpkg-dev) when it is there; without it, the bookworm names by hand.
set(_rp_tool_depends)
find_program(REDISPEBBLE_DPKG_SHLIBDEPS dpkg-shlibdeps)
if(REDISPEBBLE_DPKG_SHLIBDEPS)
  set(CPACK_DEBIAN_TOOL_PACKAGE_SHLIBDEPS ON)
else()
  list(APPEND _rp_tool_depends libboost-json1.81.0 libyaml-cpp0.7 libfmt9 libssl3 libstdc++6 libgcc-s1 libc6)
endif()
if(BUILD_SHARED_LIBS)
  # The tool then links our own shared libraries, which are in the -dev package.
  list(APPEND _rp_tool_depends "libredispebble-dev (= ${PROJECT_VERSION})")
  set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS_PRIVATE_DIRS ${CMAKE_CURRENT_BINARY_DIR})
endif()
list(JOIN _rp_tool_depends ", " CPACK_DEBIAN_TOOL_PACKAGE_DEPENDS)

include(CPack)
