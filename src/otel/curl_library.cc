#include "curl_library.h"

#include <dlfcn.h>

#include <mutex>

namespace wasmshim::otel::detail {
namespace {

// The soname Debian's libcurl4 (and the -dev package's link) provides.
constexpr const char* kSoname = "libcurl.so.4";

// `missing` keeps the first name not found.
template <typename Function>
void bind(void* library, const char* name, Function& function, std::string& missing) {
  function = reinterpret_cast<Function>(::dlsym(library, name));
  if (function == nullptr && missing.empty()) {
    missing = name;
  }
}

struct Loaded {
  CurlLibrary library;
  std::string error;
  bool ok = false;

  Loaded() {
    void* handle = ::dlopen(kSoname, RTLD_NOW | RTLD_LOCAL);
    if (handle == nullptr) {
      // NOLINTNEXTLINE(concurrency-mt-unsafe): under the static's once-lock
      const char* why = ::dlerror();
      error = std::string("cannot open ") + kSoname + ": " + (why != nullptr ? why : "?");
      return;
    }
    std::string missing;
    CurlLibrary& l = library;
    bind(handle, "curl_global_init", l.global_init, missing);
    bind(handle, "curl_getdate", l.getdate, missing);
    bind(handle, "curl_easy_init", l.easy_init, missing);
    bind(handle, "curl_easy_setopt", l.easy_setopt, missing);
    bind(handle, "curl_easy_getinfo", l.easy_getinfo, missing);
    bind(handle, "curl_easy_strerror", l.easy_strerror, missing);
    bind(handle, "curl_easy_cleanup", l.easy_cleanup, missing);
    bind(handle, "curl_slist_append", l.slist_append, missing);
    bind(handle, "curl_slist_free_all", l.slist_free_all, missing);
    bind(handle, "curl_multi_init", l.multi_init, missing);
    bind(handle, "curl_multi_add_handle", l.multi_add_handle, missing);
    bind(handle, "curl_multi_remove_handle", l.multi_remove_handle, missing);
    bind(handle, "curl_multi_perform", l.multi_perform, missing);
    bind(handle, "curl_multi_info_read", l.multi_info_read, missing);
    bind(handle, "curl_multi_poll", l.multi_poll, missing);
    bind(handle, "curl_multi_wakeup", l.multi_wakeup, missing);
    bind(handle, "curl_multi_cleanup", l.multi_cleanup, missing);
    if (!missing.empty()) {
      error = std::string(kSoname) + " has no " + missing + " (libcurl 7.68 or later is needed)";
      return;
    }
    if (l.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
      error = "curl_global_init failed";
      return;
    }
    ok = true;
  }
};

}  // namespace

const CurlLibrary* CurlLibrary::get(std::string& error) {
  static const Loaded loaded;  // thread-safe, once
  if (!loaded.ok) {
    error = loaded.error;
    return nullptr;
  }
  return &loaded.library;
}

}  // namespace wasmshim::otel::detail
