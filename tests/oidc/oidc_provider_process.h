#pragma once

#include <sys/types.h>

#include <string>

#include "jit/base/status.h"
#include "jit/client/http_client.h"

namespace jit::testing {

// The test OpenID provider (tests/oidc/provider.mjs, npm oidc-provider) as
// a child process on https://127.0.0.1:PORT, its certificate signed by a
// CA the test made (ca.pem in `dir`). Killed when the object dies, also
// when a test fails.
class OidcProviderProcess {
 public:
  // Makes the CA and certificate in `dir`; picks a free port.
  OidcProviderProcess(std::string dir);
  ~OidcProviderProcess();

  // Starts node with a fresh signing key named `kid` and waits (bounded,
  // 20 s) until discovery answers over https. Stop() first when running.
  Status Start(const std::string& kid);
  void Stop();

  // A JWT access token from the client_credentials grant for `client`
  // (alice, mallory, adam) and `resource` (https://jitd.test, .../short,
  // https://other.test).
  StatusOr<std::string> Token(
      const std::string& client,
      const std::string& resource = "https://jitd.test") const;

  std::string issuer() const;
  std::string ca_file() const { return dir_ + "/ca.pem"; }
  std::string log() const;

 private:
  Status StartOnce(const std::string& kid);
  StatusOr<HttpClient> Client() const;
  std::string dir_;
  uint16_t port_;
  pid_t pid_ = -1;
};

}  // namespace jit::testing
