// The x64 assembler's labels and operand checks, and code it assembles run
// from an executable mapping.
#include <gtest/gtest.h>

#include <bit>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>

#include "../baseline/x64_assembler.h"

namespace wasmshim::wasm::x64 {
namespace {

// --- Labels -----------------------------------------------------------------

TEST(X64Assembler, FinishThrowsNamingAnUnboundReferencedLabel) {
  Assembler a;
  a.new_label();  // never referenced: no error
  Label target = a.new_label();
  a.jmp(target);
  try {
    a.finish();
    FAIL() << "finish accepted an unbound label";
  } catch (const std::logic_error& e) {
    EXPECT_NE(std::string(e.what()).find("label " + std::to_string(target.id) + " is referenced"),
              std::string::npos)
        << e.what();
  }
  a.bind(target);
  EXPECT_NO_THROW(a.finish());

  Assembler b;
  Label base = b.new_label();
  Label entry = b.new_label();
  b.bind(entry);
  b.emit_label_offset(entry, base);  // waits for the base
  EXPECT_THROW(b.finish(), std::logic_error);
}

TEST(X64Assembler, LabelBookkeeping) {
  Assembler a;
  Label label = a.new_label();
  EXPECT_FALSE(a.is_bound(label));
  EXPECT_THROW(a.offset_of(label), std::logic_error);
  a.ret();
  a.bind(label);
  EXPECT_TRUE(a.is_bound(label));
  EXPECT_EQ(a.offset_of(label), 1U);
  EXPECT_THROW(a.bind(label), std::logic_error);
  EXPECT_THROW(a.jmp(Label{}), std::invalid_argument);
  EXPECT_THROW(a.jmp(Label{99}), std::invalid_argument);
  EXPECT_EQ(a.size(), 1U);
}

TEST(X64Assembler, RejectsOperandsTheEncodingCannotExpressWithoutEmitting) {
  Assembler a;
  EXPECT_THROW(a.mov(Size::k64, Reg::kRax, mem(Reg::kRbx, Reg::kRsp, 1)), std::invalid_argument);
  EXPECT_THROW(a.mov(Size::k64, Reg::kRax, mem(Reg::kRbx, Reg::kRcx, 3)), std::invalid_argument);
  EXPECT_THROW(a.mov(Size::k64, Reg::kRax, rip_mem(Label{7})), std::invalid_argument);
  EXPECT_EQ(a.size(), 0U);
}

TEST(X64Assembler, NegateFlipsEachCondition) {
  EXPECT_EQ(negate(Cond::kE), Cond::kNe);
  EXPECT_EQ(negate(Cond::kNe), Cond::kE);
  EXPECT_EQ(negate(Cond::kL), Cond::kGe);
  EXPECT_EQ(negate(Cond::kA), Cond::kBe);
  for (std::uint8_t code = 0; code < 16; ++code) {
    auto cond = static_cast<Cond>(code);
    EXPECT_NE(negate(cond), cond);
    EXPECT_EQ(negate(negate(cond)), cond);
  }
}

// --- Running the code -------------------------------------------------------

TEST(X64ExecutableCode, MultiplyAndAdd) {
  // int64 f(int64 a, int64 b) { return a * 3 + b; }  (SysV: rdi, rsi -> rax)
  Assembler a;
  a.imul(Size::k64, Reg::kRax, Reg::kRdi, 3);
  a.alu(Alu::kAdd, Size::k64, Reg::kRax, Reg::kRsi);
  a.ret();
  a.finish();
  ExecutableCode code = ExecutableCode::copy_of(a.bytes());
  ASSERT_EQ(code.size(), a.size());
  auto* f = code.function<std::int64_t(std::int64_t, std::int64_t)>();
  EXPECT_EQ(f(5, 7), 22);
  EXPECT_EQ(f(-4, 1), -11);
  EXPECT_EQ(f(std::int64_t{1} << 40, 0), std::int64_t{3} << 40);
}

TEST(X64ExecutableCode, LoopWithForwardBranch) {
  // int64 sum(int64 n) { int64 s = 0; if (n > 0) do s += n; while (--n); return s; }
  Assembler a;
  Label done = a.new_label();
  Label loop = a.new_label();
  a.mov_imm(Size::k32, Reg::kRax, 0);
  a.test(Size::k64, Reg::kRdi, Reg::kRdi);
  a.jcc(Cond::kLe, done);
  a.bind(loop);
  a.alu(Alu::kAdd, Size::k64, Reg::kRax, Reg::kRdi);
  a.alu(Alu::kSub, Size::k64, Reg::kRdi, 1);
  a.jcc(Cond::kNe, loop);
  a.bind(done);
  a.ret();
  a.finish();
  ExecutableCode code = ExecutableCode::copy_of(a.bytes());
  auto* sum = code.function<std::int64_t(std::int64_t)>();
  EXPECT_EQ(sum(10), 55);
  EXPECT_EQ(sum(1), 1);
  EXPECT_EQ(sum(0), 0);
  EXPECT_EQ(sum(-5), 0);
  EXPECT_EQ(sum(100000), std::int64_t{5000050000});
}

TEST(X64ExecutableCode, DoubleAddWithAConstantFromMemory) {
  // double f(double a, double b) { return a + b + 0.5; }  (xmm0, xmm1 -> xmm0)
  Assembler a;
  Label half = a.new_label();
  a.fp(FpOp::kAdd, Fp::kF64, Xmm::kXmm0, Xmm::kXmm1);
  a.fp(FpOp::kAdd, Fp::kF64, Xmm::kXmm0, rip_mem(half));
  a.ret();
  a.align(8);
  a.bind(half);
  a.emit_u64(std::bit_cast<std::uint64_t>(0.5));
  a.finish();
  ExecutableCode code = ExecutableCode::copy_of(a.bytes());
  auto* f = code.function<double(double, double)>();
  EXPECT_EQ(f(1.25, 2.0), 3.75);
  EXPECT_EQ(f(-0.5, 0.0), 0.0);
}

TEST(X64ExecutableCode, BaselineFeatureInstructionsRunWhereTheCpuHasThem) {
  if (!cpu_has_baseline_features()) {
    GTEST_SKIP() << "this CPU lacks SSE4.1, POPCNT, LZCNT or BMI1";
  }
  // popcnt(a) + lzcnt(a) + tzcnt(a), then floor of a double: two functions.
  Assembler a;
  a.popcnt(Size::k64, Reg::kRax, Reg::kRdi);
  a.lzcnt(Size::k64, Reg::kRcx, Reg::kRdi);
  a.alu(Alu::kAdd, Size::k64, Reg::kRax, Reg::kRcx);
  a.tzcnt(Size::k64, Reg::kRcx, Reg::kRdi);
  a.alu(Alu::kAdd, Size::k64, Reg::kRax, Reg::kRcx);
  a.ret();
  std::size_t floor_offset = a.size();
  a.rounds(Fp::kF64, Xmm::kXmm0, Xmm::kXmm0, 1);  // toward negative infinity
  a.ret();
  ExecutableCode code = ExecutableCode::copy_of(a.bytes());
  auto* counts = code.function<std::uint64_t(std::uint64_t)>();
  EXPECT_EQ(counts(0xF0), 4U + 56U + 4U);
  EXPECT_EQ(counts(0), 0U + 64U + 64U);
  auto* floor = code.function<double(double)>(floor_offset);
  EXPECT_EQ(floor(-1.5), -2.0);
  EXPECT_EQ(floor(2.75), 2.0);
}

TEST(X64ExecutableCode, MovesOwnershipAndMapsEmptyCode) {
  Assembler a;
  a.mov_imm(Size::k64, Reg::kRax, 0x123456789);
  a.ret();
  ExecutableCode first = ExecutableCode::copy_of(a.bytes());
  const std::uint8_t* data = first.data();
  ExecutableCode second(std::move(first));
  EXPECT_EQ(second.data(), data);
  ExecutableCode third;
  third = std::move(second);
  EXPECT_EQ(third.function<std::int64_t()>()(), 0x123456789);

  ExecutableCode empty = ExecutableCode::copy_of({});
  EXPECT_EQ(empty.size(), 0U);
  EXPECT_NE(empty.data(), nullptr);
}

}  // namespace
}  // namespace wasmshim::wasm::x64
