// Self-signed certificates for the TLS tests, made by Debian's openssl.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "support/child_process.h"
#include "support/temp_dir.h"

namespace wasmshim::testing {

struct TlsFiles {
  TempDir dir;
  std::string server_cert, server_key, client_cert, client_key;

  TlsFiles() {
    server_cert = (dir.path() / "server.pem").string();
    server_key = (dir.path() / "server.key").string();
    client_cert = (dir.path() / "client.pem").string();
    client_key = (dir.path() / "client.key").string();
    make(server_cert, server_key, "localhost", "subjectAltName=IP:127.0.0.1,DNS:localhost");
    make(client_cert, client_key, "wasmshim-test-client", "extendedKeyUsage=clientAuth");
  }

 private:
  static void make(const std::string& cert, const std::string& key, const std::string& name,
                   const std::string& extension) {
    auto result =
        wasmshim::testing::run({"/usr/bin/openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                                "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2", "-subj",
                                "/CN=" + name, "-addext", extension, "-keyout", key, "-out", cert});
    ASSERT_EQ(result.status, 0) << "openssl req failed";
  }
};

}  // namespace wasmshim::testing
