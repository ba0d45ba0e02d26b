// Matrix multiply: doubles, cache-friendly i-k-j loop.
#include <stdlib.h>

#include "bench_common.h"

int main(int argc, char** argv) {
  BENCH_BEGIN();
  int n = argc > 1 ? atoi(argv[1]) : 400;
  double* a = malloc(sizeof(double) * (size_t)n * (size_t)n);
  double* b = malloc(sizeof(double) * (size_t)n * (size_t)n);
  double* c = calloc((size_t)n * (size_t)n, sizeof(double));
  for (int i = 0; i < n * n; i++) { a[i] = (i % 17) * 0.5; b[i] = (i % 13) * 0.25; }
  for (int i = 0; i < n; i++)
    for (int k = 0; k < n; k++) {
      double aik = a[i * n + k];
      for (int j = 0; j < n; j++) c[i * n + j] += aik * b[k * n + j];
    }
  double trace = 0;
  for (int i = 0; i < n; i++) trace += c[i * n + i];
  BENCH_END((uint64_t)trace);
  free(a); free(b); free(c);
  return 0;
}
