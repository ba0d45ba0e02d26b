/* Rights per descriptor (preview 1): what fd_fdstat_get reports for the
 * preopen, stdio and opened files, narrowing with fd_fdstat_set_rights, and
 * NOTCAPABLE for what a descriptor's rights no longer allow. */
#include "check.h"

#define DIR_RIGHTS_EXPECTED                                                              \
  (__WASI_RIGHTS_PATH_OPEN | __WASI_RIGHTS_FD_READDIR | __WASI_RIGHTS_PATH_CREATE_FILE | \
   __WASI_RIGHTS_PATH_CREATE_DIRECTORY | __WASI_RIGHTS_PATH_FILESTAT_GET |               \
   __WASI_RIGHTS_PATH_UNLINK_FILE | __WASI_RIGHTS_PATH_REMOVE_DIRECTORY |                \
   __WASI_RIGHTS_PATH_RENAME_SOURCE | __WASI_RIGHTS_PATH_RENAME_TARGET |                 \
   __WASI_RIGHTS_PATH_SYMLINK | __WASI_RIGHTS_PATH_READLINK | __WASI_RIGHTS_FD_FILESTAT_GET)

static int fdstat(__wasi_fd_t fd, __wasi_fdstat_t* st, const char* what) {
  memset(st, 0, sizeof *st);
  return expect_ok(__wasi_fd_fdstat_get(fd, st), what);
}

static void check_preopen(void) {
  __wasi_prestat_t pre;
  if (expect_ok(__wasi_fd_prestat_get(SANDBOX, &pre), "fd_prestat_get(3)")) {
    expect_u64(pre.tag, __WASI_PREOPENTYPE_DIR, "preopen 3 type");
    expect_u64(pre.u.dir.pr_name_len, strlen("/sandbox"), "preopen name len");
    char name[16] = {0};
    if (expect_ok(__wasi_fd_prestat_dir_name(SANDBOX, (uint8_t*)name, pre.u.dir.pr_name_len),
                  "fd_prestat_dir_name(3)"))
      expect_true(strcmp(name, "/sandbox") == 0, "preopen is named /sandbox");
    /* wasmtime refuses a buffer shorter than the name with NAMETOOLONG. */
    expect_errno(__wasi_fd_prestat_dir_name(SANDBOX, (uint8_t*)name, 3), __WASI_ERRNO_NAMETOOLONG,
                 "fd_prestat_dir_name into 3 bytes");
  }
  expect_errno(__wasi_fd_prestat_get(4, &pre), __WASI_ERRNO_BADF,
               "fd_prestat_get(4), the only preopen is 3");
  expect_errno(__wasi_fd_prestat_get(0, &pre), __WASI_ERRNO_BADF,
               "fd_prestat_get(0), stdin is no preopen");

  __wasi_fdstat_t st;
  if (!fdstat(SANDBOX, &st, "fd_fdstat_get(3)"))
    return;
  expect_u64(st.fs_filetype, __WASI_FILETYPE_DIRECTORY, "preopen filetype");
  if ((st.fs_rights_base & DIR_RIGHTS_EXPECTED) != DIR_RIGHTS_EXPECTED)
    fail("preopen base rights 0x%llx lack some of 0x%llx", (unsigned long long)st.fs_rights_base,
         (unsigned long long)DIR_RIGHTS_EXPECTED);
  expect_true(!(st.fs_rights_base & __WASI_RIGHTS_FD_WRITE),
              "preopen base rights have no FD_WRITE (a directory)");
  expect_true(!(st.fs_rights_base & __WASI_RIGHTS_FD_FILESTAT_SET_SIZE),
              "preopen base rights have no FD_FILESTAT_SET_SIZE");
  expect_true((st.fs_rights_inheriting & (__WASI_RIGHTS_FD_READ | __WASI_RIGHTS_FD_WRITE)) ==
                  (__WASI_RIGHTS_FD_READ | __WASI_RIGHTS_FD_WRITE),
              "preopen inheriting rights give FD_READ and FD_WRITE");

  /* Opening the preopen itself with exactly the rights it reports must
   * work, and give a directory, not a read-write open of it. */
  __wasi_fd_t dir = 0;
  if (expect_ok(__wasi_path_open(SANDBOX, 0, ".", __WASI_OFLAGS_DIRECTORY, st.fs_rights_base,
                                 st.fs_rights_inheriting, 0, &dir),
                "path_open(\".\") with the preopen's own rights")) {
    __wasi_fdstat_t ds;
    if (fdstat(dir, &ds, "fd_fdstat_get(reopened .)")) {
      expect_u64(ds.fs_filetype, __WASI_FILETYPE_DIRECTORY, "reopened . filetype");
      expect_true(!(ds.fs_rights_base & __WASI_RIGHTS_FD_WRITE), "reopened . has no FD_WRITE");
    }
    __wasi_fd_t f = 0;
    if (expect_ok(__wasi_path_open(dir, 0, "via_reopened", __WASI_OFLAGS_CREAT, FILE_RW_RIGHTS,
                                   FILE_RW_RIGHTS, 0, &f),
                  "path_open CREAT through the reopened preopen"))
      expect_ok(__wasi_fd_close(f), "fd_close(file)");
    expect_ok(__wasi_fd_close(dir), "fd_close(reopened .)");
  }
  /* Without the DIRECTORY flag too (what Rust's std does for File::open). */
  if (expect_ok(
          __wasi_path_open(SANDBOX, 0, ".", 0, st.fs_rights_base, st.fs_rights_inheriting, 0, &dir),
          "path_open(\".\") without DIRECTORY, preopen's rights"))
    expect_ok(__wasi_fd_close(dir), "fd_close(.)");
}

static void check_stdio(void) {
  __wasi_fdstat_t st;
  if (fdstat(0, &st, "fd_fdstat_get(stdin)")) {
    /* The contract's stdin is a regular file; wasmtime reports UNKNOWN for
     * any stdio that is not a tty, others REGULAR_FILE: accept both. */
    expect_true(
        st.fs_filetype == __WASI_FILETYPE_REGULAR_FILE || st.fs_filetype == __WASI_FILETYPE_UNKNOWN,
        "stdin filetype is REGULAR_FILE or UNKNOWN");
    expect_true(st.fs_rights_base & __WASI_RIGHTS_FD_READ, "stdin has FD_READ");
    expect_true(!(st.fs_rights_base & __WASI_RIGHTS_FD_WRITE), "stdin has no FD_WRITE");
  }
  for (__wasi_fd_t fd = 1; fd <= 2; fd++) {
    char what[64];
    snprintf(what, sizeof what, "fd_fdstat_get(%u)", (unsigned)fd);
    if (!fdstat(fd, &st, what))
      continue;
    snprintf(what, sizeof what, "fd %u has FD_WRITE", (unsigned)fd);
    expect_true(st.fs_rights_base & __WASI_RIGHTS_FD_WRITE, what);
    snprintf(what, sizeof what, "fd %u has no FD_READ", (unsigned)fd);
    expect_true(!(st.fs_rights_base & __WASI_RIGHTS_FD_READ), what);
  }
  expect_errno(__wasi_fd_fdstat_get(77, &st), __WASI_ERRNO_BADF, "fd_fdstat_get(77), not open");
  expect_errno(__wasi_fd_fdstat_set_rights(77, 0, 0), __WASI_ERRNO_BADF,
               "fd_fdstat_set_rights(77), not open");
}

static void check_open_modes(void) {
  if (!write_file("data.txt", "hello rights\n"))
    return;
  const __wasi_rights_t ro = __WASI_RIGHTS_FD_READ | __WASI_RIGHTS_FD_SEEK | __WASI_RIGHTS_FD_TELL |
                             __WASI_RIGHTS_FD_FILESTAT_GET;
  __wasi_fd_t fd = open_file("data.txt", 0, ro, 0);
  char buf[32];
  __wasi_iovec_t iov = {(uint8_t*)buf, sizeof buf};
  __wasi_ciovec_t ciov = {(const uint8_t*)"x", 1};
  __wasi_size_t n = 0;
  __wasi_fdstat_t st;
  if (fd) {
    if (fdstat(fd, &st, "fd_fdstat_get(read-only file)")) {
      expect_u64(st.fs_filetype, __WASI_FILETYPE_REGULAR_FILE, "read-only file filetype");
      expect_true(st.fs_rights_base & __WASI_RIGHTS_FD_READ, "read-only file has FD_READ");
      expect_true(!(st.fs_rights_base & __WASI_RIGHTS_FD_WRITE), "read-only file has no FD_WRITE");
    }
    if (expect_ok(__wasi_fd_read(fd, &iov, 1, &n), "fd_read(read-only)"))
      expect_u64(n, 13, "bytes read from read-only file");
    /* wasmtime answers BADF (the host file is not open for writing), the
     * spec NOTCAPABLE: accept both. */
    expect_any(__wasi_fd_write(fd, &ciov, 1, &n), "fd_write(read-only file)", __WASI_ERRNO_BADF,
               __WASI_ERRNO_NOTCAPABLE);
    expect_ok(__wasi_fd_close(fd), "fd_close(read-only)");
  }

  const __wasi_rights_t wo = __WASI_RIGHTS_FD_WRITE | __WASI_RIGHTS_FD_SEEK |
                             __WASI_RIGHTS_FD_TELL | __WASI_RIGHTS_FD_FILESTAT_GET;
  fd = open_file("data.txt", 0, wo, 0);
  if (fd) {
    if (fdstat(fd, &st, "fd_fdstat_get(write-only file)")) {
      expect_true(st.fs_rights_base & __WASI_RIGHTS_FD_WRITE, "write-only file has FD_WRITE");
      expect_true(!(st.fs_rights_base & __WASI_RIGHTS_FD_READ), "write-only file has no FD_READ");
    }
    expect_ok(__wasi_fd_write(fd, &ciov, 1, &n), "fd_write(write-only)");
    /* As above: BADF from wasmtime, NOTCAPABLE from the spec. */
    expect_any(__wasi_fd_read(fd, &iov, 1, &n), "fd_read(write-only file)", __WASI_ERRNO_BADF,
               __WASI_ERRNO_NOTCAPABLE);
    expect_ok(__wasi_fd_close(fd), "fd_close(write-only)");
  }
}

/* wasmtime since its preview 2 based preview 1 accepts fd_fdstat_set_rights
 * and ignores it; the spec, WasmEdge and issue 23 narrow and enforce, which
 * is what these checks assert. */
static void check_narrowing(void) {
  __wasi_fd_t fd = open_file("narrow.txt", __WASI_OFLAGS_CREAT, FILE_RW_RIGHTS, 0);
  if (!fd)
    return;
  const __wasi_rights_t narrowed =
      FILE_RW_RIGHTS & ~(__WASI_RIGHTS_FD_WRITE | __WASI_RIGHTS_FD_SEEK);
  __wasi_ciovec_t ciov = {(const uint8_t*)"abc", 3};
  __wasi_size_t n = 0;
  __wasi_filesize_t pos = 0;
  expect_ok(__wasi_fd_write(fd, &ciov, 1, &n), "fd_write before narrowing");
  if (expect_ok(__wasi_fd_fdstat_set_rights(fd, narrowed, 0),
                "fd_fdstat_set_rights dropping FD_WRITE and FD_SEEK")) {
    __wasi_fdstat_t st;
    if (fdstat(fd, &st, "fd_fdstat_get(narrowed)")) {
      expect_u64(st.fs_rights_base, narrowed, "narrowed base rights");
      expect_u64(st.fs_rights_inheriting, 0, "narrowed inheriting rights");
    }
    expect_errno(__wasi_fd_write(fd, &ciov, 1, &n), __WASI_ERRNO_NOTCAPABLE,
                 "fd_write after dropping FD_WRITE");
    expect_errno(__wasi_fd_seek(fd, 0, __WASI_WHENCE_SET, &pos), __WASI_ERRNO_NOTCAPABLE,
                 "fd_seek after dropping FD_SEEK");
    expect_ok(__wasi_fd_tell(fd, &pos), "fd_tell still allowed (FD_TELL)");
    expect_errno(__wasi_fd_fdstat_set_rights(fd, FILE_RW_RIGHTS, 0), __WASI_ERRNO_NOTCAPABLE,
                 "fd_fdstat_set_rights adding FD_WRITE back");
    expect_errno(__wasi_fd_fdstat_set_rights(fd, narrowed, __WASI_RIGHTS_FD_READ),
                 __WASI_ERRNO_NOTCAPABLE, "fd_fdstat_set_rights adding an inheriting right");
    expect_ok(__wasi_fd_fdstat_set_rights(fd, narrowed & ~__WASI_RIGHTS_FD_FILESTAT_GET, 0),
              "fd_fdstat_set_rights narrowing further");
    __wasi_filestat_t fst;
    expect_errno(__wasi_fd_filestat_get(fd, &fst), __WASI_ERRNO_NOTCAPABLE,
                 "fd_filestat_get after dropping FD_FILESTAT_GET");
  }
  expect_ok(__wasi_fd_close(fd), "fd_close(narrowed)");

  /* A directory that lost PATH_CREATE_FILE cannot create a file, and one
   * that lost PATH_OPEN cannot open anything. */
  __wasi_fdstat_t ds;
  __wasi_fd_t dir = 0;
  if (!fdstat(SANDBOX, &ds, "fd_fdstat_get(3)") ||
      !expect_ok(__wasi_path_open(SANDBOX, 0, ".", __WASI_OFLAGS_DIRECTORY, ds.fs_rights_base,
                                  ds.fs_rights_inheriting, 0, &dir),
                 "path_open(\".\") to narrow"))
    return;
  if (expect_ok(
          __wasi_fd_fdstat_set_rights(dir, ds.fs_rights_base & ~__WASI_RIGHTS_PATH_CREATE_FILE,
                                      ds.fs_rights_inheriting),
          "fd_fdstat_set_rights dropping PATH_CREATE_FILE")) {
    __wasi_fd_t f = 0;
    expect_errno(__wasi_path_open(dir, 0, "created", __WASI_OFLAGS_CREAT, FILE_RW_RIGHTS,
                                  FILE_RW_RIGHTS, 0, &f),
                 __WASI_ERRNO_NOTCAPABLE, "path_open CREAT without PATH_CREATE_FILE");
    expect_ok(__wasi_path_open(dir, 0, "narrow.txt", 0, __WASI_RIGHTS_FD_READ, 0, 0, &f),
              "path_open of an existing file without PATH_CREATE_FILE");
    if (f)
      expect_ok(__wasi_fd_close(f), "fd_close");
    f = 0;
    if (expect_ok(__wasi_fd_fdstat_set_rights(dir,
                                              ds.fs_rights_base & ~(__WASI_RIGHTS_PATH_CREATE_FILE |
                                                                    __WASI_RIGHTS_PATH_OPEN),
                                              ds.fs_rights_inheriting),
                  "fd_fdstat_set_rights dropping PATH_OPEN"))
      expect_errno(__wasi_path_open(dir, 0, "narrow.txt", 0, __WASI_RIGHTS_FD_READ, 0, 0, &f),
                   __WASI_ERRNO_NOTCAPABLE, "path_open without PATH_OPEN");
  }
  expect_ok(__wasi_fd_close(dir), "fd_close(narrowed dir)");
}

/* Opening a directory for writing is refused as open(2) does; a directory
 * whose inheriting rights lost FD_WRITE cannot hand it to a file. */
static void check_directory_writes_and_inheriting(void) {
  __wasi_fd_t fd = 0;
  __wasi_errno_t e = __wasi_path_open(SANDBOX, 0, ".", 0,
                                      __WASI_RIGHTS_FD_READ | __WASI_RIGHTS_FD_WRITE, 0, 0, &fd);
  expect_errno(e, __WASI_ERRNO_ISDIR, "path_open(\".\") asking FD_WRITE");
  if (e == __WASI_ERRNO_SUCCESS)
    expect_ok(__wasi_fd_close(fd), "fd_close");

  __wasi_fdstat_t ds;
  __wasi_fd_t dir = 0;
  if (!fdstat(SANDBOX, &ds, "fd_fdstat_get(3)") ||
      !expect_ok(__wasi_path_open(SANDBOX, 0, ".", __WASI_OFLAGS_DIRECTORY, ds.fs_rights_base,
                                  ds.fs_rights_inheriting, 0, &dir),
                 "path_open(\".\") to narrow inheriting"))
    return;
  if (expect_ok(__wasi_fd_fdstat_set_rights(dir, ds.fs_rights_base,
                                            ds.fs_rights_inheriting & ~__WASI_RIGHTS_FD_WRITE),
                "fd_fdstat_set_rights dropping inheriting FD_WRITE")) {
    write_file("inherit.txt", "inherit");
    fd = 0;
    /* The spec lets a runtime refuse the open (NOTCAPABLE) or open the file
     * without FD_WRITE; either way no write may happen through it. */
    e = __wasi_path_open(dir, 0, "inherit.txt", 0, __WASI_RIGHTS_FD_READ | __WASI_RIGHTS_FD_WRITE,
                         0, 0, &fd);
    if (expect_any(e, "path_open asking FD_WRITE not inherited", __WASI_ERRNO_SUCCESS,
                   __WASI_ERRNO_NOTCAPABLE) &&
        e == __WASI_ERRNO_SUCCESS) {
      __wasi_ciovec_t ciov = {(const uint8_t*)"x", 1};
      __wasi_size_t n = 0;
      expect_errno(__wasi_fd_write(fd, &ciov, 1, &n), __WASI_ERRNO_NOTCAPABLE,
                   "fd_write on a file opened without inherited FD_WRITE");
      expect_ok(__wasi_fd_close(fd), "fd_close");
    }
  }
  expect_ok(__wasi_fd_close(dir), "fd_close(narrowed dir)");
}

int main(void) {
  check_preopen();
  check_stdio();
  check_open_modes();
  check_narrowing();
  check_directory_writes_and_inheriting();
  return finish();
}
