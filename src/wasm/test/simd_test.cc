// SIMD: every operation wabt knows, plus v128 through calls, blocks, globals
// and memory, run by the engine in each tier and compared byte for byte with
// V8 (the machine's node) on the same module.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>
#include <wabt/feature.h>
#include <wabt/opcode.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <limits>
#include <map>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "support/child_process.h"
#include "support/temp_dir.h"
#include "wasmshim/wasm/engine.h"
#include "wat.h"

namespace wasmshim::wasm {
namespace {

using Bytes = std::array<std::uint8_t, 16>;

// Inputs chosen for the edges of each lane shape.
std::vector<Bytes> vector_inputs() {
  auto from_u32 = [](std::array<std::uint32_t, 4> lanes) {
    Bytes b{};
    std::memcpy(b.data(), lanes.data(), 16);
    return b;
  };
  auto from_u16 = [](std::array<std::uint16_t, 8> lanes) {
    Bytes b{};
    std::memcpy(b.data(), lanes.data(), 16);
    return b;
  };
  auto from_f32 = [](std::array<float, 4> lanes) {
    Bytes b{};
    std::memcpy(b.data(), lanes.data(), 16);
    return b;
  };
  auto from_f64 = [](std::array<double, 2> lanes) {
    Bytes b{};
    std::memcpy(b.data(), lanes.data(), 16);
    return b;
  };
  std::vector<Bytes> inputs;
  Bytes counting{};
  for (std::size_t i = 0; i < 16; ++i) {
    counting[i] = static_cast<std::uint8_t>(i);
  }
  inputs.push_back(counting);
  inputs.push_back(Bytes{0x80, 0x7f, 0xff, 0x01, 0x00, 0xfe, 0x81, 0x40, 0xc0, 0x3f, 0x10, 0xf0,
                         0x55, 0xaa, 0x02, 0x9c});
  inputs.push_back(from_u16({0x8000, 0x7fff, 0xffff, 1, 0, 0x4000, 0xc000, 300}));
  inputs.push_back(from_u32({0x80000000u, 0x7fffffffu, 0xffffffffu, 5}));
  inputs.push_back(from_f32({1.5F, -2.5F, INFINITY, -0.0F}));
  inputs.push_back(from_f32({NAN, 0.0F, -INFINITY, 3e9F}));
  inputs.push_back(from_f32({2.5F, -3.5F, 0.49999997F, 16777217.0F}));
  inputs.push_back(from_f32({-1e-40F, 1e38F, -0.75F, -4.5e9F}));
  inputs.push_back(from_f64({-0.5, 1e300}));
  inputs.push_back(from_f64(
      {std::numeric_limits<double>::quiet_NaN(), -std::numeric_limits<double>::infinity()}));
  inputs.push_back(from_f64({4294967296.5, -2147483649.0}));
  inputs.push_back(from_u32({0x00000000u, 0x80000000u, 0x00000000u, 0x7fffffffu}));
  std::uint64_t state = 0x9e3779b97f4a7c15ULL;
  for (int n = 0; n < 2; ++n) {
    Bytes b{};
    for (auto& byte : b) {
      state = state * 6364136223846793005ULL + 1442695040888963407ULL;
      byte = static_cast<std::uint8_t>(state >> 56);
    }
    inputs.push_back(b);
  }
  return inputs;
}

std::string v128_const(const Bytes& b) {
  std::ostringstream out;
  out << "(v128.const i8x16";
  for (std::uint8_t byte : b) {
    out << ' ' << static_cast<int>(byte);
  }
  out << ')';
  return out.str();
}

// Scalar operands, as exact bit patterns.
std::vector<std::string> scalar_inputs(wabt::Type type) {
  switch (type) {
    case wabt::Type::I32:
      return {"(i32.const 0)",  "(i32.const 1)",  "(i32.const 7)",  "(i32.const 8)",
              "(i32.const 15)", "(i32.const 17)", "(i32.const 31)", "(i32.const 33)",
              "(i32.const 63)", "(i32.const 64)", "(i32.const -1)", "(i32.const 0x12345678)"};
    case wabt::Type::I64:
      return {"(i64.const 0)", "(i64.const -1)", "(i64.const 0x8000000000000000)",
              "(i64.const 0x123456789abcdef0)"};
    case wabt::Type::F32:
      return {"(f32.reinterpret_i32 (i32.const 0x3fc00000))",
              "(f32.reinterpret_i32 (i32.const 0x80000000))",
              "(f32.reinterpret_i32 (i32.const 0x7fc00001))",
              "(f32.reinterpret_i32 (i32.const 0xff800000))"};
    default:
      return {"(f64.reinterpret_i64 (i64.const 0x3ff8000000000000))",
              "(f64.reinterpret_i64 (i64.const 0x8000000000000000))",
              "(f64.reinterpret_i64 (i64.const 0x7ff8000000000001))"};
  }
}

// One value the program stores, where it is and how to compare it.
struct Check {
  std::size_t offset;
  std::size_t size;
  std::size_t float_lane;  // 4 or 8: NaN lanes compare equal whatever their bits; 0: exact
  std::string what;
};

constexpr std::size_t kDataAddress = 0xE0000;  // a pattern for the loads
constexpr std::size_t kIovecAddress = 0xF0000;

class SimdProgram {
 public:
  SimdProgram() {
    all_operations();
    memory_operations();
    structure();
  }

  std::string wat() const {
    std::ostringstream out;
    out << R"((module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 16)
  (data (i32.const )"
        << kDataAddress << R"() ")";
    for (int i = 0; i < 64; ++i) {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\%02x", (i * 37 + 11) & 0xff);
      out << hex;
    }
    out << R"(")
  (global $g (mut v128) (v128.const i32x4 1 2 3 4))
  (type $v_to_v (func (param v128) (result v128)))
  (table 2 funcref)
  (elem (i32.const 0) $negate $double)
  (func $negate (param v128) (result v128) (i32x4.neg (local.get 0)))
  (func $double (param v128) (result v128) (i32x4.add (local.get 0) (local.get 0)))
  (func $pair (param v128 i32 v128) (result v128 i32 v128)
    (local.get 2) (local.get 1) (local.get 0))
)" << functions_;
    out << "  (func $run (export \"run\") (result i32)\n";
    for (int i = 0; i < function_count_; ++i) {
      out << "    call $f" << i << "\n";
    }
    out << "    i32.const " << size_ << ")\n";
    out << "  (func (export \"_start\")\n"
        << "    (i32.store (i32.const " << kIovecAddress << ") (i32.const 0))\n"
        << "    (i32.store (i32.const " << kIovecAddress + 4 << ") (call $run))\n"
        << "    (drop (call $fd_write (i32.const 1) (i32.const " << kIovecAddress
        << ") (i32.const 1) (i32.const " << kIovecAddress + 8 << ")))))\n";
    return out.str();
  }

  const std::vector<Check>& checks() const { return checks_; }
  int operations() const { return operations_; }
  std::size_t size() const { return size_; }

 private:
  // Stores the value `code` leaves (of `type`) at the next free offset.
  void record(const std::string& code, wabt::Type type, std::size_t float_lane,
              const std::string& what) {
    static const std::map<wabt::Type::Enum, std::pair<const char*, std::size_t>> kStores = {
        {wabt::Type::V128, {"v128.store", 16}},
        {wabt::Type::I32, {"i32.store", 4}},
        {wabt::Type::I64, {"i64.store", 8}},
        {wabt::Type::F32, {"f32.store", 4}},
        {wabt::Type::F64, {"f64.store", 8}}};
    const auto& [store, size] = kStores.at(type);
    body_ +=
        "    (" + std::string(store) + " (i32.const " + std::to_string(size_) + ") " + code + ")\n";
    checks_.push_back({size_, size, float_lane, what});
    size_ += size;
  }
  void record_bytes(const std::string& statement, std::size_t size, const std::string& what) {
    body_ += "    " + statement + "\n";
    checks_.push_back({size_, size, 0, what});
    size_ += size;
  }
  void end_function() {
    functions_ += "  (func $f" + std::to_string(function_count_++) + "\n" + body_ + "  )\n";
    body_.clear();
  }

  // Float lanes whose NaN bits the spec leaves open (arithmetic results).
  static std::size_t float_lane(const std::string& name) {
    const bool f32 = name.rfind("f32x4.", 0) == 0;
    const bool f64 = name.rfind("f64x2.", 0) == 0;
    for (const char* exact :
         {".eq", ".ne", ".lt", ".gt", ".le", ".ge", ".abs", ".neg", "lane", ".splat"}) {
      if (name.find(exact) != std::string::npos) {
        return 0;
      }
    }
    return f32 ? 4 : f64 ? 8 : 0;
  }

  void all_operations() {
    wabt::Features features;
    features.enable_simd();
    const std::vector<Bytes> inputs = vector_inputs();
    for (unsigned i = 0; i < wabt::Opcode::Invalid; ++i) {
      const wabt::Opcode op(static_cast<wabt::Opcode::Enum>(i));
      if (!op.IsEnabled(features) || op.GetMemorySize() != 0 || op == wabt::Opcode::V128Const) {
        continue;
      }
      std::vector<wabt::Type> params;
      bool v128 = op.GetResultType() == wabt::Type::V128;
      for (int k = 1; k <= 3; ++k) {
        if (op.GetParamType(k) != wabt::Type::Void) {
          params.push_back(op.GetParamType(k));
          v128 = v128 || op.GetParamType(k) == wabt::Type::V128;
        }
      }
      if (!v128) {
        continue;
      }
      operation(op, params, inputs);
      end_function();
      ++operations_;
    }
  }

  void operation(const wabt::Opcode& op, const std::vector<wabt::Type>& params,
                 const std::vector<Bytes>& inputs) {
    const std::string name = op.GetName();
    const std::size_t lanes = name.find("extract_lane") != std::string::npos ||
                                      name.find("replace_lane") != std::string::npos
                                  ? op.GetSimdLaneCount()
                                  : 0;
    const std::size_t n = inputs.size();
    // Operand tuples: each input with a few partners, and each scalar.
    for (std::size_t a = 0; a < n; ++a) {
      for (std::size_t step : {std::size_t{0}, std::size_t{1}, std::size_t{5}}) {
        std::vector<std::string> operands;
        std::string what = name + "(";
        std::size_t vector_index = 0;
        for (wabt::Type type : params) {
          if (type == wabt::Type::V128) {
            std::size_t which = (a + step * vector_index++) % n;
            operands.push_back(v128_const(inputs[which]));
            what += "v" + std::to_string(which) + " ";
          } else {
            std::vector<std::string> scalars = scalar_inputs(type);
            std::size_t which = (a * 3 + step) % scalars.size();
            operands.push_back(scalars[which]);
            what += scalars[which] + " ";
          }
        }
        what += ")";
        if (params.size() == 1 && params[0] != wabt::Type::V128 && step != 0) {
          continue;  // splats: one pass over the scalars is enough
        }
        if (name == "i8x16.shuffle") {
          shuffle(operands, what, a);
          continue;
        }
        if (lanes != 0) {
          for (std::size_t lane = 0; lane < lanes; ++lane) {
            record(call(name + " " + std::to_string(lane), operands), op.GetResultType(), 0,
                   what + " lane " + std::to_string(lane));
          }
          continue;
        }
        record(call(name, operands), op.GetResultType(), float_lane(name), what);
        if (params.size() == 1 && params[0] == wabt::Type::V128) {
          break;  // unary: every input once
        }
      }
    }
  }

  void shuffle(const std::vector<std::string>& operands, const std::string& what, std::size_t a) {
    std::string mask;
    for (std::size_t i = 0; i < 16; ++i) {
      mask += " " + std::to_string((i * 7 + a * 3) % 32);
    }
    record(call("i8x16.shuffle" + mask, operands), wabt::Type::V128, 0, what + mask);
  }

  static std::string call(const std::string& op, const std::vector<std::string>& operands) {
    std::string out = "(" + op;
    for (const std::string& operand : operands) {
      out += " " + operand;
    }
    return out + ")";
  }

  void memory_operations() {
    const std::vector<Bytes> inputs = vector_inputs();
    for (std::size_t offset : {0U, 1U, 7U, 13U}) {
      const std::string at = "(i32.const " + std::to_string(kDataAddress + offset) + ")";
      const std::string o = std::to_string(offset);
      record("(v128.load " + at + ")", wabt::Type::V128, 0, "v128.load +" + o);
      record("(v128.load offset=3 " + at + ")", wabt::Type::V128, 0, "v128.load offset=3 +" + o);
      for (const char* load :
           {"v128.load8x8_s", "v128.load8x8_u", "v128.load16x4_s", "v128.load16x4_u",
            "v128.load32x2_s", "v128.load32x2_u", "v128.load8_splat", "v128.load16_splat",
            "v128.load32_splat", "v128.load64_splat", "v128.load32_zero", "v128.load64_zero"}) {
        record("(" + std::string(load) + " " + at + ")", wabt::Type::V128, 0,
               std::string(load) + " +" + o);
      }
      for (auto [load, lanes] :
           {std::pair{"v128.load8_lane", 16}, std::pair{"v128.load16_lane", 8},
            std::pair{"v128.load32_lane", 4}, std::pair{"v128.load64_lane", 2}}) {
        for (int lane : {0, lanes - 1}) {
          record("(" + std::string(load) + " " + std::to_string(lane) + " " + at + " " +
                     v128_const(inputs[1]) + ")",
                 wabt::Type::V128, 0, std::string(load) + " lane " + std::to_string(lane));
        }
      }
      end_function();
    }
    // Stores write straight into the results.
    for (auto [store, bytes] :
         {std::pair{"v128.store8_lane", 1}, std::pair{"v128.store16_lane", 2},
          std::pair{"v128.store32_lane", 4}, std::pair{"v128.store64_lane", 8}}) {
      const int lanes = 16 / bytes;
      for (int lane : {0, lanes / 2, lanes - 1}) {
        record_bytes(
            "(" + std::string(store) + " offset=2 " + std::to_string(lane) + " (i32.const " +
                std::to_string(size_ - 2) + ") " + v128_const(inputs[13]) + ")",
            static_cast<std::size_t>(bytes), std::string(store) + " lane " + std::to_string(lane));
      }
    }
    record_bytes("(v128.store offset=5 (i32.const " + std::to_string(size_ - 5) + ") " +
                     v128_const(inputs[12]) + ")",
                 16, "v128.store offset=5");
    end_function();
  }

  // v128 through the places a value can go.
  void structure() {
    const std::vector<Bytes> inputs = vector_inputs();
    const std::string a = v128_const(inputs[12]);
    const std::string b = v128_const(inputs[3]);
    functions_ += R"(  (func $structure (param $a v128) (param $b v128) (param $k i32) (result v128)
    (local $t v128) (local $i i32)
    (local.set $t (local.get $a))
    (local.get $a)
    (loop $again (param v128) (result v128)
      (i32x4.add (local.get $b))
      (local.tee $t)
      (br_if $again (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (i32.const 3))))
    (block $done (param v128) (result v128)
      (block $one (param v128) (result v128)
        (br_table $one $done (local.get $k)))
      (i64x2.add (local.get $a)))
    (if (param v128) (result v128) (local.get $k)
      (then (call_indirect (type $v_to_v) (i32.const 0)))
      (else (call_indirect (type $v_to_v) (i32.const 1))))
    (global.set $g (i32x4.mul (global.get $g) (local.get $t)))
    (call $pair (local.get $t) (local.get $k) (global.get $g))
    (drop (local.tee $t))
    (local.set $i)
    (select (result v128) (local.get $t) (select (v128.const i64x2 7 7) (local.get $b) (local.get $i)) (local.get $k))
    (v128.xor)
    (return)
    (i8x16.add (v128.const i64x2 0 0))
    (drop))
)";
    for (int k : {0, 1, 2}) {
      record("(call $structure " + a + " " + b + " (i32.const " + std::to_string(k) + "))",
             wabt::Type::V128, 0, "structure k=" + std::to_string(k));
    }
    record("(global.get $g)", wabt::Type::V128, 0, "global $g");
    for (const char* form : {"select", "select (result v128)"}) {
      for (int condition : {0, 1}) {
        record("(" + std::string(form) + " " + a + " " + b + " (i32.const " +
                   std::to_string(condition) + "))",
               wabt::Type::V128, 0, std::string(form) + " " + std::to_string(condition));
      }
    }
    end_function();
  }

  std::string functions_;
  std::string body_;
  int function_count_ = 0;
  int operations_ = 0;
  std::vector<Check> checks_;
  std::size_t size_ = 0;
};

struct Reference {
  SimdProgram program;
  std::vector<std::uint8_t> wasm;
  std::string v8_output;
};

// V8's results, computed once for all tiers.
Reference make_reference() {
  Reference r;
  r.wasm = testing::wat_to_wasm(r.program.wat(), /*simd=*/true);
  wasmshim::testing::TempDir dir;
  const auto wasm_path = dir.path() / "simd.wasm";
  const auto script_path = dir.path() / "run.js";
  std::ofstream(wasm_path, std::ios::binary)
      .write(reinterpret_cast<const char*>(r.wasm.data()),
             static_cast<std::streamsize>(r.wasm.size()));
  std::ofstream(script_path) << R"(
const bytes = require('fs').readFileSync(process.argv[2]);
const imports = { wasi_snapshot_preview1: { fd_write: () => 0 } };
WebAssembly.instantiate(bytes, imports).then(({ instance }) => {
  const size = instance.exports.run();
  process.stdout.write(Buffer.from(instance.exports.memory.buffer, 0, size));
});
)";
  r.v8_output =
      wasmshim::testing::run({"/usr/bin/env", "node", script_path.string(), wasm_path.string()})
          .out;
  return r;
}

const Reference& reference() {
  static const Reference ref = make_reference();
  return ref;
}

bool lane_is_nan(const std::uint8_t* p, std::size_t size) {
  if (size == 4) {
    float f;
    std::memcpy(&f, p, 4);
    return std::isnan(f);
  }
  double d;
  std::memcpy(&d, p, 8);
  return std::isnan(d);
}

// The first check whose bytes differ, described, or "" when all agree.
std::string first_difference(const std::string& ours, const std::string& v8,
                             const std::vector<Check>& checks) {
  for (const Check& check : checks) {
    const auto* x = reinterpret_cast<const std::uint8_t*>(ours.data()) + check.offset;
    const auto* y = reinterpret_cast<const std::uint8_t*>(v8.data()) + check.offset;
    const std::size_t lane = check.float_lane != 0 ? check.float_lane : check.size;
    for (std::size_t at = 0; at < check.size; at += lane) {
      if (std::memcmp(x + at, y + at, lane) == 0 ||
          (check.float_lane != 0 && lane_is_nan(x + at, lane) && lane_is_nan(y + at, lane))) {
        continue;
      }
      std::ostringstream out;
      out << check.what << ": ours";
      for (std::size_t i = 0; i < check.size; ++i) {
        out << ' ' << std::hex << static_cast<int>(x[i]);
      }
      out << ", V8's";
      for (std::size_t i = 0; i < check.size; ++i) {
        out << ' ' << std::hex << static_cast<int>(y[i]);
      }
      return out.str();
    }
  }
  return "";
}

// Runs a module in `tier` with stdout in a file; returns the exit code, the
// trap (if any) and what it printed.
struct Outcome {
  int exit_code;
  std::optional<std::string> trap;
  std::string out;
};
Outcome run_module(const Module& module, Tier tier,
                   std::size_t aot_part_bytes = EngineOptions{}.aot_part_bytes) {
  EngineOptions options;
  options.tier = tier;
  options.aot_part_bytes = aot_part_bytes;
  PreparedModule prepared = prepare(module, options);
  wasmshim::testing::TempDir dir;
  const std::string out_path = (dir.path() / "out").string();
  const int out = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (out < 0) {
    throw std::runtime_error("cannot create " + out_path);
  }
  RunResult result = run(prepared, WasiConfig{{module.name()}, {}, {}, 0, out, 2}, options);
  ::close(out);
  std::ifstream in(out_path, std::ios::binary);
  return {result.exit_code, result.trap,
          std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>())};
}

class SimdTest : public ::testing::TestWithParam<Tier> {};

TEST_P(SimdTest, EveryOperationMatchesV8) {
  const Reference& ref = reference();
  ASSERT_GT(ref.program.operations(), 200) << "wabt listed too few SIMD operations";
  ASSERT_EQ(ref.v8_output.size(), ref.program.size())
      << "node (V8) did not run the module; it is the reference";

  Module module = Module::from_bytes("simd.wasm", ref.wasm);
  EXPECT_TRUE(module.uses_simd());
  Outcome outcome = run_module(module, GetParam());
  ASSERT_FALSE(outcome.trap) << *outcome.trap;
  const std::string& ours = outcome.out;
  ASSERT_EQ(ours.size(), ref.program.size());
  EXPECT_EQ(first_difference(ours, ref.v8_output, ref.program.checks()), "");
}

TEST_P(SimdTest, OutOfBoundsVectorAccessTraps) {
  for (const char* access : {"(drop (v128.load (i32.const 65528)))",
                             "(v128.store (i32.const 65529) (v128.const i64x2 1 2))",
                             "(drop (v128.load64_splat (i32.const 65529)))",
                             "(v128.store64_lane 1 (i32.const 65530) (v128.const i64x2 1 2))"}) {
    Module module = Module::from_bytes(
        "oob.wasm",
        testing::wat_to_wasm(
            std::string("(module (memory 1) (func (export \"_start\") ") + access + "))",
            /*simd=*/true));
    Outcome outcome = run_module(module, GetParam());
    EXPECT_EQ(outcome.trap.value_or("(no trap)"), "out of bounds memory or table access") << access;
  }
}

// clang's own SIMD output (auto-vectorised loops and intrinsics) checks
// itself against scalar code, and both tiers print the same, aot also when
// compiled in parts (the SIMD library in each of them).
TEST(SimdProgram, ClangSimdKernelsAgreeWithScalarCodeInBothTiers) {
  Module module = Module::from_file(std::string(WASM_TEST_PROGRAMS) + "/simd_kernels.wasm");
  ASSERT_TRUE(module.uses_simd()) << "clang emitted no SIMD";
  Outcome jit = run_module(module, Tier::kJit);
  Outcome aot = run_module(module, Tier::kAot);
  Outcome aot_in_parts = run_module(module, Tier::kAot, 1);
  for (const Outcome* outcome : {&jit, &aot, &aot_in_parts}) {
    EXPECT_FALSE(outcome->trap) << *outcome->trap;
    EXPECT_EQ(outcome->exit_code, 0) << outcome->out;
    EXPECT_EQ(outcome->out.find("MISMATCH"), std::string::npos) << outcome->out;
    EXPECT_NE(outcome->out.find("dot-product ok\nchecksum "), std::string::npos) << outcome->out;
  }
  EXPECT_EQ(jit.out, aot.out);
  EXPECT_EQ(jit.out, aot_in_parts.out);
}

INSTANTIATE_TEST_SUITE_P(Tiers, SimdTest, ::testing::Values(Tier::kJit, Tier::kAot),
                         [](const ::testing::TestParamInfo<Tier>& param_info) {
                           return std::string(to_string(param_info.param));
                         });

}  // namespace
}  // namespace wasmshim::wasm
