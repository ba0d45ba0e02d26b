/* Shared checks for the C conformance programs: each failed check prints one
 * "FAIL: ..." line to stderr and is counted; finish() prints "ok" and returns
 * 0 only when every check passed, as the suite's contract asks. */
#ifndef CONFORMANCE_CHECK_H
#define CONFORMANCE_CHECK_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <wasi/api.h>

static int check_failures;

/* Names in the order of preview 1's errno enum, so a failure reads
 * "got NOTDIR" rather than a number. */
static const char* const check_errno_names[] = {
    "SUCCESS",     "2BIG",           "ACCES",       "ADDRINUSE",   "ADDRNOTAVAIL",
    "AFNOSUPPORT", "AGAIN",          "ALREADY",     "BADF",        "BADMSG",
    "BUSY",        "CANCELED",       "CHILD",       "CONNABORTED", "CONNREFUSED",
    "CONNRESET",   "DEADLK",         "DESTADDRREQ", "DOM",         "DQUOT",
    "EXIST",       "FAULT",          "FBIG",        "HOSTUNREACH", "IDRM",
    "ILSEQ",       "INPROGRESS",     "INTR",        "INVAL",       "IO",
    "ISCONN",      "ISDIR",          "LOOP",        "MFILE",       "MLINK",
    "MSGSIZE",     "MULTIHOP",       "NAMETOOLONG", "NETDOWN",     "NETRESET",
    "NETUNREACH",  "NFILE",          "NOBUFS",      "NODEV",       "NOENT",
    "NOEXEC",      "NOLCK",          "NOLINK",      "NOMEM",       "NOMSG",
    "NOPROTOOPT",  "NOSPC",          "NOSYS",       "NOTCONN",     "NOTDIR",
    "NOTEMPTY",    "NOTRECOVERABLE", "NOTSOCK",     "NOTSUP",      "NOTTY",
    "NXIO",        "OVERFLOW",       "OWNERDEAD",   "PERM",        "PIPE",
    "PROTO",       "PROTONOSUPPORT", "PROTOTYPE",   "RANGE",       "ROFS",
    "SPIPE",       "SRCH",           "STALE",       "TIMEDOUT",    "TXTBSY",
    "XDEV",        "NOTCAPABLE",
};
_Static_assert(sizeof(check_errno_names) / sizeof(check_errno_names[0]) ==
                   __WASI_ERRNO_NOTCAPABLE + 1,
               "one name per preview 1 errno");

static inline const char* errno_name(__wasi_errno_t e) {
  if (e < sizeof(check_errno_names) / sizeof(check_errno_names[0]))
    return check_errno_names[e];
  return "(out of range)";
}

__attribute__((format(printf, 1, 2))) static inline void fail(const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("FAIL: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  check_failures++;
}

/* Returns whether the call succeeded, so callers can skip what depends on it. */
static inline int expect_ok(__wasi_errno_t got, const char* what) {
  if (got == __WASI_ERRNO_SUCCESS)
    return 1;
  fail("%s: expected SUCCESS, got %s", what, errno_name(got));
  return 0;
}

static inline int expect_errno(__wasi_errno_t got, __wasi_errno_t want, const char* what) {
  if (got == want)
    return 1;
  fail("%s: expected %s, got %s", what, errno_name(want), errno_name(got));
  return 0;
}

static inline int expect_any_of_(__wasi_errno_t got, const char* what, const __wasi_errno_t* wants,
                                 size_t count) {
  for (size_t i = 0; i < count; i++)
    if (got == wants[i])
      return 1;
  char list[160] = "";
  for (size_t i = 0; i < count; i++) {
    if (i)
      strncat(list, " or ", sizeof list - strlen(list) - 1);
    strncat(list, errno_name(wants[i]), sizeof list - strlen(list) - 1);
  }
  fail("%s: expected %s, got %s", what, list, errno_name(got));
  return 0;
}

/* expect_any(got, what, E1, E2, ...): where the reference runtimes differ. */
#define expect_any(got, what, ...)                                     \
  expect_any_of_((got), (what), (const __wasi_errno_t[]){__VA_ARGS__}, \
                 sizeof((const __wasi_errno_t[]){__VA_ARGS__}) / sizeof(__wasi_errno_t))

static inline int expect_true(int cond, const char* what) {
  if (!cond)
    fail("%s", what);
  return cond;
}

static inline int expect_u64(uint64_t got, uint64_t want, const char* what) {
  if (got == want)
    return 1;
  fail("%s: expected %llu, got %llu", what, (unsigned long long)want, (unsigned long long)got);
  return 0;
}

static inline int finish(void) {
  fflush(stderr);
  if (check_failures) {
    printf("%d check(s) failed\n", check_failures);
    return 1;
  }
  puts("ok");
  return 0;
}

/* The contract's one preopen: a fresh, empty, writable "/sandbox". */
#define SANDBOX ((__wasi_fd_t)3)

#define FILE_RW_RIGHTS                                                                          \
  (__WASI_RIGHTS_FD_READ | __WASI_RIGHTS_FD_WRITE | __WASI_RIGHTS_FD_SEEK |                     \
   __WASI_RIGHTS_FD_TELL | __WASI_RIGHTS_FD_FILESTAT_GET | __WASI_RIGHTS_FD_FILESTAT_SET_SIZE | \
   __WASI_RIGHTS_FD_FILESTAT_SET_TIMES | __WASI_RIGHTS_FD_ADVISE | __WASI_RIGHTS_FD_ALLOCATE |  \
   __WASI_RIGHTS_FD_DATASYNC | __WASI_RIGHTS_FD_SYNC | __WASI_RIGHTS_FD_FDSTAT_SET_FLAGS |      \
   __WASI_RIGHTS_POLL_FD_READWRITE)

/* Opens (creating when oflags say so) a file in the sandbox; 0 on failure. */
static inline __wasi_fd_t open_file(const char* path, __wasi_oflags_t oflags,
                                    __wasi_rights_t rights, __wasi_fdflags_t fdflags) {
  __wasi_fd_t fd = 0;
  char what[200];
  snprintf(what, sizeof what, "path_open(\"%s\")", path);
  if (!expect_ok(__wasi_path_open(SANDBOX, 0, path, oflags, rights, rights, fdflags, &fd), what))
    return 0;
  return fd;
}

/* Writes a whole small file; returns whether it worked. */
static inline int write_file(const char* path, const char* content) {
  __wasi_fd_t fd = open_file(path, __WASI_OFLAGS_CREAT | __WASI_OFLAGS_TRUNC, FILE_RW_RIGHTS, 0);
  if (!fd)
    return 0;
  __wasi_ciovec_t iov = {(const uint8_t*)content, strlen(content)};
  __wasi_size_t n = 0;
  int ok = expect_ok(__wasi_fd_write(fd, &iov, 1, &n), "fd_write") &&
           expect_u64(n, strlen(content), "bytes written");
  ok = expect_ok(__wasi_fd_close(fd), "fd_close") && ok;
  return ok;
}

#endif
