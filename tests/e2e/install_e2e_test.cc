// The installed package as another team uses it: `cmake --install` to a
// temporary prefix, examples/echo-shim configured and built out of tree
// against that prefix alone, then run as io.containerd.echo.v1 under a
// private containerd with `ctr run`, its spans reaching the installed
// `wasmshim otlp-receiver`.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "containerd_fixture.h"

namespace wasmshim::testing {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

#if WASMSHIM_INSTALL_TRACING
// The spans the receiver has written so far, one JSON object a line.
std::vector<json> read_spans(const std::string& jsonl) {
  std::vector<json> spans;
  std::ifstream in(jsonl);
  for (std::string line; std::getline(in, line);) {
    auto span = json::parse(line, nullptr, false);
    if (!span.is_discarded()) {
      spans.push_back(std::move(span));
    }
  }
  return spans;
}

std::map<std::string, json> by_name(const std::vector<json>& spans) {
  std::map<std::string, json> out;
  for (const auto& span : spans) {
    out[span["name"].get<std::string>()] = span;
  }
  return out;
}
#endif

class InstallE2E : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_EQ(::geteuid(), 0u) << "containerd needs root"; }

  std::string root() const { return dir_.path().string(); }
  std::string prefix() const { return root() + "/prefix"; }
  std::string example_build() const { return root() + "/echo-shim"; }

  // Installs the build tree, then configures and builds the example
  // against the prefix alone (no package registry, no other prefix).
  void install_and_build_example() {
    auto installed = shell(std::string(WASMSHIM_CMAKE) + " --install " + WASMSHIM_BUILD_DIR +
                               " --prefix " + quote(prefix()),
                           300);
    ASSERT_EQ(installed.status, 0) << installed.output;
    auto configured = shell(
        std::string(WASMSHIM_CMAKE) + " -S " + WASMSHIM_SOURCE_DIR + "/examples/echo-shim" +
            " -B " + quote(example_build()) + " -DCMAKE_PREFIX_PATH=" + quote(prefix()) +
            " -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF -DCMAKE_FIND_USE_SYSTEM_PACKAGE_REGISTRY=OFF" +
            " -DCMAKE_CXX_COMPILER=" + WASMSHIM_CXX_COMPILER,
        300);
    ASSERT_EQ(configured.status, 0) << configured.output;
    std::ifstream cache(example_build() + "/CMakeCache.txt");
    std::stringstream text;
    text << cache.rdbuf();
    ASSERT_NE(text.str().find("wasmshim_DIR:PATH=" + prefix() + "/lib/cmake/wasmshim"),
              std::string::npos)
        << "the example found a wasmshim package outside the prefix";
    auto built = shell(std::string(WASMSHIM_CMAKE) + " --build " + quote(example_build()), 600);
    ASSERT_EQ(built.status, 0) << built.output;
    ASSERT_TRUE(std::filesystem::exists(example_build() + "/containerd-shim-echo-v1"));
  }

  TempDir dir_;
};

// Every installed header compiles on its own against the prefix: none
// includes a header that stayed in the source tree or the build.
TEST_F(InstallE2E, InstalledHeadersStandAlone) {
  auto installed = shell(std::string(WASMSHIM_CMAKE) + " --install " + WASMSHIM_BUILD_DIR +
                             " --prefix " + quote(prefix()),
                         300);
  ASSERT_EQ(installed.status, 0) << installed.output;
  int headers = 0;
  for (const auto& entry :
       std::filesystem::recursive_directory_iterator(prefix() + "/include/wasmshim")) {
    if (entry.path().extension() != ".h") {
      continue;
    }
    ++headers;
    auto compiled =
        shell("echo '#include \"" + entry.path().string() + "\"' | " + WASMSHIM_CXX_COMPILER +
              " -std=c++20 -fsyntax-only -I" + quote(prefix() + "/include") + " -x c++ -");
    EXPECT_EQ(compiled.status, 0) << entry.path() << ":\n" << compiled.output;
  }
  for (const char* layer : {"base", "ttrpc", "otel", "wasm", "container", "shim", "runtime"}) {
    EXPECT_TRUE(std::filesystem::is_directory(prefix() + "/include/wasmshim/" + layer)) << layer;
  }
  EXPECT_GT(headers, 20);
}

TEST_F(InstallE2E, ExampleShimBuiltOnTheInstalledPackageRunsUnderContainerd) {
  ASSERT_NO_FATAL_FAILURE(install_and_build_example());
  for (const char* file :
       {"/bin/containerd-shim-wasmshim-v1", "/bin/wasmshim", "/include/wasmshim/shim/shim_main.h",
        "/lib/cmake/wasmshim/wasmshimConfigVersion.cmake"}) {
    EXPECT_TRUE(std::filesystem::exists(prefix() + file)) << file << " not installed";
  }

  // The installed CLI's receiver, on a port of its own choosing.
  const std::string jsonl = root() + "/spans.jsonl";
  ChildProcess receiver({prefix() + "/bin/wasmshim", "otlp-receiver", "--http", "127.0.0.1:0",
                         "--jsonl", jsonl, "--quiet-ms", "100"});
  auto listening = receiver.read_line();
  ASSERT_TRUE(listening) << "the receiver did not start";
  int http_port = 0;
  ASSERT_EQ(std::sscanf(listening->c_str(), "listening http=%d", &http_port), 1) << *listening;

  // containerd finds containerd-shim-echo-v1 on its PATH, and nothing of
  // the build tree.
  Containerd containerd(
      {"PATH=" + example_build() + ":/usr/sbin:/usr/bin:/sbin:/bin",
       "OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:" + std::to_string(http_port),
       "OTEL_BSP_SCHEDULE_DELAY=200"});
  ASSERT_TRUE(containerd.ready()) << containerd.error();
  auto run = containerd.ctr(std::string("run --rm --env ECHO_EXIT_STATUS=7 --runtime "
                                        "io.containerd.echo.v1 ") +
                            Containerd::kImage + " greeter hello from the example");
  EXPECT_EQ(run.status, 7) << run.output << containerd.log();
  EXPECT_NE(run.output.find("hello from echo-shim, container greeter\n"), std::string::npos)
      << run.output;
  EXPECT_NE(run.output.find("hello from the example\n"), std::string::npos) << run.output;

#if WASMSHIM_INSTALL_TRACING
  // The shim exports its last spans as it exits, after Shutdown.
  std::map<std::string, json> spans;
  for (int i = 0; i < 300 && !spans.count("containerd.task.v2.Task/Shutdown"); ++i) {
    std::this_thread::sleep_for(50ms);
    spans = by_name(read_spans(jsonl));
  }
  for (const char* name : {"echo.create", "echo.start", "echo.wait", "instance.create",
                           "instance.start", "instance.wait", "containerd.task.v2.Task/Create"}) {
    ASSERT_TRUE(spans.count(name)) << name << " missing from " << jsonl;
    EXPECT_EQ(spans.at(name)["service"], "echo-shim") << name;
    EXPECT_EQ(spans.at(name)["trace_id"], spans.at("containerd.task.v2.Task/Create")["trace_id"])
        << name;
  }
  EXPECT_EQ(spans.at("echo.create")["scope"]["name"], "echo-shim");
  // The example's spans sit inside the framework's, as the Wasm engine's do.
  for (const char* step : {"create", "start", "wait"}) {
    EXPECT_EQ(spans.at(std::string("echo.") + step)["parent_span_id"],
              spans.at(std::string("instance.") + step)["span_id"])
        << step;
  }
  EXPECT_EQ(spans.at("echo.wait")["attributes"]["process.exit_code"], 7)
      << spans.at("echo.wait").dump();
#endif

  // Bad input is refused at Create, naming the variable.
  auto refused = containerd.ctr(std::string("run --rm --env ECHO_EXIT_STATUS=abc --runtime "
                                            "io.containerd.echo.v1 ") +
                                Containerd::kImage + " refused x");
  EXPECT_NE(refused.status, 0) << refused.output;
  EXPECT_NE(refused.output.find("ECHO_EXIT_STATUS must be 0..255"), std::string::npos)
      << refused.output;
}

}  // namespace
}  // namespace wasmshim::testing
