// C++ with its standard library (libc++, no exceptions) on WASI preview 1:
// static constructors, containers, strings, algorithms, iostreams on stdio
// and on files in /sandbox, the environment, clocks and random_device. As
// the suite's contract: "FAIL: ..." on stderr for each failed check, "ok"
// last on stdout and exit 0 when all pass.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <numeric>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <string_view>
#include <unordered_map>
#include <variant>
#include <vector>

namespace {

int failures = 0;

void expect(bool condition, std::string_view what) {
  if (!condition) {
    ++failures;
    std::cerr << "FAIL: " << what << '\n';
  }
}

template <typename T>
void expect_eq(const T& came, const T& expected, std::string_view what) {
  if (!(came == expected)) {
    ++failures;
    std::cerr << "FAIL: " << what << ": expected " << expected << ", came " << came << '\n';
  }
}

// Runs before main: _start must call the module's constructors.
struct StaticInit {
  StaticInit() : value(42) {}
  int value;
};
StaticInit static_init;

// The variable's value, or "(unset)".
std::string environment(const char* name) {
  // A WASI preview 1 program has one thread.
  const char* value = std::getenv(name);  // NOLINT(concurrency-mt-unsafe)
  return value != nullptr ? value : "(unset)";
}

void check_static_and_args(int argc, char** argv) {
  expect_eq(static_init.value, 42, "static constructor ran");
  expect_eq(argc, 1, "argument count");
  const std::string name = argc > 0 ? argv[0] : "";
  expect(name.size() > 5 && name.ends_with(".wasm"), "argv[0] is the program's name");
  expect_eq(environment("CONFORMANCE_ENV"), std::string("present"), "CONFORMANCE_ENV");
  expect_eq(environment("CONFORMANCE_EMPTY"), std::string(), "CONFORMANCE_EMPTY");
  expect_eq(environment("PATH"), std::string("(unset)"), "PATH is not given");
}

void check_stdin() {
  std::string line;
  expect(static_cast<bool>(std::getline(std::cin, line)), "getline on stdin");
  expect_eq(line, std::string("conformance stdin"), "stdin's line");
  expect(!std::getline(std::cin, line), "stdin ends after one line");
}

void check_containers() {
  std::vector<int> numbers(10000);
  std::iota(numbers.begin(), numbers.end(), 0);
  std::reverse(numbers.begin(), numbers.end());
  std::sort(numbers.begin(), numbers.end());
  expect(std::is_sorted(numbers.begin(), numbers.end()), "sort");
  expect_eq(std::accumulate(numbers.begin(), numbers.end(), 0LL), 49995000LL, "accumulate");

  std::map<std::string, int> ordered;
  std::unordered_map<std::string, int> hashed;
  for (int i = 0; i < 500; ++i) {
    ordered[std::to_string(i)] = i;
    hashed.emplace("k" + std::to_string(i), i * 2);
  }
  expect_eq(ordered.begin()->first, std::string("0"), "map order");
  expect_eq(hashed.at("k250"), 500, "unordered_map lookup");

  std::variant<int, std::string> variant = std::string("text");
  expect(std::holds_alternative<std::string>(variant), "variant");
  std::optional<int> maybe;
  expect(!maybe.has_value(), "optional");
  auto shared = std::make_shared<std::vector<int>>(3, 7);
  std::function<int()> sum = [shared] {
    return std::accumulate(shared->begin(), shared->end(), 0);
  };
  expect_eq(sum(), 21, "lambda in std::function over a shared_ptr");

  std::ostringstream text;
  text << 3.5 << ' ' << std::hex << 255;
  expect_eq(text.str(), std::string("3.5 ff"), "ostringstream");
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%05.1f|%s", 2.25, "x");
  expect_eq(std::string(buffer), std::string("002.2|x"), "snprintf");
}

void check_files() {
  const std::string path = "/sandbox/notes.txt";
  {
    std::ofstream out(path);
    expect(out.is_open(), "ofstream opens a new file in /sandbox");
    out << "first line\n" << 12345 << '\n';
  }
  {
    std::ifstream in(path);
    std::string line;
    int number = 0;
    std::getline(in, line);
    in >> number;
    expect_eq(line, std::string("first line"), "ifstream reads the first line");
    expect_eq(number, 12345, "ifstream reads the number");
  }
  {
    std::ofstream out(path, std::ios::app);
    out << "appended\n";
  }
  {
    std::ifstream in(path, std::ios::ate | std::ios::binary);
    expect_eq(static_cast<long long>(in.tellg()), 26LL, "file size after append");
    in.seekg(6);
    std::string word;
    in >> word;
    expect_eq(word, std::string("line"), "seekg then read");
  }
  std::ifstream missing("/sandbox/missing.txt");
  expect(!missing.is_open(), "ifstream on a missing file fails");
  std::ifstream outside("/etc/passwd");
  expect(!outside.is_open(), "ifstream outside the sandbox fails");
  expect_eq(std::rename(path.c_str(), "/sandbox/renamed.txt"), 0, "std::rename");
  expect_eq(std::remove("/sandbox/renamed.txt"), 0, "std::remove");
  std::FILE* gone = std::fopen("/sandbox/renamed.txt", "r");
  expect(gone == nullptr, "removed file is gone");
  if (gone != nullptr)
    std::fclose(gone);
}

void check_clocks_and_random() {
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  expect(std::chrono::duration_cast<std::chrono::seconds>(now).count() > 1577836800,
         "realtime clock after 2020");
  const auto first = std::chrono::steady_clock::now();
  const auto second = std::chrono::steady_clock::now();
  expect(second >= first, "steady_clock does not go back");
  std::random_device device;
  std::vector<unsigned> draws;
  for (int i = 0; i < 8; ++i)
    draws.push_back(device());
  std::sort(draws.begin(), draws.end());
  expect(std::unique(draws.begin(), draws.end()) - draws.begin() > 1,
         "random_device gives different values");
  std::mt19937 engine(device());
  std::uniform_int_distribution<int> dice(1, 6);
  const int roll = dice(engine);
  expect(roll >= 1 && roll <= 6, "uniform_int_distribution");
}

}  // namespace

int main(int argc, char** argv) {
  check_static_and_args(argc, argv);
  check_stdin();
  check_containers();
  check_files();
  check_clocks_and_random();
  if (failures > 0) {
    std::cerr << failures << " checks failed\n";
    return 1;
  }
  std::cout << "ok" << std::endl;
  return 0;
}
