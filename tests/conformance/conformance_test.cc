// Runs every program of the conformance suite in both tiers, exactly as
// tests/conformance/README.md's contract says, and holds each to the result
// it asserts itself: exit 0 with "ok" as its last line, or, for a program
// built to end in a trap, a trap.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "wasmshim/wasm/engine.h"

namespace wasmshim::wasm {
namespace {

namespace fs = std::filesystem;

constexpr const char* kStdinContent = "conformance stdin\n";

enum class Expectation { kOk, kTrap };

struct Program {
  std::string file;  // e.g. "fd_rights.wasm", in CONFORMANCE_PROGRAMS_DIR
  Expectation expectation = Expectation::kOk;
};

// Written by CMake from the sources: {"<file>", Expectation::kOk|kTrap},...
const std::vector<Program>& all_programs() {
  static const std::vector<Program> programs = {
#include "conformance_programs.inc"
  };
  return programs;
}

// A descriptor closed when it goes out of scope.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {
    if (fd_ < 0)
      throw std::runtime_error("open failed");
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { ::close(fd_); }
  int get() const { return fd_; }

 private:
  int fd_;
};

// A fresh folder for one run: the sandbox and the stdio files; removed after.
class RunFolder {
 public:
  RunFolder() {
    std::string pattern = (fs::temp_directory_path() / "wasmshim-conformance-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr)
      throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
    fs::create_directory(path_ / "sandbox");
    std::ofstream(path_ / "stdin") << kStdinContent;
  }
  RunFolder(const RunFolder&) = delete;
  RunFolder& operator=(const RunFolder&) = delete;
  ~RunFolder() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string last_line(const std::string& text) {
  std::string trimmed = text;
  while (!trimmed.empty() && trimmed.back() == '\n')
    trimmed.pop_back();
  const auto newline = trimmed.rfind('\n');
  return newline == std::string::npos ? trimmed : trimmed.substr(newline + 1);
}

struct Outcome {
  RunResult result;
  std::string stdout_text;
  std::string stderr_text;
};

// What the engine said on its log (a compiler retried, a cache entry
// dropped) goes to engine_log, for a failure's message.
Outcome run_program(const Program& program, Tier tier, std::string& engine_log) {
  EngineOptions options;
  options.tier = tier;
  options.cache_dir = CONFORMANCE_CACHE_DIR;
  options.background_aot = false;
  options.log = [&engine_log](std::string_view line) { engine_log.append(line).append("\n"); };
  const PreparedModule prepared =
      prepare_file(std::string(CONFORMANCE_PROGRAMS_DIR) + "/" + program.file, options);

  const RunFolder folder;
  const Fd stdin_fd(::open((folder.path() / "stdin").c_str(), O_RDONLY | O_CLOEXEC));
  const Fd stdout_fd(
      ::open((folder.path() / "stdout").c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  const Fd stderr_fd(
      ::open((folder.path() / "stderr").c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  WasiConfig wasi;
  wasi.args = {program.file};
  wasi.env = {"CONFORMANCE_ENV=present", "CONFORMANCE_EMPTY="};
  wasi.preopens = {{(folder.path() / "sandbox").string(), "/sandbox"}};
  wasi.stdin_fd = stdin_fd.get();
  wasi.stdout_fd = stdout_fd.get();
  wasi.stderr_fd = stderr_fd.get();
  Outcome outcome{run(prepared, wasi, options), "", ""};
  outcome.stdout_text = read_file(folder.path() / "stdout");
  outcome.stderr_text = read_file(folder.path() / "stderr");
  return outcome;
}

using ConformanceCase = std::pair<Program, Tier>;

// "fd_rights.wasm in aot" in gtest's messages, not the bytes of the pair.
void PrintTo(const ConformanceCase& test_case, std::ostream* out) {
  *out << test_case.first.file << " in " << to_string(test_case.second);
}

class ConformanceTest : public ::testing::TestWithParam<ConformanceCase> {};

// What is wrong with a run, one line each; empty when it gave what the
// program's expectation says.
std::vector<std::string> problems(const Program& program, Tier tier, const Outcome& outcome) {
  std::vector<std::string> found;
  const RunResult& result = outcome.result;
  if (result.tier != to_string(tier))
    found.push_back("ran in the " + result.tier + " tier");
  const bool says_ok = last_line(outcome.stdout_text) == "ok";
  if (program.expectation == Expectation::kTrap) {
    if (!result.trap)
      found.emplace_back("expected a trap, came none");
    if (result.exit_code != kTrapExitStatus) {
      found.push_back("expected exit status " + std::to_string(kTrapExitStatus) + ", came " +
                      std::to_string(result.exit_code));
    }
    if (says_ok)
      found.emplace_back("expected no \"ok\" after the trap, came one");
    return found;
  }
  if (result.trap)
    found.push_back("trap: " + *result.trap);
  if (result.exit_code != 0)
    found.push_back("exit status " + std::to_string(result.exit_code));
  if (!says_ok)
    found.emplace_back("the last line of stdout is not \"ok\"");
  return found;
}

TEST_P(ConformanceTest, ProgramPasses) {
  const auto& [program, tier] = GetParam();
  Outcome outcome;
  std::string engine_log;
  try {
    outcome = run_program(program, tier, engine_log);
  } catch (const std::exception& error) {
    FAIL() << program.file << " could not run in the " << to_string(tier)
           << " tier: " << error.what() << "\n--- engine log ---\n"
           << engine_log;
  }
  const std::vector<std::string> found = problems(program, tier, outcome);
  if (!found.empty()) {
    std::string report;
    for (const std::string& problem : found)
      report += problem + "\n";
    ADD_FAILURE() << program.file << " in the " << to_string(tier) << " tier:\n"
                  << report << "--- stdout ---\n"
                  << outcome.stdout_text << "--- stderr ---\n"
                  << outcome.stderr_text << "--- engine log ---\n"
                  << engine_log;
  }
}

std::vector<ConformanceCase> all_cases() {
  std::vector<ConformanceCase> cases;
  for (const Program& program : all_programs()) {
    cases.emplace_back(program, Tier::kJit);
    cases.emplace_back(program, Tier::kAot);
    cases.emplace_back(program, Tier::kBaseline);
  }
  return cases;
}

// "fd_rights.wasm" in jit -> "fd_rights_jit": what ctest names the test.
std::string case_name(const ::testing::TestParamInfo<ConformanceCase>& info) {
  std::string name = info.param.first.file;
  name = name.substr(0, name.rfind(".wasm")) + "_" + to_string(info.param.second);
  for (char& c : name) {
    if (std::isalnum(static_cast<unsigned char>(c)) == 0)
      c = '_';
  }
  return name;
}

INSTANTIATE_TEST_SUITE_P(Programs, ConformanceTest, ::testing::ValuesIn(all_cases()), case_name);
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(ConformanceTest);

}  // namespace
}  // namespace wasmshim::wasm
