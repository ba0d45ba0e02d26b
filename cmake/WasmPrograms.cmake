# Builds C programs for wasm32-wasi with Debian's clang and wasi-libc.
find_program(WASM_CLANG NAMES clang-14 clang REQUIRED)

# wasmshim_wasm_program(NAME SOURCES... [OUTPUT_DIR dir] [FLAGS...]) -> ${NAME}.wasm
# and a target ${NAME}_wasm that is part of the default build.
function(wasmshim_wasm_program name)
  cmake_parse_arguments(ARG "" "OUTPUT_DIR" "SOURCES;FLAGS" ${ARGN})
  if(NOT ARG_OUTPUT_DIR)
    set(ARG_OUTPUT_DIR ${CMAKE_BINARY_DIR}/wasm)
  endif()
  set(output ${ARG_OUTPUT_DIR}/${name}.wasm)
  add_custom_command(OUTPUT ${output}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${ARG_OUTPUT_DIR}
    COMMAND ${WASM_CLANG} --target=wasm32-wasi -O2 -Wall -Wextra -Werror ${ARG_FLAGS} ${ARG_SOURCES} -o ${output}
    DEPENDS ${ARG_SOURCES}
    WORKING_DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR}
    COMMENT "Building ${name}.wasm (wasm32-wasi)")
  add_custom_target(${name}_wasm ALL DEPENDS ${output})
endfunction()
