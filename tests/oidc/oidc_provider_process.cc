#include "tests/oidc/oidc_provider_process.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <vector>

#include "jit/base/status_macros.h"
#include "jit/client/http_client_test_certs.h"
#include "tests/integration/jitd_process.h"

extern char** environ;

namespace jit::testing {

OidcProviderProcess::OidcProviderProcess(std::string dir)
    : dir_(std::move(dir)), port_(FreePort()) {
  StatusOr<TestPki> pki = MakeTestPki({"IP:127.0.0.1"});
  if (!pki.ok()) return;  // Start() then fails on the missing files
  (void)WriteTextFile(dir_ + "/ca.pem", pki->ca_cert_pem);
  (void)WriteTextFile(dir_ + "/idp_cert.pem", pki->server_cert_pem);
  (void)WriteTextFile(dir_ + "/idp_key.pem", pki->server_key_pem);
}

OidcProviderProcess::~OidcProviderProcess() { Stop(); }

std::string OidcProviderProcess::issuer() const {
  return "https://127.0.0.1:" + std::to_string(port_);
}

std::string OidcProviderProcess::log() const {
  std::ifstream in(dir_ + "/idp.log");
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

StatusOr<HttpClient> OidcProviderProcess::Client() const {
  return HttpClient::Create(issuer(), std::chrono::seconds(5),
                            TlsOptions{ca_file()});
}

Status OidcProviderProcess::Start(const std::string& kid) {
  // Now and then node starts but never listens (seen under a loaded -j2
  // run): a start that is not ready in 20 s is killed and tried again.
  Status started = OkStatus();
  for (int attempt = 0; attempt < 3; ++attempt) {
    started = StartOnce(kid);
    if (started.ok()) return started;
    Stop();
  }
  return started;
}

Status OidcProviderProcess::StartOnce(const std::string& kid) {
  Stop();
  std::vector<std::string> args = {
      "node",   std::string(JIT_OIDC_DIR) + "/provider.mjs",
      "--port", std::to_string(port_),
      "--cert", dir_ + "/idp_cert.pem",
      "--key",  dir_ + "/idp_key.pem",
      "--kid",  kid};
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  std::string log_path = dir_ + "/idp.log";
  posix_spawn_file_actions_addopen(&actions, 1, log_path.c_str(),
                                   O_WRONLY | O_CREAT | O_APPEND, 0600);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  int rc = posix_spawnp(&pid_, "node", &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    pid_ = -1;
    return UnavailableError("cannot start node");
  }
  JIT_ASSIGN_OR_RETURN(HttpClient client, Client());
  bool exited = false;
  std::string last = "no answer yet";
  bool ready = WaitUntil(
      [&] {
        int status = 0;
        if (waitpid(pid_, &status, WNOHANG) == pid_) {
          exited = true;
          return true;
        }
        StatusOr<ClientResponse> r =
            client.Do("GET", "/.well-known/openid-configuration");
        last = r.ok() ? "HTTP " + std::to_string(r->status)
                      : r.status().ToString();
        return r.ok() && r->status == 200;
      },
      std::chrono::seconds(20));
  if (exited) {
    pid_ = -1;
    return UnavailableError("the OIDC provider exited:\n" + log());
  }
  if (!ready) {
    return UnavailableError("OIDC provider on port " + std::to_string(port_) +
                            " not ready (last try: " + last + "):\n" + log());
  }
  return OkStatus();
}

void OidcProviderProcess::Stop() {
  if (pid_ <= 0) return;
  kill(pid_, SIGTERM);
  int status = 0;
  bool exited =
      WaitUntil([&] { return waitpid(pid_, &status, WNOHANG) == pid_; },
                std::chrono::seconds(5));
  if (!exited) {
    kill(pid_, SIGKILL);
    waitpid(pid_, &status, 0);
  }
  pid_ = -1;
}

StatusOr<std::string> OidcProviderProcess::Token(
    const std::string& client_id, const std::string& resource) const {
  JIT_ASSIGN_OR_RETURN(HttpClient client, Client());
  // Test-only fixed values: no escaping needed beyond ':' and '/'.
  auto encode = [](std::string s) {
    std::string out;
    for (char c : s) {
      if (c == ':')
        out += "%3A";
      else if (c == '/')
        out += "%2F";
      else
        out += c;
    }
    return out;
  };
  std::string form =
      "grant_type=client_credentials&scope=jit&client_id=" + client_id +
      "&client_secret=" + client_id +
      "-test-secret&resource=" + encode(resource);
  JIT_ASSIGN_OR_RETURN(
      ClientResponse r,
      client.Do("POST", "/token", "", form,
                {{"content-type", "application/x-www-form-urlencoded"}}));
  nlohmann::json body =
      nlohmann::json::parse(r.body, nullptr, /*allow_exceptions=*/false);
  if (r.status != 200 || !body.is_object() || !body.contains("access_token")) {
    return UnavailableError("token endpoint answered " +
                            std::to_string(r.status) + ": " + r.body);
  }
  return body["access_token"].get<std::string>();
}

}  // namespace jit::testing
