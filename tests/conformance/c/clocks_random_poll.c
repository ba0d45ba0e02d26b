/* Clocks, random bytes, poll_oneoff, sched_yield, and the arguments and
 * environment the suite's contract gives every program. */
#include <stdlib.h>

#include "check.h"

static __wasi_timestamp_t now(__wasi_clockid_t id) {
  __wasi_timestamp_t t = 0;
  expect_ok(__wasi_clock_time_get(id, 1, &t), "clock_time_get");
  return t;
}

static void check_clocks(void) {
  __wasi_timestamp_t res = 0;
  if (expect_ok(__wasi_clock_res_get(__WASI_CLOCKID_REALTIME, &res), "clock_res_get(REALTIME)"))
    expect_true(res > 0, "REALTIME resolution is positive");
  if (expect_ok(__wasi_clock_res_get(__WASI_CLOCKID_MONOTONIC, &res), "clock_res_get(MONOTONIC)"))
    expect_true(res > 0, "MONOTONIC resolution is positive");
  /* 2020-01-01 in nanoseconds since the epoch: REALTIME counts from 1970. */
  expect_true(now(__WASI_CLOCKID_REALTIME) > 1577836800ull * 1000000000ull,
              "REALTIME is nanoseconds since 1970");
  __wasi_timestamp_t prev = now(__WASI_CLOCKID_MONOTONIC);
  for (int i = 0; i < 1000; i++) {
    __wasi_timestamp_t t = now(__WASI_CLOCKID_MONOTONIC);
    if (t < prev) {
      fail("MONOTONIC went back from %llu to %llu", (unsigned long long)prev,
           (unsigned long long)t);
      break;
    }
    prev = t;
  }
  __wasi_timestamp_t t = 0;
  expect_errno(__wasi_clock_time_get(99, 1, &t), __WASI_ERRNO_INVAL, "clock_time_get(99)");
  expect_errno(__wasi_clock_res_get(99, &res), __WASI_ERRNO_INVAL, "clock_res_get(99)");
}

static int all_zero(const uint8_t* p, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (p[i])
      return 0;
  return 1;
}

static void check_random(void) {
  uint8_t one[2] = {0, 0xAB};
  expect_ok(__wasi_random_get(one, 1), "random_get(1 byte)");
  expect_u64(one[1], 0xAB, "random_get(1) writes one byte only");
  expect_ok(__wasi_random_get(one, 0), "random_get(0 bytes)");

  const size_t n = 200 * 1024;
  uint8_t *a = calloc(1, n), *b = calloc(1, n);
  if (!a || !b) {
    fail("calloc of 200 KiB failed");
    return;
  }
  if (expect_ok(__wasi_random_get(a, n), "random_get(200 KiB)") &&
      expect_ok(__wasi_random_get(b, n), "random_get(200 KiB) again")) {
    /* Each 4 KiB block, also those past the first 64 KiB, is filled. */
    for (size_t off = 0; off < n; off += 4096)
      if (all_zero(a + off, 4096)) {
        fail("random_get(200 KiB): 4 KiB at offset %zu all zero", off);
        break;
      }
    expect_true(memcmp(a, b, n) != 0, "two random_get calls differ");
    expect_true(memcmp(a + 65536, b + 65536, n - 65536) != 0,
                "two random_get calls differ past 64 KiB");
  }
  free(a);
  free(b);
}

static __wasi_subscription_t clock_sub(uint64_t userdata, __wasi_timestamp_t timeout,
                                       __wasi_subclockflags_t flags) {
  __wasi_subscription_t s;
  memset(&s, 0, sizeof s);
  s.userdata = userdata;
  s.u.tag = __WASI_EVENTTYPE_CLOCK;
  s.u.u.clock.id = __WASI_CLOCKID_MONOTONIC;
  s.u.u.clock.timeout = timeout;
  s.u.u.clock.precision = 0;
  s.u.u.clock.flags = flags;
  return s;
}

static __wasi_subscription_t fd_sub(uint64_t userdata, __wasi_eventtype_t type, __wasi_fd_t fd) {
  __wasi_subscription_t s;
  memset(&s, 0, sizeof s);
  s.userdata = userdata;
  s.u.tag = type;
  if (type == __WASI_EVENTTYPE_FD_READ)
    s.u.u.fd_read.file_descriptor = fd;
  else
    s.u.u.fd_write.file_descriptor = fd;
  return s;
}

static void check_clock_event(const __wasi_event_t* ev, uint64_t userdata, const char* what) {
  char msg[96];
  snprintf(msg, sizeof msg, "%s: userdata", what);
  expect_u64(ev->userdata, userdata, msg);
  snprintf(msg, sizeof msg, "%s: event type", what);
  expect_u64(ev->type, __WASI_EVENTTYPE_CLOCK, msg);
  snprintf(msg, sizeof msg, "%s: event error", what);
  expect_errno(ev->error, __WASI_ERRNO_SUCCESS, msg);
}

/* Finds the event with that userdata among n; NULL when absent. */
static const __wasi_event_t* event_for(const __wasi_event_t* evs, size_t n, uint64_t userdata) {
  for (size_t i = 0; i < n; i++)
    if (evs[i].userdata == userdata)
      return &evs[i];
  return NULL;
}

static void check_poll(void) {
  __wasi_event_t evs[4];
  __wasi_size_t n = 0;
  const __wasi_timestamp_t ms = 1000000;

  __wasi_subscription_t rel = clock_sub(0x1111, ms, 0);
  __wasi_timestamp_t before = now(__WASI_CLOCKID_MONOTONIC);
  if (expect_ok(__wasi_poll_oneoff(&rel, evs, 1, &n), "poll_oneoff(relative 1 ms clock)") &&
      expect_u64(n, 1, "events for one relative clock")) {
    check_clock_event(&evs[0], 0x1111, "relative clock");
    expect_true(now(__WASI_CLOCKID_MONOTONIC) >= before + ms,
                "a relative clock event comes no earlier than asked");
  }

  __wasi_timestamp_t deadline = now(__WASI_CLOCKID_MONOTONIC) + ms;
  __wasi_subscription_t abs_sub =
      clock_sub(0x2222, deadline, __WASI_SUBCLOCKFLAGS_SUBSCRIPTION_CLOCK_ABSTIME);
  if (expect_ok(__wasi_poll_oneoff(&abs_sub, evs, 1, &n), "poll_oneoff(absolute clock)") &&
      expect_u64(n, 1, "events for one absolute clock")) {
    check_clock_event(&evs[0], 0x2222, "absolute clock");
    expect_true(now(__WASI_CLOCKID_MONOTONIC) >= deadline,
                "an absolute clock event comes no earlier than its time");
  }
  abs_sub.u.u.clock.timeout = 1; /* long past */
  if (expect_ok(__wasi_poll_oneoff(&abs_sub, evs, 1, &n),
                "poll_oneoff(absolute clock in the past)") &&
      expect_u64(n, 1, "events for a past absolute clock"))
    check_clock_event(&evs[0], 0x2222, "past absolute clock");

  /* stdin is a regular file: readable at once, before a far clock. */
  __wasi_subscription_t subs[3] = {
      fd_sub(0x3333, __WASI_EVENTTYPE_FD_READ, 0),
      clock_sub(0x4444, 600ull * 1000 * ms, 0),
      fd_sub(0x5555, __WASI_EVENTTYPE_FD_WRITE, 1),
  };
  if (expect_ok(__wasi_poll_oneoff(subs, evs, 3, &n),
                "poll_oneoff(stdin readable, stdout writable, far clock)")) {
    expect_true(n >= 1 && n <= 2, "one or two fd events, no clock event");
    const __wasi_event_t* in = event_for(evs, n, 0x3333);
    if (expect_true(in != NULL, "stdin (a regular file) is readable")) {
      expect_u64(in->type, __WASI_EVENTTYPE_FD_READ, "stdin event type");
      expect_errno(in->error, __WASI_ERRNO_SUCCESS, "stdin event error");
    }
    expect_true(event_for(evs, n, 0x4444) == NULL, "the far clock has not fired");
  }
  if (expect_ok(__wasi_poll_oneoff(&subs[2], evs, 1, &n), "poll_oneoff(stdout writable)") &&
      expect_u64(n, 1, "events for stdout writable")) {
    expect_u64(evs[0].userdata, 0x5555, "stdout event userdata");
    expect_u64(evs[0].type, __WASI_EVENTTYPE_FD_WRITE, "stdout event type");
    expect_errno(evs[0].error, __WASI_ERRNO_SUCCESS, "stdout event error");
  }

  /* wasmtime refuses an empty subscription list with INVAL. */
  expect_errno(__wasi_poll_oneoff(subs, evs, 0, &n), __WASI_ERRNO_INVAL,
               "poll_oneoff with no subscriptions");
  /* A closed fd: the whole call fails with BADF, or its event carries
   * BADF; both are seen in the reference runtimes. */
  __wasi_subscription_t bad = fd_sub(0x6666, __WASI_EVENTTYPE_FD_READ, 77);
  __wasi_errno_t e = __wasi_poll_oneoff(&bad, evs, 1, &n);
  if (e == __WASI_ERRNO_SUCCESS) {
    if (expect_u64(n, 1, "events for a closed fd"))
      expect_errno(evs[0].error, __WASI_ERRNO_BADF, "closed fd event error");
  } else {
    expect_errno(e, __WASI_ERRNO_BADF, "poll_oneoff on a closed fd");
  }

  /* Of two clocks only the nearer fires. */
  __wasi_subscription_t two[2] = {clock_sub(0x7777, 600ull * 1000 * ms, 0),
                                  clock_sub(0x8888, ms, 0)};
  if (expect_ok(__wasi_poll_oneoff(two, evs, 2, &n), "poll_oneoff(far and near clocks)") &&
      expect_u64(n, 1, "events for a far and a near clock"))
    check_clock_event(&evs[0], 0x8888, "nearer clock");

  /* An undefined subclockflags bit is INVAL (wasmtime checks flag bits when
   * it reads the subscription, failing the call; an event carrying INVAL
   * says the same). */
  __wasi_subscription_t odd = clock_sub(0x9999, ms, 1 << 1);
  __wasi_errno_t odd_rc = __wasi_poll_oneoff(&odd, evs, 1, &n);
  if (odd_rc == __WASI_ERRNO_SUCCESS) {
    if (expect_u64(n, 1, "events for a clock with an undefined flag"))
      expect_errno(evs[0].error, __WASI_ERRNO_INVAL, "clock with an undefined flag bit");
  } else {
    expect_errno(odd_rc, __WASI_ERRNO_INVAL, "poll_oneoff, clock with an undefined flag bit");
  }

  expect_ok(__wasi_sched_yield(), "sched_yield");
}

static const char* base_name(const char* path) {
  const char* slash = strrchr(path, '/');
  return slash ? slash + 1 : path;
}

static void check_args_env(void) {
  __wasi_size_t argc = 0, argv_size = 0;
  if (expect_ok(__wasi_args_sizes_get(&argc, &argv_size), "args_sizes_get") &&
      expect_u64(argc, 1, "argc (only the program name)")) {
    uint8_t* argv[2] = {0, 0};
    uint8_t* buf = calloc(1, argv_size + 1);
    if (buf && expect_ok(__wasi_args_get(argv, buf), "args_get")) {
      const char* arg0 = (const char*)argv[0];
      expect_u64(strlen(arg0) + 1, argv_size, "args buffer size");
      expect_true(argv[0] == buf, "argv[0] points at the buffer's start");
      /* The runner may name the module by a path; its last part is fixed. */
      if (strcmp(base_name(arg0), "clocks_random_poll.wasm") != 0)
        fail("argv[0]: expected clocks_random_poll.wasm, got %s", arg0);
    }
    free(buf);
  }

  __wasi_size_t envc = 0, env_size = 0;
  static const char* const want[] = {"CONFORMANCE_ENV=present", "CONFORMANCE_EMPTY="};
  if (!expect_ok(__wasi_environ_sizes_get(&envc, &env_size), "environ_sizes_get") ||
      !expect_u64(envc, 2, "environment count"))
    return;
  expect_u64(env_size, strlen(want[0]) + strlen(want[1]) + 2, "environment buffer size");
  uint8_t* envp[3] = {0, 0, 0};
  uint8_t* buf = calloc(1, env_size + 1);
  if (buf && expect_ok(__wasi_environ_get(envp, buf), "environ_get")) {
    for (int w = 0; w < 2; w++) {
      int seen = 0;
      for (int i = 0; i < 2; i++)
        seen += strcmp((const char*)envp[i], want[w]) == 0;
      if (seen != 1)
        fail("environment: %s seen %d times", want[w], seen);
    }
    expect_true(envp[2] == NULL, "environ_get writes two pointers only");
  }
  free(buf);
  const char* v = getenv("CONFORMANCE_ENV");
  expect_true(v && strcmp(v, "present") == 0, "getenv(CONFORMANCE_ENV)");
  v = getenv("CONFORMANCE_EMPTY");
  expect_true(v && *v == 0, "getenv(CONFORMANCE_EMPTY) is set and empty");
  expect_true(getenv("CONFORMANCE_MISSING") == NULL, "getenv of an unset name");
}

/* main returns normally: the program exits 0 without calling proc_exit. */
int main(void) {
  check_clocks();
  check_random();
  check_poll();
  check_args_env();
  return finish();
}
