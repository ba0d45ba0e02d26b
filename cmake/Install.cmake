# What `cmake --install` puts under the prefix, and the CMake package that
# lets another project write a shim on the libraries:
#
#   find_package(wasmshim 0.1 REQUIRED)
#   target_link_libraries(my-shim PRIVATE wasmshim::shim wasmshim::otel)
#
# Components: `runtime` (the shim and the CLI) and `dev` (headers, static
# libraries, the CMake package); cmake/Package.cmake makes a .deb of each.
# Included from the top-level CMakeLists.txt once every library exists.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(WASMSHIM_INSTALL_CMAKEDIR ${CMAKE_INSTALL_LIBDIR}/cmake/wasmshim CACHE STRING
  "Where the wasmshim CMake package is installed, under the prefix")

# The libraries a consumer asks for by name; everything they link of ours is
# exported with them (below), so the list follows the layers' link lines.
set(wasmshim_exported_roots
  wasmshim_shim wasmshim_otel wasmshim_otel_receiver wasmshim_wasm wasmshim_runtime
  wasmshim_instrument)

# Third-party targets the exported libraries may link, and what the package
# configuration does to define them (wasmshimConfig.cmake.in). A link to any
# other imported target stops the configure here: an installed package that
# names a target its consumers cannot have would fail only there, later.
set(wasmshim_known_imported_prefixes
  Threads:: protobuf:: gRPC:: ZLIB:: OpenSSL:: nlohmann_json:: wabt::
  PkgConfig::SECCOMP PkgConfig::HTTPLIB)

# The project's library targets in the link closure of `roots` (aliases
# resolved, link-only and build-only wrappers looked through), into `out`;
# the imported targets met on the way into `out_imported`.
function(wasmshim_link_closure out out_imported)
  set(pending ${ARGN})
  set(seen)
  set(imported)
  while(pending)
    list(POP_FRONT pending target)
    if(NOT TARGET ${target})
      continue()
    endif()
    get_target_property(aliased ${target} ALIASED_TARGET)
    if(aliased)
      set(target ${aliased})
    endif()
    get_target_property(is_imported ${target} IMPORTED)
    if(is_imported)
      list(APPEND imported ${target})
      continue()
    endif()
    if(target IN_LIST seen)
      continue()
    endif()
    list(APPEND seen ${target})
    wasmshim_direct_links(${target} links)
    list(APPEND pending ${links})
  endwhile()
  list(REMOVE_DUPLICATES imported)
  set(${out} ${seen} PARENT_SCOPE)
  set(${out_imported} ${imported} PARENT_SCOPE)
endfunction()

wasmshim_link_closure(wasmshim_exported wasmshim_imported ${wasmshim_exported_roots})

foreach(target IN LISTS wasmshim_imported)
  set(known FALSE)
  foreach(prefix IN LISTS wasmshim_known_imported_prefixes)
    string(FIND "${target}" "${prefix}" at)
    if(at EQUAL 0)
      set(known TRUE)
    endif()
  endforeach()
  if(NOT known)
    message(FATAL_ERROR "wasmshim: an installed library links ${target}, which "
      "cmake/wasmshimConfig.cmake.in does not find for consumers: add it there and to "
      "wasmshim_known_imported_prefixes in cmake/Install.cmake")
  endif()
endforeach()

foreach(target IN LISTS wasmshim_exported)
  # wasmshim_shim is wasmshim::shim once installed, as the in-tree alias.
  string(REGEX REPLACE "^wasmshim_" "" export_name ${target})
  set_target_properties(${target} PROPERTIES EXPORT_NAME ${export_name})
  # Generated protobuf code is compiled into the archives; its headers are
  # the build's own, never part of the installed interface.
  foreach(property INTERFACE_INCLUDE_DIRECTORIES INTERFACE_SYSTEM_INCLUDE_DIRECTORIES)
    get_target_property(directories ${target} ${property})
    if(NOT directories)
      continue()
    endif()
    set(wrapped)
    foreach(directory IN LISTS directories)
      if(directory MATCHES "^\\$<" OR NOT IS_ABSOLUTE "${directory}")
        list(APPEND wrapped "${directory}")
      else()
        list(APPEND wrapped "$<BUILD_INTERFACE:${directory}>")
      endif()
    endforeach()
    set_target_properties(${target} PROPERTIES ${property} "${wrapped}")
  endforeach()
endforeach()
list(JOIN wasmshim_exported " " wasmshim_exported_text)
message(STATUS "wasmshim: installing ${wasmshim_exported_text}")

install(TARGETS containerd-shim-wasmshim-v1 wasmshim
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT runtime)

install(TARGETS ${wasmshim_exported} EXPORT wasmshimTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT dev
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT dev
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})

# Each layer's public headers: src/<layer>/include/wasmshim/<layer>/.
file(GLOB wasmshim_public_include_dirs LIST_DIRECTORIES true
  ${PROJECT_SOURCE_DIR}/src/*/include/wasmshim)
foreach(directory IN LISTS wasmshim_public_include_dirs)
  install(DIRECTORY ${directory} DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} COMPONENT dev
    FILES_MATCHING PATTERN "*.h")
endforeach()

install(EXPORT wasmshimTargets
  NAMESPACE wasmshim::
  DESTINATION ${WASMSHIM_INSTALL_CMAKEDIR}
  COMPONENT dev)

configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/wasmshimConfig.cmake.in
  ${CMAKE_BINARY_DIR}/wasmshimConfig.cmake
  INSTALL_DESTINATION ${WASMSHIM_INSTALL_CMAKEDIR})
write_basic_package_version_file(${CMAKE_BINARY_DIR}/wasmshimConfigVersion.cmake
  VERSION ${PROJECT_VERSION}
  COMPATIBILITY SameMajorVersion)
install(FILES ${CMAKE_BINARY_DIR}/wasmshimConfig.cmake
  ${CMAKE_BINARY_DIR}/wasmshimConfigVersion.cmake
  DESTINATION ${WASMSHIM_INSTALL_CMAKEDIR}
  COMPONENT dev)

include(${CMAKE_CURRENT_LIST_DIR}/Package.cmake)
