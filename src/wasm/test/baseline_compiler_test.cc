// The baseline compiler on its own: functions compiled straight to x86-64,
// called through the entry thunk on a guarded thread, their results checked
// against the same arithmetic done in C++.
#include <gtest/gtest.h>
#include <wabt/cast.h>

#include <bit>
#include <cmath>
#include <cstddef>
#include <cstring>
#include <limits>
#include <map>
#include <string>
#include <type_traits>
#include <vector>

#include "../baseline/baseline_module.h"
#include "../baseline/entry_thunk.h"
#include "../baseline/function_compiler.h"
#include "../module_parsed.h"
#include "../runtime.h"
#include "../runtime_abi.h"
#include "wasmshim/wasm/module.h"
#include "wat.h"

namespace wasmshim::wasm::baseline {
namespace {

struct TestInstance {
  abi::Memory memory{};
  void* wasi = nullptr;
  const abi::Runtime* runtime = nullptr;
  void* const* imports = nullptr;
  std::uint64_t globals[16] = {};
};

struct Outcome {
  std::vector<std::uint64_t> results;
  abi::Trap trap = abi::kTrapNone;
};

// A module's defined functions compiled into one mapping, with an instance
// of TestInstance's layout built for each call.
class Compiled {
 public:
  explicit Compiled(const std::string& wat, std::vector<void*> imports = {})
      : module_(Module::from_bytes("test.wasm", testing::wat_to_wasm(wat))),
        imports_(std::move(imports)) {
    const wabt::Module& ir = module_.parsed().ir;
    x64::Assembler as;
    ModuleLabels labels;
    labels.trap_unreachable = as.new_label();
    labels.trap_divide_by_zero = as.new_label();
    labels.trap_integer_overflow = as.new_label();
    labels.trap_invalid_conversion = as.new_label();
    labels.trap_indirect_call = as.new_label();
    labels.trap_out_of_bounds = as.new_label();
    for (std::size_t i = ir.num_func_imports; i < ir.funcs.size(); ++i) {
      labels.functions.push_back(as.new_label());
    }
    InstanceLayout layout;
    layout.memory = offsetof(TestInstance, memory);
    layout.memory_pages = offsetof(TestInstance, memory) + offsetof(abi::Memory, pages);
    layout.runtime = offsetof(TestInstance, runtime);
    layout.wasi = offsetof(TestInstance, wasi);
    layout.imports = offsetof(TestInstance, imports);
    for (std::size_t i = 0; i < ir.globals.size(); ++i) {
      layout.globals.push_back(static_cast<std::int32_t>(offsetof(TestInstance, globals) + 8 * i));
    }
    layout.signature_ids = signature_ids(ir);
    for (std::size_t i = ir.num_func_imports; i < ir.funcs.size(); ++i) {
      compile_function(as, ir, *ir.funcs[i], layout, labels,
                       labels.functions[i - ir.num_func_imports]);
    }
    emit_trap_stubs(as, layout, labels);
    const x64::Label thunk = as.new_label();
    emit_entry_thunk(as, thunk);
    as.finish();
    code_ = x64::ExecutableCode::copy_of(as.bytes());
    thunk_ =
        code_.function<void(void*, std::uint64_t*, std::size_t, const void*)>(as.offset_of(thunk));
    for (const wabt::Export* e : ir.exports) {
      if (e->kind == wabt::ExternalKind::Func) {
        const wabt::Index function = ir.GetFuncIndex(e->var);
        functions_[e->name] = {
            code_.data() + as.offset_of(labels.functions.at(function - ir.num_func_imports)),
            ir.funcs.at(function)};
      }
    }
  }

  Outcome call(const std::string& name, const std::vector<std::uint64_t>& args) {
    Call call;
    call.self = this;
    call.target = functions_.at(name);
    const std::size_t slots = argument_slots(call.target.func->decl.sig);
    call.area.assign(slots, 0);
    for (std::size_t k = 0; k < args.size(); ++k) {
      call.area[slots - 1 - k] = args[k];
    }
    const GuestOutcome outcome = run_guarded(&Compiled::run, &call, std::size_t{1} << 20);
    host_runtime().free_memory(&call.instance.memory);
    Outcome result;
    if (outcome.kind == GuestOutcome::Kind::kTrapped) {
      result.trap = outcome.trap;
      return result;
    }
    for (wabt::Index j = 0; j < call.target.func->GetNumResults(); ++j) {
      // An i32 or f32 is the low half of its slot; the upper half is undefined.
      const wabt::Type type = call.target.func->GetResultType(j);
      const bool narrow = type == wabt::Type::I32 || type == wabt::Type::F32;
      result.results.push_back(call.area[slots - 1 - j] & (narrow ? 0xffffffffULL : ~0ULL));
    }
    return result;
  }

  std::uint64_t value(const std::string& name, const std::vector<std::uint64_t>& args = {}) {
    const Outcome outcome = call(name, args);
    EXPECT_EQ(outcome.trap, abi::kTrapNone) << name;
    EXPECT_EQ(outcome.results.size(), 1U) << name;
    return outcome.results.empty() ? 0 : outcome.results[0];
  }

  void* wasi_context() { return &imports_; }

 private:
  struct Target {
    const std::uint8_t* code = nullptr;
    const wabt::Func* func = nullptr;
  };
  struct Call {
    Compiled* self = nullptr;
    Target target;
    std::vector<std::uint64_t> area;
    TestInstance instance;
  };

  // On the guest thread: memory (which sets GS there), globals, data, call.
  static void run(void* raw) {
    auto* call = static_cast<Call*>(raw);
    const wabt::Module& ir = call->self->module_.parsed().ir;
    TestInstance& instance = call->instance;
    instance.runtime = &host_runtime();
    instance.wasi = call->self->wasi_context();
    instance.imports = call->self->imports_.data();
    if (!ir.memories.empty()) {
      const wabt::Limits& limits = ir.memories[0]->page_limits;
      host_runtime().allocate_memory(&instance.memory, limits.initial,
                                     limits.has_max ? limits.max : 65536);
    }
    for (std::size_t i = 0; i < ir.globals.size(); ++i) {
      const auto* init = wabt::cast<wabt::ConstExpr>(&ir.globals[i]->init_expr.front());
      instance.globals[i] =
          init->const_.type() == wabt::Type::I32 ? init->const_.u32() : init->const_.u64();
    }
    for (const wabt::DataSegment* segment : ir.data_segments) {
      const auto* offset = wabt::cast<wabt::ConstExpr>(&segment->offset.front());
      std::memcpy(instance.memory.data + offset->const_.u32(), segment->data.data(),
                  segment->data.size());
    }
    call->self->thunk_(&instance, call->area.data(), call->area.size(), call->target.code);
  }

  Module module_;
  std::vector<void*> imports_;
  x64::ExecutableCode code_;
  void (*thunk_)(void*, std::uint64_t*, std::size_t, const void*) = nullptr;
  std::map<std::string, Target> functions_;
};

std::string binary_functions(const std::string& type, const std::vector<std::string>& ops) {
  std::string wat = "(module\n";
  for (const std::string& op : ops) {
    wat += "(func (export \"" + op + "\") (param " + type + " " + type + ") (result " + type +
           ") local.get 0 local.get 1 " + type + "." + op + ")\n";
    // The same with the right operand a constant, and with both loaded first.
    wat += "(func (export \"" + op + "_const\") (param " + type + ") (result " + type +
           ") local.get 0 " + type + ".const 12345 " + type + "." + op + ")\n";
  }
  return wat + ")";
}

// What the wasm instruction `op` gives on unsigned integers of its width.
template <class U>
U reference(const std::string& op, U a, U b) {
  using S = std::make_signed_t<U>;
  constexpr unsigned kBits = 8 * sizeof(U);
  const unsigned s = static_cast<unsigned>(b) & (kBits - 1);
  if (op == "add")
    return static_cast<U>(a + b);
  if (op == "sub")
    return static_cast<U>(a - b);
  if (op == "mul")
    return static_cast<U>(a * b);
  if (op == "and")
    return a & b;
  if (op == "or")
    return a | b;
  if (op == "xor")
    return a ^ b;
  if (op == "shl")
    return static_cast<U>(a << s);
  if (op == "shr_s")
    return static_cast<U>(static_cast<S>(a) >> s);
  if (op == "shr_u")
    return static_cast<U>(a >> s);
  if (op == "rotl")
    return s == 0 ? a : static_cast<U>((a << s) | (a >> (kBits - s)));
  return s == 0 ? a : static_cast<U>((a >> s) | (a << (kBits - s)));  // rotr
}

template <class U>
void expect_arithmetic_matches(const std::string& type, const std::vector<U>& values) {
  const std::vector<std::string> ops = {"add", "sub",   "mul",   "and",  "or",  "xor",
                                        "shl", "shr_s", "shr_u", "rotl", "rotr"};
  Compiled compiled(binary_functions(type, ops));
  for (const std::string& op : ops) {
    for (U a : values) {
      for (U b : values) {
        EXPECT_EQ(compiled.value(op, {a, b}), reference<U>(op, a, b)) << op << " " << a << " " << b;
      }
      EXPECT_EQ(compiled.value(op + "_const", {a}), reference<U>(op, a, 12345)) << op << " " << a;
    }
  }
}

TEST(BaselineCompiler, Int32ArithmeticMatchesCxx) {
  expect_arithmetic_matches<std::uint32_t>(
      "i32", {0, 1, 7, 31, 33, 0x7fffffffU, 0x80000000U, 0xffffffffU, 0x12345678U});
}

TEST(BaselineCompiler, Int64ArithmeticMatchesCxx) {
  expect_arithmetic_matches<std::uint64_t>(
      "i64", {0, 1, 63, 65, 0x7fffffffffffffffULL, 0x8000000000000000ULL, ~0ULL,
              0x123456789abcdef0ULL, 0xffffffffULL});
}

TEST(BaselineCompiler, DivisionAndItsTraps) {
  Compiled compiled(binary_functions("i32", {"div_s", "div_u", "rem_s", "rem_u"}) + "");
  EXPECT_EQ(compiled.value("div_s", {static_cast<std::uint32_t>(-7), 2}),
            static_cast<std::uint32_t>(-3));
  EXPECT_EQ(compiled.value("div_u", {0xfffffff9U, 2}), 0x7ffffffcU);
  EXPECT_EQ(compiled.value("rem_s", {static_cast<std::uint32_t>(-7), 2}),
            static_cast<std::uint32_t>(-1));
  EXPECT_EQ(compiled.value("rem_u", {7, 3}), 1U);
  EXPECT_EQ(compiled.value("rem_s", {0x80000000U, 0xffffffffU}), 0U);
  EXPECT_EQ(compiled.value("div_s", {0x80000001U, 0xffffffffU}), 0x7fffffffU);
  EXPECT_EQ(compiled.value("div_u_const", {24690}), 2U);
  EXPECT_EQ(compiled.call("div_s", {0x80000000U, 0xffffffffU}).trap, abi::kTrapIntegerOverflow);
  for (const char* op : {"div_s", "div_u", "rem_s", "rem_u"}) {
    EXPECT_EQ(compiled.call(op, {5, 0}).trap, abi::kTrapDivideByZero) << op;
  }
  Compiled wide(binary_functions("i64", {"div_s", "rem_u"}));
  EXPECT_EQ(wide.value("div_s", {static_cast<std::uint64_t>(-9000000000LL), 3}),
            static_cast<std::uint64_t>(-3000000000LL));
  EXPECT_EQ(wide.value("rem_u", {~0ULL, 10}), ~0ULL % 10);
  EXPECT_EQ(wide.call("div_s", {0x8000000000000000ULL, ~0ULL}).trap, abi::kTrapIntegerOverflow);
}

TEST(BaselineCompiler, ComparisonsCountsAndConversions) {
  Compiled compiled(R"((module
    (func (export "lt_s") (param i32 i32) (result i32) local.get 0 local.get 1 i32.lt_s)
    (func (export "lt_u") (param i32 i32) (result i32) local.get 0 local.get 1 i32.lt_u)
    (func (export "ge_u64") (param i64 i64) (result i32) local.get 0 local.get 1 i64.ge_u)
    (func (export "eq_const") (param i64) (result i32) local.get 0 i64.const -1 i64.eq)
    (func (export "eqz") (param i32) (result i32) local.get 0 i32.eqz)
    (func (export "clz") (param i32) (result i32) local.get 0 i32.clz)
    (func (export "ctz64") (param i64) (result i64) local.get 0 i64.ctz)
    (func (export "popcnt") (param i32) (result i32) local.get 0 i32.popcnt)
    (func (export "extend8") (param i32) (result i32) local.get 0 i32.extend8_s)
    (func (export "extend_s") (param i32) (result i64) local.get 0 i64.extend_i32_s)
    (func (export "extend_u") (param i32) (result i64) local.get 0 i64.extend_i32_u)
    (func (export "wrap") (param i64) (result i32) local.get 0 i32.wrap_i64)
    (func (export "select") (param i32 i32 i32) (result i32)
      local.get 0 local.get 1 local.get 2 select))
  )");
  EXPECT_EQ(compiled.value("lt_s", {0xffffffffU, 1}), 1U);
  EXPECT_EQ(compiled.value("lt_u", {0xffffffffU, 1}), 0U);
  EXPECT_EQ(compiled.value("ge_u64", {5, 5}), 1U);
  EXPECT_EQ(compiled.value("eq_const", {~0ULL}), 1U);
  EXPECT_EQ(compiled.value("eqz", {0}), 1U);
  EXPECT_EQ(compiled.value("eqz", {9}), 0U);
  EXPECT_EQ(compiled.value("clz", {1}), 31U);
  EXPECT_EQ(compiled.value("clz", {0}), 32U);
  EXPECT_EQ(compiled.value("ctz64", {0}), 64U);
  EXPECT_EQ(compiled.value("ctz64", {0x100000000ULL}), 32U);
  EXPECT_EQ(compiled.value("popcnt", {0xf0f0U}), 8U);
  EXPECT_EQ(compiled.value("extend8", {0x80}), 0xffffff80U);
  EXPECT_EQ(compiled.value("extend_s", {0x80000000U}), 0xffffffff80000000ULL);
  EXPECT_EQ(compiled.value("extend_u", {0x80000000U}), 0x80000000ULL);
  EXPECT_EQ(compiled.value("wrap", {0x1234567887654321ULL}), 0x87654321ULL);
  EXPECT_EQ(compiled.value("select", {10, 20, 1}), 10U);
  EXPECT_EQ(compiled.value("select", {10, 20, 0}), 20U);
}

TEST(BaselineCompiler, LoopsBranchesAndCalls) {
  Compiled compiled(R"((module
    (func $fact (export "fact") (param i64) (result i64) (local i64)
      i64.const 1 local.set 1
      block $done
        loop $again
          local.get 0 i64.eqz br_if $done
          local.get 1 local.get 0 i64.mul local.set 1
          local.get 0 i64.const 1 i64.sub local.set 0
          br $again
        end
      end
      local.get 1)
    (func $fib (export "fib") (param i32) (result i32)
      local.get 0 i32.const 2 i32.lt_u
      if (result i32)
        local.get 0
      else
        local.get 0 i32.const 1 i32.sub call $fib
        local.get 0 i32.const 2 i32.sub call $fib
        i32.add
      end)
    (func (export "switch") (param i32) (result i32)
      block $default
        block $two
          block $one
            block $zero
              local.get 0 br_table $zero $one $two $default
            end
            i32.const 100 return
          end
          i32.const 101 return
        end
        i32.const 102 return
      end
      i32.const 999)
    (func (export "carry") (param i32) (result i32)
      i32.const 1000
      block (result i32)
        i32.const 5
        local.get 0 br_if 0
        drop i32.const 7
      end
      i32.add)
    (func $pair (param i32) (result i32 i32) local.get 0 local.get 0 i32.const 1 i32.add)
    (func (export "multi") (param i32) (result i32)
      local.get 0 call $pair i32.mul)
    (func (export "early") (param i32) (result i32) (local i32)
      loop $l
        local.get 1 i32.const 1 i32.add local.tee 1
        local.get 0 i32.eq
        if i32.const 77 local.get 1 i32.add return end
        br $l
      end
      i32.const 0))
  )");
  EXPECT_EQ(compiled.value("fact", {20}), 2432902008176640000ULL);
  EXPECT_EQ(compiled.value("fib", {20}), 6765U);
  EXPECT_EQ(compiled.value("switch", {0}), 100U);
  EXPECT_EQ(compiled.value("switch", {2}), 102U);
  EXPECT_EQ(compiled.value("switch", {3}), 999U);
  EXPECT_EQ(compiled.value("switch", {0xffffffffU}), 999U);
  EXPECT_EQ(compiled.value("carry", {1}), 1005U);
  EXPECT_EQ(compiled.value("carry", {0}), 1007U);
  EXPECT_EQ(compiled.value("multi", {6}), 42U);
  EXPECT_EQ(compiled.value("early", {5}), 82U);
}

TEST(BaselineCompiler, MoreLiveValuesThanRegisters) {
  // Twenty values live at once, then summed: some must wait in slots.
  std::string body;
  for (int i = 1; i <= 20; ++i) {
    body += "local.get 0 i32.const " + std::to_string(i) + " i32.mul ";
  }
  for (int i = 1; i < 20; ++i) {
    body += "i32.add ";
  }
  Compiled compiled("(module (func (export \"sum\") (param i32) (result i32) " + body + "))");
  EXPECT_EQ(compiled.value("sum", {3}), 3U * 210U);
}

TEST(BaselineCompiler, MemoryGlobalsAndTraps) {
  Compiled compiled(R"((module
    (memory 1 3)
    (global $counter (mut i32) (i32.const 40))
    (global $wide (mut i64) (i64.const -2))
    (data (i32.const 16) "\ff\80\01\02")
    (func (export "load8_s") (result i32) i32.const 16 i32.load8_s)
    (func (export "load16_u") (result i32) i32.const 0 i32.load16_u offset=16)
    (func (export "load32_s") (result i64) i32.const 16 i64.load32_s)
    (func (export "round_trip") (param i32 i64) (result i64)
      local.get 0 local.get 1 i64.store offset=8
      local.get 0 i32.const 3 i32.store8 offset=8
      local.get 0 i64.load offset=8)
    (func (export "bump") (result i32)
      global.get $counter i32.const 2 i32.add global.set $counter global.get $counter)
    (func (export "wide") (result i64) global.get $wide)
    (func (export "grow") (param i32) (result i32) local.get 0 memory.grow)
    (func (export "size") (result i32) memory.size)
    (func (export "far") (param i32) (result i32) local.get 0 i32.load offset=4294967295)
    (func (export "unreachable") unreachable))
  )");
  EXPECT_EQ(compiled.value("load8_s"), 0xffffffffU);
  EXPECT_EQ(compiled.value("load16_u"), 0x80ffU);
  EXPECT_EQ(compiled.value("load32_s"), 0x020180ffULL);
  EXPECT_EQ(compiled.value("round_trip", {100, 0x1122334455667788ULL}), 0x1122334455667703ULL);
  EXPECT_EQ(compiled.value("bump"), 42U);
  EXPECT_EQ(compiled.value("wide"), static_cast<std::uint64_t>(-2));
  EXPECT_EQ(compiled.value("grow", {2}), 1U);
  EXPECT_EQ(compiled.value("grow", {3}), 0xffffffffU);
  EXPECT_EQ(compiled.value("size"), 1U);
  EXPECT_EQ(compiled.call("far", {8}).trap, abi::kTrapOutOfBounds);
  EXPECT_EQ(compiled.call("round_trip", {65530, 1}).trap, abi::kTrapOutOfBounds);
  EXPECT_EQ(compiled.call("unreachable", {}).trap, abi::kTrapUnreachable);
}

std::uint32_t weighted_sum(void* context, std::uint32_t a, std::uint32_t b, std::uint32_t c,
                           std::uint32_t d, std::uint32_t e, std::uint32_t f, std::uint32_t g,
                           std::uint64_t h) {
  return context == nullptr ? 0
                            : a + 2 * b + 3 * c + 4 * d + 5 * e + 6 * f + 7 * g +
                                  8 * static_cast<std::uint32_t>(h);
}

TEST(BaselineCompiler, ImportsGetTheContextAndEveryArgument) {
  Compiled compiled(R"((module
    (import "host" "weighted_sum"
      (func $sum (param i32 i32 i32 i32 i32 i32 i32 i64) (result i32)))
    (func (export "call") (param i32) (result i32)
      local.get 0 i32.const 1 i32.const 1 i32.const 1 i32.const 1 i32.const 1 i32.const 1
      i64.const 2 call $sum
      i32.const 1000 i32.add))
  )",
                    {reinterpret_cast<void*>(&weighted_sum)});
  EXPECT_EQ(compiled.value("call", {10}), 1000U + 10U + 2 + 3 + 4 + 5 + 6 + 7 + 16);
}

template <class F>
std::uint64_t bits_of(F value) {
  if constexpr (sizeof(F) == 4) {
    return std::bit_cast<std::uint32_t>(value);
  } else {
    return std::bit_cast<std::uint64_t>(value);
  }
}

template <class F>
F from_bits(std::uint64_t bits) {
  if constexpr (sizeof(F) == 4) {
    return std::bit_cast<F>(static_cast<std::uint32_t>(bits));
  } else {
    return std::bit_cast<F>(bits);
  }
}

// wasm's min and max: NaN if either is, and -0 below +0.
template <class F>
F wasm_min_max(F a, F b, bool is_min) {
  if (std::isnan(a) || std::isnan(b)) {
    return std::numeric_limits<F>::quiet_NaN();
  }
  if (a == b) {
    return is_min == std::signbit(a) ? a : b;
  }
  return is_min ? std::min(a, b) : std::max(a, b);
}

template <class F>
F reference_float(const std::string& op, F a, F b) {
  if (op == "add")
    return a + b;
  if (op == "sub")
    return a - b;
  if (op == "mul")
    return a * b;
  if (op == "div")
    return a / b;
  if (op == "min")
    return wasm_min_max(a, b, true);
  if (op == "max")
    return wasm_min_max(a, b, false);
  if (op == "copysign")
    return std::copysign(a, b);
  if (op == "abs")
    return std::fabs(a);
  if (op == "neg")
    return -a;
  if (op == "sqrt")
    return std::sqrt(a);
  if (op == "ceil")
    return std::ceil(a);
  if (op == "floor")
    return std::floor(a);
  if (op == "trunc")
    return std::trunc(a);
  return std::nearbyint(a);  // nearest: ties to even, the default rounding
}

template <class F>
void expect_floats_match(const std::string& type) {
  const std::vector<std::string> binary = {"add", "sub", "mul", "div", "min", "max", "copysign"};
  const std::vector<std::string> unary = {"abs",   "neg",   "sqrt",   "ceil",
                                          "floor", "trunc", "nearest"};
  const std::vector<std::string> compares = {"eq", "ne", "lt", "gt", "le", "ge"};
  std::string wat = binary_functions(type, binary);
  wat.pop_back();  // the module's closing parenthesis
  for (const std::string& op : unary) {
    wat += "(func (export \"" + op + "\") (param " + type + ") (result " + type + ") local.get 0 " +
           type + "." + op + ")\n";
  }
  for (const std::string& op : compares) {
    wat += "(func (export \"" + op + "\") (param " + type + " " + type +
           ") (result i32) local.get 0 local.get 1 " + type + "." + op + ")\n";
  }
  Compiled compiled(wat + ")");
  constexpr F kInf = std::numeric_limits<F>::infinity();
  const F values[] = {F(0),
                      -F(0),
                      F(1),
                      F(-1.5),
                      F(2.5),
                      F(3.5),
                      F(-2.5),
                      F(1e30),
                      kInf,
                      -kInf,
                      std::numeric_limits<F>::quiet_NaN(),
                      std::numeric_limits<F>::denorm_min()};
  const auto expect_same = [](std::uint64_t got, F want, const std::string& what) {
    const F result = from_bits<F>(got);
    if (std::isnan(want)) {
      EXPECT_TRUE(std::isnan(result)) << what;
    } else {
      EXPECT_EQ(got, bits_of(want)) << what << ": " << result << " for " << want;
    }
  };
  for (F a : values) {
    for (const std::string& op : unary) {
      expect_same(compiled.value(op, {bits_of(a)}), reference_float<F>(op, a, a),
                  op + " " + std::to_string(a));
    }
    for (F b : values) {
      const std::string what = std::to_string(a) + " " + std::to_string(b);
      for (const std::string& op : binary) {
        expect_same(compiled.value(op, {bits_of(a), bits_of(b)}), reference_float<F>(op, a, b),
                    op + " " + what);
      }
      EXPECT_EQ(compiled.value("eq", {bits_of(a), bits_of(b)}), a == b ? 1U : 0U) << what;
      EXPECT_EQ(compiled.value("ne", {bits_of(a), bits_of(b)}), a != b ? 1U : 0U) << what;
      EXPECT_EQ(compiled.value("lt", {bits_of(a), bits_of(b)}), a < b ? 1U : 0U) << what;
      EXPECT_EQ(compiled.value("gt", {bits_of(a), bits_of(b)}), a > b ? 1U : 0U) << what;
      EXPECT_EQ(compiled.value("le", {bits_of(a), bits_of(b)}), a <= b ? 1U : 0U) << what;
      EXPECT_EQ(compiled.value("ge", {bits_of(a), bits_of(b)}), a >= b ? 1U : 0U) << what;
    }
  }
}

TEST(BaselineCompiler, Float64MatchesCxx) {
  expect_floats_match<double>("f64");
}

TEST(BaselineCompiler, Float32MatchesCxx) {
  expect_floats_match<float>("f32");
}

TEST(BaselineCompiler, FloatConversions) {
  Compiled compiled(R"((module
    (func (export "i32_s") (param f64) (result i32) local.get 0 i32.trunc_f64_s)
    (func (export "i32_u") (param f32) (result i32) local.get 0 i32.trunc_f32_u)
    (func (export "i64_s") (param f64) (result i64) local.get 0 i64.trunc_f64_s)
    (func (export "i64_u") (param f64) (result i64) local.get 0 i64.trunc_f64_u)
    (func (export "sat_i32_s") (param f64) (result i32) local.get 0 i32.trunc_sat_f64_s)
    (func (export "sat_i64_u") (param f32) (result i64) local.get 0 i64.trunc_sat_f32_u)
    (func (export "from_i32_s") (param i32) (result f64) local.get 0 f64.convert_i32_s)
    (func (export "from_i32_u") (param i32) (result f32) local.get 0 f32.convert_i32_u)
    (func (export "from_i64_u") (param i64) (result f64) local.get 0 f64.convert_i64_u)
    (func (export "from_i64_u32") (param i64) (result f32) local.get 0 f32.convert_i64_u)
    (func (export "demote") (param f64) (result f32) local.get 0 f32.demote_f64)
    (func (export "promote") (param f32) (result f64) local.get 0 f64.promote_f32)
    (func (export "bits") (param f64) (result i64) local.get 0 i64.reinterpret_f64)
    (func (export "pick") (param f64 f64 i32) (result f64)
      local.get 0 local.get 1 local.get 2 select))
  )");
  const auto d = [](double v) { return bits_of(v); };
  const auto f = [](float v) { return bits_of(v); };
  const double nan = std::numeric_limits<double>::quiet_NaN();
  EXPECT_EQ(compiled.value("i32_s", {d(-2147483648.9)}), 0x80000000U);
  EXPECT_EQ(compiled.value("i32_s", {d(2147483647.9)}), 0x7fffffffU);
  EXPECT_EQ(compiled.call("i32_s", {d(2147483648.0)}).trap, abi::kTrapIntegerOverflow);
  EXPECT_EQ(compiled.call("i32_s", {d(-2147483649.0)}).trap, abi::kTrapIntegerOverflow);
  EXPECT_EQ(compiled.call("i32_s", {d(nan)}).trap, abi::kTrapInvalidConversion);
  EXPECT_EQ(compiled.value("i32_u", {f(4294967040.0F)}), 4294967040U);
  EXPECT_EQ(compiled.value("i32_u", {f(-0.9F)}), 0U);
  EXPECT_EQ(compiled.call("i32_u", {f(-1.0F)}).trap, abi::kTrapIntegerOverflow);
  EXPECT_EQ(compiled.value("i64_s", {d(-9223372036854775808.0)}), 1ULL << 63);
  EXPECT_EQ(compiled.call("i64_s", {d(9223372036854775808.0)}).trap, abi::kTrapIntegerOverflow);
  EXPECT_EQ(compiled.value("i64_u", {d(18446744073709549568.0)}), 18446744073709549568ULL);
  EXPECT_EQ(compiled.value("i64_u", {d(9223372036854775808.0)}), 1ULL << 63);
  EXPECT_EQ(compiled.value("i64_u", {d(12345.7)}), 12345U);
  EXPECT_EQ(compiled.call("i64_u", {d(18446744073709551616.0)}).trap, abi::kTrapIntegerOverflow);
  EXPECT_EQ(compiled.value("sat_i32_s", {d(1e20)}), 0x7fffffffU);
  EXPECT_EQ(compiled.value("sat_i32_s", {d(-1e20)}), 0x80000000U);
  EXPECT_EQ(compiled.value("sat_i32_s", {d(nan)}), 0U);
  EXPECT_EQ(compiled.value("sat_i64_u", {f(-5.0F)}), 0U);
  EXPECT_EQ(compiled.value("sat_i64_u", {f(1e30F)}), ~0ULL);
  EXPECT_EQ(compiled.value("sat_i64_u", {f(1e10F)}), 10000000000ULL);
  EXPECT_EQ(compiled.value("from_i32_s", {0xffffffffU}), d(-1.0));
  EXPECT_EQ(compiled.value("from_i32_u", {0xffffffffU}), f(4294967295.0F));
  EXPECT_EQ(compiled.value("from_i64_u", {~0ULL}), d(18446744073709551615.0));
  EXPECT_EQ(compiled.value("from_i64_u", {1ULL << 63 | 1}), d(9223372036854775808.0));
  // Rounds once, to nearest even, from above 2^63 as below it.
  EXPECT_EQ(compiled.value("from_i64_u32", {0x8000008000000001ULL}), f(9223373136366403584.0F));
  EXPECT_EQ(compiled.value("from_i64_u32", {12345}), f(12345.0F));
  EXPECT_EQ(compiled.value("demote", {d(1.5)}), f(1.5F));
  EXPECT_EQ(compiled.value("promote", {f(-0.25F)}), d(-0.25));
  EXPECT_EQ(compiled.value("bits", {d(2.0)}), 0x4000000000000000ULL);
  EXPECT_EQ(compiled.value("pick", {d(1.0), d(2.0), 0}), d(2.0));
  EXPECT_EQ(compiled.value("pick", {d(1.0), d(2.0), 7}), d(1.0));
}

TEST(BaselineCompiler, WhatItDoesNotCompileIsNamed) {
  const Module simd =
      Module::from_bytes("simd.wasm", testing::wat_to_wasm(R"((module (func (export "_start")
        v128.const i64x2 1 2 i32x4.extract_lane 0 drop)))",
                                                           true));
  try {
    compile_module(simd);
    FAIL() << "a SIMD module compiled";
  } catch (const UnsupportedByBaseline& e) {
    EXPECT_NE(std::string(e.what()).find("SIMD"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace wasmshim::wasm::baseline
