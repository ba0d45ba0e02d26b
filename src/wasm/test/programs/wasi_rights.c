// Rights, directory seeks, trailing slashes and symlink targets, through the
// preview 1 calls themselves (wasi-libc's POSIX layer hides rights). The
// directory is the first preopen, fd 3. Prints one "what: result" line per
// check, the result an errno name.
//   wasi_rights rights     base and inheriting rights, narrowing, refusals
//   wasi_rights seekdir    fd_seek on directories
//   wasi_rights slashes    trailing slashes and absolute symlink targets
#include <stdio.h>
#include <string.h>
#include <wasi/api.h>

static const __wasi_fd_t kDir = 3;

static const char* name_of(__wasi_errno_t e) {
  switch (e) {
    case __WASI_ERRNO_SUCCESS:
      return "ok";
    case __WASI_ERRNO_BADF:
      return "badf";
    case __WASI_ERRNO_EXIST:
      return "exist";
    case __WASI_ERRNO_INVAL:
      return "inval";
    case __WASI_ERRNO_ISDIR:
      return "isdir";
    case __WASI_ERRNO_NOENT:
      return "noent";
    case __WASI_ERRNO_NOTDIR:
      return "notdir";
    case __WASI_ERRNO_PERM:
      return "perm";
    case __WASI_ERRNO_NOTCAPABLE:
      return "notcapable";
    default:
      return "other";
  }
}

static void report(const char* what, __wasi_errno_t e) {
  printf("%s: %s\n", what, name_of(e));
}

static void print_rights(const char* what, __wasi_fd_t fd) {
  __wasi_fdstat_t st;
  __wasi_errno_t e = __wasi_fd_fdstat_get(fd, &st);
  if (e != 0) {
    report(what, e);
    return;
  }
  printf("%s: type %d base %#llx inheriting %#llx\n", what, st.fs_filetype,
         (unsigned long long)st.fs_rights_base, (unsigned long long)st.fs_rights_inheriting);
}

static __wasi_errno_t open_at(__wasi_fd_t dir, const char* path, __wasi_oflags_t oflags,
                              __wasi_rights_t base, __wasi_rights_t inheriting,
                              __wasi_fd_t* out) {
  return __wasi_path_open(dir, 0, path, oflags, base, inheriting, 0, out);
}

static __wasi_errno_t write_text(__wasi_fd_t fd, const char* text) {
  __wasi_ciovec_t iov = {(const uint8_t*)text, strlen(text)};
  __wasi_size_t n = 0;
  return __wasi_fd_write(fd, &iov, 1, &n);
}

static __wasi_errno_t read_some(__wasi_fd_t fd) {
  uint8_t buf[16];
  __wasi_iovec_t iov = {buf, sizeof buf};
  __wasi_size_t n = 0;
  return __wasi_fd_read(fd, &iov, 1, &n);
}

static int rights(void) {
  print_rights("preopen", kDir);
  print_rights("stdout", 1);
  __wasi_fdstat_t dir_stat;
  (void)__wasi_fd_fdstat_get(kDir, &dir_stat);
  __wasi_fd_t fd = 0;
  report("open preopen with its own rights",
         open_at(kDir, ".", 0, dir_stat.fs_rights_base, dir_stat.fs_rights_inheriting, &fd));
  print_rights("reopened preopen", fd);
  (void)__wasi_fd_close(fd);
  report("open preopen read-write as directory",
         open_at(kDir, ".", __WASI_OFLAGS_DIRECTORY,
                 __WASI_RIGHTS_FD_READ | __WASI_RIGHTS_FD_WRITE, 0, &fd));

  report("create", open_at(kDir, "r.txt", __WASI_OFLAGS_CREAT,
                           __WASI_RIGHTS_FD_READ | __WASI_RIGHTS_FD_WRITE, 0, &fd));
  report("write created", write_text(fd, "data"));
  (void)__wasi_fd_close(fd);

  report("open read-only", open_at(kDir, "r.txt", 0, __WASI_RIGHTS_FD_READ, 0, &fd));
  print_rights("read-only file", fd);
  report("write read-only", write_text(fd, "x"));
  report("read read-only", read_some(fd));
  (void)__wasi_fd_close(fd);

  __wasi_rights_t seekable = __WASI_RIGHTS_FD_READ | __WASI_RIGHTS_FD_SEEK | __WASI_RIGHTS_FD_TELL;
  report("open seekable", open_at(kDir, "r.txt", 0, seekable, 0, &fd));
  __wasi_filesize_t at = 0;
  report("seek", __wasi_fd_seek(fd, 1, __WASI_WHENCE_SET, &at));
  report("narrow to read", __wasi_fd_fdstat_set_rights(fd, __WASI_RIGHTS_FD_READ, 0));
  print_rights("narrowed", fd);
  report("seek after narrowing", __wasi_fd_seek(fd, 1, __WASI_WHENCE_SET, &at));
  report("tell after narrowing", __wasi_fd_tell(fd, &at));
  report("read after narrowing", read_some(fd));
  report("widen again", __wasi_fd_fdstat_set_rights(fd, seekable, 0));
  (void)__wasi_fd_close(fd);

  report("mkdir", __wasi_path_create_directory(kDir, "d"));
  report("open dir without create right",
         open_at(kDir, "d", __WASI_OFLAGS_DIRECTORY, __WASI_RIGHTS_PATH_OPEN,
                 dir_stat.fs_rights_inheriting, &fd));
  report("mkdir without the right", __wasi_path_create_directory(fd, "inner"));
  (void)__wasi_fd_close(fd);
  report("drop path_open on a copy", open_at(kDir, ".", __WASI_OFLAGS_DIRECTORY,
                                             dir_stat.fs_rights_base, 0, &fd));
  report("narrow dir", __wasi_fd_fdstat_set_rights(
                           fd, dir_stat.fs_rights_base & ~__WASI_RIGHTS_PATH_OPEN, 0));
  __wasi_fd_t inner = 0;
  report("open after dropping path_open", open_at(fd, "r.txt", 0, 0, 0, &inner));
  (void)__wasi_fd_close(fd);
  (void)__wasi_path_remove_directory(kDir, "d");
  (void)__wasi_path_unlink_file(kDir, "r.txt");
  return 0;
}

static int seekdir(void) {
  __wasi_filesize_t at = 0;
  report("seek preopen set", __wasi_fd_seek(kDir, 0, __WASI_WHENCE_SET, &at));
  report("seek preopen cur", __wasi_fd_seek(kDir, 0, __WASI_WHENCE_CUR, &at));
  report("tell preopen", __wasi_fd_tell(kDir, &at));
  report("mkdir", __wasi_path_create_directory(kDir, "d"));
  __wasi_fd_t fd = 0;
  report("open dir asking to seek",
         open_at(kDir, "d", __WASI_OFLAGS_DIRECTORY, __WASI_RIGHTS_FD_SEEK, 0, &fd));
  print_rights("opened dir", fd);
  report("seek dir set", __wasi_fd_seek(fd, 0, __WASI_WHENCE_SET, &at));
  report("seek dir cur", __wasi_fd_seek(fd, 0, __WASI_WHENCE_CUR, &at));
  (void)__wasi_fd_close(fd);
  report("rmdir", __wasi_path_remove_directory(kDir, "d"));
  return 0;
}

static int slashes(void) {
  __wasi_fd_t fd = 0;
  report("create file", open_at(kDir, "f", __WASI_OFLAGS_CREAT, __WASI_RIGHTS_FD_WRITE, 0, &fd));
  (void)__wasi_fd_close(fd);
  report("mkdir", __wasi_path_create_directory(kDir, "sub"));
  report("link to name/", __wasi_path_link(kDir, 0, "f", kDir, "new/"));
  report("symlink to name/", __wasi_path_symlink("f", kDir, "new/"));
  report("symlink to existing dir/", __wasi_path_symlink("f", kDir, "sub/"));
  report("symlink to existing file/", __wasi_path_symlink("f", kDir, "f/"));
  report("unlink dir/", __wasi_path_unlink_file(kDir, "sub/"));
  report("unlink dir", __wasi_path_unlink_file(kDir, "sub"));
  report("unlink file/", __wasi_path_unlink_file(kDir, "f/"));
  report("mkdir made/", __wasi_path_create_directory(kDir, "made/"));
  report("rmdir made/", __wasi_path_remove_directory(kDir, "made/"));
  report("symlink absolute", __wasi_path_symlink("/", kDir, "abs"));
  report("symlink absolute file", __wasi_path_symlink("/etc/passwd", kDir, "abs2"));
  __wasi_filestat_t st;
  report("absolute link exists", __wasi_path_filestat_get(kDir, 0, "abs", &st));
  report("symlink relative", __wasi_path_symlink("f", kDir, "rel"));
  report("unlink rel", __wasi_path_unlink_file(kDir, "rel"));
  report("rmdir sub", __wasi_path_remove_directory(kDir, "sub"));
  report("unlink f", __wasi_path_unlink_file(kDir, "f"));
  return 0;
}

int main(int argc, char** argv) {
  if (argc >= 2 && strcmp(argv[1], "rights") == 0) {
    return rights();
  }
  if (argc >= 2 && strcmp(argv[1], "seekdir") == 0) {
    return seekdir();
  }
  if (argc >= 2 && strcmp(argv[1], "slashes") == 0) {
    return slashes();
  }
  fprintf(stderr, "wasi_rights: unknown scenario\n");
  return 2;
}
