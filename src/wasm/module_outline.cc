// The framing of a module file, read by offset: a container runtime refuses
// a malformed module at Create without reading its code or data, which are
// most of its bytes (a cached start never reads them at all).
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <string_view>

#include "wasmshim/wasm/module.h"

namespace wasmshim::wasm {
namespace {

constexpr std::array<std::uint8_t, 4> kMagic = {0x00, 0x61, 0x73, 0x6d};
constexpr std::array<std::uint8_t, 4> kVersion = {0x01, 0x00, 0x00, 0x00};
constexpr std::size_t kHeaderSize = kMagic.size() + kVersion.size();
// A leading section larger than this is no module a compiler makes; it is
// refused rather than read into memory at Create.
constexpr std::uint64_t kLargestLeadingSection = std::uint64_t{64} << 20;

enum SectionId : std::uint8_t {
  kCustom = 0,
  kType = 1,
  kImport = 2,
  kExport = 7,
  kDataCount = 12,
};

const char* section_name(unsigned id) {
  static constexpr std::array<const char*, 13> kNames = {
      "custom", "type",  "import",  "function", "table", "memory",   "global",
      "export", "start", "element", "code",     "data",  "datacount"};
  return id < kNames.size() ? kNames[id] : "unknown";
}

// Where a known section may stand: the binary format orders them, with
// datacount between element and code. Custom sections go anywhere.
int section_rank(unsigned id) {
  static constexpr std::array<int, 13> kRanks = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 12, 10};
  return kRanks[id];
}

std::string hex_byte(unsigned value) {
  std::array<char, 8> text{};
  std::snprintf(text.data(), text.size(), "0x%02x", value);
  return text.data();
}

// Reads the file by offset; every failure is a ModuleError at an offset.
class FileReader {
 public:
  FileReader(int fd, const std::string& name) : fd_(fd), name_(name) {
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
      fail(0, "cannot read the file");
    }
    size_ = static_cast<std::uint64_t>(st.st_size);
  }

  std::uint64_t size() const { return size_; }

  // Up to `count` bytes at `offset` (fewer at the end of the file).
  std::vector<std::uint8_t> read(std::uint64_t offset, std::uint64_t count) const {
    std::vector<std::uint8_t> bytes(static_cast<std::size_t>(count));
    std::size_t done = 0;
    while (done < bytes.size()) {
      const ssize_t n =
          ::pread(fd_, bytes.data() + done, bytes.size() - done, static_cast<off_t>(offset + done));
      if (n < 0 && errno == EINTR) {
        continue;
      }
      if (n < 0) {
        fail(offset, "cannot read the file");
      }
      if (n == 0) {
        break;
      }
      done += static_cast<std::size_t>(n);
    }
    bytes.resize(done);
    return bytes;
  }

  [[noreturn]] void fail(std::uint64_t offset, const std::string& reason) const {
    throw ModuleError(name_, offset, "malformed module: " + reason);
  }

 private:
  int fd_;
  const std::string& name_;
  std::uint64_t size_ = 0;
};

// Decodes the binary format's primitives from bytes that start at `base` in
// the file, so that errors name the file offset.
class Cursor {
 public:
  Cursor(const FileReader& file, std::vector<std::uint8_t> bytes, std::uint64_t base)
      : file_(file), bytes_(std::move(bytes)), base_(base) {}

  std::uint64_t offset() const { return base_ + position_; }
  bool at_end() const { return position_ == bytes_.size(); }
  std::size_t position() const { return position_; }

  std::uint8_t byte(const char* what) {
    if (position_ >= bytes_.size()) {
      fail(std::string("unexpected end of ") + what);
    }
    return bytes_[position_++];
  }

  // Unsigned LEB128 of at most `bits` bits.
  std::uint64_t leb(unsigned bits, const char* what) {
    const std::uint64_t start = offset();
    std::uint64_t value = 0;
    for (unsigned shift = 0;; shift += 7) {
      const std::uint8_t b = byte(what);
      const std::uint64_t payload = b & 0x7f;
      if (shift + 7 > bits && (payload >> (bits - shift)) != 0) {
        file_.fail(start, std::string(what) + " does not fit in " + std::to_string(bits) + " bits");
      }
      value |= payload << shift;
      if ((b & 0x80) == 0) {
        return value;
      }
      if (shift + 7 >= bits) {
        file_.fail(start, std::string(what) + " is longer than its LEB128 encoding allows");
      }
    }
  }
  std::uint32_t u32(const char* what) { return static_cast<std::uint32_t>(leb(32, what)); }

  std::string name(const char* what) {
    const std::uint32_t length = u32(what);
    if (length > bytes_.size() - position_) {
      fail(std::string(what) + " of " + std::to_string(length) +
           " bytes runs past the end of its section");
    }
    std::string text(bytes_.begin() + static_cast<std::ptrdiff_t>(position_),
                     bytes_.begin() + static_cast<std::ptrdiff_t>(position_ + length));
    position_ += length;
    return text;
  }

  ValueType value_type() {
    const std::uint64_t at = offset();
    const std::uint8_t code = byte("a value type");
    switch (code) {
      case 0x7f:
        return ValueType::kI32;
      case 0x7e:
        return ValueType::kI64;
      case 0x7d:
        return ValueType::kF32;
      case 0x7c:
        return ValueType::kF64;
      case 0x7b:
        return ValueType::kV128;
      case 0x70:
        return ValueType::kFuncRef;
      case 0x6f:
        return ValueType::kExternRef;
      default:
        file_.fail(at, "unknown value type " + hex_byte(code));
    }
  }

  // A table's or memory's limits: a flags byte, the minimum, the maximum
  // when flagged; memory64 (flag 4) counts in 64 bits.
  void limits() {
    const std::uint8_t flags = byte("limits");
    const unsigned bits = (flags & 0x04) != 0 ? 64 : 32;
    leb(bits, "a minimum");
    if ((flags & 0x01) != 0) {
      leb(bits, "a maximum");
    }
  }

  [[noreturn]] void fail(const std::string& reason) const { file_.fail(offset(), reason); }

 private:
  const FileReader& file_;
  std::vector<std::uint8_t> bytes_;
  std::uint64_t base_;
  std::size_t position_ = 0;
};

std::vector<FunctionType> read_types(Cursor& in) {
  std::vector<FunctionType> types(in.u32("the type count"));
  for (FunctionType& type : types) {
    if (const std::uint8_t form = in.byte("a function type"); form != 0x60) {
      in.fail("a type is " + hex_byte(form) + ", not a function type (0x60)");
    }
    for (auto* list : {&type.params, &type.results}) {
      list->resize(in.u32("a type's value count"));
      for (ValueType& value : *list) {
        value = in.value_type();
      }
    }
  }
  return types;
}

void read_imports(Cursor& in, const std::vector<FunctionType>& types, ModuleOutline& outline) {
  const std::uint32_t count = in.u32("the import count");
  for (std::uint32_t i = 0; i < count; ++i) {
    std::string module = in.name("an import's module name");
    std::string field = in.name("an import's name");
    const std::uint64_t at = in.offset();
    switch (const std::uint8_t kind = in.byte("an import's kind")) {
      case 0x00: {
        const std::uint32_t index = in.u32("a type index");
        if (index >= types.size()) {
          in.fail("import " + module + "." + field + " names type " + std::to_string(index) +
                  " of " + std::to_string(types.size()));
        }
        outline.function_imports.push_back({std::move(module), std::move(field), types[index]});
        continue;
      }
      case 0x01:
        in.byte("a table's element type");
        in.limits();
        break;
      case 0x02:
        in.limits();
        break;
      case 0x03:
        in.value_type();
        in.byte("a global's mutability");
        break;
      default:
        in.fail("import " + module + "." + field + " at offset " + std::to_string(at) +
                " has unknown kind " + hex_byte(kind));
    }
    outline.other_imports.push_back(module + "." + field);
  }
}

void read_exports(Cursor& in, ModuleOutline& outline) {
  const std::uint32_t count = in.u32("the export count");
  for (std::uint32_t i = 0; i < count; ++i) {
    in.name("an export's name");
    const std::uint8_t kind = in.byte("an export's kind");
    in.u32("an export's index");
    outline.exports_memory = outline.exports_memory || kind == 0x02;
  }
}

struct SectionHeader {
  unsigned id = 0;
  std::uint64_t start = 0;  // of the contents
  std::uint64_t size = 0;
};

SectionHeader read_section_header(const FileReader& file, std::uint64_t offset) {
  // An id byte and a size of at most five bytes.
  Cursor in(file, file.read(offset, 6), offset);
  SectionHeader header;
  header.id = in.byte("a section id");
  if (header.id > kDataCount) {
    file.fail(offset, "unknown section id " + std::to_string(header.id));
  }
  header.size = in.u32("a section size");
  header.start = in.offset();
  if (header.size > file.size() - header.start) {
    file.fail(offset, std::string(section_name(header.id)) + " section of " +
                          std::to_string(header.size) + " bytes runs past the end of the file (" +
                          std::to_string(file.size()) + " bytes)");
  }
  return header;
}

}  // namespace

ModuleOutline read_module_outline(int fd, const std::string& name) {
  const FileReader file(fd, name);
  const std::vector<std::uint8_t> head = file.read(0, kHeaderSize);
  if (head.size() < kMagic.size() || !std::equal(kMagic.begin(), kMagic.end(), head.begin())) {
    throw ModuleError(name, 0, "not a WebAssembly module (no \\0asm magic)");
  }
  if (head.size() < kHeaderSize) {
    file.fail(head.size(), "the file ends inside the header");
  }
  if (!std::equal(kVersion.begin(), kVersion.end(), head.begin() + kMagic.size())) {
    const bool component = head[4] == 0x0d && head[5] == 0x00;
    throw ModuleError(name, 4,
                      component ? "a component, not a core module: wasmshim runs core modules "
                                  "built for WASI preview 1 (wasm32-wasi, wasm32-wasip1)"
                                : "unsupported binary format version " + hex_byte(head[4]) + " " +
                                      hex_byte(head[5]) + " " + hex_byte(head[6]) + " " +
                                      hex_byte(head[7]) + " (only version 1 is)");
  }
  ModuleOutline outline;
  std::vector<FunctionType> types;
  int last_rank = 0;
  for (std::uint64_t offset = kHeaderSize; offset < file.size();) {
    const SectionHeader section = read_section_header(file, offset);
    if (section.id != kCustom) {
      if (section_rank(section.id) <= last_rank) {
        file.fail(offset,
                  std::string(section_name(section.id)) + " section is out of order or repeated");
      }
      last_rank = section_rank(section.id);
    }
    // A custom section is skipped whole, its name included: the engine does
    // not read custom sections, and accepts one whatever its contents.
    const bool leading = section.id == kType || section.id == kImport || section.id == kExport;
    if (leading && section.size > kLargestLeadingSection) {
      file.fail(offset, std::string(section_name(section.id)) + " section of " +
                            std::to_string(section.size) + " bytes is too large");
    }
    if (leading) {
      Cursor in(file, file.read(section.start, section.size), section.start);
      if (section.id == kType) {
        types = read_types(in);
      } else if (section.id == kImport) {
        read_imports(in, types, outline);
      } else {
        read_exports(in, outline);
      }
      if (!in.at_end()) {
        in.fail(std::string(section_name(section.id)) + " section has bytes past its end");
      }
    }
    offset = section.start + section.size;
  }
  return outline;
}

}  // namespace wasmshim::wasm
