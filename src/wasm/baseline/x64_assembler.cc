#include "x64_assembler.h"

#include <cpuid.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>

namespace wasmshim::wasm::x64 {
namespace {

constexpr std::uint8_t kGsPrefix = 0x65;
constexpr std::uint8_t kRex = 0x40;
constexpr std::uint8_t kRexW = 0x08;
constexpr std::uint8_t kRexR = 0x04;
constexpr std::uint8_t kRexX = 0x02;
constexpr std::uint8_t kRexB = 0x01;
// ModRM.rm / SIB values with special meaning.
constexpr std::uint8_t kRmSib = 4;
constexpr std::uint8_t kRmRipOrNoBase = 5;
constexpr std::uint8_t kSibNoIndex = 4;

std::uint8_t code(Reg reg) {
  return static_cast<std::uint8_t>(reg);
}
std::uint8_t low3(std::uint8_t reg) {
  return static_cast<std::uint8_t>(reg & 7U);
}
bool extended(std::uint8_t reg) {
  return (reg & 8U) != 0;
}
std::uint8_t modrm(std::uint8_t mod, std::uint8_t reg, std::uint8_t rm) {
  return static_cast<std::uint8_t>((mod << 6U) | (low3(reg) << 3U) | low3(rm));
}
std::uint8_t scale_bits(std::uint8_t scale) {
  switch (scale) {
    case 1:
      return 0;
    case 2:
      return 1;
    case 4:
      return 2;
    case 8:
      return 3;
    default:
      throw std::invalid_argument("x64 assembler: scale " + std::to_string(scale) +
                                  " is not 1, 2, 4 or 8");
  }
}
void check_memory(const Mem& memory) {
  if (memory.rip) {
    return;
  }
  if (memory.has_index) {
    if (memory.index == Reg::kRsp) {
      throw std::invalid_argument("x64 assembler: rsp cannot be an index register");
    }
    scale_bits(memory.scale);
  }
}

}  // namespace

Mem mem(Reg base, std::int32_t disp) {
  Mem m;
  m.base = base;
  m.disp = disp;
  return m;
}
Mem mem(Reg base, Reg index, std::uint8_t scale, std::int32_t disp) {
  Mem m = mem(base, disp);
  m.index = index;
  m.has_index = true;
  m.scale = scale;
  return m;
}
Mem gs_mem(Reg base, std::int32_t disp) {
  Mem m = mem(base, disp);
  m.gs = true;
  return m;
}
Mem rip_mem(Label label, std::int32_t disp) {
  Mem m;
  m.rip = true;
  m.label = label;
  m.disp = disp;
  return m;
}

// --- Labels -----------------------------------------------------------------

Label Assembler::new_label() {
  if (label_offsets_.size() > std::numeric_limits<std::uint32_t>::max()) {
    throw std::length_error("x64 assembler: too many labels");
  }
  Label label{static_cast<std::uint32_t>(label_offsets_.size())};
  label_offsets_.push_back(-1);
  waiting_.emplace_back();
  return label;
}

std::size_t Assembler::checked_index(Label label) const {
  if (label.id == 0 || label.id >= label_offsets_.size()) {
    throw std::invalid_argument("x64 assembler: label " + std::to_string(label.id) +
                                " was not made by this assembler");
  }
  return label.id;
}

bool Assembler::is_bound(Label label) const {
  return label_offsets_[checked_index(label)] >= 0;
}

std::size_t Assembler::offset_of(Label label) const {
  std::int64_t offset = label_offsets_[checked_index(label)];
  if (offset < 0) {
    throw std::logic_error("x64 assembler: label " + std::to_string(label.id) + " is not bound");
  }
  return static_cast<std::size_t>(offset);
}

void Assembler::bind(Label label) {
  std::size_t index = checked_index(label);
  if (label_offsets_[index] >= 0) {
    throw std::logic_error("x64 assembler: label " + std::to_string(label.id) + " is bound twice");
  }
  label_offsets_[index] = static_cast<std::int64_t>(code_.size());
  std::vector<Fixup> fixups = std::move(waiting_[index]);
  waiting_[index].clear();
  for (const Fixup& fixup : fixups) {
    // A label difference may still wait for its other label.
    if (fixup.base.id != 0 && !is_bound(fixup.base)) {
      waiting_[fixup.base.id].push_back(fixup);
    } else {
      patch(fixup);
    }
  }
}

void Assembler::finish() {
  for (std::size_t id = 1; id < waiting_.size(); ++id) {
    if (!waiting_[id].empty()) {
      throw std::logic_error("x64 assembler: label " + std::to_string(id) +
                             " is referenced but never bound");
    }
  }
}

void Assembler::reference(Label target, Label base, std::int64_t addend) {
  checked_index(target);
  if (base.id != 0) {
    checked_index(base);
  }
  Fixup fixup{code_.size(), target, base, addend};
  put32(0);
  if (!is_bound(target)) {
    waiting_[target.id].push_back(fixup);
  } else if (base.id != 0 && !is_bound(base)) {
    waiting_[base.id].push_back(fixup);
  } else {
    patch(fixup);
  }
}

void Assembler::patch(const Fixup& fixup) {
  std::int64_t value = label_offsets_[fixup.target.id] + fixup.addend;
  if (fixup.base.id != 0) {
    value -= label_offsets_[fixup.base.id];
  }
  if (!fits_int32(value)) {
    throw std::logic_error("x64 assembler: label " + std::to_string(fixup.target.id) +
                           " is out of 32-bit range");
  }
  auto field = static_cast<std::uint32_t>(static_cast<std::int32_t>(value));
  for (std::size_t i = 0; i < 4; ++i) {
    code_[fixup.position + i] = static_cast<std::uint8_t>(field >> (8 * i));
  }
}

// --- Encoding ---------------------------------------------------------------

void Assembler::put32(std::uint32_t value) {
  for (unsigned i = 0; i < 4; ++i) {
    put8(static_cast<std::uint8_t>(value >> (8 * i)));
  }
}

void Assembler::put64(std::uint64_t value) {
  put32(static_cast<std::uint32_t>(value));
  put32(static_cast<std::uint32_t>(value >> 32U));
}

// Order: segment override, operand-size/mandatory prefix, REX, opcode,
// ModRM [SIB] [disp]. The caller appends any immediate.
void Assembler::emit(const Encoding& encoding, std::uint8_t reg, Operand rm) {
  const Mem* memory = rm.memory;
  if (memory != nullptr) {
    // Before any byte is written, so a throw leaves the code as it was.
    check_memory(*memory);
    if (memory->rip) {
      checked_index(memory->label);
    }
  }
  if (memory != nullptr && memory->gs) {
    put8(kGsPrefix);
  }
  if (encoding.prefix != 0) {
    put8(encoding.prefix);
  }
  std::uint8_t rex = 0;
  if (encoding.rex_w) {
    rex |= kRexW;
  }
  if (extended(reg)) {
    rex |= kRexR;
  }
  bool byte_needs_rex = encoding.byte_reg && reg >= 4 && reg < 8;
  if (memory == nullptr) {
    if (extended(rm.reg)) {
      rex |= kRexB;
    }
    byte_needs_rex = byte_needs_rex || (encoding.byte_rm && rm.reg >= 4 && rm.reg < 8);
  } else if (!memory->rip) {
    if (memory->has_index && extended(code(memory->index))) {
      rex |= kRexX;
    }
    if (extended(code(memory->base))) {
      rex |= kRexB;
    }
  }
  if (rex != 0 || byte_needs_rex) {
    put8(static_cast<std::uint8_t>(kRex | rex));
  }
  // Most significant byte first; no opcode here starts with a zero byte.
  if (encoding.opcode > 0xFFFFU) {
    put8(static_cast<std::uint8_t>(encoding.opcode >> 16U));
  }
  if (encoding.opcode > 0xFFU) {
    put8(static_cast<std::uint8_t>(encoding.opcode >> 8U));
  }
  put8(static_cast<std::uint8_t>(encoding.opcode));
  if (memory == nullptr) {
    put8(modrm(3, reg, rm.reg));
  } else {
    emit_memory_operand(reg, *memory, encoding.immediate_size);
  }
}

void Assembler::emit_memory_operand(std::uint8_t reg, const Mem& memory,
                                    std::size_t immediate_size) {
  if (memory.rip) {
    put8(modrm(0, reg, kRmRipOrNoBase));
    // Relative to the end of the instruction, which lies past the immediate.
    auto end = static_cast<std::int64_t>(code_.size() + 4 + immediate_size);
    reference(memory.label, Label{}, memory.disp - end);
    return;
  }
  std::uint8_t base = code(memory.base);
  std::uint8_t mod = 2;
  // With mod 00, rm/base 101 means "no base" (or rip): rbp and r13 need a disp8 of 0.
  if (memory.disp == 0 && low3(base) != kRmRipOrNoBase) {
    mod = 0;
  } else if (fits_int8(memory.disp)) {
    mod = 1;
  }
  // rm 100 means "SIB follows", so rsp and r12 as a base always take one.
  if (memory.has_index || low3(base) == kRmSib) {
    put8(modrm(mod, reg, kRmSib));
    std::uint8_t index = memory.has_index ? code(memory.index) : kSibNoIndex;
    std::uint8_t scale = memory.has_index ? scale_bits(memory.scale) : 0;
    put8(static_cast<std::uint8_t>((scale << 6U) | (low3(index) << 3U) | low3(base)));
  } else {
    put8(modrm(mod, reg, base));
  }
  if (mod == 1) {
    put8(static_cast<std::uint8_t>(memory.disp));
  } else if (mod == 2) {
    put32(static_cast<std::uint32_t>(memory.disp));
  }
}

void Assembler::emit_opcode_plus_reg(bool rex_w, std::uint8_t opcode, Reg reg) {
  std::uint8_t rex = rex_w ? kRexW : 0;
  if (extended(code(reg))) {
    rex |= kRexB;
  }
  if (rex != 0) {
    put8(static_cast<std::uint8_t>(kRex | rex));
  }
  put8(static_cast<std::uint8_t>(opcode + low3(code(reg))));
}

// --- Executable code --------------------------------------------------------

ExecutableCode ExecutableCode::copy_of(const std::vector<std::uint8_t>& bytes) {
  long page = ::sysconf(_SC_PAGESIZE);
  auto page_size = page > 0 ? static_cast<std::size_t>(page) : std::size_t{4096};
  // At least one page, so that empty code still has a valid mapping.
  std::size_t mapped = (bytes.size() + page_size - 1) / page_size * page_size;
  if (mapped == 0) {
    mapped = page_size;
  }
  void* memory =
      ::mmap(nullptr, mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (memory == MAP_FAILED) {
    throw std::system_error(errno, std::generic_category(), "x64 executable code: mmap");
  }
  ExecutableCode result;
  result.data_ = static_cast<std::uint8_t*>(memory);
  result.size_ = bytes.size();
  result.mapped_ = mapped;
  if (!bytes.empty()) {
    std::memcpy(result.data_, bytes.data(), bytes.size());
  }
  if (::mprotect(memory, mapped, PROT_READ | PROT_EXEC) != 0) {
    throw std::system_error(errno, std::generic_category(), "x64 executable code: mprotect");
  }
  return result;
}

ExecutableCode::ExecutableCode(ExecutableCode&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)),
      size_(std::exchange(other.size_, 0)),
      mapped_(std::exchange(other.mapped_, 0)) {}

ExecutableCode& ExecutableCode::operator=(ExecutableCode&& other) noexcept {
  if (this != &other) {
    release();
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
    mapped_ = std::exchange(other.mapped_, 0);
  }
  return *this;
}

ExecutableCode::~ExecutableCode() {
  release();
}

void ExecutableCode::release() noexcept {
  if (data_ != nullptr) {
    ::munmap(data_, mapped_);
    data_ = nullptr;
    size_ = 0;
    mapped_ = 0;
  }
}

// --- CPU features -----------------------------------------------------------

bool cpu_has_baseline_features() {
  unsigned eax = 0;
  unsigned ebx = 0;
  unsigned ecx = 0;
  unsigned edx = 0;
  if (__get_cpuid(1, &eax, &ebx, &ecx, &edx) == 0) {
    return false;
  }
  bool sse41 = (ecx & bit_SSE4_1) != 0;
  bool popcnt = (ecx & bit_POPCNT) != 0;
  // LZCNT is reported as ABM in the extended leaf, TZCNT with BMI1 in leaf 7.
  if (__get_cpuid(0x80000001U, &eax, &ebx, &ecx, &edx) == 0) {
    return false;
  }
  bool lzcnt = (ecx & bit_LZCNT) != 0;
  if (__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx) == 0) {
    return false;
  }
  bool bmi1 = (ebx & bit_BMI) != 0;
  return sse41 && popcnt && lzcnt && bmi1;
}

}  // namespace wasmshim::wasm::x64
