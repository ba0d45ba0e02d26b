// Shared by the engine benchmark programs: each prints when its main began
// (realtime, for time-to-first-instruction), how long its work took, and a
// checksum so that every engine is seen to compute the same thing.
#pragma once
#include <stdint.h>
#include <stdio.h>
#include <time.h>

static inline int64_t bench_now_ns(clockid_t clock) {
  struct timespec ts;
  clock_gettime(clock, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

#define BENCH_BEGIN()                                                  \
  printf("start_ns: %lld\n", (long long)bench_now_ns(CLOCK_REALTIME)); \
  int64_t bench_t0 = bench_now_ns(CLOCK_MONOTONIC)

#define BENCH_END(checksum)                                                            \
  printf("work_ms: %.3f\n", (double)(bench_now_ns(CLOCK_MONOTONIC) - bench_t0) / 1e6); \
  printf("checksum: %llu\n", (unsigned long long)(checksum))
