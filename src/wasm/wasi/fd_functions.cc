// WASI fd_* functions.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstring>

#include "functions.h"
#include "iovec.h"

namespace wasmshim::wasm::wasi {
namespace {

constexpr std::uint16_t kFdFlagAppend = 1;
constexpr std::uint16_t kFdFlagDsync = 2;
constexpr std::uint16_t kFdFlagNonblock = 4;
constexpr std::uint16_t kFdFlagRsync = 8;
constexpr std::uint16_t kFdFlagSync = 16;

Errno last_error() {
  return from_errno(errno);
}

u64 nanos(const timespec& ts) {
  return static_cast<u64>(ts.tv_sec) * 1000000000ull + static_cast<u64>(ts.tv_nsec);
}

}  // namespace

Errno store_filestat(const Context& context, u32 out, const struct stat& st) {
  std::uint8_t* p = context.bytes(out, 64);
  if (p == nullptr) {
    return kFault;
  }
  std::memset(p, 0, 64);
  u64 fields[] = {static_cast<u64>(st.st_dev), static_cast<u64>(st.st_ino)};
  std::memcpy(p, fields, 16);
  p[16] = file_type_of_mode(st.st_mode);
  u64 rest[] = {static_cast<u64>(st.st_nlink), static_cast<u64>(st.st_size), nanos(st.st_atim),
                nanos(st.st_mtim), nanos(st.st_ctim)};
  std::memcpy(p + 24, rest, sizeof rest);
  return kSuccess;
}

extern "C" {

u32 wasi_fd_advise(Context* c, u32 fd, u64 offset, u64 len, u32 advice) {
  Errno error = kSuccess;
  Descriptor* d = c->find(fd, right::kFdAdvise, error);
  if (d == nullptr) {
    return error;
  }
  if (advice > 5) {
    return kInval;
  }
  // WASI's advice numbering matches POSIX_FADV_* on Linux (normal .. noreuse).
  int rc = ::posix_fadvise(d->host_fd, static_cast<off_t>(offset), static_cast<off_t>(len),
                           static_cast<int>(advice));
  return from_errno(rc);
}

u32 wasi_fd_allocate(Context* c, u32 fd, u64 offset, u64 len) {
  Errno error = kSuccess;
  Descriptor* d = c->find(fd, right::kFdAllocate, error);
  if (d == nullptr) {
    return error;
  }
  return from_errno(
      ::posix_fallocate(d->host_fd, static_cast<off_t>(offset), static_cast<off_t>(len)));
}

u32 wasi_fd_close(Context* c, u32 fd) {
  return c->close(fd);
}

u32 wasi_fd_datasync(Context* c, u32 fd) {
  Errno error = kSuccess;
  Descriptor* d = c->find(fd, right::kFdDatasync, error);
  if (d == nullptr) {
    return error;
  }
  return ::fdatasync(d->host_fd) == 0 ? kSuccess : last_error();
}

u32 wasi_fd_sync(Context* c, u32 fd) {
  Errno error = kSuccess;
  Descriptor* d = c->find(fd, right::kFdSync, error);
  if (d == nullptr) {
    return error;
  }
  return ::fsync(d->host_fd) == 0 ? kSuccess : last_error();
}

u32 wasi_fd_fdstat_get(Context* c, u32 fd, u32 out) {
  Descriptor* d = c->find(fd);
  if (d == nullptr) {
    return kBadf;
  }
  std::uint8_t* p = c->bytes(out, 24);
  if (p == nullptr) {
    return kFault;
  }
  std::uint16_t flags = 0;
  if (!d->preopen_name) {
    int fl = ::fcntl(d->host_fd, F_GETFL);
    if (fl >= 0) {
      flags = static_cast<std::uint16_t>(
          ((fl & O_APPEND) ? kFdFlagAppend : 0) | ((fl & O_DSYNC) ? kFdFlagDsync : 0) |
          ((fl & O_NONBLOCK) ? kFdFlagNonblock : 0) | ((fl & O_SYNC) == O_SYNC ? kFdFlagSync : 0));
    }
  }
  std::memset(p, 0, 24);
  p[0] = d->type;
  std::memcpy(p + 2, &flags, 2);
  std::memcpy(p + 8, &d->rights_base, 8);
  std::memcpy(p + 16, &d->rights_inheriting, 8);
  return kSuccess;
}

u32 wasi_fd_fdstat_set_flags(Context* c, u32 fd, u32 flags) {
  // Bits preview 1 does not define are INVAL, as wasmtime reads them.
  if ((flags & ~u32{kFdFlagAppend | kFdFlagDsync | kFdFlagNonblock | kFdFlagRsync | kFdFlagSync}) !=
      0) {
    return kInval;
  }
  Errno error = kSuccess;
  Descriptor* d = c->find(fd, right::kFdFdstatSetFlags, error);
  if (d == nullptr) {
    return error;
  }
  if ((flags & (kFdFlagDsync | kFdFlagRsync | kFdFlagSync)) != 0) {
    return kNotSup;  // Linux cannot change these on an open descriptor
  }
  int fl = ::fcntl(d->host_fd, F_GETFL);
  if (fl < 0) {
    return last_error();
  }
  fl &= ~(O_APPEND | O_NONBLOCK);
  fl |= ((flags & kFdFlagAppend) ? O_APPEND : 0) | ((flags & kFdFlagNonblock) ? O_NONBLOCK : 0);
  return ::fcntl(d->host_fd, F_SETFL, fl) == 0 ? kSuccess : last_error();
}

u32 wasi_fd_fdstat_set_rights(Context* c, u32 fd, u64 base, u64 inheriting) {
  Descriptor* d = c->find(fd);
  if (d == nullptr) {
    return kBadf;
  }
  // Rights only ever narrow: asking for one not held is refused.
  if ((base & ~d->rights_base) != 0 || (inheriting & ~d->rights_inheriting) != 0) {
    return kNotCapable;
  }
  d->rights_base = base;
  d->rights_inheriting = inheriting;
  return kSuccess;
}

u32 wasi_fd_filestat_get(Context* c, u32 fd, u32 out) {
  Descriptor* d = c->find(fd);
  if (d == nullptr) {
    return kBadf;
  }
  // wasmtime answers this for stdio, whose rights do not name it.
  if (!d->stdio && (d->rights_base & right::kFdFilestatGet) == 0) {
    return kNotCapable;
  }
  struct stat st {};
  if (::fstat(d->host_fd, &st) != 0) {
    return last_error();
  }
  return store_filestat(*c, out, st);
}

u32 wasi_fd_filestat_set_size(Context* c, u32 fd, u64 size) {
  Errno error = kSuccess;
  Descriptor* d = c->find(fd, right::kFdFilestatSetSize, error);
  if (d == nullptr) {
    return error;
  }
  if (size > static_cast<u64>(LLONG_MAX)) {
    return kInval;
  }
  return ::ftruncate(d->host_fd, static_cast<off_t>(size)) == 0 ? kSuccess : last_error();
}

u32 wasi_fd_filestat_set_times(Context* c, u32 fd, u64 atim, u64 mtim, u32 flags) {
  Errno error = kSuccess;
  Descriptor* d = c->find(fd, right::kFdFilestatSetTimes, error);
  if (d == nullptr) {
    return error;
  }
  timespec times[2];
  if (Errno e = times_for(atim, mtim, flags, times); e != kSuccess) {
    return e;
  }
  return ::futimens(d->host_fd, times) == 0 ? kSuccess : last_error();
}

u32 wasi_fd_read(Context* c, u32 fd, u32 iovs, u32 iovs_len, u32 nread_out) {
  return vectored_io(
      c, fd, right::kFdRead, iovs, iovs_len, nread_out,
      [](int host_fd, const iovec* vec, int count) { return ::readv(host_fd, vec, count); });
}

u32 wasi_fd_pread(Context* c, u32 fd, u32 iovs, u32 iovs_len, u64 offset, u32 nread_out) {
  return vectored_io(c, fd, right::kFdRead | right::kFdSeek, iovs, iovs_len, nread_out,
                     [offset](int host_fd, const iovec* vec, int count) {
                       return ::preadv(host_fd, vec, count, static_cast<off_t>(offset));
                     });
}

u32 wasi_fd_write(Context* c, u32 fd, u32 iovs, u32 iovs_len, u32 nwritten_out) {
  return vectored_io(
      c, fd, right::kFdWrite, iovs, iovs_len, nwritten_out,
      [](int host_fd, const iovec* vec, int count) { return ::writev(host_fd, vec, count); });
}

u32 wasi_fd_pwrite(Context* c, u32 fd, u32 iovs, u32 iovs_len, u64 offset, u32 nwritten_out) {
  return vectored_io(c, fd, right::kFdWrite | right::kFdSeek, iovs, iovs_len, nwritten_out,
                     [offset](int host_fd, const iovec* vec, int count) {
                       return ::pwritev(host_fd, vec, count, static_cast<off_t>(offset));
                     });
}

u32 wasi_fd_prestat_get(Context* c, u32 fd, u32 out) {
  Descriptor* d = c->find(fd);
  if (d == nullptr || !d->preopen_name) {
    return kBadf;
  }
  // prestat: u8 tag (0 = directory), then u32 name length at offset 4.
  return c->store(out, u32{0}) && c->store(out + 4, static_cast<u32>(d->preopen_name->size()))
             ? kSuccess
             : kFault;
}

u32 wasi_fd_prestat_dir_name(Context* c, u32 fd, u32 path, u32 len) {
  Descriptor* d = c->find(fd);
  if (d == nullptr || !d->preopen_name) {
    return kBadf;
  }
  if (len < d->preopen_name->size()) {
    return kNameTooLong;
  }
  std::uint8_t* p = c->bytes(path, d->preopen_name->size());
  if (p == nullptr) {
    return kFault;
  }
  std::copy(d->preopen_name->begin(), d->preopen_name->end(), p);
  return kSuccess;
}

u32 wasi_fd_renumber(Context* c, u32 fd, u32 to) {
  return c->renumber(fd, to);
}

u32 wasi_fd_seek(Context* c, u32 fd, u64 offset, u32 whence, u32 newoffset_out) {
  Descriptor* d = c->find(fd);
  if (d == nullptr || d->type == kFileTypeDirectory) {
    return kBadf;  // as wasmtime: a directory has no offset to move
  }
  static constexpr int kWhence[] = {SEEK_SET, SEEK_CUR, SEEK_END};
  if (whence > 2) {
    return kInval;
  }
  // Asking where the offset is only needs FD_TELL.
  Rights needed = whence == 1 && offset == 0 ? right::kFdTell : right::kFdSeek;
  if ((d->rights_base & needed) == 0) {
    return kNotCapable;
  }
  off_t at = ::lseek(d->host_fd, static_cast<off_t>(offset), kWhence[whence]);
  if (at < 0) {
    return last_error();
  }
  return c->store(newoffset_out, static_cast<u64>(at)) ? kSuccess : kFault;
}

u32 wasi_fd_tell(Context* c, u32 fd, u32 out) {
  return wasi_fd_seek(c, fd, 0, 1, out);
}

u32 wasi_fd_readdir(Context* c, u32 fd, u32 buf, u32 buf_len, u64 cookie, u32 used_out) {
  Errno error = kSuccess;
  Descriptor* d = c->find(fd, right::kFdReaddir, error);
  if (d == nullptr) {
    return error;
  }
  std::uint8_t* out = c->bytes(buf, buf_len);
  if (out == nullptr) {
    return kFault;
  }
  // A fresh directory stream per call. The cookie is the kernel's own
  // position of the next entry (d_off), which stays valid while entries are
  // removed, as a guest deleting what it reads does; an index would shift.
  int dup_fd = ::openat(d->host_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dup_fd < 0) {
    return last_error();
  }
  DIR* dir = ::fdopendir(dup_fd);
  if (dir == nullptr) {
    ::close(dup_fd);
    return last_error();
  }
  if (cookie != 0) {
    ::seekdir(dir, static_cast<long>(cookie));
  }
  u32 used = 0;
  // readdir is safe here: the DIR stream is this call's own.
  while (dirent* entry = ::readdir(dir)) {  // NOLINT(concurrency-mt-unsafe)
    std::uint8_t header[24] = {};
    u64 next = static_cast<u64>(entry->d_off);
    u64 ino = entry->d_ino;
    u32 namlen = static_cast<u32>(std::strlen(entry->d_name));
    std::memcpy(header, &next, 8);
    std::memcpy(header + 8, &ino, 8);
    std::memcpy(header + 16, &namlen, 4);
    header[20] = entry->d_type == DT_DIR    ? kFileTypeDirectory
                 : entry->d_type == DT_REG  ? kFileTypeRegularFile
                 : entry->d_type == DT_LNK  ? kFileTypeSymbolicLink
                 : entry->d_type == DT_CHR  ? kFileTypeCharacterDevice
                 : entry->d_type == DT_BLK  ? kFileTypeBlockDevice
                 : entry->d_type == DT_SOCK ? kFileTypeSocketStream
                                            : kFileTypeUnknown;
    // Entries are cut off at the end of the buffer; the guest sees
    // used == buf_len and asks again with a bigger buffer.
    for (std::uint8_t byte : header) {
      if (used == buf_len) {
        break;
      }
      out[used++] = byte;
    }
    for (u32 i = 0; i < namlen && used < buf_len; ++i) {
      out[used++] = static_cast<std::uint8_t>(entry->d_name[i]);
    }
    if (used == buf_len) {
      break;
    }
  }
  ::closedir(dir);
  return c->store(used_out, used) ? kSuccess : kFault;
}

}  // extern "C"

}  // namespace wasmshim::wasm::wasi
