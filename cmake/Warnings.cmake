# Warnings for the project's own targets (generated protobuf code gets none of these).
# No -Wnull-dereference: with GCC 12 it fires inside libstdc++'s std::string at -O2.
function(wasmshim_warnings target)
  target_compile_options(${target} PRIVATE
    -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wold-style-cast -Wcast-align
    -Woverloaded-virtual -Wconversion -Wsign-conversion -Wformat=2
    -Wimplicit-fallthrough)
  if(WASMSHIM_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()
