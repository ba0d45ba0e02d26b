// The outline read at a container's Create: what it refuses, and that what
// it reads of a well-formed module agrees with libwabt's full read.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <filesystem>

#include "wasmshim/wasm/engine.h"
#include "wasmshim/wasm/module.h"
#include "wat.h"

namespace wasmshim::wasm {
namespace {

using testing::wat_to_wasm;
using Bytes = std::vector<std::uint8_t>;

// The bytes as a file, read by descriptor as the runtime reads a rootfs file.
class ModuleFile {
 public:
  explicit ModuleFile(const Bytes& bytes) : fd_(::memfd_create("module", MFD_CLOEXEC)) {
    EXPECT_EQ(::write(fd_, bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
  }
  ~ModuleFile() { ::close(fd_); }
  ModuleFile(const ModuleFile&) = delete;
  ModuleFile& operator=(const ModuleFile&) = delete;
  int fd() const { return fd_; }

 private:
  int fd_;
};

ModuleOutline outline_of(const Bytes& bytes) {
  ModuleFile file(bytes);
  return read_module_outline(file.fd(), "/m.wasm");
}

// The reason the outline refuses the bytes with, at which offset.
std::pair<std::uint64_t, std::string> refusal(const Bytes& bytes) {
  try {
    outline_of(bytes);
  } catch (const ModuleError& e) {
    EXPECT_EQ(e.file(), "/m.wasm");
    return {e.offset(), e.reason()};
  }
  ADD_FAILURE() << "the outline accepted the bytes";
  return {};
}

const Bytes kHeader = {0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00};

Bytes with_header(std::initializer_list<std::uint8_t> sections) {
  Bytes bytes = kHeader;
  bytes.insert(bytes.end(), sections);
  return bytes;
}

TEST(ModuleOutline, ReadsImportsAndTheMemoryExport) {
  const Bytes bytes = wat_to_wasm(R"((module
      (import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32 i32) (result i32)))
      (import "env" "g" (global i32))
      (import "env" "t" (table 1 2 funcref))
      (memory (export "memory") 1)
      (func (export "_start")))
  )");
  const ModuleOutline outline = outline_of(bytes);
  ASSERT_EQ(outline.function_imports.size(), 1U);
  EXPECT_EQ(outline.function_imports[0].module, "wasi_snapshot_preview1");
  EXPECT_EQ(outline.function_imports[0].name, "fd_write");
  EXPECT_EQ(to_string(outline.function_imports[0].type), "(i32, i32, i32, i32) -> (i32)");
  EXPECT_EQ(outline.other_imports, (std::vector<std::string>{"env.g", "env.t"}));
  EXPECT_TRUE(outline.exports_memory);
}

TEST(ModuleOutline, AgreesWithTheFullReadOnRealPrograms) {
  std::vector<std::filesystem::path> programs = {DEMO_WASM};
  for (const auto& entry : std::filesystem::directory_iterator(WASM_TEST_PROGRAMS)) {
    if (entry.path().extension() == ".wasm") {
      programs.push_back(entry.path());
    }
  }
  EXPECT_GT(programs.size(), 2U) << "no programs in " << WASM_TEST_PROGRAMS;
  for (const std::filesystem::path& path : programs) {
    const Module module = Module::from_file(path);
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    ASSERT_GE(fd, 0) << path;
    const ModuleOutline outline = read_module_outline(fd, path);
    ::close(fd);
    ASSERT_EQ(outline.function_imports.size(), module.function_imports().size()) << path;
    for (std::size_t i = 0; i < outline.function_imports.size(); ++i) {
      EXPECT_EQ(outline.function_imports[i].name, module.function_imports()[i].name);
      EXPECT_EQ(outline.function_imports[i].type, module.function_imports()[i].type);
    }
    EXPECT_EQ(outline.other_imports, module.other_imports());
    EXPECT_EQ(outline.exports_memory, module.exports_memory());
    EXPECT_NO_THROW(check_imports(path, outline));
  }
}

TEST(ModuleOutline, RefusesWhatIsNotAVersionOneModule) {
  EXPECT_NE(refusal({0x7f, 'E', 'L', 'F'}).second.find("no \\0asm magic"), std::string::npos);
  EXPECT_EQ(refusal({0x00, 0x61, 0x73, 0x6d, 0x01}),
            std::make_pair(std::uint64_t{5}, std::string("malformed module: the file ends inside "
                                                         "the header")));
  const auto version_two = refusal({0x00, 0x61, 0x73, 0x6d, 0x02, 0x00, 0x00, 0x00});
  EXPECT_EQ(version_two.first, 4U);
  EXPECT_NE(version_two.second.find("unsupported binary format version 0x02"), std::string::npos);
  const auto component = refusal({0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00});
  EXPECT_NE(component.second.find("a component, not a core module"), std::string::npos);
}

TEST(ModuleOutline, RefusesSectionsThatRunPastTheFile) {
  const auto [offset, reason] = refusal(with_header({0x0a, 0xff, 0x01, 0x00}));
  EXPECT_EQ(offset, 8U);
  EXPECT_EQ(reason,
            "malformed module: code section of 255 bytes runs past the end of the file (12 bytes)");
  // The size itself cut short by the end of the file.
  EXPECT_NE(refusal(with_header({0x01, 0x80})).second.find("unexpected end of a section size"),
            std::string::npos);
}

// The engine never reads a custom section, and accepts one whose name is
// garbled (as libwabt does): so does the outline, whatever its size.
TEST(ModuleOutline, AcceptsAnyCustomSectionTheEngineAccepts) {
  const Bytes garbled_name = with_header({0x00, 0x01, 0x7f});
  EXPECT_NO_THROW(outline_of(garbled_name));
  EXPECT_NO_THROW(Module::from_bytes("/m.wasm", garbled_name));
  Bytes large = with_header({0x00, 0x80, 0x80, 0x80, 0x28, 0x05, 'd', 'e', 'b', 'u', 'g'});
  large.resize(large.size() + (std::size_t{80} << 20) - 6);
  EXPECT_NO_THROW(outline_of(large));
}

TEST(ModuleOutline, RefusesUnknownRepeatedAndMisorderedSections) {
  EXPECT_EQ(refusal(with_header({0x0d, 0x00})).second, "malformed module: unknown section id 13");
  // export, then type
  EXPECT_EQ(refusal(with_header({0x07, 0x01, 0x00, 0x01, 0x01, 0x00})),
            std::make_pair(std::uint64_t{11},
                           std::string("malformed module: type section is out of order or "
                                       "repeated")));
  EXPECT_NE(refusal(with_header({0x01, 0x01, 0x00, 0x01, 0x01, 0x00})).second.find("repeated"),
            std::string::npos);
  // datacount stands before code: accepted there, refused after it.
  EXPECT_NO_THROW(outline_of(with_header({0x0c, 0x01, 0x00, 0x0a, 0x01, 0x00})));
  EXPECT_NE(refusal(with_header({0x0a, 0x01, 0x00, 0x0c, 0x01, 0x00})).second.find("datacount"),
            std::string::npos);
  // Custom sections go anywhere.
  EXPECT_NO_THROW(
      outline_of(with_header({0x01, 0x01, 0x00, 0x00, 0x02, 0x01, 'x', 0x02, 0x01, 0x00})));
}

TEST(ModuleOutline, RefusesMalformedLeadingSections) {
  // A type that is not a function type.
  EXPECT_NE(refusal(with_header({0x01, 0x04, 0x01, 0x5f, 0x00, 0x00})).second.find("0x5f"),
            std::string::npos);
  // An unknown value type.
  EXPECT_NE(refusal(with_header({0x01, 0x05, 0x01, 0x60, 0x01, 0x42, 0x00}))
                .second.find("unknown value type 0x42"),
            std::string::npos);
  // A size of six LEB128 bytes.
  EXPECT_NE(refusal(with_header({0x01, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00}))
                .second.find("longer than its LEB128 encoding allows"),
            std::string::npos);
  // A five-byte size with bits past 32.
  EXPECT_NE(refusal(with_header({0x01, 0x80, 0x80, 0x80, 0x80, 0x70}))
                .second.find("does not fit in 32 bits"),
            std::string::npos);
  // A section longer than what it holds.
  EXPECT_NE(refusal(with_header({0x01, 0x02, 0x00, 0x00})).second.find("bytes past its end"),
            std::string::npos);
  // An import naming a type that does not exist.
  EXPECT_NE(
      refusal(with_header({0x01, 0x01, 0x00, 0x02, 0x07, 0x01, 0x01, 'm', 0x01, 'f', 0x00, 0x03}))
          .second.find("import m.f names type 3 of 0"),
      std::string::npos);
  // An import name longer than its section.
  EXPECT_NE(refusal(with_header({0x02, 0x03, 0x01, 0x09, 'm'})).second.find("runs past the end"),
            std::string::npos);
}

TEST(ModuleOutline, ImportCheckNamesWhatIsNotProvided) {
  auto refused = [](const std::string& wat) {
    try {
      check_imports("/m.wasm", outline_of(wat_to_wasm(wat)));
    } catch (const ModuleError& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  EXPECT_EQ(refused(R"((module (import "env" "foo" (func)) (memory (export "memory") 1)))"),
            "/m.wasm: offset 0: imports env.foo, which is not provided");
  EXPECT_EQ(refused(R"((module (import "wasi_snapshot_preview1" "fd_write" (func (param i32)))
                               (memory (export "memory") 1)))"),
            "/m.wasm: offset 0: imports wasi_snapshot_preview1.fd_write as (i32) -> (), but its "
            "type is (i32, i32, i32, i32) -> (i32)");
  EXPECT_EQ(refused(R"((module (import "env" "memory" (memory 1))))"),
            "/m.wasm: offset 0: imports env.memory, but only functions of wasi_snapshot_preview1 "
            "can be imported");
  EXPECT_EQ(refused(R"((module (import "wasi_snapshot_preview1" "proc_exit" (func (param i32)))))"),
            "/m.wasm: offset 0: imports WASI functions but exports no memory for them to use");
  EXPECT_EQ(refused(R"((module (import "wasi_snapshot_preview1" "proc_exit" (func (param i32)))
                               (memory (export "memory") 1)))"),
            "accepted");
}

}  // namespace
}  // namespace wasmshim::wasm
