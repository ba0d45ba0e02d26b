#include "entry_thunk.h"

namespace wasmshim::wasm::baseline {

using x64::Alu;
using x64::Reg;
using x64::Size;

void emit_entry_thunk(x64::Assembler& as, x64::Label entry) {
  // rdi instance, rsi area, rdx slots, rcx function.
  as.bind(entry);
  as.push(Reg::kRbp);
  as.mov(Size::k64, Reg::kRbp, Reg::kRsp);
  const Reg saved[] = {Reg::kRbx, Reg::kR12, Reg::kR13, Reg::kR14, Reg::kR15};
  for (Reg reg : saved) {
    as.push(reg);
  }
  // Compiled code keeps only rbp, rsp and r14 (the instance): the area and
  // its size wait in this frame across the call.
  const auto saved_bytes = 8 * static_cast<std::int32_t>(std::size(saved));
  const x64::Mem area_home = x64::mem(Reg::kRbp, -saved_bytes - 8);
  const x64::Mem slots_home = x64::mem(Reg::kRbp, -saved_bytes - 16);
  as.alu(Alu::kSub, Size::k64, Reg::kRsp, 16);
  as.mov(Size::k64, area_home, Reg::kRsi);
  as.mov(Size::k64, slots_home, Reg::kRdx);
  as.mov(Size::k64, Reg::kR14, Reg::kRdi);
  as.mov(Size::k64, Reg::kR12, Reg::kRsi);
  as.mov(Size::k64, Reg::kR13, Reg::kRdx);
  as.mov(Size::k64, Reg::kR15, Reg::kRcx);
  // The area on the machine stack, 16-byte aligned in size.
  as.mov(Size::k64, Reg::kRax, Reg::kRdx);
  as.shift(x64::Shift::kShl, Size::k64, Reg::kRax, 3);
  as.alu(Alu::kAdd, Size::k64, Reg::kRax, 15);
  as.alu(Alu::kAnd, Size::k64, Reg::kRax, -16);
  as.alu(Alu::kSub, Size::k64, Reg::kRsp, Reg::kRax);

  const auto copy = [&as](bool to_stack) {
    const x64::Label loop = as.new_label();
    const x64::Label done = as.new_label();
    as.mov_imm(Size::k32, Reg::kRcx, 0);
    as.bind(loop);
    as.alu(Alu::kCmp, Size::k64, Reg::kRcx, Reg::kR13);
    as.jcc(x64::Cond::kAe, done);
    const x64::Mem in_area = x64::mem(Reg::kR12, Reg::kRcx, 8);
    const x64::Mem on_stack = x64::mem(Reg::kRsp, Reg::kRcx, 8);
    as.mov(Size::k64, Reg::kRax, to_stack ? in_area : on_stack);
    as.mov(Size::k64, to_stack ? on_stack : in_area, Reg::kRax);
    as.alu(Alu::kAdd, Size::k64, Reg::kRcx, 1);
    as.jmp(loop);
    as.bind(done);
  };
  copy(true);
  as.call(Reg::kR15);
  as.mov(Size::k64, Reg::kR12, area_home);
  as.mov(Size::k64, Reg::kR13, slots_home);
  copy(false);

  as.lea(Size::k64, Reg::kRsp, x64::mem(Reg::kRbp, -saved_bytes));
  for (auto reg = std::rbegin(saved); reg != std::rend(saved); ++reg) {
    as.pop(*reg);
  }
  as.pop(Reg::kRbp);
  as.ret();
}

}  // namespace wasmshim::wasm::baseline
