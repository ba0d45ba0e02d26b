// Private: a translation's functions spread over parts that the aot tier
// compiles as separate translation units.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace wasmshim::wasm {

struct PartitionedSource {
  std::string text;
  std::size_t parts = 1;
};

// wasm2c's C (after the prelude and header) with each function definition in
// one part's `#if WASMSHIM_IN_PART(k)` block, balanced by size: about
// bytes_per_part of function text each (EngineOptions::aot_part_bytes). A
// compiler's memory grows with its translation unit, and interprocedural
// passes over a whole large module cost more than they give a module its
// producer has optimized already. Every part
// sees the declarations and helpers; file-scope variables become one
// definition in part 0 and `extern` declarations elsewhere; everything else
// (data and element segments, instantiation) is part 0's. Functions and
// variables are WASMSHIM_FN / WASMSHIM_VAR: `static` when the text is
// compiled whole (tcc, or a module of one part), hidden symbols of one
// shared object when compiled in parts (the prelude defines both).
PartitionedSource partition_functions(std::string_view source, std::size_t bytes_per_part);

// The line a translation starts with, naming its part count, and its reader,
// which finds it among the lines of `head` (a cache entry has one before
// it): 1 for text without it.
std::string parts_line(std::size_t parts);
std::size_t parts_of_translation(std::string_view head);

}  // namespace wasmshim::wasm
