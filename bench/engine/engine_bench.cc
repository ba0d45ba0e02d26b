// Engine speed against native code and V8, in one run on one machine:
// each program is built natively (gcc -O2) and for wasm32-wasi, then run
// natively, in the aot tier (from the cache), in the baseline and jit
// tiers, and under V8
// (Node's WASI) when node is installed. Programs time their own work and
// print a checksum, so every engine is seen to compute the same result; the
// time from spawn to the program's first line of main is time to first
// instruction. Prints a table of ratios to native (and of the first tiers to
// V8), and
// what the aot compile of each module costs in time and memory.
//
//   engine_bench [--runs N] [--only NAME]
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "support/child_process.h"
#include "support/temp_dir.h"

namespace {

namespace fs = std::filesystem;
using wasmshim::testing::ChildProcess;
using wasmshim::testing::TempDir;

struct Sample {
  double work_ms = 0;
  double first_instruction_ms = 0;  // spawn to the first line of main
  double wall_ms = 0;
  std::string checksum;
  bool ok = false;
};

long long realtime_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Sample run_once(const std::vector<std::string>& argv) {
  Sample sample;
  auto wall_start = std::chrono::steady_clock::now();
  long long spawned = realtime_ns();
  ChildProcess child(argv);
  std::string out = child.read_all();
  int status = child.wait();
  sample.wall_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - wall_start)
          .count();
  std::istringstream lines(out);
  for (std::string line; std::getline(lines, line);) {
    auto colon = line.find(": ");
    if (colon == std::string::npos) {
      continue;
    }
    std::string key = line.substr(0, colon);
    std::string value = line.substr(colon + 2);
    if (key == "start_ns") {
      sample.first_instruction_ms = static_cast<double>(std::stoll(value) - spawned) / 1e6;
    } else if (key == "work_ms") {
      sample.work_ms = std::stod(value);
    } else if (key == "checksum") {
      sample.checksum = value;
    }
  }
  sample.ok = status == 0 && !sample.checksum.empty();
  return sample;
}

// Best work time over runs; the first-instruction time of the same best run.
Sample best_of(const std::vector<std::string>& argv, int runs) {
  Sample best;
  for (int i = 0; i < runs; ++i) {
    Sample s = run_once(argv);
    if (!s.ok) {
      return s;
    }
    if (!best.ok || s.work_ms < best.work_ms) {
      best = s;
    }
  }
  return best;
}

// What a compile into the cache costs: its wall time, the CPU time of the
// process and the compilers it ran, and the largest one's peak memory.
struct CompileCost {
  bool ok = false;
  double wall_s = 0;
  double cpu_s = 0;
  double peak_mib = 0;
};

double seconds(const timeval& time) {
  return static_cast<double>(time.tv_sec) + static_cast<double>(time.tv_usec) / 1e6;
}

CompileCost compile_cost(const std::vector<std::string>& argv) {
  CompileCost cost;
  auto start = std::chrono::steady_clock::now();
  ChildProcess child(argv);
  child.read_all();
  rusage usage{};
  cost.ok = child.wait(&usage) == 0;
  cost.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  cost.cpu_s = seconds(usage.ru_utime) + seconds(usage.ru_stime);
  cost.peak_mib = static_cast<double>(usage.ru_maxrss) / 1024.0;  // ru_maxrss is in KiB
  return cost;
}

std::optional<std::string> find_node() {
  for (const char* dir : {"/usr/bin", "/usr/local/bin"}) {
    std::string path = std::string(dir) + "/node";
    if (::access(path.c_str(), X_OK) == 0) {
      return path;
    }
  }
  return std::nullopt;
}

struct Row {
  std::string name;
  Sample native, aot, baseline, jit_cold, jit, v8;
  CompileCost aot_compile;
};

std::string ratio(const Sample& s, const Sample& native) {
  if (!s.ok) {
    return "-";
  }
  char text[32];
  std::snprintf(text, sizeof text, "%.2fx", s.work_ms / native.work_ms);
  return text;
}

int run_bench(int argc, char** argv) {
  int runs = 3;
  std::string only;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    if (flag == "--runs") {
      runs = std::max(1, std::atoi(argv[i + 1]));
    } else if (flag == "--only") {
      only = argv[i + 1];
    }
  }
  std::optional<std::string> node = find_node();
  std::vector<Row> rows;
  for (const char* name : {"sha256", "sort", "matmul", "interp", "sqlite"}) {
    std::string base = std::string(BENCH_DIR) + "/bench_" + name;
    if ((!only.empty() && only != name) || !fs::exists(base + ".wasm")) {
      continue;
    }
    std::fprintf(stderr, "engine_bench: %s\n", name);
    Row row;
    row.name = name;
    row.native = best_of({base + ".native"}, runs);
    TempDir aot_cache;
    ::setenv("WASMSHIM_CACHE_DIR", aot_cache.path().c_str(), 1);  // NOLINT(concurrency-mt-unsafe)
    row.aot_compile = compile_cost({WASMSHIM_BIN, "compile", base + ".wasm"});
    row.aot = best_of({WASMSHIM_BIN, "run", "--tier", "aot", base + ".wasm"}, runs);
    TempDir jit_cache;
    ::setenv("WASMSHIM_CACHE_DIR", jit_cache.path().c_str(), 1);  // NOLINT(concurrency-mt-unsafe)
    row.jit_cold = run_once({WASMSHIM_BIN, "run", "--tier", "jit", base + ".wasm"});
    row.jit = best_of({WASMSHIM_BIN, "run", "--tier", "jit", base + ".wasm"}, runs);
    // Compiled at every start: each run is a cold one.
    row.baseline = best_of({WASMSHIM_BIN, "run", "--tier", "baseline", base + ".wasm"}, runs);
    if (node) {
      row.v8 = best_of({*node, "--no-warnings", WASI_RUNNER, base + ".wasm"}, runs);
    }
    for (const Sample* s : {&row.aot, &row.baseline, &row.jit, &row.v8}) {
      if (s->ok && s->checksum != row.native.checksum) {
        std::fprintf(stderr, "engine_bench: %s: checksum %s differs from native %s\n", name,
                     s->checksum.c_str(), row.native.checksum.c_str());
        return 1;
      }
    }
    rows.push_back(row);
  }
  std::printf(
      "Engine speed: work time relative to native gcc -O2 (best of %d runs); lower is better\n\n",
      runs);
  std::printf(
      "| program | native ms | aot | baseline | jit | V8 (node) | baseline / V8 | jit / V8 | aot "
      "compile: wall s / CPU s / peak MiB | first instruction ms: baseline / jit cold / jit "
      "cached / aot cached / native |\n");
  std::printf("|---|---|---|---|---|---|---|---|---|---|\n");
  for (const Row& r : rows) {
    char compile[64] = "failed";
    if (r.aot_compile.ok) {
      std::snprintf(compile, sizeof compile, "%.2f / %.2f / %.0f", r.aot_compile.wall_s,
                    r.aot_compile.cpu_s, r.aot_compile.peak_mib);
    }
    std::printf(
        "| %s | %.0f | %s | %s | %s | %s | %s | %s | %s | %.0f / %.0f / %.0f / %.1f / %.1f |\n",
        r.name.c_str(), r.native.work_ms, ratio(r.aot, r.native).c_str(),
        ratio(r.baseline, r.native).c_str(), ratio(r.jit, r.native).c_str(),
        ratio(r.v8, r.native).c_str(), r.v8.ok ? ratio(r.baseline, r.v8).c_str() : "-",
        r.v8.ok ? ratio(r.jit, r.v8).c_str() : "-", compile, r.baseline.first_instruction_ms,
        r.jit_cold.first_instruction_ms, r.jit.first_instruction_ms, r.aot.first_instruction_ms,
        r.native.first_instruction_ms);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run_bench(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "engine_bench: %s\n", e.what());
    return 1;
  }
}
