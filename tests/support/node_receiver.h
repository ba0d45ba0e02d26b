// The OTLP receiver built on the OpenTelemetry project's own decoders
// (tests/interop/otlp-node-receiver), started as a child process.
#pragma once

#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "support/child_process.h"
#include "support/temp_dir.h"
#include "support/tls_files.h"

namespace wasmshim::testing {

using namespace std::chrono_literals;

struct NodeReceiver {
  TempDir dir;
  std::string out = (dir.path() / "decoded.jsonl").string();
  std::unique_ptr<ChildProcess> process;
  std::map<std::string, int> ports;

  explicit NodeReceiver(const TlsFiles* tls = nullptr, bool client_ca = false,
                        const std::string& http_answers = "200") {
    std::vector<std::string> argv{WASMSHIM_NODE,    WASMSHIM_NODE_RECEIVER,
                                  "--modules",      WASMSHIM_NODE_MODULES,
                                  "--out",          out,
                                  "--http-port",    "0",
                                  "--grpc-port",    "0",
                                  "--http-answers", http_answers};
    if (tls != nullptr) {
      for (const char* flag : {"--https-port", "--grpcs-port"}) {
        argv.insert(argv.end(), {flag, "0"});
      }
      argv.insert(argv.end(), {"--cert", tls->server_cert, "--key", tls->server_key});
      if (client_ca) {
        argv.insert(argv.end(), {"--client-ca", tls->client_cert});
      }
    }
    process = std::make_unique<ChildProcess>(argv);
    auto line = process->read_line(30s);
    if (!line || !line->starts_with("READY ")) {
      throw std::runtime_error("the Node receiver did not start (run scripts/npm-deps.sh?)");
    }
    std::istringstream words(line->substr(6));
    std::string word;
    while (words >> word) {
      auto eq = word.find('=');
      ports[word.substr(0, eq)] = std::stoi(word.substr(eq + 1));
    }
  }

  std::string url(const std::string& scheme) const {
    return scheme + "://127.0.0.1:" + std::to_string(ports.at(scheme)) + "/v1/traces";
  }
  std::string grpc(const std::string& scheme) const {
    const std::string key = scheme == "https" ? "grpcs" : "grpc";
    return scheme + "://localhost:" + std::to_string(ports.at(key));
  }

  std::vector<nlohmann::json> records(std::size_t at_least) const {
    std::vector<nlohmann::json> lines;
    for (int attempt = 0; attempt < 500; ++attempt) {
      lines.clear();
      std::ifstream in(out);
      std::string line;
      while (std::getline(in, line)) {
        lines.push_back(nlohmann::json::parse(line));
      }
      if (lines.size() >= at_least) {
        break;
      }
      std::this_thread::sleep_for(10ms);
    }
    return lines;
  }
};

// Every span in the records, with its record's protocol.
inline std::vector<nlohmann::json> all_spans(const std::vector<nlohmann::json>& records) {
  std::vector<nlohmann::json> spans;
  for (const auto& record : records) {
    if (!record.contains("request")) {
      continue;
    }
    for (const auto& resource : record["request"].value("resourceSpans", nlohmann::json::array())) {
      for (const auto& scope : resource.value("scopeSpans", nlohmann::json::array())) {
        for (const auto& span : scope.value("spans", nlohmann::json::array())) {
          spans.push_back(span);
        }
      }
    }
  }
  return spans;
}

}  // namespace wasmshim::testing
