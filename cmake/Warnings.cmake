# Warnings for the project's own targets (generated protobuf code gets none of these).
function(wasmshim_warnings target)
  target_compile_options(${target} PRIVATE
    -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wold-style-cast -Wcast-align
    -Woverloaded-virtual -Wconversion -Wsign-conversion -Wnull-dereference -Wformat=2
    -Wimplicit-fallthrough)
  if(WASMSHIM_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()
