/* fd_readdir in preview 1: every entry once, "." and "..", restarting at a
 * cookie handed out earlier, buffers too small for an entry, and entries
 * deleted while reading never seen twice. */
#include <stdlib.h>

#include "check.h"

#define MAX_ENTRIES 64
#define NAME_CAP 32

struct listing {
  int count;
  char names[MAX_ENTRIES][NAME_CAP];
  uint8_t types[MAX_ENTRIES];
  uint64_t inos[MAX_ENTRIES];
  __wasi_dircookie_t nexts[MAX_ENTRIES];
};

/* Appends the complete entries in buf[0..used) to out; returns the cookie
 * after the last complete one (or `from` when there was none) and sets *end
 * when the directory is exhausted (the runtime did not fill the buffer). */
static __wasi_dircookie_t parse(const uint8_t* buf, size_t used, size_t cap,
                                __wasi_dircookie_t from, struct listing* out, int* end) {
  size_t off = 0;
  *end = used < cap;
  while (off + sizeof(__wasi_dirent_t) <= used) {
    __wasi_dirent_t d;
    memcpy(&d, buf + off, sizeof d);
    if (off + sizeof d + d.d_namlen > used)
      break; /* truncated: read again from `from` */
    if (out->count < MAX_ENTRIES && d.d_namlen < NAME_CAP) {
      memcpy(out->names[out->count], buf + off + sizeof d, d.d_namlen);
      out->names[out->count][d.d_namlen] = 0;
      out->types[out->count] = d.d_type;
      out->inos[out->count] = d.d_ino;
      out->nexts[out->count] = d.d_next;
      out->count++;
    } else {
      fail("dirent too long or too many entries (namlen %u)", (unsigned)d.d_namlen);
    }
    from = d.d_next;
    off += sizeof d + d.d_namlen;
  }
  return from;
}

/* Lists a directory with a buffer of buf_len bytes, resuming at cookies;
 * between reads, calls between(round) when given. */
static int list_dir(__wasi_fd_t dir, size_t buf_len, __wasi_dircookie_t start, struct listing* out,
                    void (*between)(int round)) {
  uint8_t* buf = malloc(buf_len);
  memset(out, 0, sizeof *out);
  __wasi_dircookie_t cookie = start;
  int ok = 1;
  for (int round = 0; round < 1000; round++) {
    __wasi_size_t used = 0;
    if (!expect_ok(__wasi_fd_readdir(dir, buf, buf_len, cookie, &used), "fd_readdir")) {
      ok = 0;
      break;
    }
    if (used > buf_len) {
      fail("fd_readdir used %u of a %zu-byte buffer", (unsigned)used, buf_len);
      ok = 0;
      break;
    }
    int end = 0;
    int before = out->count;
    cookie = parse(buf, used, buf_len, cookie, out, &end);
    if (end)
      break;
    if (out->count == before) {
      fail("fd_readdir with a %zu-byte buffer made no progress", buf_len);
      ok = 0;
      break;
    }
    if (between)
      between(round);
  }
  free(buf);
  return ok;
}

static int find(const struct listing* l, const char* name) {
  int at = -1;
  for (int i = 0; i < l->count; i++)
    if (strcmp(l->names[i], name) == 0) {
      if (at >= 0) {
        fail("entry %s seen twice", name);
        return at;
      }
      at = i;
    }
  return at;
}

static void expect_entry(const struct listing* l, const char* name, uint8_t type,
                         const char* what) {
  int i = find(l, name);
  char msg[128];
  snprintf(msg, sizeof msg, "%s: entry %s is listed", what, name);
  if (!expect_true(i >= 0, msg))
    return;
  snprintf(msg, sizeof msg, "%s: type of %s", what, name);
  expect_u64(l->types[i], type, msg);
}

static void check_full_listing(void) {
  static struct listing l, again;
  const char* files[] = {"alpha", "beta", "gamma", "a-much-longer-name.txt"};
  for (size_t i = 0; i < sizeof files / sizeof *files; i++)
    write_file(files[i], "x");
  expect_ok(__wasi_path_create_directory(SANDBOX, "sub"), "mkdir sub");
  expect_ok(__wasi_path_symlink("alpha", SANDBOX, "sym"), "symlink sym");
  if (!list_dir(SANDBOX, 4096, 0, &l, NULL))
    return;
  expect_u64(l.count, 8, "entries in the sandbox (with . and ..)");
  expect_entry(&l, ".", __WASI_FILETYPE_DIRECTORY, "big buffer");
  expect_entry(&l, "..", __WASI_FILETYPE_DIRECTORY, "big buffer");
  for (size_t i = 0; i < sizeof files / sizeof *files; i++)
    expect_entry(&l, files[i], __WASI_FILETYPE_REGULAR_FILE, "big buffer");
  expect_entry(&l, "sub", __WASI_FILETYPE_DIRECTORY, "big buffer");
  expect_entry(&l, "sym", __WASI_FILETYPE_SYMBOLIC_LINK, "big buffer");
  int a = find(&l, "alpha");
  __wasi_filestat_t st;
  if (a >= 0 &&
      expect_ok(__wasi_path_filestat_get(SANDBOX, 0, "alpha", &st), "path_filestat_get(alpha)"))
    expect_u64(l.inos[a], st.ino, "d_ino of alpha is its inode");

  /* Small buffers, down to one that just holds the longest entry, list
   * the same entries, resuming at cookies after truncated entries. */
  const size_t sizes[] = {sizeof(__wasi_dirent_t) + 22, 57, 100, 200};
  for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) {
    char what[64];
    snprintf(what, sizeof what, "%zu-byte buffer", sizes[s]);
    if (!list_dir(SANDBOX, sizes[s], 0, &again, NULL))
      continue;
    expect_u64(again.count, l.count, what);
    for (int i = 0; i < l.count; i++)
      if (find(&again, l.names[i]) < 0)
        fail("%s: entry %s missing", what, l.names[i]);
  }

  /* A buffer too small for one entry is filled, truncating the entry, as
   * the spec says of a buffer too small: used == buf_len. */
  uint8_t tiny[sizeof(__wasi_dirent_t) + 32];
  __wasi_size_t used = 0;
  if (expect_ok(__wasi_fd_readdir(SANDBOX, tiny, 10, 0, &used), "fd_readdir with a 10-byte buffer"))
    expect_u64(used, 10, "a buffer smaller than an entry is filled");
  if (expect_ok(__wasi_fd_readdir(SANDBOX, tiny, sizeof(__wasi_dirent_t), 0, &used),
                "fd_readdir with a header-sized buffer"))
    expect_u64(used, sizeof(__wasi_dirent_t), "a header-sized buffer is filled");
  if (expect_ok(__wasi_fd_readdir(SANDBOX, tiny, 0, 0, &used), "fd_readdir with an empty buffer"))
    expect_u64(used, 0, "an empty buffer stays empty");

  /* Restarting at a cookie handed out earlier gives the same tail. */
  if (l.count >= 4 && list_dir(SANDBOX, 4096, l.nexts[2], &again, NULL)) {
    expect_u64(again.count, l.count - 3, "entries after the third's cookie");
    for (int i = 3; i < l.count && i - 3 < again.count; i++)
      if (strcmp(again.names[i - 3], l.names[i]) != 0)
        fail("restart at cookie: entry %d is %s, expected %s", i, again.names[i - 3], l.names[i]);
  }
  if (l.count >= 1 && list_dir(SANDBOX, 4096, l.nexts[l.count - 1], &again, NULL))
    expect_u64(again.count, 0, "entries after the last entry's cookie");
  if (list_dir(SANDBOX, 4096, 0, &again, NULL))
    expect_u64(again.count, l.count, "cookie 0 starts over");

  __wasi_fd_t sub = 0;
  if (expect_ok(__wasi_path_open(SANDBOX, 0, "sub", __WASI_OFLAGS_DIRECTORY,
                                 __WASI_RIGHTS_FD_READDIR, 0, 0, &sub),
                "path_open(sub) for FD_READDIR") &&
      list_dir(sub, 4096, 0, &again, NULL)) {
    expect_u64(again.count, 2, "an empty directory lists . and ..");
    expect_entry(&again, ".", __WASI_FILETYPE_DIRECTORY, "empty dir");
    expect_entry(&again, "..", __WASI_FILETYPE_DIRECTORY, "empty dir");
  }
  if (sub)
    expect_ok(__wasi_fd_close(sub), "fd_close(sub)");
}

static void check_errors(void) {
  uint8_t buf[64];
  __wasi_size_t used = 0;
  __wasi_fd_t f = open_file("alpha", 0, FILE_RW_RIGHTS, 0);
  if (f) {
    /* The reference runtimes answer NOTDIR or BADF; a rights check
     * NOTCAPABLE: accept any. */
    expect_any(__wasi_fd_readdir(f, buf, sizeof buf, 0, &used), "fd_readdir of a file",
               __WASI_ERRNO_NOTDIR, __WASI_ERRNO_BADF, __WASI_ERRNO_NOTCAPABLE);
    expect_ok(__wasi_fd_close(f), "fd_close");
  }
  expect_errno(__wasi_fd_readdir(77, buf, sizeof buf, 0, &used), __WASI_ERRNO_BADF,
               "fd_readdir of a closed fd");
}

/* Deleting entries between reads: some already seen, some not yet. */
static __wasi_fd_t churn_dir;
static void delete_some(int round) {
  if (round != 0)
    return;
  for (int i = 0; i < 30; i += 3) {
    char name[16];
    snprintf(name, sizeof name, "f%02d", i);
    expect_ok(__wasi_path_unlink_file(churn_dir, name), "path_unlink_file while reading");
  }
}

static void check_delete_while_reading(void) {
  expect_ok(__wasi_path_create_directory(SANDBOX, "churn"), "mkdir churn");
  for (int i = 0; i < 30; i++) {
    char name[24];
    snprintf(name, sizeof name, "churn/f%02d", i);
    write_file(name, "x");
  }
  if (!expect_ok(__wasi_path_open(SANDBOX, 0, "churn", __WASI_OFLAGS_DIRECTORY,
                                  __WASI_RIGHTS_FD_READDIR | __WASI_RIGHTS_PATH_UNLINK_FILE, 0, 0,
                                  &churn_dir),
                 "path_open(churn)"))
    return;
  static struct listing l;
  if (list_dir(churn_dir, 100, 0, &l, delete_some)) {
    /* find() reports an entry seen twice; the ones never deleted must all
     * be there, the deleted ones may or may not. */
    for (int i = 0; i < 32; i++) {
      char name[16];
      snprintf(name, sizeof name, "f%02d", i);
      if (i >= 30) {
        find(&l, i == 30 ? "." : "..");
        continue;
      }
      int at = find(&l, name);
      if (i % 3 != 0 && at < 0)
        fail("entry %s, never deleted, not seen while others were", name);
    }
  }
  expect_ok(__wasi_fd_close(churn_dir), "fd_close(churn)");
}

int main(void) {
  check_full_listing();
  check_errors();
  check_delete_while_reading();
  return finish();
}
