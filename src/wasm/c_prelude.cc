#include "c_translation.h"

namespace wasmshim::wasm {

// Everything the C that wasm2c writes needs, so that neither tcc nor cc has
// to find a system header: types, limits, the libc and libm functions it
// calls, the wasm-rt API (routed through one table of host functions), and
// memory access as macros — tcc inlines nothing, so a function per load or
// store would cost a call each (measured: 17x native as functions, 7x as
// macros). Linear memory sits in a guard-page reservation, so loads and
// stores carry no bounds check; the host turns a fault there into a trap.
const char* const kCPrelude = R"PRELUDE(
/* wasmshim engine prelude */
typedef unsigned char uint8_t;
typedef signed char int8_t;
typedef unsigned short uint16_t;
typedef short int16_t;
typedef unsigned int uint32_t;
typedef int int32_t;
typedef unsigned long uint64_t;
typedef long int64_t;
typedef unsigned long size_t;
typedef unsigned long uintptr_t;
typedef long intptr_t;
typedef long ptrdiff_t;
#ifndef __cplusplus
typedef _Bool bool;
#define true 1
#define false 0
#endif
#define NULL ((void*)0)
#define INT32_MIN (-2147483647 - 1)
#define INT32_MAX 2147483647
#define UINT32_MAX 0xffffffffu
#define INT64_MIN (-9223372036854775807L - 1)
#define INT64_MAX 9223372036854775807L
#define UINT64_MAX 0xffffffffffffffffUL

void* memcpy(void*, const void*, size_t);
void* memmove(void*, const void*, size_t);
void* memset(void*, int, size_t);
void abort(void);
double floor(double);
double ceil(double);
double trunc(double);
double nearbyint(double);
double sqrt(double);
double fabs(double);
double copysign(double, double);
float floorf(float);
float ceilf(float);
float truncf(float);
float nearbyintf(float);
float sqrtf(float);
float fabsf(float);
float copysignf(float, float);
#define assert(x) ((void)0)

#ifdef __TINYC__
static const union { uint32_t bits; float value; } wasmshim_nan = {0x7fc00000u};
#define NAN (wasmshim_nan.value)
static const union { uint32_t bits; float value; } wasmshim_inf = {0x7f800000u};
#define INFINITY (wasmshim_inf.value)
#define isnan(x) ((x) != (x))
static int wasmshim_signbitf(float x) {
  union { float f; uint32_t u; } v;
  v.f = x;
  return (int)(v.u >> 31);
}
static int wasmshim_signbitd(double x) {
  union { double f; uint64_t u; } v;
  v.f = x;
  return (int)(v.u >> 63);
}
#define signbit(x) (sizeof(x) == sizeof(float) ? wasmshim_signbitf(x) : wasmshim_signbitd(x))
/* tcc's x86-64 code calls these for unsigned 64-bit <-> floating conversions;
   defined here (from signed conversions only) so tcc's output needs nothing
   beyond libc and libm, in memory or as a cached object. The halving keeps
   the lowest bit so the one rounding is the right one. */
double __floatundidf(uint64_t v) {
  if ((int64_t)v >= 0) return (double)(int64_t)v;
  double half = (double)(int64_t)((v >> 1) | (v & 1));
  return half + half;
}
float __floatundisf(uint64_t v) {
  if ((int64_t)v >= 0) return (float)(int64_t)v;
  float half = (float)(int64_t)((v >> 1) | (v & 1));
  return half + half;
}
long double __floatundixf(uint64_t v) {
  long double half = (long double)(int64_t)(v >> 1);
  return half + half + (long double)(int64_t)(v & 1);
}
uint64_t __fixunsdfdi(double v) {
  if (v < 9223372036854775808.0) return (uint64_t)(int64_t)v;
  return (uint64_t)(int64_t)(v - 9223372036854775808.0) ^ 0x8000000000000000UL;
}
uint64_t __fixunssfdi(float v) {
  if (v < 9223372036854775808.0f) return (uint64_t)(int64_t)v;
  return (uint64_t)(int64_t)(v - 9223372036854775808.0f) ^ 0x8000000000000000UL;
}
uint64_t __fixunsxfdi(long double v) {
  if (v < 9223372036854775808.0L) return (uint64_t)(int64_t)v;
  return (uint64_t)(int64_t)(v - 9223372036854775808.0L) ^ 0x8000000000000000UL;
}
static int wasmshim_clz64(uint64_t x) {
  int n = 0;
  if (!(x & 0xffffffff00000000UL)) { n += 32; x <<= 32; }
  if (!(x & 0xffff000000000000UL)) { n += 16; x <<= 16; }
  if (!(x & 0xff00000000000000UL)) { n += 8; x <<= 8; }
  if (!(x & 0xf000000000000000UL)) { n += 4; x <<= 4; }
  if (!(x & 0xc000000000000000UL)) { n += 2; x <<= 2; }
  if (!(x & 0x8000000000000000UL)) { n += 1; }
  return n;
}
static int wasmshim_ctz64(uint64_t x) {
  int n = 0;
  if (!(x & 0xffffffffUL)) { n += 32; x >>= 32; }
  if (!(x & 0xffffUL)) { n += 16; x >>= 16; }
  if (!(x & 0xffUL)) { n += 8; x >>= 8; }
  if (!(x & 0xfUL)) { n += 4; x >>= 4; }
  if (!(x & 0x3UL)) { n += 2; x >>= 2; }
  if (!(x & 0x1UL)) { n += 1; }
  return n;
}
static int wasmshim_popcount64(uint64_t x) {
  x = x - ((x >> 1) & 0x5555555555555555UL);
  x = (x & 0x3333333333333333UL) + ((x >> 2) & 0x3333333333333333UL);
  x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0fUL;
  return (int)((x * 0x0101010101010101UL) >> 56);
}
/* Callers guard zero inputs, as the generated I32_CLZ and friends do. */
#define __builtin_clz(x) (wasmshim_clz64((uint64_t)(uint32_t)(x)) - 32)
#define __builtin_clzll(x) wasmshim_clz64((uint64_t)(x))
#define __builtin_ctz(x) wasmshim_ctz64((uint64_t)(uint32_t)(x))
#define __builtin_ctzll(x) wasmshim_ctz64((uint64_t)(x))
#define __builtin_popcount(x) wasmshim_popcount64((uint64_t)(uint32_t)(x))
#define __builtin_popcountll(x) wasmshim_popcount64((uint64_t)(x))
#define WASMSHIM_UNALIGNED
#else
#define NAN __builtin_nanf("")
#define INFINITY __builtin_inff()
#define isnan(x) __builtin_isnan(x)
#define signbit(x) __builtin_signbit(x)
#define WASMSHIM_UNALIGNED __attribute__((aligned(1), may_alias))
#endif

#define LIKELY(x) __builtin_expect(!!(x), 1)
#define UNLIKELY(x) __builtin_expect(!!(x), 0)
#define WASM_RT_USE_STACK_DEPTH_COUNT 0
#define WASM_RT_MEMCHECK_SIGNAL_HANDLER 1
#define WABT_BIG_ENDIAN 0
#define WASM_RT_NO_RETURN __attribute__((noreturn))
#define wasm_rt_memcpy memcpy
#define alloca __builtin_alloca

typedef enum {
  WASM_RT_TRAP_NONE,
  WASM_RT_TRAP_OOB,
  WASM_RT_TRAP_INT_OVERFLOW,
  WASM_RT_TRAP_DIV_BY_ZERO,
  WASM_RT_TRAP_INVALID_CONVERSION,
  WASM_RT_TRAP_UNREACHABLE,
  WASM_RT_TRAP_CALL_INDIRECT,
  WASM_RT_TRAP_UNCAUGHT_EXCEPTION,
  WASM_RT_TRAP_EXHAUSTION,
} wasm_rt_trap_t;

typedef enum {
  WASM_RT_I32,
  WASM_RT_I64,
  WASM_RT_F32,
  WASM_RT_F64,
  WASM_RT_FUNCREF,
  WASM_RT_EXTERNREF,
} wasm_rt_type_t;

typedef void (*wasm_rt_function_ptr_t)(void);
typedef struct {
  uint32_t func_type;
  wasm_rt_function_ptr_t func;
  void* module_instance;
} wasm_rt_funcref_t;
static const wasm_rt_funcref_t wasm_rt_funcref_null_value = {0, NULL, NULL};
typedef void* wasm_rt_externref_t;
static const wasm_rt_externref_t wasm_rt_externref_null_value = NULL;

typedef struct {
  uint8_t* data;
  uint64_t pages, max_pages;
  uint64_t size;
} wasm_rt_memory_t;

typedef struct {
  wasm_rt_funcref_t* data;
  uint32_t max_size;
  uint32_t size;
} wasm_rt_funcref_table_t;

typedef struct {
  wasm_rt_externref_t* data;
  uint32_t max_size;
  uint32_t size;
} wasm_rt_externref_table_t;

/* The host's runtime, bound once per loaded module by wasmshim_bind. */
struct wasmshim_runtime {
  void (*trap)(wasm_rt_trap_t);
  uint32_t (*register_func_type)(uint32_t params, uint32_t results, const wasm_rt_type_t* types);
  void (*allocate_memory)(wasm_rt_memory_t*, uint64_t initial_pages, uint64_t max_pages);
  uint32_t (*grow_memory)(wasm_rt_memory_t*, uint64_t delta);
  void (*free_memory)(wasm_rt_memory_t*);
  void (*allocate_funcref_table)(wasm_rt_funcref_table_t*, uint32_t elements, uint32_t max);
  void (*free_funcref_table)(wasm_rt_funcref_table_t*);
  uint32_t (*grow_funcref_table)(wasm_rt_funcref_table_t*, uint32_t delta, wasm_rt_funcref_t init);
  void (*allocate_externref_table)(wasm_rt_externref_table_t*, uint32_t elements, uint32_t max);
  void (*free_externref_table)(wasm_rt_externref_table_t*);
  uint32_t (*grow_externref_table)(wasm_rt_externref_table_t*, uint32_t delta, wasm_rt_externref_t init);
};
/* Compiled in parts (c_partition.h), the translation's functions and
   file-scope variables are hidden symbols of one object, variables defined
   in part 0; compiled whole, they are static. */
#ifdef WASMSHIM_PART
#define WASMSHIM_IN_PART(k) (WASMSHIM_PART == (k))
#define WASMSHIM_FN __attribute__((visibility("hidden")))
#define WASMSHIM_VAR __attribute__((visibility("hidden")))
#else
#define WASMSHIM_IN_PART(k) 1
#define WASMSHIM_FN static
#define WASMSHIM_VAR static
#endif
#if WASMSHIM_IN_PART(0)
WASMSHIM_VAR const struct wasmshim_runtime* wasmshim_rt;
WASMSHIM_VAR uint32_t wasm_rt_call_stack_depth;
#else
extern WASMSHIM_VAR const struct wasmshim_runtime* wasmshim_rt;
extern WASMSHIM_VAR uint32_t wasm_rt_call_stack_depth;
#endif
#define WASM_RT_MAX_CALL_STACK_DEPTH 500
#define wasm_rt_is_initialized() 1
#define wasm_rt_trap(t) (wasmshim_rt->trap(t))
/* A leading 0 keeps the array non-empty for types with no params and results. */
#define wasm_rt_register_func_type(params, results, ...) \
  (wasmshim_rt->register_func_type((params), (results), (const wasm_rt_type_t[]){0, ##__VA_ARGS__} + 1))
#define wasm_rt_allocate_memory(m, initial, max) (wasmshim_rt->allocate_memory((m), (initial), (max)))
#define wasm_rt_grow_memory(m, delta) (wasmshim_rt->grow_memory((m), (delta)))
#define wasm_rt_free_memory(m) (wasmshim_rt->free_memory(m))
#define wasm_rt_allocate_funcref_table(t, n, max) (wasmshim_rt->allocate_funcref_table((t), (n), (max)))
#define wasm_rt_free_funcref_table(t) (wasmshim_rt->free_funcref_table(t))
#define wasm_rt_grow_funcref_table(t, d, v) (wasmshim_rt->grow_funcref_table((t), (d), (v)))
#define wasm_rt_allocate_externref_table(t, n, max) (wasmshim_rt->allocate_externref_table((t), (n), (max)))
#define wasm_rt_free_externref_table(t) (wasmshim_rt->free_externref_table(t))
#define wasm_rt_grow_externref_table(t, d, v) (wasmshim_rt->grow_externref_table((t), (d), (v)))

typedef uint16_t WASMSHIM_UNALIGNED wasmshim_u16;
typedef int16_t WASMSHIM_UNALIGNED wasmshim_s16;
typedef uint32_t WASMSHIM_UNALIGNED wasmshim_u32;
typedef int32_t WASMSHIM_UNALIGNED wasmshim_s32;
typedef uint64_t WASMSHIM_UNALIGNED wasmshim_u64;
typedef float WASMSHIM_UNALIGNED wasmshim_f32;
typedef double WASMSHIM_UNALIGNED wasmshim_f64;
#define f32_reinterpret_i32(x) (((union { uint32_t i; float f; }){.i = (uint32_t)(x)}).f)
#define i32_reinterpret_f32(x) (((union { float f; uint32_t i; }){.f = (x)}).i)
#define f64_reinterpret_i64(x) (((union { uint64_t i; double f; }){.i = (uint64_t)(x)}).f)
#define i64_reinterpret_f64(x) (((union { double f; uint64_t i; }){.f = (x)}).i)

/* With WASMSHIM_USE_GS the host has pointed the guest thread's GS base at
   linear memory (a module has one memory), so an access is one
   %gs-relative instruction: no base pointer to load, and none to reload
   after every store (which may alias it). Only cc has __seg_gs; tcc keeps
   the plain base-plus-address form (the same instructions as inline
   assembly measured 1.2-1.8x slower under tcc, which spills around asm). */
#if defined(WASMSHIM_USE_GS) && defined(__x86_64__) && defined(__SEG_GS)
#define WASMSHIM_AT(T, m, a) (*(T __seg_gs*)(uintptr_t)(a))
#else
#define WASMSHIM_AT(T, m, a) (*(T*)((m)->data + (a)))
#endif
#define i32_load(m, a) ((uint32_t)WASMSHIM_AT(wasmshim_u32, m, a))
#define i64_load(m, a) ((uint64_t)WASMSHIM_AT(wasmshim_u64, m, a))
#define f32_load(m, a) (WASMSHIM_AT(wasmshim_f32, m, a))
#define f64_load(m, a) (WASMSHIM_AT(wasmshim_f64, m, a))
#define i32_load8_s(m, a) ((uint32_t)(int32_t)WASMSHIM_AT(int8_t, m, a))
#define i64_load8_s(m, a) ((uint64_t)(int64_t)WASMSHIM_AT(int8_t, m, a))
#define i32_load8_u(m, a) ((uint32_t)WASMSHIM_AT(uint8_t, m, a))
#define i64_load8_u(m, a) ((uint64_t)WASMSHIM_AT(uint8_t, m, a))
#define i32_load16_s(m, a) ((uint32_t)(int32_t)WASMSHIM_AT(wasmshim_s16, m, a))
#define i64_load16_s(m, a) ((uint64_t)(int64_t)WASMSHIM_AT(wasmshim_s16, m, a))
#define i32_load16_u(m, a) ((uint32_t)WASMSHIM_AT(wasmshim_u16, m, a))
#define i64_load16_u(m, a) ((uint64_t)WASMSHIM_AT(wasmshim_u16, m, a))
#define i64_load32_s(m, a) ((uint64_t)(int64_t)WASMSHIM_AT(wasmshim_s32, m, a))
#define i64_load32_u(m, a) ((uint64_t)WASMSHIM_AT(wasmshim_u32, m, a))
#define i32_store(m, a, v) (WASMSHIM_AT(wasmshim_u32, m, a) = (uint32_t)(v))
#define i64_store(m, a, v) (WASMSHIM_AT(wasmshim_u64, m, a) = (uint64_t)(v))
#define f32_store(m, a, v) (WASMSHIM_AT(wasmshim_f32, m, a) = (v))
#define f64_store(m, a, v) (WASMSHIM_AT(wasmshim_f64, m, a) = (v))
#define i32_store8(m, a, v) (WASMSHIM_AT(uint8_t, m, a) = (uint8_t)(v))
#define i32_store16(m, a, v) (WASMSHIM_AT(wasmshim_u16, m, a) = (uint16_t)(v))
#define i64_store8(m, a, v) (WASMSHIM_AT(uint8_t, m, a) = (uint8_t)(v))
#define i64_store16(m, a, v) (WASMSHIM_AT(wasmshim_u16, m, a) = (uint16_t)(v))
#define i64_store32(m, a, v) (WASMSHIM_AT(wasmshim_u32, m, a) = (uint32_t)(v))
/* end of prelude */
)PRELUDE";

}  // namespace wasmshim::wasm
