// libcurl, opened when the first OTLP/HTTP exporter is made rather than
// linked: linked, it and the ~25 libraries it needs made up 13,000 of the
// 14,400 symbol relocations every start of the shim binary paid, exporting
// or not (LD_DEBUG=statistics).
#pragma once

#include <curl/curl.h>

#include <string>

namespace wasmshim::otel::detail {

struct CurlLibrary {
  decltype(&::curl_global_init) global_init = nullptr;
  decltype(&::curl_getdate) getdate = nullptr;
  decltype(&::curl_easy_init) easy_init = nullptr;
  decltype(&::curl_easy_setopt) easy_setopt = nullptr;
  decltype(&::curl_easy_getinfo) easy_getinfo = nullptr;
  decltype(&::curl_easy_strerror) easy_strerror = nullptr;
  decltype(&::curl_easy_cleanup) easy_cleanup = nullptr;
  decltype(&::curl_slist_append) slist_append = nullptr;
  decltype(&::curl_slist_free_all) slist_free_all = nullptr;
  decltype(&::curl_multi_init) multi_init = nullptr;
  decltype(&::curl_multi_add_handle) multi_add_handle = nullptr;
  decltype(&::curl_multi_remove_handle) multi_remove_handle = nullptr;
  decltype(&::curl_multi_perform) multi_perform = nullptr;
  decltype(&::curl_multi_info_read) multi_info_read = nullptr;
  decltype(&::curl_multi_poll) multi_poll = nullptr;
  decltype(&::curl_multi_wakeup) multi_wakeup = nullptr;
  decltype(&::curl_multi_cleanup) multi_cleanup = nullptr;

  // Opened and initialised once per process (it stays open); nullptr when
  // it cannot be, with `error` saying why.
  static const CurlLibrary* get(std::string& error);
};

}  // namespace wasmshim::otel::detail
