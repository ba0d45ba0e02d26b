/* Symbolic links in preview 1: relative links work, absolute targets are
 * refused, readlink truncates like readlink(2), dangling links, loops, and
 * what not following a link means for path_open. */
#include "check.h"

static __wasi_errno_t open_rc(__wasi_lookupflags_t lf, const char* path, __wasi_oflags_t oflags,
                              __wasi_fd_t* fd) {
  *fd = 0;
  return __wasi_path_open(SANDBOX, lf, path, oflags, FILE_RW_RIGHTS, FILE_RW_RIGHTS, 0, fd);
}

static void close_if(__wasi_errno_t e, __wasi_fd_t fd) {
  if (e == __WASI_ERRNO_SUCCESS)
    expect_ok(__wasi_fd_close(fd), "fd_close");
}

static __wasi_errno_t stat_rc(const char* path, __wasi_lookupflags_t lf, __wasi_filestat_t* st) {
  memset(st, 0, sizeof *st);
  return __wasi_path_filestat_get(SANDBOX, lf, path, st);
}

#define FOLLOW __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW

static void check_relative_and_readlink(void) {
  write_file("target", "target content");
  if (!expect_ok(__wasi_path_symlink("target", SANDBOX, "link"), "path_symlink(target, link)"))
    return;
  char buf[16];
  __wasi_size_t n = 0;
  memset(buf, 0, sizeof buf);
  if (expect_ok(__wasi_path_readlink(SANDBOX, "link", (uint8_t*)buf, 10, &n),
                "path_readlink(link)")) {
    expect_u64(n, 6, "readlink length");
    expect_true(memcmp(buf, "target\0\0\0\0", 10) == 0,
                "readlink gives target and leaves the rest alone");
  }
  /* A buffer too small truncates, as readlink(2) does (wasmtime since 2023;
   * the preview 1 docs say so too). */
  memset(buf, 0, sizeof buf);
  if (expect_ok(__wasi_path_readlink(SANDBOX, "link", (uint8_t*)buf, 4, &n),
                "path_readlink into a 4-byte buffer")) {
    expect_u64(n, 4, "truncated readlink length");
    expect_true(memcmp(buf, "targ\0", 5) == 0, "truncated readlink is targ");
  }
  expect_errno(__wasi_path_readlink(SANDBOX, "target", (uint8_t*)buf, sizeof buf, &n),
               __WASI_ERRNO_INVAL, "path_readlink of a regular file");
  expect_errno(__wasi_path_readlink(SANDBOX, "missing", (uint8_t*)buf, sizeof buf, &n),
               __WASI_ERRNO_NOENT, "path_readlink of a missing name");

  __wasi_fd_t fd;
  __wasi_errno_t e;
  expect_ok(e = open_rc(FOLLOW, "link", 0, &fd), "path_open(link) with SYMLINK_FOLLOW");
  if (e == __WASI_ERRNO_SUCCESS) {
    __wasi_filestat_t st;
    if (expect_ok(__wasi_fd_filestat_get(fd, &st), "fd_filestat_get(link)"))
      expect_u64(st.size, 14, "opening a link opens its target");
    expect_ok(__wasi_fd_close(fd), "fd_close");
  }
  /* Without SYMLINK_FOLLOW the last component must not be a link: Linux's
   * O_NOFOLLOW gives LOOP; wasmtime may answer NOTDIR: accept both. */
  expect_any(e = open_rc(0, "link", 0, &fd), "path_open(link) without follow", __WASI_ERRNO_LOOP,
             __WASI_ERRNO_NOTDIR);
  close_if(e, fd);
  expect_errno(__wasi_path_symlink("target", SANDBOX, "link"), __WASI_ERRNO_EXIST,
               "path_symlink onto an existing name");
  expect_errno(__wasi_path_symlink("x", SANDBOX, "nodir/link"), __WASI_ERRNO_NOENT,
               "path_symlink in a missing directory");

  /* Links to directories: inner components are always followed. */
  expect_ok(__wasi_path_create_directory(SANDBOX, "dir"), "mkdir dir");
  write_file("dir/inner", "inner");
  expect_ok(__wasi_path_symlink("dir", SANDBOX, "dirlink"), "path_symlink(dir, dirlink)");
  expect_ok(e = open_rc(0, "dirlink/inner", 0, &fd), "path_open(dirlink/inner) without follow");
  close_if(e, fd);
  expect_ok(__wasi_path_symlink("../target", SANDBOX, "dir/uplink"),
            "path_symlink(\"../target\") inside a subdirectory");
  expect_ok(e = open_rc(FOLLOW, "dir/uplink", 0, &fd),
            "path_open through a link with .. that stays inside");
  close_if(e, fd);
  expect_any(e = open_rc(0, "dirlink", __WASI_OFLAGS_DIRECTORY, &fd),
             "path_open(dirlink, DIRECTORY) without follow", __WASI_ERRNO_LOOP,
             __WASI_ERRNO_NOTDIR);
  close_if(e, fd);
  expect_errno(__wasi_path_remove_directory(SANDBOX, "dirlink"), __WASI_ERRNO_NOTDIR,
               "path_remove_directory of a link to a dir");
  expect_ok(__wasi_path_unlink_file(SANDBOX, "dirlink"), "path_unlink_file of a link to a dir");
  __wasi_filestat_t st;
  expect_ok(stat_rc("dir/inner", 0, &st), "the dir stays after its link goes");

  expect_ok(__wasi_path_rename(SANDBOX, "link", SANDBOX, "link2"), "path_rename of a link");
  if (expect_ok(stat_rc("link2", 0, &st), "path_filestat_get(link2)"))
    expect_u64(st.filetype, __WASI_FILETYPE_SYMBOLIC_LINK, "a renamed link is still a link");
  expect_ok(stat_rc("target", 0, &st), "rename of a link leaves its target");
}

/* Times and hard links on the link itself when not following it. */
static void check_link_itself(void) {
  write_file("file", "file");
  if (!expect_ok(__wasi_path_symlink("file", SANDBOX, "flink"), "path_symlink(file, flink)"))
    return;
  __wasi_filestat_t target_before, st;
  expect_ok(stat_rc("file", 0, &target_before), "path_filestat_get(file)");
  const __wasi_timestamp_t mtim = 1234567890ull * 1000000000ull;
  if (expect_ok(__wasi_path_filestat_set_times(SANDBOX, 0, "flink", 0, mtim, __WASI_FSTFLAGS_MTIM),
                "path_filestat_set_times of a link without follow")) {
    if (expect_ok(stat_rc("flink", 0, &st), "path_filestat_get(flink)"))
      expect_u64(st.mtim, mtim, "the link's own mtim was set");
    if (expect_ok(stat_rc("file", 0, &st), "path_filestat_get(file)"))
      expect_u64(st.mtim, target_before.mtim, "the target's mtim is untouched");
  }
  if (expect_ok(__wasi_path_link(SANDBOX, 0, "flink", SANDBOX, "flink.hard"),
                "path_link of a link without follow") &&
      expect_ok(stat_rc("flink.hard", 0, &st), "path_filestat_get(hard)"))
    expect_u64(st.filetype, __WASI_FILETYPE_SYMBOLIC_LINK, "a hard link to a link is a link");
  /* wasmtime refuses SYMLINK_FOLLOW in path_link with INVAL; the spec
   * links the target: accept both. */
  __wasi_errno_t e = __wasi_path_link(SANDBOX, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, "flink", SANDBOX,
                                      "flink.followed");
  if (expect_any(e, "path_link with SYMLINK_FOLLOW", __WASI_ERRNO_SUCCESS, __WASI_ERRNO_INVAL) &&
      e == __WASI_ERRNO_SUCCESS &&
      expect_ok(stat_rc("flink.followed", 0, &st), "path_filestat_get"))
    expect_u64(st.filetype, __WASI_FILETYPE_REGULAR_FILE,
               "path_link following a link links its target");
}

static void check_absolute_and_escaping(void) {
  __wasi_filestat_t st;
  /* wasmtime refuses absolute targets with PERM, others NOTCAPABLE. */
  expect_any(__wasi_path_symlink("/", SANDBOX, "abs"), "path_symlink(\"/\", abs)",
             __WASI_ERRNO_PERM, __WASI_ERRNO_NOTCAPABLE);
  expect_errno(stat_rc("abs", 0, &st), __WASI_ERRNO_NOENT, "no link made for an absolute target");
  expect_any(__wasi_path_symlink("/sandbox/target", SANDBOX, "abs2"),
             "path_symlink(\"/sandbox/target\", abs2)", __WASI_ERRNO_PERM, __WASI_ERRNO_NOTCAPABLE);
  expect_errno(stat_rc("abs2", 0, &st), __WASI_ERRNO_NOENT,
               "no link made for an absolute target inside the sandbox");

  /* A relative link may point outside; following it must be refused.
   * Some runtimes refuse to make it at all: accept that too. */
  __wasi_errno_t e = __wasi_path_symlink("..", SANDBOX, "up");
  if (expect_any(e, "path_symlink(\"..\", up)", __WASI_ERRNO_SUCCESS, __WASI_ERRNO_PERM,
                 __WASI_ERRNO_NOTCAPABLE) &&
      e == __WASI_ERRNO_SUCCESS) {
    __wasi_fd_t fd;
    expect_any(e = open_rc(FOLLOW, "up/escaped", __WASI_OFLAGS_CREAT, &fd),
               "path_open CREAT through a link that leaves the sandbox", __WASI_ERRNO_NOTCAPABLE,
               __WASI_ERRNO_PERM);
    close_if(e, fd);
    expect_any(e = open_rc(FOLLOW, "up", __WASI_OFLAGS_DIRECTORY, &fd),
               "path_open of a link to the sandbox's parent", __WASI_ERRNO_NOTCAPABLE,
               __WASI_ERRNO_PERM);
    close_if(e, fd);
    expect_any(stat_rc("up", FOLLOW, &st), "path_filestat_get following a link that leaves",
               __WASI_ERRNO_NOTCAPABLE, __WASI_ERRNO_PERM);
    if (expect_ok(stat_rc("up", 0, &st), "path_filestat_get of that link without follow"))
      expect_u64(st.filetype, __WASI_FILETYPE_SYMBOLIC_LINK, "the escaping link itself is a link");
    expect_ok(__wasi_path_unlink_file(SANDBOX, "up"), "unlink escaping link");
  }
}

static void check_dangling_and_loops(void) {
  __wasi_fd_t fd;
  __wasi_errno_t e;
  __wasi_filestat_t st;
  if (expect_ok(__wasi_path_symlink("nowhere", SANDBOX, "dangling"),
                "path_symlink to a missing target")) {
    expect_errno(e = open_rc(FOLLOW, "dangling", 0, &fd), __WASI_ERRNO_NOENT,
                 "path_open following a dangling link");
    close_if(e, fd);
    expect_errno(stat_rc("dangling", FOLLOW, &st), __WASI_ERRNO_NOENT,
                 "path_filestat_get following a dangling link");
    if (expect_ok(stat_rc("dangling", 0, &st),
                  "path_filestat_get of a dangling link without follow"))
      expect_u64(st.filetype, __WASI_FILETYPE_SYMBOLIC_LINK, "a dangling link is a link");
    char buf[16] = {0};
    __wasi_size_t n = 0;
    if (expect_ok(__wasi_path_readlink(SANDBOX, "dangling", (uint8_t*)buf, sizeof buf, &n),
                  "path_readlink of a dangling link"))
      expect_true(n == 7 && memcmp(buf, "nowhere", 7) == 0, "dangling link reads nowhere");
    expect_ok(__wasi_path_unlink_file(SANDBOX, "dangling"), "path_unlink_file of a dangling link");
    expect_errno(stat_rc("dangling", 0, &st), __WASI_ERRNO_NOENT, "dangling link is gone");
  }

  expect_ok(__wasi_path_symlink("loop2", SANDBOX, "loop1"), "symlink loop1");
  expect_ok(__wasi_path_symlink("loop1", SANDBOX, "loop2"), "symlink loop2");
  expect_ok(__wasi_path_symlink("self", SANDBOX, "self"), "symlink self");
  expect_errno(e = open_rc(FOLLOW, "loop1", 0, &fd), __WASI_ERRNO_LOOP,
               "path_open following a two-link loop");
  close_if(e, fd);
  expect_errno(e = open_rc(FOLLOW, "self", 0, &fd), __WASI_ERRNO_LOOP,
               "path_open following a link to itself");
  close_if(e, fd);
  expect_errno(e = open_rc(0, "loop1/x", 0, &fd), __WASI_ERRNO_LOOP,
               "path_open through a loop as an inner component");
  close_if(e, fd);
  expect_errno(stat_rc("loop1", FOLLOW, &st), __WASI_ERRNO_LOOP,
               "path_filestat_get following a loop");
  expect_ok(stat_rc("loop1", 0, &st), "path_filestat_get of a loop, no follow");
  expect_ok(__wasi_path_unlink_file(SANDBOX, "self"), "unlink self loop");
}

int main(void) {
  check_relative_and_readlink();
  check_link_itself();
  check_absolute_and_escaping();
  check_dangling_and_loops();
  return finish();
}
