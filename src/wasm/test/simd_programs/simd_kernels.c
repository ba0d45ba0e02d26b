// Built by clang for wasm32-wasi with -msimd128: the kind of SIMD code
// real programs carry (auto-vectorised loops and wasm_simd128.h
// intrinsics). Each kernel runs twice, vectorised and as plain scalar code
// the compiler may not vectorise, and the two must agree. Prints one line
// per kernel and a checksum; exits 1 on any disagreement.
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <wasm_simd128.h>

#define N 1024

static uint8_t bytes_a[N], bytes_b[N];
static int32_t words_a[N], words_b[N];
static float floats_a[N], floats_b[N];
static int failures;
static uint32_t checksum = 2166136261u;

static void mix(const void* data, size_t size) {
  const uint8_t* p = data;
  for (size_t i = 0; i < size; ++i) {
    checksum = (checksum ^ p[i]) * 16777619u;
  }
}

static void expect(const char* kernel, const void* vectorised, const void* scalar, size_t size) {
  int same = memcmp(vectorised, scalar, size) == 0;
  printf("%s %s\n", kernel, same ? "ok" : "MISMATCH");
  failures += !same;
  mix(vectorised, size);
}

static void fill(void) {
  uint32_t state = 12345;
  for (int i = 0; i < N; ++i) {
    state = state * 1103515245u + 12345u;
    bytes_a[i] = (uint8_t)(state >> 16);
    bytes_b[i] = (uint8_t)(state >> 24);
    words_a[i] = (int32_t)state;
    words_b[i] = (int32_t)(state * 2654435761u);
    floats_a[i] = (float)(int32_t)(state >> 8) / 1024.0f;
    floats_b[i] = (float)(i - N / 2) * 0.37f;
  }
}

// Auto-vectorised by clang -O2 -msimd128: saturating byte add, word
// multiply-add, float a*b+c, min/max.
static void loops(void) {
  static uint8_t sat_v[N], sat_s[N];
  static uint32_t mad_v[N], mad_s[N];
  static float fma_v[N], fma_s[N];
  for (int i = 0; i < N; ++i) {
    unsigned sum = (unsigned)bytes_a[i] + bytes_b[i];
    sat_v[i] = (uint8_t)(sum > 255 ? 255 : sum);
  }
  for (int i = 0; i < N; ++i) {
    mad_v[i] = (uint32_t)words_a[i] * (uint32_t)words_b[i] + (uint32_t)(words_a[i] >> 3);
  }
  for (int i = 0; i < N; ++i) {
    fma_v[i] = floats_a[i] * floats_b[i] + floats_a[i];
  }
#pragma clang loop vectorize(disable) interleave(disable)
  for (int i = 0; i < N; ++i) {
    unsigned sum = (unsigned)bytes_a[i] + bytes_b[i];
    sat_s[i] = (uint8_t)(sum > 255 ? 255 : sum);
  }
#pragma clang loop vectorize(disable) interleave(disable)
  for (int i = 0; i < N; ++i) {
    mad_s[i] = (uint32_t)words_a[i] * (uint32_t)words_b[i] + (uint32_t)(words_a[i] >> 3);
  }
#pragma clang loop vectorize(disable) interleave(disable)
  for (int i = 0; i < N; ++i) {
    fma_s[i] = floats_a[i] * floats_b[i] + floats_a[i];
  }
  expect("saturating-add-loop", sat_v, sat_s, sizeof sat_v);
  expect("multiply-add-loop", mad_v, mad_s, sizeof mad_v);
  expect("float-loop", fma_v, fma_s, sizeof fma_v);
}

// Explicit intrinsics: a byte histogram by compare and bitmask, a dot
// product, and a shuffle that reverses bytes.
static void intrinsics(void) {
  uint32_t dot_v = 0, dot_s = 0;
  int counts_v[4] = {0}, counts_s[4] = {0};
  static uint8_t reversed_v[N], reversed_s[N];
  for (int i = 0; i < N; i += 16) {
    v128_t a = wasm_v128_load(&bytes_a[i]);
    for (int k = 0; k < 4; ++k) {
      v128_t bucket = wasm_u8x16_lt(a, wasm_u8x16_splat((uint8_t)(64 * (k + 1) - 1)));
      counts_v[k] += __builtin_popcount(wasm_i8x16_bitmask(bucket));
    }
    v128_t r = wasm_i8x16_shuffle(a, a, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
    wasm_v128_store(&reversed_v[i], r);
  }
  for (int i = 0; i < N; i += 8) {
    v128_t a = wasm_i16x8_make((int16_t)words_a[i], (int16_t)words_a[i + 1],
                               (int16_t)words_a[i + 2], (int16_t)words_a[i + 3],
                               (int16_t)words_a[i + 4], (int16_t)words_a[i + 5],
                               (int16_t)words_a[i + 6], (int16_t)words_a[i + 7]);
    v128_t b = wasm_i16x8_make((int16_t)words_b[i], (int16_t)words_b[i + 1],
                               (int16_t)words_b[i + 2], (int16_t)words_b[i + 3],
                               (int16_t)words_b[i + 4], (int16_t)words_b[i + 5],
                               (int16_t)words_b[i + 6], (int16_t)words_b[i + 7]);
    v128_t d = wasm_i32x4_dot_i16x8(a, b);
    dot_v += (uint32_t)wasm_i32x4_extract_lane(d, 0) + (uint32_t)wasm_i32x4_extract_lane(d, 1) +
             (uint32_t)wasm_i32x4_extract_lane(d, 2) + (uint32_t)wasm_i32x4_extract_lane(d, 3);
  }
#pragma clang loop vectorize(disable) interleave(disable)
  for (int i = 0; i < N; ++i) {
    for (int k = 0; k < 4; ++k) {
      counts_s[k] += bytes_a[i] < 64 * (k + 1) - 1;
    }
    reversed_s[i] = bytes_a[(i & ~15) + 15 - (i & 15)];
    dot_s += (uint32_t)((int32_t)(int16_t)words_a[i] * (int16_t)words_b[i]);
  }
  expect("histogram-bitmask", counts_v, counts_s, sizeof counts_v);
  expect("byte-reverse-shuffle", reversed_v, reversed_s, sizeof reversed_v);
  expect("dot-product", &dot_v, &dot_s, sizeof dot_v);
}

int main(void) {
  fill();
  loops();
  intrinsics();
  printf("checksum %08x\n", checksum);
  return failures ? 1 : 0;
}
