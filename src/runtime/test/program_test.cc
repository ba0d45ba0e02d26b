#include "wasmshim/runtime/program.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "support/temp_dir.h"

namespace wasmshim::runtime {
namespace {

namespace fs = std::filesystem;

const std::string kElf = std::string(
                             "\x7f"
                             "ELF\x02\x01\x01",
                             7) +
                         std::string(57, '\0');
const std::string kWasm = std::string("\0asm\x01\0\0\0", 8);

class FindProgram : public ::testing::Test {
 protected:
  // Writes `content` at `path` inside the root with `mode`.
  void put(const std::string& path, const std::string& content, mode_t mode = 0755) {
    const fs::path full = root_.path() / path.substr(1);
    fs::create_directories(full.parent_path());
    std::ofstream(full, std::ios::binary) << content;
    ::chmod(full.c_str(), mode);
  }
  ContainerProgram find(const std::string& name, const std::string& cwd = "/",
                        const std::vector<std::string>& env = {}) {
    return find_program(root_.path().string(), name, cwd, env);
  }
  // The message of the ProgramError find() throws, and whether it said
  // the program is missing.
  std::pair<std::string, bool> error_of(const std::string& name, const std::string& cwd = "/",
                                        const std::vector<std::string>& env = {}) {
    try {
      find(name, cwd, env);
    } catch (const ProgramError& e) {
      return {e.what(), e.missing()};
    }
    return {"no error", false};
  }

  testing::TempDir root_;
};

TEST_F(FindProgram, AnAbsoluteWasmModule) {
  put("/app/demo.wasm", kWasm, 0644);
  const ContainerProgram program = find("/app/demo.wasm");
  EXPECT_EQ(program.kind, ProgramKind::wasm);
  EXPECT_EQ(program.path, "/app/demo.wasm");
}

TEST_F(FindProgram, AnElfExecutableIsNative) {
  put("/pause", kElf);
  const ContainerProgram program = find("/pause");
  EXPECT_EQ(program.kind, ProgramKind::native);
  EXPECT_EQ(program.path, "/pause");
  EXPECT_TRUE(program.interpreter.empty());
}

TEST_F(FindProgram, ABareNameIsLookedUpInTheSpecsPath) {
  put("/opt/tools/bin/sidecar", kElf);
  put("/usr/bin/sidecar", kElf);
  EXPECT_EQ(find("sidecar", "/", {"HOME=/root", "PATH=/opt/tools/bin:/usr/bin"}).path,
            "/opt/tools/bin/sidecar");
  // Without PATH in the spec: the default one, /usr/bin among it.
  EXPECT_EQ(find("sidecar").path, "/usr/bin/sidecar");
}

TEST_F(FindProgram, PathSkipsWhatIsNotAnExecutableFile) {
  put("/first/tool", kElf, 0644);
  fs::create_directories(root_.path() / "second/tool");
  put("/third/tool", kElf);
  EXPECT_EQ(find("tool", "/", {"PATH=/first:/second:/third"}).path, "/third/tool");
}

TEST_F(FindProgram, ARelativePathIsTakenFromTheWorkingDirectory) {
  put("/work/bin/run", kElf);
  EXPECT_EQ(find("bin/run", "/work").path, "/work/bin/run");
  EXPECT_EQ(find("./bin/run", "/work").path, "/work/./bin/run");
}

TEST_F(FindProgram, ABareWasmModuleIsFoundInTheWorkingDirectory) {
  put("/srv/app.wasm", kWasm, 0644);
  const ContainerProgram program = find("app.wasm", "/srv");
  EXPECT_EQ(program.kind, ProgramKind::wasm);
  EXPECT_EQ(program.path, "/srv/app.wasm");
}

TEST_F(FindProgram, ABareNativeNameOffPathIsNotFound) {
  put("/srv/tool", kElf);
  auto [message, missing] = error_of("tool", "/srv", {"PATH=/usr/bin"});
  EXPECT_TRUE(missing);
  EXPECT_NE(message.find("tool: executable file not found in PATH"), std::string::npos) << message;
}

TEST_F(FindProgram, AScriptNeedsItsInterpreterInTheRoot) {
  put("/bin/sh", kElf);
  put("/entry.sh", "#!/bin/sh -e\necho hi\n");
  const ContainerProgram program = find("/entry.sh");
  EXPECT_EQ(program.kind, ProgramKind::native);
  EXPECT_EQ(program.interpreter, "/bin/sh");
}

TEST_F(FindProgram, AScriptWithAMissingInterpreterIsNamed) {
  put("/entry.py", "#! /usr/bin/python3\nprint('hi')\n");
  auto [message, missing] = error_of("/entry.py");
  EXPECT_TRUE(missing);
  EXPECT_NE(message.find("/entry.py is a script for /usr/bin/python3, which is not in the "
                         "container's root filesystem"),
            std::string::npos)
      << message;
}

TEST_F(FindProgram, AScriptWhoseLineNamesNothingIsRefused) {
  put("/empty.sh", "#!   \n");
  auto [message, missing] = error_of("/empty.sh");
  EXPECT_FALSE(missing);
  EXPECT_NE(message.find("names no interpreter"), std::string::npos) << message;
}

TEST_F(FindProgram, ANativeFileWithoutExecutePermissionIsRefused) {
  put("/pause", kElf, 0644);
  auto [message, missing] = error_of("/pause");
  EXPECT_FALSE(missing);
  EXPECT_NE(message.find("/pause is a native executable without execute permission"),
            std::string::npos)
      << message;
}

TEST_F(FindProgram, NeitherWasmNorNativeIsNamed) {
  put("/data.txt", "hello\n");
  auto [message, missing] = error_of("/data.txt");
  EXPECT_FALSE(missing);
  EXPECT_NE(message.find("/data.txt is neither a Wasm module"), std::string::npos) << message;
}

TEST_F(FindProgram, AMissingFileIsNotFound) {
  auto [message, missing] = error_of("/nothing.wasm");
  EXPECT_TRUE(missing);
  EXPECT_NE(message.find("/nothing.wasm: no such file in the container's root filesystem"),
            std::string::npos)
      << message;
}

TEST_F(FindProgram, ADirectoryIsNotAProgram) {
  fs::create_directories(root_.path() / "dir");
  auto [message, missing] = error_of("/dir");
  EXPECT_FALSE(missing);
  EXPECT_NE(message.find("Is a directory"), std::string::npos) << message;
}

TEST_F(FindProgram, SymlinksResolveInsideTheRoot) {
  put("/real/pause", kElf);
  // An absolute link target is the container's, not the host's.
  fs::create_directories(root_.path() / "bin");
  fs::create_symlink("/real/pause", root_.path() / "bin/pause");
  EXPECT_EQ(find("/bin/pause").kind, ProgramKind::native);
  // ".." cannot climb out of the root: this names /etc/hostname inside it.
  fs::create_symlink("../../../../../../etc/hostname", root_.path() / "escape");
  auto [message, missing] = error_of("/escape");
  EXPECT_TRUE(missing) << message;
}

TEST_F(FindProgram, AMalformedModuleIsRefusedByItsContainerPath) {
  // A code section that claims more bytes than the file has.
  put("/app/cut.wasm", kWasm + std::string("\x0a\x7f\x00", 3), 0644);
  const auto [message, missing] = error_of("/app/cut.wasm");
  EXPECT_EQ(message,
            "/app/cut.wasm: offset 8: malformed module: code section of 127 bytes runs past the "
            "end of the file (11 bytes)");
  EXPECT_FALSE(missing);
}

TEST_F(FindProgram, AModuleImportingWhatTheHostLacksIsRefused) {
  // (import "env" "f" (func)): a type section, then the import.
  put("/m.wasm",
      kWasm + std::string("\x01\x04\x01\x60\x00\x00"
                          "\x02\x09\x01\x03"
                          "env\x01"
                          "f\x00\x00",
                          17),
      0644);
  const auto [message, missing] = error_of("/m.wasm");
  EXPECT_EQ(message, "/m.wasm: offset 0: imports env.f, which is not provided");
  EXPECT_FALSE(missing);
}

}  // namespace
}  // namespace wasmshim::runtime
