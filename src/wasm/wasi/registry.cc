// The WASI preview 1 functions by import name, with the types a module must
// import them with.
#include <array>

#include "functions.h"

namespace wasmshim::wasm::wasi {
namespace {

// "iIi:i" -> (i32, i64, i32) -> (i32); lower case i32, upper case i64.
FunctionType signature(std::string_view text) {
  FunctionType type;
  bool results = false;
  for (char ch : text) {
    if (ch == ':') {
      results = true;
      continue;
    }
    (results ? type.results : type.params).push_back(ch == 'I' ? ValueType::kI64 : ValueType::kI32);
  }
  return type;
}

template <class Fn>
void* address(Fn fn) {
  return reinterpret_cast<void*>(fn);
}

const std::array<HostFunction, 46>& table() {
  static const std::array<HostFunction, 46> functions = {{
      {"args_get", signature("ii:i"), address(wasi_args_get)},
      {"args_sizes_get", signature("ii:i"), address(wasi_args_sizes_get)},
      {"environ_get", signature("ii:i"), address(wasi_environ_get)},
      {"environ_sizes_get", signature("ii:i"), address(wasi_environ_sizes_get)},
      {"clock_res_get", signature("ii:i"), address(wasi_clock_res_get)},
      {"clock_time_get", signature("iIi:i"), address(wasi_clock_time_get)},
      {"fd_advise", signature("iIIi:i"), address(wasi_fd_advise)},
      {"fd_allocate", signature("iII:i"), address(wasi_fd_allocate)},
      {"fd_close", signature("i:i"), address(wasi_fd_close)},
      {"fd_datasync", signature("i:i"), address(wasi_fd_datasync)},
      {"fd_fdstat_get", signature("ii:i"), address(wasi_fd_fdstat_get)},
      {"fd_fdstat_set_flags", signature("ii:i"), address(wasi_fd_fdstat_set_flags)},
      {"fd_fdstat_set_rights", signature("iII:i"), address(wasi_fd_fdstat_set_rights)},
      {"fd_filestat_get", signature("ii:i"), address(wasi_fd_filestat_get)},
      {"fd_filestat_set_size", signature("iI:i"), address(wasi_fd_filestat_set_size)},
      {"fd_filestat_set_times", signature("iIIi:i"), address(wasi_fd_filestat_set_times)},
      {"fd_pread", signature("iiiIi:i"), address(wasi_fd_pread)},
      {"fd_prestat_get", signature("ii:i"), address(wasi_fd_prestat_get)},
      {"fd_prestat_dir_name", signature("iii:i"), address(wasi_fd_prestat_dir_name)},
      {"fd_pwrite", signature("iiiIi:i"), address(wasi_fd_pwrite)},
      {"fd_read", signature("iiii:i"), address(wasi_fd_read)},
      {"fd_readdir", signature("iiiIi:i"), address(wasi_fd_readdir)},
      {"fd_renumber", signature("ii:i"), address(wasi_fd_renumber)},
      {"fd_seek", signature("iIii:i"), address(wasi_fd_seek)},
      {"fd_sync", signature("i:i"), address(wasi_fd_sync)},
      {"fd_tell", signature("ii:i"), address(wasi_fd_tell)},
      {"fd_write", signature("iiii:i"), address(wasi_fd_write)},
      {"path_create_directory", signature("iii:i"), address(wasi_path_create_directory)},
      {"path_filestat_get", signature("iiiii:i"), address(wasi_path_filestat_get)},
      {"path_filestat_set_times", signature("iiiiIIi:i"), address(wasi_path_filestat_set_times)},
      {"path_link", signature("iiiiiii:i"), address(wasi_path_link)},
      {"path_open", signature("iiiiiIIii:i"), address(wasi_path_open)},
      {"path_readlink", signature("iiiiii:i"), address(wasi_path_readlink)},
      {"path_remove_directory", signature("iii:i"), address(wasi_path_remove_directory)},
      {"path_rename", signature("iiiiii:i"), address(wasi_path_rename)},
      {"path_symlink", signature("iiiii:i"), address(wasi_path_symlink)},
      {"path_unlink_file", signature("iii:i"), address(wasi_path_unlink_file)},
      {"poll_oneoff", signature("iiii:i"), address(wasi_poll_oneoff)},
      {"proc_exit", signature("i:"), address(wasi_proc_exit)},
      {"proc_raise", signature("i:i"), address(wasi_proc_raise)},
      {"sched_yield", signature(":i"), address(wasi_sched_yield)},
      {"random_get", signature("ii:i"), address(wasi_random_get)},
      {"sock_accept", signature("iii:i"), address(wasi_sock_accept)},
      {"sock_recv", signature("iiiiii:i"), address(wasi_sock_recv)},
      {"sock_send", signature("iiiii:i"), address(wasi_sock_send)},
      {"sock_shutdown", signature("ii:i"), address(wasi_sock_shutdown)},
  }};
  return functions;
}

}  // namespace

const HostFunction* find_function(std::string_view name) {
  for (const HostFunction& function : table()) {
    if (name == function.name) {
      return &function;
    }
  }
  return nullptr;
}

}  // namespace wasmshim::wasm::wasi
