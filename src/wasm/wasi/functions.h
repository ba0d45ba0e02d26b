// Private: the WASI preview 1 functions, with the C signatures translated
// modules call them through (all integers; the context pointer first).
#pragma once

#include <sys/stat.h>
#include <time.h>

#include <cstdint>
#include <string_view>

#include "context.h"
#include "wasmshim/wasm/module.h"

namespace wasmshim::wasm::wasi {

using u32 = std::uint32_t;
using u64 = std::uint64_t;

struct HostFunction {
  const char* name;
  FunctionType type;
  void* address;
};

// Writes a WASI filestat (64 bytes) at out.
Errno store_filestat(const Context& context, u32 out, const struct stat& st);
// The two timespecs utimensat wants for WASI's fst_flags.
Errno times_for(u64 atim, u64 mtim, u32 flags, timespec out[2]);

// The function a module imports as wasi_snapshot_preview1.<name>, or nothing.
const HostFunction* find_function(std::string_view name);

extern "C" {
u32 wasi_args_get(Context*, u32 argv, u32 argv_buf);
u32 wasi_args_sizes_get(Context*, u32 argc_out, u32 size_out);
u32 wasi_environ_get(Context*, u32 environ, u32 environ_buf);
u32 wasi_environ_sizes_get(Context*, u32 count_out, u32 size_out);
u32 wasi_clock_res_get(Context*, u32 id, u32 out);
u32 wasi_clock_time_get(Context*, u32 id, u64 precision, u32 out);
u32 wasi_random_get(Context*, u32 buf, u32 len);
u32 wasi_sched_yield(Context*);
void wasi_proc_exit(Context*, u32 code);
u32 wasi_proc_raise(Context*, u32 signal);
u32 wasi_poll_oneoff(Context*, u32 in, u32 out, u32 count, u32 events_out);

u32 wasi_fd_advise(Context*, u32 fd, u64 offset, u64 len, u32 advice);
u32 wasi_fd_allocate(Context*, u32 fd, u64 offset, u64 len);
u32 wasi_fd_close(Context*, u32 fd);
u32 wasi_fd_datasync(Context*, u32 fd);
u32 wasi_fd_fdstat_get(Context*, u32 fd, u32 out);
u32 wasi_fd_fdstat_set_flags(Context*, u32 fd, u32 flags);
u32 wasi_fd_fdstat_set_rights(Context*, u32 fd, u64 base, u64 inheriting);
u32 wasi_fd_filestat_get(Context*, u32 fd, u32 out);
u32 wasi_fd_filestat_set_size(Context*, u32 fd, u64 size);
u32 wasi_fd_filestat_set_times(Context*, u32 fd, u64 atim, u64 mtim, u32 flags);
u32 wasi_fd_pread(Context*, u32 fd, u32 iovs, u32 iovs_len, u64 offset, u32 nread_out);
u32 wasi_fd_prestat_get(Context*, u32 fd, u32 out);
u32 wasi_fd_prestat_dir_name(Context*, u32 fd, u32 path, u32 len);
u32 wasi_fd_pwrite(Context*, u32 fd, u32 iovs, u32 iovs_len, u64 offset, u32 nwritten_out);
u32 wasi_fd_read(Context*, u32 fd, u32 iovs, u32 iovs_len, u32 nread_out);
u32 wasi_fd_readdir(Context*, u32 fd, u32 buf, u32 buf_len, u64 cookie, u32 used_out);
u32 wasi_fd_renumber(Context*, u32 fd, u32 to);
u32 wasi_fd_seek(Context*, u32 fd, u64 offset, u32 whence, u32 newoffset_out);
u32 wasi_fd_sync(Context*, u32 fd);
u32 wasi_fd_tell(Context*, u32 fd, u32 out);
u32 wasi_fd_write(Context*, u32 fd, u32 iovs, u32 iovs_len, u32 nwritten_out);

u32 wasi_path_create_directory(Context*, u32 fd, u32 path, u32 len);
u32 wasi_path_filestat_get(Context*, u32 fd, u32 flags, u32 path, u32 len, u32 out);
u32 wasi_path_filestat_set_times(Context*, u32 fd, u32 flags, u32 path, u32 len, u64 atim, u64 mtim,
                                 u32 fst_flags);
u32 wasi_path_link(Context*, u32 old_fd, u32 old_flags, u32 old_path, u32 old_len, u32 new_fd,
                   u32 new_path, u32 new_len);
u32 wasi_path_open(Context*, u32 fd, u32 dirflags, u32 path, u32 len, u32 oflags, u64 rights_base,
                   u64 rights_inheriting, u32 fdflags, u32 fd_out);
u32 wasi_path_readlink(Context*, u32 fd, u32 path, u32 len, u32 buf, u32 buf_len, u32 used_out);
u32 wasi_path_remove_directory(Context*, u32 fd, u32 path, u32 len);
u32 wasi_path_rename(Context*, u32 fd, u32 old_path, u32 old_len, u32 new_fd, u32 new_path,
                     u32 new_len);
u32 wasi_path_symlink(Context*, u32 old_path, u32 old_len, u32 fd, u32 new_path, u32 new_len);
u32 wasi_path_unlink_file(Context*, u32 fd, u32 path, u32 len);

u32 wasi_sock_accept(Context*, u32 fd, u32 flags, u32 fd_out);
u32 wasi_sock_recv(Context*, u32 fd, u32 iovs, u32 iovs_len, u32 flags, u32 len_out, u32 flags_out);
u32 wasi_sock_send(Context*, u32 fd, u32 iovs, u32 iovs_len, u32 flags, u32 len_out);
u32 wasi_sock_shutdown(Context*, u32 fd, u32 how);
}

}  // namespace wasmshim::wasm::wasi
