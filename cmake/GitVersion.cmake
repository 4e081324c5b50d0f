# dockform's version has one source: project(... VERSION ...) in CMakeLists.txt.
# Built from a git checkout, `git describe` is appended after a "+" (a local
# build of that version): 0.6.0+git.9dd7875 or 0.6.0+git.v0.6.0.3.g9dd7875.dirty
# ("-" becomes ".", so the string is also a valid Debian version). A checkout
# sitting exactly on the tag v<version> gives the plain version. Without .git
# (a tarball) or without git, the plain version and commit "unknown".
find_package(Git QUIET)
set(DOCKFORM_GIT_COMMIT "unknown")
set(DOCKFORM_VERSION "${PROJECT_VERSION}")
if(GIT_FOUND AND EXISTS ${CMAKE_SOURCE_DIR}/.git)
  execute_process(COMMAND ${GIT_EXECUTABLE} rev-parse --short=12 HEAD
    WORKING_DIRECTORY ${CMAKE_SOURCE_DIR} OUTPUT_VARIABLE _commit
    OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET RESULT_VARIABLE _rc)
  if(_rc EQUAL 0 AND _commit)
    set(DOCKFORM_GIT_COMMIT ${_commit})
  endif()
  execute_process(COMMAND ${GIT_EXECUTABLE} describe --tags --always --dirty --match "v[0-9]*"
    WORKING_DIRECTORY ${CMAKE_SOURCE_DIR} OUTPUT_VARIABLE _describe
    OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET RESULT_VARIABLE _rc)
  if(_rc EQUAL 0 AND _describe AND NOT _describe STREQUAL "v${PROJECT_VERSION}")
    string(REGEX REPLACE "[^A-Za-z0-9.]" "." _describe "${_describe}")
    set(DOCKFORM_VERSION "${PROJECT_VERSION}+git.${_describe}")
  endif()
endif()
configure_file(${CMAKE_SOURCE_DIR}/cmake/version.cpp.in ${CMAKE_BINARY_DIR}/generated/version.cpp @ONLY)
