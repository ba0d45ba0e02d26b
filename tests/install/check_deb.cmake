# Makes the Debian packages with cpack into OUT_DIR and checks what they
# hold and say. -DCPACK=... -DCONFIG=<build>/CPackConfig.cmake -DOUT_DIR=...
# -DVERSION=...
file(REMOVE_RECURSE ${OUT_DIR})
file(MAKE_DIRECTORY ${OUT_DIR})
execute_process(COMMAND ${CPACK} --config ${CONFIG} -G DEB -B ${OUT_DIR}
  RESULT_VARIABLE status OUTPUT_VARIABLE output ERROR_VARIABLE output)
if(NOT status EQUAL 0)
  message(FATAL_ERROR "cpack failed (${status}):\n${output}")
endif()

execute_process(COMMAND dpkg --print-architecture OUTPUT_VARIABLE arch
  OUTPUT_STRIP_TRAILING_WHITESPACE)

# check_package(<name> FILES <path>... FIELDS <Field=regex>...)
function(check_package name)
  cmake_parse_arguments(arg "" "" "FILES;FIELDS" ${ARGN})
  set(deb ${OUT_DIR}/${name}_${VERSION}_${arch}.deb)
  if(NOT EXISTS ${deb})
    file(GLOB made ${OUT_DIR}/*.deb)
    message(FATAL_ERROR "${deb} was not made; cpack made: ${made}\n${output}")
  endif()
  execute_process(COMMAND dpkg-deb -c ${deb} OUTPUT_VARIABLE listing RESULT_VARIABLE status)
  if(NOT status EQUAL 0)
    message(FATAL_ERROR "dpkg-deb -c ${deb} failed")
  endif()
  foreach(path IN LISTS arg_FILES)
    string(FIND "${listing}" " ./usr/${path}\n" at)
    if(at EQUAL -1)
      message(FATAL_ERROR "${name}: /usr/${path} is missing; the package holds:\n${listing}")
    endif()
  endforeach()
  foreach(check IN LISTS arg_FIELDS)
    string(REGEX MATCH "^[^=]+" field "${check}")
    string(REGEX REPLACE "^[^=]+=" "" pattern "${check}")
    execute_process(COMMAND dpkg-deb -f ${deb} ${field} OUTPUT_VARIABLE value
      OUTPUT_STRIP_TRAILING_WHITESPACE)
    if(NOT value MATCHES "${pattern}")
      message(FATAL_ERROR "${name}: ${field} is '${value}', expected to match '${pattern}'")
    endif()
  endforeach()
  message(STATUS "${name}_${VERSION}_${arch}.deb: ok")
endfunction()

check_package(wasmshim
  FILES bin/containerd-shim-wasmshim-v1 bin/wasmshim
  FIELDS "Package=^wasmshim$" "Version=^${VERSION}$" "Maintainer=.+<.+@.+>"
         "Description=^containerd shim running WebAssembly" "Depends=libc6")
check_package(wasmshim-dev
  FILES include/wasmshim/shim/shim_main.h include/wasmshim/shim/instance.h
        include/wasmshim/otel/config.h include/wasmshim/wasm/engine.h
        lib/libwasmshim_shim.a lib/libwasmshim_otel.a lib/libwasmshim_wasm.a
        lib/cmake/wasmshim/wasmshimConfig.cmake lib/cmake/wasmshim/wasmshimConfigVersion.cmake
        lib/cmake/wasmshim/wasmshimTargets.cmake
  FIELDS "Package=^wasmshim-dev$" "Version=^${VERSION}$" "Depends=libprotobuf-dev"
         "Description=^wasmshim libraries for writing containerd shims")
