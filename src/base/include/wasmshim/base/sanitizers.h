#pragma once

// What the sanitizers of this build need to be told, in one place.
//
// WASMSHIM_ASAN is 1 when AddressSanitizer instruments this build (gcc's
// and clang's ways of saying so), else 0.

#if defined(__SANITIZE_ADDRESS__)
#define WASMSHIM_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define WASMSHIM_ASAN 1
#endif
#endif
#ifndef WASMSHIM_ASAN
#define WASMSHIM_ASAN 0
#endif

#if WASMSHIM_ASAN
#include <sanitizer/lsan_interface.h>
#endif

namespace wasmshim::base {

// Says that `object`, never freed, is kept on purpose (until the process
// exits), so LeakSanitizer does not report it as lost.
inline void keep_until_exit([[maybe_unused]] const void* object) {
#if WASMSHIM_ASAN
  __lsan_ignore_object(object);
#endif
}

}  // namespace wasmshim::base
