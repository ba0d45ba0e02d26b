# Links gRPC, Abseil, protobuf, re2, c-ares and upb from Debian's static
# archives. The shim binary is exec'd once per container start; linked to
# the shared libraries it loaded ~85 of them, and the dynamic loader's
# symbol lookups took ~8 of its ~14 ms of CPU (perf). Static, it loads ~35.
option(WASMSHIM_STATIC_DEPS "Link gRPC, Abseil and protobuf statically where Debian ships the archives" ON)

# Every imported library target in this directory whose shared object has a
# .a beside it is pointed at the archive.
function(wasmshim_use_static_archives)
  if(NOT WASMSHIM_STATIC_DEPS)
    return()
  endif()
  get_property(targets DIRECTORY PROPERTY IMPORTED_TARGETS)
  set(switched 0)
  foreach(target IN LISTS targets)
    if(NOT target MATCHES "^(absl|gRPC|protobuf|re2|c-ares)::")
      continue()
    endif()
    get_target_property(type ${target} TYPE)
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
