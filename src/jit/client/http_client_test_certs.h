#pragma once

#include <string>
#include <vector>

#include "jit/base/status.h"

namespace jit::testing {

// A throwaway PKI for TLS tests: a fresh self-signed CA and one server
// certificate it signed, all PEM. Keys are EC P-256, made anew per call.
struct TestPki {
  std::string ca_cert_pem;
  std::string server_cert_pem;
  std::string server_key_pem;
};

// `alt_names` are the server certificate's subject alternative names, each
// "DNS:name" or "IP:address" (e.g. {"DNS:localhost", "IP:127.0.0.1"}).
// kInternal when OpenSSL fails.
StatusOr<TestPki> MakeTestPki(const std::vector<std::string>& alt_names);

// Writes `text` to `path` (0600). kUnavailable when it cannot.
Status WriteTextFile(const std::string& path, const std::string& text);

}  // namespace jit::testing
