// Sorting: a hand-written quicksort (no libc qsort callbacks) over pseudo-random integers.
#include <stdlib.h>

#include "bench_common.h"

static void quicksort(uint32_t* a, long lo, long hi) {
  while (lo < hi) {
    uint32_t pivot = a[lo + (hi - lo) / 2];
    long i = lo, j = hi;
    while (i <= j) {
      while (a[i] < pivot) i++;
      while (a[j] > pivot) j--;
      if (i <= j) { uint32_t t = a[i]; a[i] = a[j]; a[j] = t; i++; j--; }
    }
    if (j - lo < hi - i) { quicksort(a, lo, j); lo = i; } else { quicksort(a, i, hi); hi = j; }
  }
}

int main(int argc, char** argv) {
  BENCH_BEGIN();
  long n = argc > 1 ? atol(argv[1]) : 3000000;
  uint32_t* a = malloc((size_t)n * sizeof *a);
  uint32_t x = 2463534242u;
  for (long i = 0; i < n; i++) { x ^= x << 13; x ^= x >> 17; x ^= x << 5; a[i] = x; }
  quicksort(a, 0, n - 1);
  uint64_t sum = 0;
  for (long i = 0; i < n; i += 997) sum = sum * 31 + a[i];
  for (long i = 1; i < n; i++) if (a[i - 1] > a[i]) sum = 0;  // unsorted: checksum 0
  BENCH_END(sum);
  free(a);
  return 0;
}
