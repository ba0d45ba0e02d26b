// The x64 assembler's encodings: every emitter's bytes, over a spread of
// operands, against what GNU as makes of the same instruction in Intel
// syntax, and label references patched forward and backward.
#include "../baseline/x64_assembler.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <spawn.h>
#include <sys/wait.h>

#include <array>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "support/temp_dir.h"

extern char** environ;

namespace wasmshim::wasm::x64 {
namespace {

// --- Operand names as GNU as spells them ------------------------------------

constexpr std::array<const char*, 16> kNames64 = {"rax", "rcx", "rdx", "rbx", "rsp", "rbp",
                                                  "rsi", "rdi", "r8",  "r9",  "r10", "r11",
                                                  "r12", "r13", "r14", "r15"};
constexpr std::array<const char*, 16> kNames8 = {"al",   "cl",   "dl",   "bl",  "spl",  "bpl",
                                                 "sil",  "dil",  "r8b",  "r9b", "r10b", "r11b",
                                                 "r12b", "r13b", "r14b", "r15b"};
constexpr std::array<const char*, 16> kConds = {"o", "no", "b", "ae", "e", "ne", "be", "a",
                                                "s", "ns", "p", "np", "l", "ge", "le", "g"};

std::size_t index_of(Reg reg) {
  return static_cast<std::size_t>(reg);
}
// rax -> eax/ax, r8 -> r8d/r8w.
std::string narrow(Reg reg, const char* low_prefix, const char* high_suffix) {
  std::string name64 = kNames64.at(index_of(reg));
  return reg < Reg::kR8 ? low_prefix + name64.substr(1) : name64 + high_suffix;
}
std::string name(Size size, Reg reg) {
  return size == Size::k64 ? kNames64.at(index_of(reg)) : narrow(reg, "e", "d");
}
std::string name16(Reg reg) {
  return narrow(reg, "", "w");
}
std::string name8(Reg reg) {
  return kNames8.at(index_of(reg));
}
std::string name(Xmm reg) {
  return "xmm" + std::to_string(static_cast<int>(reg));
}
std::string cond_name(Cond cond) {
  return kConds.at(static_cast<std::size_t>(cond));
}
std::string ptr(Size size) {
  return size == Size::k64 ? "qword ptr " : "dword ptr ";
}
std::string ptr(Fp type) {
  return type == Fp::kF64 ? "qword ptr " : "dword ptr ";
}
std::string suffix(Fp type) {
  return type == Fp::kF64 ? "d" : "s";
}

// [base + index*scale + disp] (no rip: label tests write theirs).
std::string address(const Mem& m) {
  std::string text = m.gs ? "gs:[" : "[";
  text += kNames64.at(index_of(m.base));
  if (m.has_index) {
    text += " + " + std::string(kNames64.at(index_of(m.index))) + "*" + std::to_string(m.scale);
  }
  if (m.disp > 0) {
    text += " + " + std::to_string(m.disp);
  } else if (m.disp < 0) {
    text += " - " + std::to_string(-static_cast<std::int64_t>(m.disp));
  }
  return text + "]";
}

// Each of the 16 values of Reg, Xmm or Cond.
template <typename Enum>
std::vector<Enum> all() {
  std::vector<Enum> values;
  for (std::uint8_t i = 0; i < 16; ++i) {
    values.push_back(static_cast<Enum>(i));
  }
  return values;
}
// Low and extended registers, and those with special encodings (rsp, rbp,
// r12, r13 in ModRM.rm; rax in short forms).
std::vector<Reg> some_regs() {
  return {Reg::kRax, Reg::kRcx, Reg::kRdx, Reg::kRsp, Reg::kRbp, Reg::kRsi,
          Reg::kRdi, Reg::kR8,  Reg::kR11, Reg::kR12, Reg::kR13, Reg::kR15};
}
std::vector<Xmm> some_xmms() {
  return {Xmm::kXmm0, Xmm::kXmm1, Xmm::kXmm5, Xmm::kXmm7, Xmm::kXmm8, Xmm::kXmm12, Xmm::kXmm15};
}
constexpr std::int32_t kInt32Min = std::numeric_limits<std::int32_t>::min();
constexpr std::int32_t kInt32Max = std::numeric_limits<std::int32_t>::max();
constexpr std::array<Size, 2> kSizes = {Size::k32, Size::k64};
constexpr std::array<Fp, 2> kFps = {Fp::kF32, Fp::kF64};

// Bases with and without special encodings, indexes (none, low, extended,
// rbp/r12/r13 which are special only as a base), every scale, and
// displacements of none, 8 and 32 bits at their edges; every third with GS.
std::vector<Mem> memory_operands() {
  const std::array<Reg, 9> bases = {Reg::kRax, Reg::kRcx, Reg::kRsp, Reg::kRbp, Reg::kRdi,
                                    Reg::kR8,  Reg::kR12, Reg::kR13, Reg::kR15};
  const std::array<std::int32_t, 8> disps = {0, 8, -128, 127, 128, -129, 0x12345678, kInt32Min};
  struct Index {
    bool used;
    Reg reg;
    std::uint8_t scale;
  };
  const std::array<Index, 6> indexes = {Index{false, Reg::kRax, 1}, Index{true, Reg::kRcx, 1},
                                        Index{true, Reg::kRbp, 2},  Index{true, Reg::kR12, 4},
                                        Index{true, Reg::kR13, 8},  Index{true, Reg::kRax, 8}};
  std::vector<Mem> result;
  for (Reg base : bases) {
    for (const Index& index : indexes) {
      for (std::int32_t disp : disps) {
        Mem m = index.used ? mem(base, index.reg, index.scale, disp) : mem(base, disp);
        m.gs = result.size() % 3 == 0;
        result.push_back(m);
      }
    }
  }
  return result;
}

// --- Comparison with GNU as -------------------------------------------------

// Runs argv (argv[0] a path) with stdout and stderr in files; its exit status.
int run(const std::vector<std::string>& argv, const std::filesystem::path& out,
        const std::filesystem::path& err) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&actions, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  std::vector<char*> args;
  args.reserve(argv.size() + 1);
  for (const std::string& arg : argv) {
    args.push_back(const_cast<char*>(arg.c_str()));
  }
  args.push_back(nullptr);
  pid_t pid = 0;
  int rc = ::posix_spawn(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    throw std::runtime_error("cannot start " + argv[0]);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// A tool's messages, enough of them to see what went wrong.
std::string messages(const std::filesystem::path& path) {
  return read_text(path).substr(0, 4000);
}

std::string hex(const std::vector<std::uint8_t>& bytes, std::size_t begin, std::size_t end) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string text;
  for (std::size_t i = begin; i < end && i < bytes.size(); ++i) {
    if (!text.empty()) {
      text += ' ';
    }
    text += kDigits[bytes[i] >> 4U];
    text += kDigits[bytes[i] & 0xFU];
  }
  return text;
}

// Lines of Intel-syntax source, each with what our assembler emits for it.
// GNU as assembles them all at once; a symbol before each line gives its
// offset in as's output, so that each line's bytes are compared on their own.
class GasCheck {
 public:
  template <typename Emit>
  void add(const std::string& text, Emit emit) {
    std::size_t begin = assembler_.size();
    emit(assembler_);
    lines_.push_back({text, begin, assembler_.size()});
  }
  Assembler& assembler() { return assembler_; }

  void expect_same_bytes() {
    assembler_.finish();
    testing::TempDir dir;
    std::ostringstream source;
    source << ".intel_syntax noprefix\n.text\n";
    for (std::size_t i = 0; i < lines_.size(); ++i) {
      source << "line_" << i << ":\n" << lines_[i].text << "\n";
    }
    source << "line_" << lines_.size() << ":\n";
    const std::filesystem::path& path = dir.path();
    std::ofstream(path / "in.s") << source.str();
    auto out = path / "out.txt";
    auto err = path / "err.txt";
    ASSERT_EQ(run({"/usr/bin/as", "--64", "-o", path / "in.o", path / "in.s"}, out, err), 0)
        << messages(err);
    ASSERT_EQ(
        run({"/usr/bin/objcopy", "-O", "binary", "-j", ".text", path / "in.o", path / "text.bin"},
            out, err),
        0)
        << messages(err);
    ASSERT_EQ(run({"/usr/bin/nm", "--defined-only", path / "in.o"}, path / "symbols.txt", err), 0)
        << messages(err);
    std::string text = read_text(path / "text.bin");
    std::vector<std::uint8_t> gas(text.begin(), text.end());

    std::map<std::size_t, std::size_t> gas_offsets;  // line -> offset
    std::istringstream symbols(read_text(path / "symbols.txt"));
    std::string offset;
    std::string kind;
    std::string symbol;
    while (symbols >> offset >> kind >> symbol) {
      if (symbol.rfind("line_", 0) == 0) {
        gas_offsets[std::stoul(symbol.substr(5))] = std::stoul(offset, nullptr, 16);
      }
    }
    ASSERT_EQ(gas_offsets.size(), lines_.size() + 1);

    std::size_t mismatches = 0;
    for (std::size_t i = 0; i < lines_.size(); ++i) {
      std::string ours = hex(assembler_.bytes(), lines_[i].begin, lines_[i].end);
      std::string theirs = hex(gas, gas_offsets[i], gas_offsets[i + 1]);
      if (ours != theirs && ++mismatches <= 40) {
        ADD_FAILURE() << lines_[i].text << "\n  ours:   " << ours << "\n  GNU as: " << theirs;
      }
    }
    EXPECT_EQ(mismatches, 0U) << "of " << lines_.size() << " lines";
    EXPECT_EQ(assembler_.size(), gas.size());
  }

 private:
  struct Line {
    std::string text;
    std::size_t begin;
    std::size_t end;
  };
  Assembler assembler_;
  std::vector<Line> lines_;
};

// The form mov_imm promises: mov r32 when the value fits 32 bits unsigned,
// a sign-extended imm32 when it fits signed, else movabs.
std::string mov_imm_text(Size size, Reg dst, std::uint64_t imm) {
  if (size == Size::k32 || imm <= std::numeric_limits<std::uint32_t>::max()) {
    return "mov " + name(Size::k32, dst) + ", " + std::to_string(static_cast<std::uint32_t>(imm));
  }
  auto value = static_cast<std::int64_t>(imm);
  if (value >= std::numeric_limits<std::int32_t>::min() &&
      value <= std::numeric_limits<std::int32_t>::max()) {
    return "mov " + name(Size::k64, dst) + ", " + std::to_string(value);
  }
  return "movabs " + name(Size::k64, dst) + ", " + std::to_string(imm);
}

TEST(X64AssemblerVsGas, Moves) {
  GasCheck check;
  for (Size size : kSizes) {
    for (Reg dst : all<Reg>()) {
      for (Reg src : all<Reg>()) {
        check.add("mov " + name(size, dst) + ", " + name(size, src),
                  [&](Assembler& a) { a.mov(size, dst, src); });
      }
    }
  }
  std::vector<Reg> regs = all<Reg>();
  std::vector<Mem> mems = memory_operands();
  for (std::size_t i = 0; i < mems.size(); ++i) {
    const Mem& m = mems[i];
    Reg r = regs[i % regs.size()];
    Reg other = regs[(i * 7 + 3) % regs.size()];
    for (Size size : kSizes) {
      check.add("mov " + name(size, r) + ", " + ptr(size) + address(m),
                [&](Assembler& a) { a.mov(size, r, m); });
      check.add("mov " + ptr(size) + address(m) + ", " + name(size, other),
                [&](Assembler& a) { a.mov(size, m, other); });
      check.add("mov " + ptr(size) + address(m) + ", " + std::to_string(m.disp ^ 0x5A5A),
                [&](Assembler& a) { a.mov_imm(size, m, m.disp ^ 0x5A5A); });
      check.add("movsx " + name(size, r) + ", byte ptr " + address(m),
                [&](Assembler& a) { a.movsx8(size, r, m); });
      check.add("movsx " + name(size, other) + ", word ptr " + address(m),
                [&](Assembler& a) { a.movsx16(size, other, m); });
      check.add("lea " + name(size, other) + ", " + address(m),
                [&](Assembler& a) { a.lea(size, other, m); });
    }
    check.add("mov byte ptr " + address(m) + ", " + name8(r),
              [&](Assembler& a) { a.store8(m, r); });
    check.add("mov word ptr " + address(m) + ", " + name16(other),
              [&](Assembler& a) { a.store16(m, other); });
    check.add("movzx " + name(Size::k32, r) + ", byte ptr " + address(m),
              [&](Assembler& a) { a.movzx8(r, m); });
    check.add("movzx " + name(Size::k32, other) + ", word ptr " + address(m),
              [&](Assembler& a) { a.movzx16(other, m); });
    check.add("movsxd " + name(Size::k64, r) + ", dword ptr " + address(m),
              [&](Assembler& a) { a.movsxd(r, m); });
  }
  // Each side of the unsigned and signed 32-bit limits, and wider values.
  const std::array<std::uint64_t, 12> immediates = {
      0x0000000000000000, 0x0000000000000001, 0x000000007FFFFFFF, 0x0000000080000000,
      0x00000000FFFFFFFF, 0x0000000100000000, 0xFFFFFFFFFFFFFFFF, 0xFFFFFFFF80000000,
      0xFFFFFFFF7FFFFFFF, 0x123456789ABCDEF0, 0x8000000000000000, 0xFFFFFFFFFFFFFF80};
  for (Size size : kSizes) {
    for (Reg dst : all<Reg>()) {
      for (std::uint64_t imm : immediates) {
        check.add(mov_imm_text(size, dst, imm), [&](Assembler& a) { a.mov_imm(size, dst, imm); });
      }
    }
  }
  for (Reg dst : all<Reg>()) {
    for (Reg src : all<Reg>()) {
      check.add("movzx " + name(Size::k32, dst) + ", " + name8(src),
                [&](Assembler& a) { a.movzx8(dst, src); });
      check.add("movzx " + name(Size::k32, dst) + ", " + name16(src),
                [&](Assembler& a) { a.movzx16(dst, src); });
      check.add("movsxd " + name(Size::k64, dst) + ", " + name(Size::k32, src),
                [&](Assembler& a) { a.movsxd(dst, src); });
      for (Size size : kSizes) {
        check.add("movsx " + name(size, dst) + ", " + name8(src),
                  [&](Assembler& a) { a.movsx8(size, dst, src); });
        check.add("movsx " + name(size, dst) + ", " + name16(src),
                  [&](Assembler& a) { a.movsx16(size, dst, src); });
      }
    }
  }
  check.expect_same_bytes();
}

TEST(X64AssemblerVsGas, IntegerArithmetic) {
  const std::array<std::pair<Alu, const char*>, 6> alus = {
      std::pair{Alu::kAdd, "add"}, std::pair{Alu::kOr, "or"},   std::pair{Alu::kAnd, "and"},
      std::pair{Alu::kSub, "sub"}, std::pair{Alu::kXor, "xor"}, std::pair{Alu::kCmp, "cmp"}};
  const std::array<std::pair<Shift, const char*>, 5> shifts = {
      std::pair{Shift::kRol, "rol"}, std::pair{Shift::kRor, "ror"}, std::pair{Shift::kShl, "shl"},
      std::pair{Shift::kShr, "shr"}, std::pair{Shift::kSar, "sar"}};
  const std::array<std::int32_t, 9> immediates = {0,   1,    -1,        127,      -128,
                                                  128, -129, kInt32Max, kInt32Min};
  GasCheck check;
  std::vector<Mem> mems = memory_operands();
  for (Size size : kSizes) {
    for (const auto& [alu_op, mnemonic] : alus) {
      Alu op = alu_op;
      std::string m = mnemonic;
      for (Reg dst : some_regs()) {
        for (Reg src : some_regs()) {
          check.add(m + " " + name(size, dst) + ", " + name(size, src),
                    [&](Assembler& a) { a.alu(op, size, dst, src); });
        }
        for (std::int32_t imm : immediates) {
          check.add(m + " " + name(size, dst) + ", " + std::to_string(imm),
                    [&](Assembler& a) { a.alu(op, size, dst, imm); });
        }
      }
      for (std::size_t i = 0; i < mems.size(); i += 5) {
        Reg r = all<Reg>()[i % 16];
        check.add(m + " " + name(size, r) + ", " + ptr(size) + address(mems[i]),
                  [&](Assembler& a) { a.alu(op, size, r, mems[i]); });
        check.add(m + " " + ptr(size) + address(mems[i]) + ", " + name(size, r),
                  [&](Assembler& a) { a.alu(op, size, mems[i], r); });
      }
    }
    for (Reg dst : some_regs()) {
      for (Reg src : some_regs()) {
        check.add("test " + name(size, dst) + ", " + name(size, src),
                  [&](Assembler& a) { a.test(size, dst, src); });
        check.add("imul " + name(size, dst) + ", " + name(size, src),
                  [&](Assembler& a) { a.imul(size, dst, src); });
        check.add("xchg " + name(size, dst) + ", " + name(size, src),
                  [&](Assembler& a) { a.xchg(size, dst, src); });
        check.add("lzcnt " + name(size, dst) + ", " + name(size, src),
                  [&](Assembler& a) { a.lzcnt(size, dst, src); });
        check.add("tzcnt " + name(size, dst) + ", " + name(size, src),
                  [&](Assembler& a) { a.tzcnt(size, dst, src); });
        check.add("popcnt " + name(size, dst) + ", " + name(size, src),
                  [&](Assembler& a) { a.popcnt(size, dst, src); });
        for (std::int32_t imm : {3, -128, 1000, -70000}) {
          check.add("imul " + name(size, dst) + ", " + name(size, src) + ", " + std::to_string(imm),
                    [&](Assembler& a) { a.imul(size, dst, src, imm); });
        }
      }
    }
    for (Reg reg : all<Reg>()) {
      check.add("div " + name(size, reg), [&](Assembler& a) { a.div(size, reg); });
      check.add("idiv " + name(size, reg), [&](Assembler& a) { a.idiv(size, reg); });
      check.add("neg " + name(size, reg), [&](Assembler& a) { a.neg(size, reg); });
      check.add("not " + name(size, reg), [&](Assembler& a) { a.not_(size, reg); });
      for (const auto& [shift_op, mnemonic] : shifts) {
        Shift op = shift_op;
        std::string m = mnemonic;
        check.add(m + " " + name(size, reg) + ", cl",
                  [&](Assembler& a) { a.shift_cl(op, size, reg); });
        for (std::uint8_t imm : std::array<std::uint8_t, 4>{1, 2, 31, 63}) {
          check.add(m + " " + name(size, reg) + ", " + std::to_string(imm),
                    [&](Assembler& a) { a.shift(op, size, reg, imm); });
        }
      }
    }
    check.add(size == Size::k64 ? "cqo" : "cdq", [&](Assembler& a) { a.sign_extend_rax(size); });
  }
  for (Cond cond : all<Cond>()) {
    for (Reg reg : all<Reg>()) {
      check.add("set" + cond_name(cond) + " " + name8(reg),
                [&](Assembler& a) { a.setcc(cond, reg); });
    }
    for (Size size : kSizes) {
      for (Reg dst : some_regs()) {
        Reg src = some_regs()[(index_of(dst) + 5) % some_regs().size()];
        check.add("cmov" + cond_name(cond) + " " + name(size, dst) + ", " + name(size, src),
                  [&](Assembler& a) { a.cmov(cond, size, dst, src); });
      }
    }
  }
  check.expect_same_bytes();
}

TEST(X64AssemblerVsGas, StackAndControl) {
  GasCheck check;
  for (Reg reg : all<Reg>()) {
    check.add("push " + name(Size::k64, reg), [&](Assembler& a) { a.push(reg); });
    check.add("pop " + name(Size::k64, reg), [&](Assembler& a) { a.pop(reg); });
    check.add("jmp " + name(Size::k64, reg), [&](Assembler& a) { a.jmp(reg); });
    check.add("call " + name(Size::k64, reg), [&](Assembler& a) { a.call(reg); });
  }
  std::vector<Mem> mems = memory_operands();
  for (std::size_t i = 0; i < mems.size(); i += 2) {
    check.add("jmp qword ptr " + address(mems[i]), [&](Assembler& a) { a.jmp(mems[i]); });
    check.add("call qword ptr " + address(mems[i]), [&](Assembler& a) { a.call(mems[i]); });
  }
  check.add("ret", [](Assembler& a) { a.ret(); });
  check.add("ud2", [](Assembler& a) { a.ud2(); });
  check.add("int3", [](Assembler& a) { a.int3(); });
  check.add(".long 0xdeadbeef", [](Assembler& a) { a.emit_u32(0xDEADBEEF); });
  check.add(".quad 0x0123456789abcdef", [](Assembler& a) { a.emit_u64(0x0123456789ABCDEF); });
  check.add("ret", [](Assembler& a) { a.ret(); });
  check.add(".balign 16, 0xcc", [](Assembler& a) { a.align(16); });
  check.add(".balign 16, 0xcc", [](Assembler& a) { a.align(16); });  // already aligned
  check.add("ret", [](Assembler& a) { a.ret(); });
  check.add(".balign 8, 0xcc", [](Assembler& a) { a.align(8); });
  check.expect_same_bytes();
}

TEST(X64AssemblerVsGas, ScalarSse) {
  const std::array<std::pair<FpOp, const char*>, 7> ops = {
      std::pair{FpOp::kSqrt, "sqrt"}, std::pair{FpOp::kAdd, "add"}, std::pair{FpOp::kMul, "mul"},
      std::pair{FpOp::kSub, "sub"},   std::pair{FpOp::kMin, "min"}, std::pair{FpOp::kDiv, "div"},
      std::pair{FpOp::kMax, "max"}};
  GasCheck check;
  std::vector<Mem> mems = memory_operands();
  std::vector<Xmm> xmms = some_xmms();
  for (Fp type : kFps) {
    std::string s = suffix(type);
    for (Xmm dst : xmms) {
      for (Xmm src : xmms) {
        std::string operands = " " + name(dst) + ", " + name(src);
        check.add("movap" + s + operands, [&](Assembler& a) { a.movf(type, dst, src); });
        check.add("ucomis" + s + operands, [&](Assembler& a) { a.ucomis(type, dst, src); });
        check.add("andp" + s + operands, [&](Assembler& a) { a.andp(type, dst, src); });
        check.add("andnp" + s + operands, [&](Assembler& a) { a.andnp(type, dst, src); });
        check.add("orp" + s + operands, [&](Assembler& a) { a.orp(type, dst, src); });
        check.add("xorp" + s + operands, [&](Assembler& a) { a.xorp(type, dst, src); });
        check.add(std::string(type == Fp::kF64 ? "cvtss2sd" : "cvtsd2ss") + operands,
                  [&](Assembler& a) { a.cvts2s(type, dst, src); });
        for (std::uint8_t mode : std::array<std::uint8_t, 3>{0, 3, 9}) {
          check.add("rounds" + s + operands + ", " + std::to_string(mode),
                    [&](Assembler& a) { a.rounds(type, dst, src, mode); });
        }
        for (const auto& [fp_op, mnemonic] : ops) {
          FpOp op = fp_op;
          check.add(mnemonic + ("s" + s) + operands,
                    [&](Assembler& a) { a.fp(op, type, dst, src); });
        }
      }
      for (Reg reg : some_regs()) {
        for (Size size : kSizes) {
          std::string movd = size == Size::k64 ? "movq " : "movd ";
          check.add(movd + name(dst) + ", " + name(size, reg),
                    [&](Assembler& a) { a.movd(size, dst, reg); });
          check.add(movd + name(size, reg) + ", " + name(dst),
                    [&](Assembler& a) { a.movd(size, reg, dst); });
          check.add("cvtsi2s" + s + " " + name(dst) + ", " + name(size, reg),
                    [&](Assembler& a) { a.cvtsi2s(type, size, dst, reg); });
          check.add("cvtts" + s + "2si " + name(size, reg) + ", " + name(dst),
                    [&](Assembler& a) { a.cvtts2si(type, size, reg, dst); });
        }
      }
    }
    for (std::size_t i = 0; i < mems.size(); ++i) {
      const Mem& m = mems[i];
      Xmm x = static_cast<Xmm>(i % 16);
      check.add("movs" + s + " " + name(x) + ", " + ptr(type) + address(m),
                [&](Assembler& a) { a.movf(type, x, m); });
      check.add("movs" + s + " " + ptr(type) + address(m) + ", " + name(x),
                [&](Assembler& a) { a.movf(type, m, x); });
      check.add("andp" + s + " " + name(x) + ", xmmword ptr " + address(m),
                [&](Assembler& a) { a.andp(type, x, m); });
      check.add("xorp" + s + " " + name(x) + ", xmmword ptr " + address(m),
                [&](Assembler& a) { a.xorp(type, x, m); });
      FpOp op = ops[i % ops.size()].first;
      check.add(
          ops[i % ops.size()].second + ("s" + s) + " " + name(x) + ", " + ptr(type) + address(m),
          [&](Assembler& a) { a.fp(op, type, x, m); });
    }
  }
  check.expect_same_bytes();
}

// jmp/jcc/call/lea/rip_mem/emit_label_offset, to labels bound before and
// after the reference; GNU as's {disp32} keeps its branches rel32 as ours.
TEST(X64AssemblerVsGas, LabelsForwardAndBackward) {
  GasCheck check;
  Assembler& a = check.assembler();
  Label start = a.new_label();
  Label back = a.new_label();
  Label fwd = a.new_label();
  Label table = a.new_label();
  Label later = a.new_label();
  Label first = a.new_label();
  Label second = a.new_label();
  Label data = a.new_label();
  check.add("start:", [&](Assembler& as) { as.bind(start); });
  check.add("{disp32} jmp fwd", [&](Assembler& as) { as.jmp(fwd); });
  for (Cond cond : all<Cond>()) {
    check.add("{disp32} j" + cond_name(cond) + " fwd", [&](Assembler& as) { as.jcc(cond, fwd); });
  }
  check.add("call fwd", [&](Assembler& as) { as.call(fwd); });
  check.add("lea rcx, [rip + fwd]", [&](Assembler& as) { as.lea(Reg::kRcx, fwd); });
  check.add("lea r13, [rip + back]", [&](Assembler& as) { as.lea(Reg::kR13, back); });
  check.add("back:", [&](Assembler& as) { as.bind(back); });
  check.add("mov rax, qword ptr [rip + data + 8]",
            [&](Assembler& as) { as.mov(Size::k64, Reg::kRax, rip_mem(data, 8)); });
  check.add("mov qword ptr [rip + data - 300], r9",
            [&](Assembler& as) { as.mov(Size::k64, rip_mem(data, -300), Reg::kR9); });
  // The immediate follows the displacement: rip is past both.
  check.add("mov dword ptr [rip + data - 4], 1234567",
            [&](Assembler& as) { as.mov_imm(Size::k32, rip_mem(data, -4), 1234567); });
  check.add("mov qword ptr [rip + back], -1",
            [&](Assembler& as) { as.mov_imm(Size::k64, rip_mem(back), -1); });
  check.add("add r10, qword ptr [rip + back + 16]",
            [&](Assembler& as) { as.alu(Alu::kAdd, Size::k64, Reg::kR10, rip_mem(back, 16)); });
  check.add("cmp dword ptr [rip + data], r12d",
            [&](Assembler& as) { as.alu(Alu::kCmp, Size::k32, rip_mem(data), Reg::kR12); });
  check.add("movsd xmm9, qword ptr [rip + data]",
            [&](Assembler& as) { as.movf(Fp::kF64, Xmm::kXmm9, rip_mem(data)); });
  check.add("addss xmm3, dword ptr [rip + back]",
            [&](Assembler& as) { as.fp(FpOp::kAdd, Fp::kF32, Xmm::kXmm3, rip_mem(back)); });
  check.add("xorpd xmm14, xmmword ptr [rip + data + 16]",
            [&](Assembler& as) { as.xorp(Fp::kF64, Xmm::kXmm14, rip_mem(data, 16)); });
  check.add("movzx eax, byte ptr [rip + data]",
            [&](Assembler& as) { as.movzx8(Reg::kRax, rip_mem(data)); });
  check.add("jmp qword ptr [rip + table]", [&](Assembler& as) { as.jmp(rip_mem(table)); });
  check.add("call qword ptr [rip + back]", [&](Assembler& as) { as.call(rip_mem(back)); });
  check.add("{disp32} jmp back", [&](Assembler& as) { as.jmp(back); });
  for (Cond cond : all<Cond>()) {
    check.add("{disp32} j" + cond_name(cond) + " back", [&](Assembler& as) { as.jcc(cond, back); });
  }
  check.add("call back", [&](Assembler& as) { as.call(back); });
  check.add("call start", [&](Assembler& as) { as.call(start); });
  check.add("lea r12, [rip + start]", [&](Assembler& as) { as.lea(Reg::kR12, start); });
  check.add("fwd:", [&](Assembler& as) { as.bind(fwd); });
  check.add("ret", [&](Assembler& as) { as.ret(); });
  // Label differences with the base label bound, unbound, or both unbound,
  // bound in either order.
  check.add(".long second - first", [&](Assembler& as) { as.emit_label_offset(second, first); });
  check.add(".long first - second", [&](Assembler& as) { as.emit_label_offset(first, second); });
  check.add(".balign 8, 0xcc", [&](Assembler& as) { as.align(8); });
  check.add("table:", [&](Assembler& as) { as.bind(table); });
  check.add(".long back - table", [&](Assembler& as) { as.emit_label_offset(back, table); });
  check.add(".long later - table", [&](Assembler& as) { as.emit_label_offset(later, table); });
  check.add(".long fwd - later", [&](Assembler& as) { as.emit_label_offset(fwd, later); });
  check.add(".long table - table", [&](Assembler& as) { as.emit_label_offset(table, table); });
  check.add("later:", [&](Assembler& as) { as.bind(later); });
  check.add("int3", [&](Assembler& as) { as.int3(); });
  check.add("second:", [&](Assembler& as) { as.bind(second); });
  check.add("int3", [&](Assembler& as) { as.int3(); });
  check.add("first:", [&](Assembler& as) { as.bind(first); });
  check.add("data:", [&](Assembler& as) { as.bind(data); });
  check.add(".quad 0x123456789abcdef0", [&](Assembler& as) { as.emit_u64(0x123456789ABCDEF0); });
  check.expect_same_bytes();
  EXPECT_EQ(a.offset_of(start), 0U);
  EXPECT_LT(a.offset_of(back), a.offset_of(fwd));
}

}  // namespace
}  // namespace wasmshim::wasm::x64
