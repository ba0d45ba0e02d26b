#include "c_translation.h"

namespace wasmshim::wasm {

// The SIMD operations that simd_lowering.cc turns into calls, written as
// plain C over a union of lanes, one statement per lane, so that tcc
// compiles them too (cc vectorises the lanes itself). A v128 arrives and leaves as two u64
// halves, low first; immediates (lane numbers, the shuffle mask) arrive as
// trailing arguments. Every function is named wasmshim_simd_ plus the
// operation's name with '.' as '_' (kSimdHelperPrefix); a test runs every
// operation wabt knows against V8.
const char* const kCSimdLibrary = R"SIMD(
/* wasmshim SIMD library */
#ifndef wasm_multi_jj
#define wasm_multi_jj wasm_multi_jj
struct wasm_multi_jj { uint64_t j0; uint64_t j1; };
#endif
typedef union {
  uint64_t u64[2]; int64_t i64[2]; uint32_t u32[4]; int32_t i32[4];
  uint16_t u16[8]; int16_t i16[8]; uint8_t u8[16]; int8_t i8[16];
  float f32[4]; double f64[2];
} wasmshim_v128;
/* Macros, not functions: tcc would call a function for each. */
#define WASMSHIM_SET(v, lo, hi) ((v).u64[0] = (lo), (v).u64[1] = (hi))
#define WASMSHIM_RETURN(v) { struct wasm_multi_jj wasmshim_result; \
  wasmshim_result.j0 = (v).u64[0]; wasmshim_result.j1 = (v).u64[1]; return wasmshim_result; }
static inline int64_t wasmshim_clamp(int64_t v, int64_t lo, int64_t hi) {
  return v < lo ? lo : v > hi ? hi : v;
}
static inline uint32_t wasmshim_f32_bits(float f) { union { float f; uint32_t u; } v; v.f = f; return v.u; }
static inline float wasmshim_bits_f32(uint32_t u) { union { uint32_t u; float f; } v; v.u = u; return v.f; }
static inline uint64_t wasmshim_f64_bits(double f) { union { double f; uint64_t u; } v; v.f = f; return v.u; }
static inline double wasmshim_bits_f64(uint64_t u) { union { uint64_t u; double f; } v; v.u = u; return v.f; }
/* wasm's min and max: NaN wins, and -0 is below +0. */
static inline float wasmshim_fmin32(float a, float b) {
  if (a != a || b != b) return a + b;
  if (a == b) return wasmshim_bits_f32(wasmshim_f32_bits(a) | wasmshim_f32_bits(b));
  return a < b ? a : b;
}
static inline float wasmshim_fmax32(float a, float b) {
  if (a != a || b != b) return a + b;
  if (a == b) return wasmshim_bits_f32(wasmshim_f32_bits(a) & wasmshim_f32_bits(b));
  return a > b ? a : b;
}
static inline double wasmshim_fmin64(double a, double b) {
  if (a != a || b != b) return a + b;
  if (a == b) return wasmshim_bits_f64(wasmshim_f64_bits(a) | wasmshim_f64_bits(b));
  return a < b ? a : b;
}
static inline double wasmshim_fmax64(double a, double b) {
  if (a != a || b != b) return a + b;
  if (a == b) return wasmshim_bits_f64(wasmshim_f64_bits(a) & wasmshim_f64_bits(b));
  return a > b ? a : b;
}
/* Saturating float -> int32: NaN is 0. Every f32 is exact as a double. */
static inline int32_t wasmshim_sat_s32(double x) {
  if (x != x) return 0;
  if (x <= -2147483648.0) return INT32_MIN;
  if (x >= 2147483647.0) return INT32_MAX;
  return (int32_t)x;
}
static inline uint32_t wasmshim_sat_u32(double x) {
  if (!(x > 0.0)) return 0;
  if (x >= 4294967295.0) return UINT32_MAX;
  return (uint32_t)(int64_t)x;
}
static inline uint32_t wasmshim_popcnt8(uint32_t x) {
  x = x - ((x >> 1) & 0x55u);
  x = (x & 0x33u) + ((x >> 2) & 0x33u);
  return (x + (x >> 4)) & 0x0fu;
}
/* All ones for a true comparison, whatever the lane width it is stored in. */
#define WASMSHIM_MASK(c) (-(uint64_t)((c) != 0))

/* Lane loops written out: tcc keeps a loop counter in memory and branches
   per lane; cc would unroll them anyway. */
#define WASMSHIM_LANES_2(...) { const int i = 0; __VA_ARGS__; } { const int i = 1; __VA_ARGS__; }
#define WASMSHIM_LANES_4(...) WASMSHIM_LANES_2(__VA_ARGS__) \
  { const int i = 2; __VA_ARGS__; } { const int i = 3; __VA_ARGS__; }
#define WASMSHIM_LANES_8(...) WASMSHIM_LANES_4(__VA_ARGS__) \
  { const int i = 4; __VA_ARGS__; } { const int i = 5; __VA_ARGS__; } \
  { const int i = 6; __VA_ARGS__; } { const int i = 7; __VA_ARGS__; }
#define WASMSHIM_LANES_16(...) WASMSHIM_LANES_8(__VA_ARGS__) \
  { const int i = 8; __VA_ARGS__; } { const int i = 9; __VA_ARGS__; } \
  { const int i = 10; __VA_ARGS__; } { const int i = 11; __VA_ARGS__; } \
  { const int i = 12; __VA_ARGS__; } { const int i = 13; __VA_ARGS__; } \
  { const int i = 14; __VA_ARGS__; } { const int i = 15; __VA_ARGS__; }

#define SIMD_V128 static inline struct wasm_multi_jj
#define SIMD_UN(op, OUT, N, e) SIMD_V128 wasmshim_simd_##op(uint64_t a0, uint64_t a1) { \
  wasmshim_v128 a, r; WASMSHIM_SET(a, a0, a1); \
  WASMSHIM_LANES_##N(r.OUT[i] = (e)) \
  WASMSHIM_RETURN(r) }
#define SIMD_BIN(op, OUT, N, e) SIMD_V128 wasmshim_simd_##op(uint64_t a0, uint64_t a1, uint64_t b0, uint64_t b1) { \
  wasmshim_v128 a, b, r; WASMSHIM_SET(a, a0, a1); WASMSHIM_SET(b, b0, b1); \
  WASMSHIM_LANES_##N(r.OUT[i] = (e)) \
  WASMSHIM_RETURN(r) }
#define SIMD_SHIFT(op, OUT, N, e) SIMD_V128 wasmshim_simd_##op(uint64_t a0, uint64_t a1, uint32_t s) { \
  wasmshim_v128 a, r; WASMSHIM_SET(a, a0, a1); \
  int c = (int)(s & (8 * sizeof(r.OUT[0]) - 1)); \
  WASMSHIM_LANES_##N(r.OUT[i] = (e)) \
  WASMSHIM_RETURN(r) }
#define SIMD_SPLAT(op, OUT, N, T) SIMD_V128 wasmshim_simd_##op(T x) { \
  wasmshim_v128 r; \
  WASMSHIM_LANES_##N(r.OUT[i] = x) \
  WASMSHIM_RETURN(r) }
#define SIMD_EXTRACT(op, T, e) static inline T wasmshim_simd_##op(uint64_t a0, uint64_t a1, uint32_t lane) { \
  wasmshim_v128 a; WASMSHIM_SET(a, a0, a1); \
  return (e); }
#define SIMD_REPLACE(op, OUT, N, T) SIMD_V128 wasmshim_simd_##op(uint64_t a0, uint64_t a1, T x, uint32_t lane) { \
  wasmshim_v128 a; WASMSHIM_SET(a, a0, a1); \
  a.OUT[lane & ((N) - 1)] = x; \
  WASMSHIM_RETURN(a) }
#define SIMD_ALL_TRUE(op, L, N) static inline uint32_t wasmshim_simd_##op(uint64_t a0, uint64_t a1) { \
  wasmshim_v128 a; WASMSHIM_SET(a, a0, a1); uint32_t all = 1; \
  WASMSHIM_LANES_##N(all &= a.L[i] != 0) \
  return all; }
#define SIMD_BITMASK(op, L, N) static inline uint32_t wasmshim_simd_##op(uint64_t a0, uint64_t a1) { \
  wasmshim_v128 a; WASMSHIM_SET(a, a0, a1); uint32_t m = 0; \
  WASMSHIM_LANES_##N(m |= (uint32_t)(a.L[i] < 0) << i) \
  return m; }
/* v128.loadNxM: eight loaded bytes, each lane widened. */
#define SIMD_WIDEN(op, OUT, IN, N) SIMD_V128 wasmshim_simd_##op(uint64_t x) { \
  wasmshim_v128 s, r; WASMSHIM_SET(s, x, 0); \
  WASMSHIM_LANES_##N(r.OUT[i] = s.IN[i]) \
  WASMSHIM_RETURN(r) }

SIMD_WIDEN(v128_load8x8_s, i16, i8, 8)
SIMD_WIDEN(v128_load8x8_u, u16, u8, 8)
SIMD_WIDEN(v128_load16x4_s, i32, i16, 4)
SIMD_WIDEN(v128_load16x4_u, u32, u16, 4)
SIMD_WIDEN(v128_load32x2_s, i64, i32, 2)
SIMD_WIDEN(v128_load32x2_u, u64, u32, 2)

SIMD_SPLAT(i8x16_splat, u8, 16, uint32_t)
SIMD_SPLAT(i16x8_splat, u16, 8, uint32_t)
SIMD_SPLAT(i32x4_splat, u32, 4, uint32_t)
SIMD_SPLAT(i64x2_splat, u64, 2, uint64_t)
SIMD_SPLAT(f32x4_splat, f32, 4, float)
SIMD_SPLAT(f64x2_splat, f64, 2, double)

SIMD_EXTRACT(i8x16_extract_lane_s, uint32_t, (uint32_t)(int32_t)a.i8[lane & 15])
SIMD_EXTRACT(i8x16_extract_lane_u, uint32_t, a.u8[lane & 15])
SIMD_EXTRACT(i16x8_extract_lane_s, uint32_t, (uint32_t)(int32_t)a.i16[lane & 7])
SIMD_EXTRACT(i16x8_extract_lane_u, uint32_t, a.u16[lane & 7])
SIMD_EXTRACT(i32x4_extract_lane, uint32_t, a.u32[lane & 3])
SIMD_EXTRACT(i64x2_extract_lane, uint64_t, a.u64[lane & 1])
SIMD_EXTRACT(f32x4_extract_lane, float, a.f32[lane & 3])
SIMD_EXTRACT(f64x2_extract_lane, double, a.f64[lane & 1])
SIMD_REPLACE(i8x16_replace_lane, u8, 16, uint32_t)
SIMD_REPLACE(i16x8_replace_lane, u16, 8, uint32_t)
SIMD_REPLACE(i32x4_replace_lane, u32, 4, uint32_t)
SIMD_REPLACE(i64x2_replace_lane, u64, 2, uint64_t)
SIMD_REPLACE(f32x4_replace_lane, f32, 4, float)
SIMD_REPLACE(f64x2_replace_lane, f64, 2, double)

SIMD_V128 wasmshim_simd_i8x16_shuffle(uint64_t a0, uint64_t a1, uint64_t b0, uint64_t b1,
                                      uint64_t m0, uint64_t m1) {
  wasmshim_v128 a, b, m, r;
  WASMSHIM_SET(a, a0, a1);
  WASMSHIM_SET(b, b0, b1);
  WASMSHIM_SET(m, m0, m1);
  int i;
  for (i = 0; i < 16; ++i) {
    uint32_t k = m.u8[i] & 31;
    r.u8[i] = k < 16 ? a.u8[k] : b.u8[k - 16];
  }
  WASMSHIM_RETURN(r)
}
SIMD_BIN(i8x16_swizzle, u8, 16, b.u8[i] < 16 ? a.u8[b.u8[i]] : 0)

/* Comparisons. */
SIMD_BIN(i8x16_eq, u8, 16, WASMSHIM_MASK(a.u8[i] == b.u8[i]))
SIMD_BIN(i8x16_ne, u8, 16, WASMSHIM_MASK(a.u8[i] != b.u8[i]))
SIMD_BIN(i8x16_lt_s, u8, 16, WASMSHIM_MASK(a.i8[i] < b.i8[i]))
SIMD_BIN(i8x16_lt_u, u8, 16, WASMSHIM_MASK(a.u8[i] < b.u8[i]))
SIMD_BIN(i8x16_gt_s, u8, 16, WASMSHIM_MASK(a.i8[i] > b.i8[i]))
SIMD_BIN(i8x16_gt_u, u8, 16, WASMSHIM_MASK(a.u8[i] > b.u8[i]))
SIMD_BIN(i8x16_le_s, u8, 16, WASMSHIM_MASK(a.i8[i] <= b.i8[i]))
SIMD_BIN(i8x16_le_u, u8, 16, WASMSHIM_MASK(a.u8[i] <= b.u8[i]))
SIMD_BIN(i8x16_ge_s, u8, 16, WASMSHIM_MASK(a.i8[i] >= b.i8[i]))
SIMD_BIN(i8x16_ge_u, u8, 16, WASMSHIM_MASK(a.u8[i] >= b.u8[i]))
SIMD_BIN(i16x8_eq, u16, 8, WASMSHIM_MASK(a.u16[i] == b.u16[i]))
SIMD_BIN(i16x8_ne, u16, 8, WASMSHIM_MASK(a.u16[i] != b.u16[i]))
SIMD_BIN(i16x8_lt_s, u16, 8, WASMSHIM_MASK(a.i16[i] < b.i16[i]))
SIMD_BIN(i16x8_lt_u, u16, 8, WASMSHIM_MASK(a.u16[i] < b.u16[i]))
SIMD_BIN(i16x8_gt_s, u16, 8, WASMSHIM_MASK(a.i16[i] > b.i16[i]))
SIMD_BIN(i16x8_gt_u, u16, 8, WASMSHIM_MASK(a.u16[i] > b.u16[i]))
SIMD_BIN(i16x8_le_s, u16, 8, WASMSHIM_MASK(a.i16[i] <= b.i16[i]))
SIMD_BIN(i16x8_le_u, u16, 8, WASMSHIM_MASK(a.u16[i] <= b.u16[i]))
SIMD_BIN(i16x8_ge_s, u16, 8, WASMSHIM_MASK(a.i16[i] >= b.i16[i]))
SIMD_BIN(i16x8_ge_u, u16, 8, WASMSHIM_MASK(a.u16[i] >= b.u16[i]))
SIMD_BIN(i32x4_eq, u32, 4, WASMSHIM_MASK(a.u32[i] == b.u32[i]))
SIMD_BIN(i32x4_ne, u32, 4, WASMSHIM_MASK(a.u32[i] != b.u32[i]))
SIMD_BIN(i32x4_lt_s, u32, 4, WASMSHIM_MASK(a.i32[i] < b.i32[i]))
SIMD_BIN(i32x4_lt_u, u32, 4, WASMSHIM_MASK(a.u32[i] < b.u32[i]))
SIMD_BIN(i32x4_gt_s, u32, 4, WASMSHIM_MASK(a.i32[i] > b.i32[i]))
SIMD_BIN(i32x4_gt_u, u32, 4, WASMSHIM_MASK(a.u32[i] > b.u32[i]))
SIMD_BIN(i32x4_le_s, u32, 4, WASMSHIM_MASK(a.i32[i] <= b.i32[i]))
SIMD_BIN(i32x4_le_u, u32, 4, WASMSHIM_MASK(a.u32[i] <= b.u32[i]))
SIMD_BIN(i32x4_ge_s, u32, 4, WASMSHIM_MASK(a.i32[i] >= b.i32[i]))
SIMD_BIN(i32x4_ge_u, u32, 4, WASMSHIM_MASK(a.u32[i] >= b.u32[i]))
SIMD_BIN(i64x2_eq, u64, 2, WASMSHIM_MASK(a.u64[i] == b.u64[i]))
SIMD_BIN(i64x2_ne, u64, 2, WASMSHIM_MASK(a.u64[i] != b.u64[i]))
SIMD_BIN(i64x2_lt_s, u64, 2, WASMSHIM_MASK(a.i64[i] < b.i64[i]))
SIMD_BIN(i64x2_gt_s, u64, 2, WASMSHIM_MASK(a.i64[i] > b.i64[i]))
SIMD_BIN(i64x2_le_s, u64, 2, WASMSHIM_MASK(a.i64[i] <= b.i64[i]))
SIMD_BIN(i64x2_ge_s, u64, 2, WASMSHIM_MASK(a.i64[i] >= b.i64[i]))
SIMD_BIN(f32x4_eq, u32, 4, WASMSHIM_MASK(a.f32[i] == b.f32[i]))
SIMD_BIN(f32x4_ne, u32, 4, WASMSHIM_MASK(a.f32[i] != b.f32[i]))
SIMD_BIN(f32x4_lt, u32, 4, WASMSHIM_MASK(a.f32[i] < b.f32[i]))
SIMD_BIN(f32x4_gt, u32, 4, WASMSHIM_MASK(a.f32[i] > b.f32[i]))
SIMD_BIN(f32x4_le, u32, 4, WASMSHIM_MASK(a.f32[i] <= b.f32[i]))
SIMD_BIN(f32x4_ge, u32, 4, WASMSHIM_MASK(a.f32[i] >= b.f32[i]))
SIMD_BIN(f64x2_eq, u64, 2, WASMSHIM_MASK(a.f64[i] == b.f64[i]))
SIMD_BIN(f64x2_ne, u64, 2, WASMSHIM_MASK(a.f64[i] != b.f64[i]))
SIMD_BIN(f64x2_lt, u64, 2, WASMSHIM_MASK(a.f64[i] < b.f64[i]))
SIMD_BIN(f64x2_gt, u64, 2, WASMSHIM_MASK(a.f64[i] > b.f64[i]))
SIMD_BIN(f64x2_le, u64, 2, WASMSHIM_MASK(a.f64[i] <= b.f64[i]))
SIMD_BIN(f64x2_ge, u64, 2, WASMSHIM_MASK(a.f64[i] >= b.f64[i]))

/* Bitwise. */
SIMD_UN(v128_not, u64, 2, ~a.u64[i])
SIMD_BIN(v128_and, u64, 2, a.u64[i] & b.u64[i])
SIMD_BIN(v128_andnot, u64, 2, a.u64[i] & ~b.u64[i])
SIMD_BIN(v128_or, u64, 2, a.u64[i] | b.u64[i])
SIMD_BIN(v128_xor, u64, 2, a.u64[i] ^ b.u64[i])
SIMD_V128 wasmshim_simd_v128_bitselect(uint64_t a0, uint64_t a1, uint64_t b0, uint64_t b1,
                                       uint64_t c0, uint64_t c1) {
  wasmshim_v128 r;
  r.u64[0] = (a0 & c0) | (b0 & ~c0);
  r.u64[1] = (a1 & c1) | (b1 & ~c1);
  WASMSHIM_RETURN(r)
}
static inline uint32_t wasmshim_simd_v128_any_true(uint64_t a0, uint64_t a1) {
  return (a0 | a1) != 0;
}

/* Integer lanes. */
#define SIMD_INTEGER_LANES(S, N, U, I, WIDE, MIN, MAX, UMAX) \
  SIMD_UN(S##_abs, U, N, a.I[i] < 0 ? 0 - a.U[i] : a.U[i]) \
  SIMD_UN(S##_neg, U, N, 0 - a.U[i]) \
  SIMD_ALL_TRUE(S##_all_true, U, N) \
  SIMD_BITMASK(S##_bitmask, I, N) \
  SIMD_SHIFT(S##_shl, U, N, (WIDE)a.U[i] << c) \
  SIMD_SHIFT(S##_shr_s, I, N, a.I[i] >> c) \
  SIMD_SHIFT(S##_shr_u, U, N, a.U[i] >> c) \
  SIMD_BIN(S##_add, U, N, (WIDE)a.U[i] + b.U[i]) \
  SIMD_BIN(S##_sub, U, N, (WIDE)a.U[i] - b.U[i]) \
  SIMD_BIN(S##_min_s, I, N, a.I[i] < b.I[i] ? a.I[i] : b.I[i]) \
  SIMD_BIN(S##_min_u, U, N, a.U[i] < b.U[i] ? a.U[i] : b.U[i]) \
  SIMD_BIN(S##_max_s, I, N, a.I[i] > b.I[i] ? a.I[i] : b.I[i]) \
  SIMD_BIN(S##_max_u, U, N, a.U[i] > b.U[i] ? a.U[i] : b.U[i])
#define SIMD_SATURATING_LANES(S, N, U, I, MIN, MAX, UMAX) \
  SIMD_BIN(S##_add_sat_s, I, N, wasmshim_clamp((int64_t)a.I[i] + b.I[i], MIN, MAX)) \
  SIMD_BIN(S##_add_sat_u, U, N, wasmshim_clamp((int64_t)a.U[i] + b.U[i], 0, UMAX)) \
  SIMD_BIN(S##_sub_sat_s, I, N, wasmshim_clamp((int64_t)a.I[i] - b.I[i], MIN, MAX)) \
  SIMD_BIN(S##_sub_sat_u, U, N, wasmshim_clamp((int64_t)a.U[i] - b.U[i], 0, UMAX)) \
  SIMD_BIN(S##_avgr_u, U, N, ((uint32_t)a.U[i] + b.U[i] + 1) >> 1)
SIMD_INTEGER_LANES(i8x16, 16, u8, i8, uint32_t, -128, 127, 255)
SIMD_INTEGER_LANES(i16x8, 8, u16, i16, uint32_t, -32768, 32767, 65535)
SIMD_INTEGER_LANES(i32x4, 4, u32, i32, uint32_t, INT32_MIN, INT32_MAX, UINT32_MAX)
SIMD_INTEGER_LANES(i64x2, 2, u64, i64, uint64_t, INT64_MIN, INT64_MAX, UINT64_MAX)
SIMD_SATURATING_LANES(i8x16, 16, u8, i8, -128, 127, 255)
SIMD_SATURATING_LANES(i16x8, 8, u16, i16, -32768, 32767, 65535)
SIMD_UN(i8x16_popcnt, u8, 16, wasmshim_popcnt8(a.u8[i]))
SIMD_BIN(i16x8_mul, u16, 8, (uint32_t)a.u16[i] * b.u16[i])
SIMD_BIN(i32x4_mul, u32, 4, a.u32[i] * b.u32[i])
SIMD_BIN(i64x2_mul, u64, 2, a.u64[i] * b.u64[i])
SIMD_BIN(i16x8_q15mulr_sat_s, i16, 8,
         wasmshim_clamp(((int64_t)a.i16[i] * b.i16[i] + 0x4000) >> 15, -32768, 32767))
SIMD_BIN(i32x4_dot_i16x8_s, u32, 4,
         (uint32_t)((int32_t)a.i16[2 * i] * b.i16[2 * i]) +
             (uint32_t)((int32_t)a.i16[2 * i + 1] * b.i16[2 * i + 1]))

/* Narrowing, widening and pairwise. */
SIMD_BIN(i8x16_narrow_i16x8_s, i8, 16, wasmshim_clamp(i < 8 ? a.i16[i] : b.i16[i - 8], -128, 127))
SIMD_BIN(i8x16_narrow_i16x8_u, u8, 16, wasmshim_clamp(i < 8 ? a.i16[i] : b.i16[i - 8], 0, 255))
SIMD_BIN(i16x8_narrow_i32x4_s, i16, 8, wasmshim_clamp(i < 4 ? a.i32[i] : b.i32[i - 4], -32768, 32767))
SIMD_BIN(i16x8_narrow_i32x4_u, u16, 8, wasmshim_clamp(i < 4 ? a.i32[i] : b.i32[i - 4], 0, 65535))
#define SIMD_EXTEND(S, FROM, OUT, IN, N) \
  SIMD_UN(S##_extend_low_##FROM##_s, OUT, N, a.IN[i]) \
  SIMD_UN(S##_extend_high_##FROM##_s, OUT, N, a.IN[i + (N)])
#define SIMD_EXTEND_U(S, FROM, OUT, IN, N) \
  SIMD_UN(S##_extend_low_##FROM##_u, OUT, N, a.IN[i]) \
  SIMD_UN(S##_extend_high_##FROM##_u, OUT, N, a.IN[i + (N)])
SIMD_EXTEND(i16x8, i8x16, i16, i8, 8)
SIMD_EXTEND_U(i16x8, i8x16, u16, u8, 8)
SIMD_EXTEND(i32x4, i16x8, i32, i16, 4)
SIMD_EXTEND_U(i32x4, i16x8, u32, u16, 4)
SIMD_EXTEND(i64x2, i32x4, i64, i32, 2)
SIMD_EXTEND_U(i64x2, i32x4, u64, u32, 2)
#define SIMD_EXTMUL(S, FROM, OUT, IN, N, WIDE) \
  SIMD_BIN(S##_extmul_low_##FROM, OUT, N, (WIDE)a.IN[i] * b.IN[i]) \
  SIMD_BIN(S##_extmul_high_##FROM, OUT, N, (WIDE)a.IN[i + (N)] * b.IN[i + (N)])
SIMD_EXTMUL(i16x8, i8x16_s, i16, i8, 8, int32_t)
SIMD_EXTMUL(i16x8, i8x16_u, u16, u8, 8, uint32_t)
SIMD_EXTMUL(i32x4, i16x8_s, i32, i16, 4, int32_t)
SIMD_EXTMUL(i32x4, i16x8_u, u32, u16, 4, uint32_t)
SIMD_EXTMUL(i64x2, i32x4_s, i64, i32, 2, int64_t)
SIMD_EXTMUL(i64x2, i32x4_u, u64, u32, 2, uint64_t)
SIMD_UN(i16x8_extadd_pairwise_i8x16_s, i16, 8, a.i8[2 * i] + a.i8[2 * i + 1])
SIMD_UN(i16x8_extadd_pairwise_i8x16_u, u16, 8, a.u8[2 * i] + a.u8[2 * i + 1])
SIMD_UN(i32x4_extadd_pairwise_i16x8_s, i32, 4, a.i16[2 * i] + a.i16[2 * i + 1])
SIMD_UN(i32x4_extadd_pairwise_i16x8_u, u32, 4, (uint32_t)a.u16[2 * i] + a.u16[2 * i + 1])

/* Floating-point lanes; abs and neg only touch the sign bit, as wasm says. */
SIMD_UN(f32x4_abs, u32, 4, a.u32[i] & 0x7fffffffu)
SIMD_UN(f32x4_neg, u32, 4, a.u32[i] ^ 0x80000000u)
SIMD_UN(f64x2_abs, u64, 2, a.u64[i] & 0x7fffffffffffffffUL)
SIMD_UN(f64x2_neg, u64, 2, a.u64[i] ^ 0x8000000000000000UL)
SIMD_UN(f32x4_sqrt, f32, 4, sqrtf(a.f32[i]))
SIMD_UN(f32x4_ceil, f32, 4, ceilf(a.f32[i]))
SIMD_UN(f32x4_floor, f32, 4, floorf(a.f32[i]))
SIMD_UN(f32x4_trunc, f32, 4, truncf(a.f32[i]))
SIMD_UN(f32x4_nearest, f32, 4, nearbyintf(a.f32[i]))
SIMD_UN(f64x2_sqrt, f64, 2, sqrt(a.f64[i]))
SIMD_UN(f64x2_ceil, f64, 2, ceil(a.f64[i]))
SIMD_UN(f64x2_floor, f64, 2, floor(a.f64[i]))
SIMD_UN(f64x2_trunc, f64, 2, trunc(a.f64[i]))
SIMD_UN(f64x2_nearest, f64, 2, nearbyint(a.f64[i]))
SIMD_BIN(f32x4_add, f32, 4, a.f32[i] + b.f32[i])
SIMD_BIN(f32x4_sub, f32, 4, a.f32[i] - b.f32[i])
SIMD_BIN(f32x4_mul, f32, 4, a.f32[i] * b.f32[i])
SIMD_BIN(f32x4_div, f32, 4, a.f32[i] / b.f32[i])
SIMD_BIN(f32x4_min, f32, 4, wasmshim_fmin32(a.f32[i], b.f32[i]))
SIMD_BIN(f32x4_max, f32, 4, wasmshim_fmax32(a.f32[i], b.f32[i]))
SIMD_BIN(f32x4_pmin, f32, 4, b.f32[i] < a.f32[i] ? b.f32[i] : a.f32[i])
SIMD_BIN(f32x4_pmax, f32, 4, a.f32[i] < b.f32[i] ? b.f32[i] : a.f32[i])
SIMD_BIN(f64x2_add, f64, 2, a.f64[i] + b.f64[i])
SIMD_BIN(f64x2_sub, f64, 2, a.f64[i] - b.f64[i])
SIMD_BIN(f64x2_mul, f64, 2, a.f64[i] * b.f64[i])
SIMD_BIN(f64x2_div, f64, 2, a.f64[i] / b.f64[i])
SIMD_BIN(f64x2_min, f64, 2, wasmshim_fmin64(a.f64[i], b.f64[i]))
SIMD_BIN(f64x2_max, f64, 2, wasmshim_fmax64(a.f64[i], b.f64[i]))
SIMD_BIN(f64x2_pmin, f64, 2, b.f64[i] < a.f64[i] ? b.f64[i] : a.f64[i])
SIMD_BIN(f64x2_pmax, f64, 2, a.f64[i] < b.f64[i] ? b.f64[i] : a.f64[i])

/* Conversions; the _zero forms clear the lanes they have no source for. */
SIMD_UN(i32x4_trunc_sat_f32x4_s, i32, 4, wasmshim_sat_s32(a.f32[i]))
SIMD_UN(i32x4_trunc_sat_f32x4_u, u32, 4, wasmshim_sat_u32(a.f32[i]))
SIMD_UN(i32x4_trunc_sat_f64x2_s_zero, i32, 4, i < 2 ? wasmshim_sat_s32(a.f64[i]) : 0)
SIMD_UN(i32x4_trunc_sat_f64x2_u_zero, u32, 4, i < 2 ? wasmshim_sat_u32(a.f64[i]) : 0)
SIMD_UN(f32x4_convert_i32x4_s, f32, 4, (float)a.i32[i])
SIMD_UN(f32x4_convert_i32x4_u, f32, 4, (float)(int64_t)a.u32[i])
SIMD_UN(f64x2_convert_low_i32x4_s, f64, 2, (double)a.i32[i])
SIMD_UN(f64x2_convert_low_i32x4_u, f64, 2, (double)(int64_t)a.u32[i])
SIMD_UN(f32x4_demote_f64x2_zero, f32, 4, i < 2 ? (float)a.f64[i] : 0.0f)
SIMD_UN(f64x2_promote_low_f32x4, f64, 2, (double)a.f32[i])
/* end of SIMD library */
)SIMD";

}  // namespace wasmshim::wasm
