// WASI path_* functions. Every path resolves beneath the descriptor it is
// relative to (openat2 with RESOLVE_BENEATH): "..", absolute paths and
// symlinks — absolute, or relative ones that climb out — cannot leave it.
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>

#include "functions.h"
#include "wasmshim/base/unique_fd.h"

namespace wasmshim::wasm::wasi {

namespace {

constexpr u32 kLookupSymlinkFollow = 1;
constexpr u32 kOflagCreat = 1;
constexpr u32 kOflagDirectory = 2;
constexpr u32 kOflagExcl = 4;
constexpr u32 kOflagTrunc = 8;
constexpr u32 kFdflagAppend = 1;
constexpr u32 kFdflagDsync = 2;
constexpr u32 kFdflagNonblock = 4;
constexpr u32 kFdflagSync = 16;
constexpr u32 kFstAtim = 1;
constexpr u32 kFstAtimNow = 2;
constexpr u32 kFstMtim = 4;
constexpr u32 kFstMtimNow = 8;
// The bits preview 1 defines; wasmtime refuses any other with INVAL when it
// reads the argument, before it looks at the descriptor.
constexpr u32 kLookupFlagsDefined = kLookupSymlinkFollow;
constexpr u32 kOflagsDefined = kOflagCreat | kOflagDirectory | kOflagExcl | kOflagTrunc;
constexpr u32 kFdflagsDefined = 0x1f;  // append, dsync, nonblock, rsync, sync
constexpr u32 kFstFlagsDefined = kFstAtim | kFstAtimNow | kFstMtim | kFstMtimNow;
constexpr Rights kRightsDefined = (Rights{1} << 30) - 1;  // fd_datasync .. sock_accept

using Fd = base::UniqueFd;

Errno open_beneath(int dirfd, const std::string& path, std::uint64_t flags, mode_t mode, Fd& out) {
  if (path.empty()) {
    return kNoEnt;
  }
  if (path.find('\0') != std::string::npos) {
    return kIlseq;
  }
  open_how how{};
  how.flags = flags | O_CLOEXEC;
  how.mode = (flags & O_CREAT) ? mode : 0;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
  long fd = ::syscall(SYS_openat2, dirfd, path.c_str(), &how, sizeof how);
  if (fd < 0) {
    return from_errno(errno);
  }
  out.reset(static_cast<int>(fd));
  return kSuccess;
}

// Splits a guest path into its parent directory, opened beneath dirfd, and
// its last component, for the *at() calls that act on a name itself. The
// name keeps its trailing slashes, so the kernel's own rules for "name/"
// decide (ENOENT for a new link, EISDIR for unlinking a directory).
Errno open_parent(int dirfd, const std::string& path, Fd& parent, std::string& name) {
  if (path.empty()) {
    return kNoEnt;
  }
  std::size_t end = path.find_last_not_of('/');
  if (end == std::string::npos) {
    end = 0;  // only slashes: the root, which open_beneath refuses
  }
  auto slash = path.rfind('/', end);
  std::string dir = slash == std::string::npos ? "." : path.substr(0, slash == 0 ? 1 : slash);
  name = slash == std::string::npos ? path : path.substr(slash + 1);
  std::string bare = name.substr(0, name.find('/'));
  if (bare == ".." || bare.empty()) {
    // Acting on ".." would act on the parent's parent: possibly outside.
    return kNotCapable;
  }
  return open_beneath(dirfd, dir, O_PATH | O_DIRECTORY, 0, parent);
}

bool has_trailing_slash(const std::string& name) {
  return !name.empty() && name.back() == '/';
}

// A trailing slash makes the kernel follow a final symlink even where the
// call itself would not; such a name must first resolve beneath parent.
Errno stays_beneath(int parent, const std::string& name) {
  if (!has_trailing_slash(name)) {
    return kSuccess;
  }
  Fd target;
  return open_beneath(parent, name, O_PATH, 0, target);
}

Errno guest_path(Context* c, u32 path, u32 len, std::string& out) {
  auto text = c->string(path, len);
  if (!text) {
    return kFault;
  }
  out = std::move(*text);
  return kSuccess;
}

// The directory fd names, holding the rights needed.
Descriptor* directory(Context* c, u32 fd, Rights needed, Errno& error) {
  Descriptor* d = c->find(fd);
  if (d == nullptr) {
    error = kBadf;
  } else if (d->type != kFileTypeDirectory) {
    error = kNotDir;
    d = nullptr;
  } else if ((d->rights_base & needed) != needed) {
    error = kNotCapable;
    d = nullptr;
  }
  return d;
}

// The directory fd names, the guest's path in it, and that path's parent
// opened beneath the directory with the last component in name.
Errno guest_parent(Context* c, u32 fd, Rights needed, u32 path, u32 len, Fd& parent,
                   std::string& name) {
  Errno error = kSuccess;
  Descriptor* dir = directory(c, fd, needed, error);
  std::string text;
  if (dir == nullptr || (error = guest_path(c, path, len, text)) != kSuccess) {
    return error;
  }
  return open_parent(dir->host_fd, text, parent, name);
}

// Creating "name/" where name is an existing file: the kernel says EEXIST,
// wasmtime NOTDIR (the slash asks for a directory that name is not).
Errno existing_non_directory(int parent, const std::string& name) {
  if (!has_trailing_slash(name)) {
    return kSuccess;
  }
  struct stat st {};
  std::string bare = name.substr(0, name.find_last_not_of('/') + 1);
  if (::fstatat(parent, bare.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISDIR(st.st_mode)) {
    return kNotDir;
  }
  return kSuccess;
}

}  // namespace

Errno times_for(u64 atim, u64 mtim, u32 flags, timespec out[2]) {
  if ((flags & ~kFstFlagsDefined) != 0 || ((flags & kFstAtim) && (flags & kFstAtimNow)) ||
      ((flags & kFstMtim) && (flags & kFstMtimNow))) {
    return kInval;
  }
  auto one = [](u64 value, bool set, bool now, timespec& ts) {
    if (now) {
      ts = {0, UTIME_NOW};
    } else if (set) {
      ts = {static_cast<time_t>(value / 1000000000ull), static_cast<long>(value % 1000000000ull)};
    } else {
      ts = {0, UTIME_OMIT};
    }
  };
  one(atim, flags & kFstAtim, flags & kFstAtimNow, out[0]);
  one(mtim, flags & kFstMtim, flags & kFstMtimNow, out[1]);
  return kSuccess;
}

extern "C" {

u32 wasi_path_open(Context* c, u32 fd, u32 dirflags, u32 path, u32 len, u32 oflags, u64 rights_base,
                   u64 rights_inheriting, u32 fdflags, u32 fd_out) {
  if ((dirflags & ~kLookupFlagsDefined) != 0 || (oflags & ~kOflagsDefined) != 0 ||
      (fdflags & ~kFdflagsDefined) != 0 ||
      ((rights_base | rights_inheriting) & ~kRightsDefined) != 0) {
    return kInval;
  }
  Errno error = kSuccess;
  Rights needed = right::kPathOpen | ((oflags & kOflagCreat) ? right::kPathCreateFile : 0);
  Descriptor* dir = directory(c, fd, needed, error);
  if (dir == nullptr) {
    return error;
  }
  // As wasmtime: a directory is only opened, never created or truncated.
  if ((oflags & kOflagDirectory) && (oflags & (kOflagCreat | kOflagExcl | kOflagTrunc))) {
    return kInval;
  }
  std::string name;
  if (Errno e = guest_path(c, path, len, name); e != kSuccess) {
    return e;
  }
  // As wasmtime: the new descriptor gets what was asked for that the
  // directory may hand down, and is opened for what it was granted.
  Rights base = rights_base & dir->rights_inheriting;
  Rights inheriting = rights_inheriting & dir->rights_inheriting;
  bool read = (base & right::kFdRead) != 0;
  bool write = (base & right::kFdWrite) != 0;
  std::uint64_t flags = ((oflags & kOflagDirectory) ? O_DIRECTORY : 0) | ((read && write) ? O_RDWR
                                                                          : write         ? O_WRONLY
                                                                                  : O_RDONLY);
  flags |= ((oflags & kOflagCreat) ? O_CREAT : 0) | ((oflags & kOflagExcl) ? O_EXCL : 0) |
           ((oflags & kOflagTrunc) ? O_TRUNC : 0) | ((fdflags & kFdflagAppend) ? O_APPEND : 0) |
           ((fdflags & kFdflagDsync) ? O_DSYNC : 0) |
           ((fdflags & kFdflagNonblock) ? O_NONBLOCK : 0) | ((fdflags & kFdflagSync) ? O_SYNC : 0) |
           ((dirflags & kLookupSymlinkFollow) ? 0 : O_NOFOLLOW);
  Fd opened;
  Errno e = open_beneath(dir->host_fd, name, flags, 0666, opened);
  if (e != kSuccess) {
    return e == kLoop && !(dirflags & kLookupSymlinkFollow) ? kLoop : e;
  }
  struct stat st {};
  if (::fstat(opened.get(), &st) != 0) {
    return from_errno(errno);
  }
  FileType type = file_type_of_mode(st.st_mode);
  u32 number = c->insert(Descriptor{opened.release(), true, type, std::nullopt,
                                    rights_for_type(type, base), inheriting, false});
  if (!c->store(fd_out, number)) {
    c->close(number);
    return kFault;
  }
  return kSuccess;
}

u32 wasi_path_create_directory(Context* c, u32 fd, u32 path, u32 len) {
  Fd parent;
  std::string name;
  if (Errno e = guest_parent(c, fd, right::kPathCreateDirectory, path, len, parent, name);
      e != kSuccess) {
    return e;
  }
  return ::mkdirat(parent.get(), name.c_str(), 0777) == 0 ? kSuccess : from_errno(errno);
}

u32 wasi_path_remove_directory(Context* c, u32 fd, u32 path, u32 len) {
  Fd parent;
  std::string name;
  if (Errno e = guest_parent(c, fd, right::kPathRemoveDirectory, path, len, parent, name);
      e != kSuccess) {
    return e;
  }
  return ::unlinkat(parent.get(), name.c_str(), AT_REMOVEDIR) == 0 ? kSuccess : from_errno(errno);
}

u32 wasi_path_unlink_file(Context* c, u32 fd, u32 path, u32 len) {
  Fd parent;
  std::string name;
  if (Errno e = guest_parent(c, fd, right::kPathUnlinkFile, path, len, parent, name);
      e != kSuccess) {
    return e;
  }
  return ::unlinkat(parent.get(), name.c_str(), 0) == 0 ? kSuccess : from_errno(errno);
}

u32 wasi_path_filestat_get(Context* c, u32 fd, u32 flags, u32 path, u32 len, u32 out) {
  if ((flags & ~kLookupFlagsDefined) != 0) {
    return kInval;
  }
  Errno error = kSuccess;
  Descriptor* dir = directory(c, fd, right::kPathFilestatGet, error);
  std::string text;
  if (dir == nullptr || (error = guest_path(c, path, len, text)) != kSuccess) {
    return error;
  }
  Fd target;
  std::uint64_t open_flags = O_PATH | ((flags & kLookupSymlinkFollow) ? 0 : O_NOFOLLOW);
  if (Errno e = open_beneath(dir->host_fd, text, open_flags, 0, target); e != kSuccess) {
    return e;
  }
  struct stat st {};
  if (::fstat(target.get(), &st) != 0) {
    return from_errno(errno);
  }
  return store_filestat(*c, out, st);
}

u32 wasi_path_filestat_set_times(Context* c, u32 fd, u32 flags, u32 path, u32 len, u64 atim,
                                 u64 mtim, u32 fst_flags) {
  if ((flags & ~kLookupFlagsDefined) != 0) {
    return kInval;
  }
  timespec times[2];
  if (Errno e = times_for(atim, mtim, fst_flags, times); e != kSuccess) {
    return e;
  }
  Fd parent;
  std::string name;
  if (Errno e = guest_parent(c, fd, right::kPathFilestatSetTimes, path, len, parent, name);
      e != kSuccess) {
    return e;
  }
  if ((flags & kLookupSymlinkFollow) || has_trailing_slash(name)) {
    // Follow through a checked open, then set the times on what it found.
    Fd target;
    if (Errno e = open_beneath(parent.get(), name, O_RDONLY, 0, target); e != kSuccess) {
      return e;
    }
    return ::futimens(target.get(), times) == 0 ? kSuccess : from_errno(errno);
  }
  return ::utimensat(parent.get(), name.c_str(), times, AT_SYMLINK_NOFOLLOW) == 0
             ? kSuccess
             : from_errno(errno);
}

u32 wasi_path_link(Context* c, u32 old_fd, u32 old_flags, u32 old_path, u32 old_len, u32 new_fd,
                   u32 new_path, u32 new_len) {
  if ((old_flags & ~kLookupFlagsDefined) != 0) {
    return kInval;
  }
  if (old_flags & kLookupSymlinkFollow) {
    return kInval;  // following would resolve the link target outside our checks
  }
  Fd old_parent;
  Fd new_parent;
  std::string old_name;
  std::string new_name;
  if (Errno e =
          guest_parent(c, old_fd, right::kPathLinkSource, old_path, old_len, old_parent, old_name);
      e != kSuccess) {
    return e;
  }
  if (Errno e =
          guest_parent(c, new_fd, right::kPathLinkTarget, new_path, new_len, new_parent, new_name);
      e != kSuccess) {
    return e;
  }
  if (Errno e = stays_beneath(old_parent.get(), old_name); e != kSuccess) {
    return e;
  }
  if (Errno e = existing_non_directory(new_parent.get(), new_name); e != kSuccess) {
    return e;
  }
  return ::linkat(old_parent.get(), old_name.c_str(), new_parent.get(), new_name.c_str(), 0) == 0
             ? kSuccess
             : from_errno(errno);
}

u32 wasi_path_readlink(Context* c, u32 fd, u32 path, u32 len, u32 buf, u32 buf_len, u32 used_out) {
  std::uint8_t* out = c->bytes(buf, buf_len);
  if (out == nullptr) {
    return kFault;
  }
  Fd parent;
  std::string name;
  if (Errno e = guest_parent(c, fd, right::kPathReadlink, path, len, parent, name); e != kSuccess) {
    return e;
  }
  if (Errno e = stays_beneath(parent.get(), name); e != kSuccess) {
    return e;
  }
  ssize_t n = ::readlinkat(parent.get(), name.c_str(), reinterpret_cast<char*>(out), buf_len);
  if (n < 0) {
    return from_errno(errno);
  }
  return c->store(used_out, static_cast<u32>(n)) ? kSuccess : kFault;
}

u32 wasi_path_rename(Context* c, u32 fd, u32 old_path, u32 old_len, u32 new_fd, u32 new_path,
                     u32 new_len) {
  Fd old_parent;
  Fd new_parent;
  std::string old_name;
  std::string new_name;
  if (Errno e =
          guest_parent(c, fd, right::kPathRenameSource, old_path, old_len, old_parent, old_name);
      e != kSuccess) {
    return e;
  }
  if (Errno e = guest_parent(c, new_fd, right::kPathRenameTarget, new_path, new_len, new_parent,
                             new_name);
      e != kSuccess) {
    return e;
  }
  return ::renameat(old_parent.get(), old_name.c_str(), new_parent.get(), new_name.c_str()) == 0
             ? kSuccess
             : from_errno(errno);
}

u32 wasi_path_symlink(Context* c, u32 old_path, u32 old_len, u32 fd, u32 new_path, u32 new_len) {
  std::string target;
  if (Errno e = guest_path(c, old_path, old_len, target); e != kSuccess) {
    return e;
  }
  if (target.find('\0') != std::string::npos) {
    return kIlseq;
  }
  // As wasmtime: an absolute target could only ever point outside.
  if (!target.empty() && target.front() == '/') {
    return kPerm;
  }
  // A relative target may climb anywhere; resolving it later is confined.
  Fd parent;
  std::string name;
  if (Errno e = guest_parent(c, fd, right::kPathSymlink, new_path, new_len, parent, name);
      e != kSuccess) {
    return e;
  }
  if (Errno e = existing_non_directory(parent.get(), name); e != kSuccess) {
    return e;
  }
  return ::symlinkat(target.c_str(), parent.get(), name.c_str()) == 0 ? kSuccess
                                                                      : from_errno(errno);
}

}  // extern "C"

}  // namespace wasmshim::wasm::wasi
