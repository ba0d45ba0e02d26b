// ttrpc round trips: wasmshim's server against the Go ttrpc server (the one
// containerd's shims use), each driven by the same clients in one run — the
// Go client and ours — and printed as ratios. Absolute numbers on a shared
// machine mean little; the ratios are the result.
//
//   ttrpc_bench [--seconds S] [--payload BYTES] [--concurrency N]
#include <google/protobuf/wrappers.pb.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "support/child_process.h"
#include "wasmshim/ttrpc/client.h"
#include "wasmshim/ttrpc/protobuf.h"
#include "wasmshim/ttrpc/server.h"

namespace {

using google::protobuf::StringValue;
using wasmshim::testing::ChildProcess;
using namespace wasmshim::ttrpc;
using Clock = std::chrono::steady_clock;

constexpr const char* kService = "wasmshim.interop.v1.Peer";

struct Settings {
  double seconds = 2.0;
  std::size_t payload = 64;
  int concurrency = 16;
};

struct Result {
  double calls_per_second = 0;
  double p50_us = 0;
  double p99_us = 0;
  long errors = 0;
};

Result go_client(const std::string& socket, int concurrency, const Settings& settings) {
  auto out = wasmshim::testing::run({GO_TTRPC_PEER, "bench", socket, std::to_string(concurrency),
                                     std::to_string(settings.seconds) + "s",
                                     std::to_string(settings.payload)});
  if (out.status != 0) {
    throw std::runtime_error("go bench client failed with status " + std::to_string(out.status));
  }
  auto json = nlohmann::json::parse(out.out);
  return Result{json["calls"].get<double>() / json["seconds"].get<double>(),
                json["p50_us"].get<double>(), json["p99_us"].get<double>(),
                json["errors"].get<long>()};
}

Result our_client(const std::string& socket, int concurrency, const Settings& settings) {
  auto client = Client::connect(socket, std::chrono::seconds(10));
  StringValue request;
  request.set_value(std::string(settings.payload, 'x'));
  std::string payload = request.SerializeAsString();
  std::mutex mu;
  std::vector<double> latencies;
  std::atomic<long> errors{0};
  auto start = Clock::now();
  auto stop = start + std::chrono::duration<double>(settings.seconds);
  std::vector<std::thread> callers;
  for (int c = 0; c < concurrency; ++c) {
    callers.emplace_back([&] {
      std::vector<double> local;
      local.reserve(1 << 16);
      while (Clock::now() < stop) {
        auto t0 = Clock::now();
        Response r = client->call(kService, "Echo", payload);
        if (!r.status.is_ok()) {
          errors.fetch_add(1);
          continue;
        }
        local.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
      }
      std::lock_guard lock(mu);
      latencies.insert(latencies.end(), local.begin(), local.end());
    });
  }
  for (auto& t : callers) {
    t.join();
  }
  double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  std::sort(latencies.begin(), latencies.end());
  auto pct = [&](double p) {
    return latencies.empty()
               ? 0.0
               : latencies[static_cast<std::size_t>(p * static_cast<double>(latencies.size() - 1))];
  };
  return Result{static_cast<double>(latencies.size()) / elapsed, pct(0.5), pct(0.99),
                errors.load()};
}

Settings parse_args(int argc, char** argv) {
  Settings s;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    if (flag == "--seconds") {
      s.seconds = std::stod(argv[i + 1]);
    } else if (flag == "--payload") {
      s.payload = std::stoul(argv[i + 1]);
    } else if (flag == "--concurrency") {
      s.concurrency = std::stoi(argv[i + 1]);
    } else {
      throw std::invalid_argument(std::string("unknown flag ") + argv[i]);
    }
  }
  return s;
}

int run_bench(int argc, char** argv) {
  Settings settings = parse_args(argc, argv);
  if (!std::filesystem::exists(GO_TTRPC_PEER)) {
    std::fprintf(stderr, "%s missing: cmake --build build --target go_ttrpc_peer\n", GO_TTRPC_PEER);
    return 1;
  }
  std::string dir =
      (std::filesystem::temp_directory_path() / ("wasmshim-bench-" + std::to_string(::getpid())))
          .string();
  std::filesystem::create_directories(dir);
  std::string ours = dir + "/ours.sock";
  std::string theirs = dir + "/go.sock";

  Server server;
  server.register_method(kService, "Echo",
                         typed_handler<StringValue, StringValue>(
                             [](ServerContext&, const StringValue& in, StringValue& out) {
                               out.set_value(in.value());
                               return Status::ok();
                             }));
  server.listen(ours);
  ChildProcess go_server({GO_TTRPC_PEER, "serve", theirs});
  if (go_server.read_line() != "ready") {
    std::fprintf(stderr, "go ttrpc server did not start\n");
    return 1;
  }

  std::printf(
      "ttrpc Echo round trips, %zu-byte payload, %.1f s per run, one connection per client\n",
      settings.payload, settings.seconds);
  std::printf("%-9s %-9s %5s %12s %9s %9s %7s\n", "client", "server", "conc", "calls/s", "p50 us",
              "p99 us", "errors");
  struct Row {
    const char* client;
    const char* server;
    int concurrency;
    Result result;
  };
  std::vector<Row> rows;
  for (int concurrency : {1, settings.concurrency}) {
    for (const char* client : {"go", "wasmshim"}) {
      for (const char* server_name : {"wasmshim", "go"}) {
        const std::string& socket = std::string(server_name) == "go" ? theirs : ours;
        Result r = std::string(client) == "go" ? go_client(socket, concurrency, settings)
                                               : our_client(socket, concurrency, settings);
        rows.push_back({client, server_name, concurrency, r});
        std::printf("%-9s %-9s %5d %12.0f %9.1f %9.1f %7ld\n", client, server_name, concurrency,
                    r.calls_per_second, r.p50_us, r.p99_us, r.errors);
        std::fflush(stdout);
      }
    }
  }
  auto find = [&](const char* client, const char* server_name, int concurrency) {
    for (const Row& row : rows) {
      if (std::string(row.client) == client && std::string(row.server) == server_name &&
          row.concurrency == concurrency) {
        return row.result;
      }
    }
    return Result{};
  };
  std::printf(
      "\nratios, wasmshim server / Go server (same client; >1 throughput and <1 latency favour "
      "wasmshim):\n");
  for (const char* client : {"go", "wasmshim"}) {
    Result a1 = find(client, "wasmshim", 1);
    Result b1 = find(client, "go", 1);
    Result an = find(client, "wasmshim", settings.concurrency);
    Result bn = find(client, "go", settings.concurrency);
    std::printf(
        "  %-8s client: p50 latency (conc 1) %.2f, throughput (conc 1) %.2f, throughput (conc %d) "
        "%.2f\n",
        client, a1.p50_us / b1.p50_us, a1.calls_per_second / b1.calls_per_second,
        settings.concurrency, an.calls_per_second / bn.calls_per_second);
  }
  Result ours_both = find("wasmshim", "wasmshim", settings.concurrency);
  Result go_both = find("go", "go", settings.concurrency);
  std::printf("  all-wasmshim / all-Go pair, throughput (conc %d): %.2f\n", settings.concurrency,
              ours_both.calls_per_second / go_both.calls_per_second);

  server.shutdown(std::chrono::seconds(1));
  go_server.signal(SIGTERM);
  go_server.wait();
  std::filesystem::remove_all(dir);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run_bench(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ttrpc_bench: %s\n", e.what());
    return 1;
  }
}
