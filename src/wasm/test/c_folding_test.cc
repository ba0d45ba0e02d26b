// The folding of wasm2c's stack temporaries, line by line. Whether folded
// code computes the same is checked by every engine test (all translated
// code is folded), the SIMD comparison with V8 and the WASI programs.
#include "../c_folding.h"

#include <gtest/gtest.h>

#include <string>

namespace wasmshim::wasm {
namespace {

std::string fold(const std::string& text) {
  return fold_stack_temporaries(text);
}

TEST(CFolding, ConstantsAndLocalsFoldIntoTheOperationThatConsumesThem) {
  EXPECT_EQ(fold("  w2c_i0 = w2c_l7;\n"
                 "  w2c_i1 = 4u;\n"
                 "  w2c_i0 += w2c_i1;\n"
                 "  w2c_l7 = w2c_i0;\n"),
            "  w2c_i0 = w2c_l7 + (4u);\n"
            "  w2c_l7 = w2c_i0;\n");
}

TEST(CFolding, ChainsBecomeOneExpression) {
  EXPECT_EQ(fold("    w2c_i0 = w2c_p1;\n"
                 "    w2c_i1 = 30u;\n"
                 "    w2c_i0 = I32_ROTL(w2c_i0, w2c_i1);\n"
                 "    w2c_i1 = w2c_p1;\n"
                 "    w2c_i2 = 19u;\n"
                 "    w2c_i1 = I32_ROTL(w2c_i1, w2c_i2);\n"
                 "    w2c_i0 ^= w2c_i1;\n"
                 "    i32_store(&instance->w2c_memory, (u64)(w2c_l3), w2c_i0);\n"),
            "    i32_store(&instance->w2c_memory, (u64)(w2c_l3), ((u32)(((u32)(I32_ROTL(w2c_p1, "
            "30u))) ^ (((u32)(I32_ROTL(w2c_p1, 19u)))))));\n");
}

TEST(CFolding, ACopyMayBeATeeAndKeepsItsValue) {
  // local.tee: w2c_i0 is still on the stack after the copy.
  const std::string tee = "  w2c_i0 = 5u;\n  w2c_l2 = w2c_i0;\n  w2c_i0 = w2c_i0 != w2c_l3;\n";
  EXPECT_EQ(fold(tee), tee);
}

TEST(CFolding, ACopyFoldsWhenTheNextLineSetsTheTemporaryAgain) {
  // local.set, then a new value: the copy consumed w2c_i0.
  EXPECT_EQ(fold("  w2c_i0 = w2c_p1 + (8u);\n  w2c_p1 = w2c_i0;\n  w2c_i0 = w2c_l10;\n"),
            "  w2c_p1 = ((u32)(w2c_p1 + (8u)));\n  w2c_i0 = w2c_l10;\n");
  // The next line reads it: a tee, left alone.
  const std::string tee =
      "  w2c_i0 = w2c_p1 + (8u);\n  w2c_p1 = w2c_i0;\n  w2c_i0 = w2c_i0 + 1u;\n";
  EXPECT_EQ(fold(tee), tee);
}

TEST(CFolding, RenamedTemporariesFoldToo) {
  EXPECT_EQ(fold("  w2c_d1_0 = f64_load(&instance->w2c_memory, (u64)(w2c_p1));\n"
                 "  w2c_d0_0 *= w2c_d1_0;\n"),
            "  w2c_d0_0 *= ((f64)(f64_load(&instance->w2c_memory, (u64)(w2c_p1))));\n");
}

TEST(CFolding, NothingCrossesALabel) {
  const std::string text = "  w2c_i0 = 1u;\n  w2c_B0:;\n  w2c_i0 += w2c_i1;\n";
  EXPECT_EQ(fold(text), text);
}

TEST(CFolding, AValueInsideABranchIsNotFolded) {
  // br_if with a value: w2c_i1 goes to the label and also stays for the
  // fallthrough, so its definition must stay.
  const std::string text = "  w2c_i1 = w2c_l4;\n  if (w2c_i2) {w2c_i0 = w2c_i1; goto w2c_B1;}\n";
  EXPECT_EQ(fold(text), text);
  // The condition itself is consumed and folds.
  EXPECT_EQ(fold("  w2c_i2 = w2c_l4;\n  if (w2c_i2) {goto w2c_B1;}\n"),
            "  if (w2c_l4) {goto w2c_B1;}\n");
}

TEST(CFolding, ALoadMovesIntoTheNextStatement) {
  EXPECT_EQ(fold("  w2c_i1 = i32_load(&instance->w2c_memory, (u64)(w2c_i1));\n"
                 "  w2c_i0 += w2c_i1;\n"),
            "  w2c_i0 += ((u32)(i32_load(&instance->w2c_memory, (u64)(w2c_i1))));\n");
  // ... but not past a store: the next statement is the only one it joins.
  const std::string text =
      "  w2c_i1 = i32_load(&instance->w2c_memory, (u64)(w2c_i1));\n"
      "  i32_store(&instance->w2c_memory, (u64)(w2c_l2), w2c_l3);\n"
      "  w2c_i0 += w2c_i1;\n";
  EXPECT_EQ(fold(text), text);
}

TEST(CFolding, ALoadStaysOutOfASelect) {
  // select evaluates one of its sides in C; the load must happen (and trap)
  // whichever is chosen.
  const std::string text =
      "  w2c_i1 = i32_load(&instance->w2c_memory, (u64)(w2c_l1));\n"
      "  w2c_i0 = w2c_i2 ? w2c_i0 : w2c_i1;\n";
  EXPECT_EQ(fold(text), text);
  EXPECT_EQ(fold("  w2c_i1 = w2c_l1;\n  w2c_i0 = w2c_i2 ? w2c_i0 : w2c_i1;\n"),
            "  w2c_i0 = w2c_i2 ? w2c_i0 : w2c_l1;\n");
}

TEST(CFolding, CallsAndTrapsStayWhereTheyAre) {
  for (const char* text : {"  w2c_i1 = w2c_f3(instance, w2c_i1);\n  w2c_i0 += w2c_i1;\n",
                           "  w2c_i1 = I32_DIV_S(w2c_i1, w2c_i2);\n  w2c_i0 += w2c_i1;\n",
                           "  w2c_i1 = instance->w2c_g0;\n  w2c_i0 += w2c_i1;\n"}) {
    EXPECT_EQ(fold(text), text);
  }
}

TEST(CFolding, AMacroThatEvaluatesTwiceOnlyGetsAName) {
  const std::string text = "  w2c_i1 = w2c_l1 + w2c_l2;\n  w2c_i1 = I32_CLZ(w2c_i1);\n";
  EXPECT_EQ(fold(text), text);
  EXPECT_EQ(fold("  w2c_i1 = w2c_l1;\n  w2c_i1 = I32_CLZ(w2c_i1);\n"),
            "  w2c_i1 = I32_CLZ(w2c_l1);\n");
}

TEST(CFolding, ValuesKeepTheTemporarysType) {
  // A literal of another C type is cast: 1u would shift as 32 bits.
  EXPECT_EQ(fold("  w2c_j0 = 1u;\n  w2c_j0 <<= (w2c_j1 & 63);\n"),
            "  w2c_j0 = ((u64)(1u)) << ((w2c_j1 & 63));\n");
  EXPECT_EQ(fold("  w2c_d1 = 3;\n  w2c_d0 /= w2c_d1;\n"), "  w2c_d0 /= ((f64)(3));\n");
}

TEST(CFolding, ADeadDefinitionGoes) {
  EXPECT_EQ(fold("  w2c_i0 = 7u;\n  w2c_i0 = w2c_l1;\n"), "  w2c_i0 = w2c_l1;\n");
}

TEST(CFolding, BigInputsFoldTheSameInParts) {
  std::string text;
  std::string expected;
  for (int i = 0; i < 200000; ++i) {  // one function each
    text += "  w2c_i1 = 3u;\n  w2c_i0 += w2c_i1;\n  w2c_l1 = w2c_i0;\n}\n";
    expected += "  w2c_i0 += 3u;\n  w2c_l1 = w2c_i0;\n}\n";
  }
  ASSERT_GT(text.size(), std::size_t{8} << 20);
  EXPECT_EQ(fold(text), expected);
}

}  // namespace
}  // namespace wasmshim::wasm
