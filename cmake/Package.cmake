# What `cmake --install` and the Debian package (scripts/package, CPack's DEB
# generator) put in place. With DOCKFORM_PACKAGE=ON the layout follows Debian
# policy: the man page, the changelog and the larger docs gzip-compressed
# (gzip -9n, reproducible), the copyright file, systemd units and Lintian
# overrides. CMAKE_INSTALL_PREFIX /usr then; the package is made with `cpack`.
option(DOCKFORM_PACKAGE "Install the Debian package's layout (scripts/package)" OFF)
set(DOCKFORM_PACKAGE_MAINTAINER "The dockform authors <dockform@example.org>"
  CACHE STRING "The Maintainer of the Debian package and of its changelog entry")

# The bash completion, from the completion command of the binary just built.
add_custom_command(OUTPUT ${CMAKE_BINARY_DIR}/completion/dockform
  COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_BINARY_DIR}/completion
  COMMAND $<TARGET_FILE:dockform> completion bash > ${CMAKE_BINARY_DIR}/completion/dockform
  DEPENDS dockform VERBATIM)
add_custom_target(dockform_completion ALL DEPENDS ${CMAKE_BINARY_DIR}/completion/dockform)
install(FILES ${CMAKE_BINARY_DIR}/completion/dockform DESTINATION share/bash-completion/completions)

if(NOT DOCKFORM_PACKAGE)
  install(FILES docs/dockform.1 DESTINATION share/man/man1)
  return()
endif()

# gzip -9n SOURCE into OUTPUT at build time; the target `dockform_compressed` builds them all.
set(_compressed "")
function(dockform_gzip source output)
  add_custom_command(OUTPUT ${output}
    COMMAND sh -c "gzip -9n -c \"$0\" > \"$1\"" ${source} ${output}
    DEPENDS ${source} VERBATIM)
  set(_compressed ${_compressed} ${output} PARENT_SCOPE)
endfunction()

set(_pkg ${CMAKE_BINARY_DIR}/package)
set(_doc share/doc/dockform)
dockform_gzip(${CMAKE_SOURCE_DIR}/docs/dockform.1 ${_pkg}/dockform.1.gz)
install(FILES ${_pkg}/dockform.1.gz DESTINATION share/man/man1)

# The Debian changelog: its entry carries the package's version and the date of the commit built.
set(DOCKFORM_CHANGELOG_DATE "")
if(GIT_FOUND AND EXISTS ${CMAKE_SOURCE_DIR}/.git)
  execute_process(COMMAND ${GIT_EXECUTABLE} log -1 --format=%cD WORKING_DIRECTORY ${CMAKE_SOURCE_DIR}
    OUTPUT_VARIABLE DOCKFORM_CHANGELOG_DATE OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
endif()
if(NOT DOCKFORM_CHANGELOG_DATE)
  string(TIMESTAMP DOCKFORM_CHANGELOG_DATE "%a, %d %b %Y %H:%M:%S +0000" UTC)
endif()
configure_file(${CMAKE_SOURCE_DIR}/packaging/changelog.in ${_pkg}/changelog @ONLY)
dockform_gzip(${_pkg}/changelog ${_pkg}/changelog.gz)
install(FILES ${_pkg}/changelog.gz packaging/copyright DESTINATION ${_doc})

# README and docs/*.md: over 4 kB compressed, as Debian policy asks of /usr/share/doc.
file(GLOB _docs CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/docs/*.md)
foreach(doc ${CMAKE_SOURCE_DIR}/README.md ${_docs})
  get_filename_component(name ${doc} NAME)
  set(destination ${_doc}/docs)
  if(name STREQUAL "README.md")
    set(destination ${_doc})
  endif()
  file(SIZE ${doc} size)
  if(size GREATER 4096)
    dockform_gzip(${doc} ${_pkg}/doc/${name}.gz)
    install(FILES ${_pkg}/doc/${name}.gz DESTINATION ${destination})
  else()
    install(FILES ${doc} DESTINATION ${destination})
  endif()
endforeach()
add_custom_target(dockform_compressed ALL DEPENDS ${_compressed})

install(FILES packaging/systemd/dockform-snapshot@.service packaging/systemd/dockform-snapshot@.timer
  DESTINATION lib/systemd/system)
install(FILES packaging/lintian-overrides DESTINATION share/lintian/overrides RENAME dockform)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME dockform)
set(CPACK_PACKAGE_VERSION ${DOCKFORM_VERSION})
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "snapshots and restores Docker and Podman volumes")
# The extended description, as plain lines (an empty line between paragraphs):
# CPack puts the summary above it and indents it as the control file wants.
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION "dockform snapshots the volumes a manifest declares into compressed,
checksummed archives in a folder or S3 bucket, optionally encrypted with
age, and restores them, through the Docker or Podman API with a small
static helper.

The package brings the man page, the bash completion and systemd units for
nightly snapshots and pruning (dockform-snapshot@.timer, not enabled).")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${DOCKFORM_PACKAGE_MAINTAINER}")
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# dpkg-shlibdeps cannot see libcurl: dockform opens it at its first use
# (src/util/curl_library.cpp). The shlibdeps result is added to this.
set(CPACK_DEBIAN_PACKAGE_DEPENDS "libcurl4 (>= 7.88.0)")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "docker.io | podman")
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_STRIP_FILES ON)
set(CPACK_THREADS 1)
include(CPack)
