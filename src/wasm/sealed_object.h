// Private: the seal on a compiled object in the cache. An object is sealed
// only once it is whole (every byte written, its ELF tables inside the file):
// a trailer with a magic, the payload's size and its XXH3-64 is appended
// after it. The dynamic loader ignores bytes past an ELF file's tables, so a
// sealed file loads as it is; a file cut short or changed fails the check
// and is never mapped as code.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace wasmshim::wasm {

// XXH3-64 of the bytes: the checksum of sealed objects and translations.
std::uint64_t content_checksum(std::string_view bytes);

// Empty when `payload` is a whole ELF file (its header, program headers and
// section headers lie inside it), else what is wrong.
std::string elf_incompleteness(std::string_view payload);

// The trailer for a payload.
std::string seal_trailer(std::string_view payload);

// Seals the file open (read-write) on fd, whose content is the whole
// payload: checks it is a whole ELF file, appends the trailer and fsyncs.
// Uses only system calls and the checksum (no allocation), so that a forked
// child of a threaded process may call it. Returns 0, or an errno value
// (EBADMSG for an incomplete object).
int seal_fd(int fd);

// Empty when the file open on fd carries a sound seal, else what is wrong
// with it ("cut short", "checksum mismatch", ...).
std::string seal_problem(int fd);

}  // namespace wasmshim::wasm
