// A small bytecode interpreter running a loop-heavy program (switch dispatch).
#include <stdlib.h>

#include "bench_common.h"

enum { PUSH, ADD, SUB, MUL, MOD, DUP, SWAP, JNZ, DEC, LOAD, STORE, HALT };

static uint64_t run(const int* code, long iterations) {
  int64_t stack[64];
  int64_t vars[4] = {iterations, 0, 1, 0};
  int sp = 0, pc = 0;
  for (;;) {
    switch (code[pc++]) {
      case PUSH: stack[sp++] = code[pc++]; break;
      case ADD: sp--; stack[sp - 1] += stack[sp]; break;
      case SUB: sp--; stack[sp - 1] -= stack[sp]; break;
      case MUL: sp--; stack[sp - 1] *= stack[sp]; break;
      case MOD: sp--; stack[sp - 1] %= stack[sp]; break;
      case DUP: stack[sp] = stack[sp - 1]; sp++; break;
      case SWAP: { int64_t t = stack[sp - 1]; stack[sp - 1] = stack[sp - 2]; stack[sp - 2] = t; break; }
      case JNZ: sp--; if (stack[sp]) pc = code[pc]; else pc++; break;
      case DEC: stack[sp - 1]--; break;
      case LOAD: stack[sp++] = vars[code[pc++]]; break;
      case STORE: vars[code[pc++]] = stack[--sp]; break;
      case HALT: return (uint64_t)vars[1] ^ (uint64_t)vars[2];
    }
  }
}

int main(int argc, char** argv) {
  BENCH_BEGIN();
  long iterations = argc > 1 ? atol(argv[1]) : 20000000;
  // loop: v1 = (v1 + v0 * 3) % 1000003; v2 = (v2 * 7 + v1) % 65521; v0--; while v0
  const int code[] = {
      LOAD, 1, LOAD, 0, PUSH, 3, MUL, ADD, PUSH, 1000003, MOD, STORE, 1,
      LOAD, 2, PUSH, 7, MUL, LOAD, 1, ADD, PUSH, 65521, MOD, STORE, 2,
      LOAD, 0, DEC, DUP, STORE, 0, JNZ, 0, HALT};
  uint64_t result = run(code, iterations);
  BENCH_END(result);
  return 0;
}
