# Links gRPC, Abseil, protobuf, re2, c-ares, upb, OpenSSL, zlib and
# libseccomp from Debian's static archives, and the shim's C++ runtime
# statically. The shim binary is exec'd once per container start; linked to
# the shared libraries it loaded ~85 of them, and the dynamic loader's
# symbol lookups took ~8 of its ~14 ms of CPU (perf). With gRPC and its
# kin static, 11 libraries were left and the loader still took about half
# of the 3.3 ms an exec cost (6 000 symbol lookups, most into libstdc++,
# libcrypto and libssl); with all of them static only libc and libm are
# loaded, 134 lookups, 2 ms an exec. libcurl is still opened at run time
# (curl_library.cc) with its own libssl: the executable exports none of its
# OpenSSL symbols, so the two copies never meet.
option(WASMSHIM_STATIC_DEPS "Link the libraries the shim uses statically where Debian ships the archives" ON)

# Every imported library target in this directory whose shared object has a
# .a beside it is pointed at the archive.
function(wasmshim_use_static_archives)
  if(NOT WASMSHIM_STATIC_DEPS)
    return()
  endif()
  get_property(targets DIRECTORY PROPERTY IMPORTED_TARGETS)
  set(switched 0)
  foreach(target IN LISTS targets)
    if(NOT target MATCHES "^(absl|gRPC|protobuf|re2|c-ares|OpenSSL|ZLIB|PkgConfig::SECCOMP)")
      continue()
    endif()
    get_target_property(type ${target} TYPE)
    if(type STREQUAL "INTERFACE_LIBRARY")
      # pkg-config's way (re2): -lNAME or the shared object's path among the
      # link items.
      get_target_property(items ${target} INTERFACE_LINK_LIBRARIES)
      if(items)
        set(static_items "")
        foreach(item IN LISTS items)
          if(item MATCHES "^-l(.+)$")
            find_library(wasmshim_static_${CMAKE_MATCH_1} NAMES lib${CMAKE_MATCH_1}.a)
            if(wasmshim_static_${CMAKE_MATCH_1})
              set(item "${wasmshim_static_${CMAKE_MATCH_1}}")
              math(EXPR switched "${switched} + 1")
            endif()
          endif()
          string(REGEX REPLACE "\\.so(\\.[0-9.]+)?$" ".a" archive "${item}")
          if(NOT archive STREQUAL item AND EXISTS "${archive}")
            set(item "${archive}")
            math(EXPR switched "${switched} + 1")
          endif()
          list(APPEND static_items "${item}")
        endforeach()
        set_target_properties(${target} PROPERTIES INTERFACE_LINK_LIBRARIES "${static_items}")
      endif()
      continue()
    endif()
    if(NOT type MATCHES "^(SHARED|UNKNOWN)_LIBRARY$")
      continue()
    endif()
    foreach(property IMPORTED_LOCATION IMPORTED_LOCATION_NONE IMPORTED_LOCATION_RELEASE
                     IMPORTED_LOCATION_RELWITHDEBINFO IMPORTED_LOCATION_DEBUG)
      get_target_property(location ${target} ${property})
      if(NOT location)
        continue()
      endif()
      string(REGEX REPLACE "\\.so(\\.[0-9.]+)?$" ".a" archive "${location}")
      if(NOT archive STREQUAL location AND EXISTS "${archive}")
        set_target_properties(${target} PROPERTIES ${property} "${archive}")
        math(EXPR switched "${switched} + 1")
      endif()
    endforeach()
  endforeach()
  message(STATUS "wasmshim: ${switched} imported libraries linked from static archives")
endfunction()

option(WASMSHIM_PIE "Link the shim binary as a position-independent executable" OFF)

# For an executable that is exec'd per container: the C++ runtime linked in,
# and no PIE unless asked. A PIE's 42 000 relative relocations are applied at
# every exec, and the pages they write are copied again in the daemon, the
# zygote and each container process forked from it: non-PIE, the shim made
# 11-21% more containers a second (bench/stress, 8 at once, A/B runs).
# Debian builds containerd and containerd-shim-runc-v2 non-PIE too. Not
# under a sanitizer, whose runtime needs the shared C++ runtime and a PIE.
# Bound at load (-z now): resolved lazily, the daemon, zygote and container
# processes forked from `start` would each look up the libc functions
# `start` never called, faulting in the loader's and libc's symbol tables
# again per process (~20 page faults a task, perf).
function(wasmshim_exec_per_container target)
  target_link_options(${target} PRIVATE LINKER:-z,now)
  if(WASMSHIM_STATIC_DEPS AND WASMSHIM_SANITIZE STREQUAL "" AND NOT WASMSHIM_FUZZ)
    target_link_options(${target} PRIVATE -static-libstdc++ -static-libgcc)
  endif()
  if(NOT WASMSHIM_PIE AND WASMSHIM_SANITIZE STREQUAL "" AND NOT WASMSHIM_FUZZ)
    set_target_properties(${target} PROPERTIES POSITION_INDEPENDENT_CODE OFF)
    target_link_options(${target} PRIVATE -no-pie)
  endif()
endfunction()
