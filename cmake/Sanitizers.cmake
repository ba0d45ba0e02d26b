# WASMSHIM_SANITIZE=address|thread instruments everything built here;
# WASMSHIM_FUZZ adds libFuzzer coverage (with ASan and UBSan) and needs clang.
set(WASMSHIM_SANITIZE "" CACHE STRING "Sanitizer for the whole build: address (with undefined) or thread")

set(WASMSHIM_FUZZ_SECONDS 60 CACHE STRING "Seconds each fuzz target runs under ctest")

if(WASMSHIM_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "WASMSHIM_FUZZ needs clang (CMAKE_CXX_COMPILER=clang++)")
  endif()
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
elseif(WASMSHIM_SANITIZE STREQUAL "address")
  add_compile_options(-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
elseif(WASMSHIM_SANITIZE STREQUAL "thread")
  add_compile_options(-fsanitize=thread -fno-omit-frame-pointer)
  add_link_options(-fsanitize=thread)
elseif(NOT WASMSHIM_SANITIZE STREQUAL "")
  message(FATAL_ERROR "WASMSHIM_SANITIZE must be address or thread, not '${WASMSHIM_SANITIZE}'")
endif()
