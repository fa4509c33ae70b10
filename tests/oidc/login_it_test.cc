// `jit login` end to end (issue 6): the real jit binary logs in at a real
// OpenID provider (npm oidc-provider over https with a test CA) while the
// test plays the person at the browser with plain HTTP requests (cookies
// kept, redirects followed, the provider's forms posted), then the stored
// token works against the real jitd.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "jit/base/status_macros.h"
#include "jit/cli/oidc_login.h"
#include "jit/client/http_client.h"
#include "tests/integration/jitd_process.h"
#include "tests/oidc/oidc_provider_process.h"

extern char** environ;

namespace jit::testing {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

std::string JitdConfig(const OidcProviderProcess& idp) {
  return R"(storage: sqlite
auth:
  oidc:
    issuer: ")" +
         idp.issuer() + R"("
    audience: jitd
    ca_file: ")" +
         idp.ca_file() + R"("
    group_map: {idp-developers: dev}
    leeway: 0s
connectors:
  - {name: demo, type: fake}
entitlements:
  - {name: read, connector: demo, max_duration: 1h}
policies:
  - name: dev-read
    subjects: {groups: [dev]}
    entitlements: [read]
    max_duration: 30m
    approval: {auto: true}
)";
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// `jit ARGS...` running in the background, output to a file; killed when
// the object dies.
class JitProcess {
 public:
  JitProcess(const std::string& home, std::vector<std::string> args)
      : out_path_(home + "/jit-login.out") {
    args.insert(args.begin(), JIT_BIN);
    std::vector<std::string> env = {"HOME=" + home,
                                    "PATH=/usr/sbin:/usr/bin:/sbin:/bin"};
    std::vector<char*> argv, envp;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    for (std::string& e : env) envp.push_back(e.data());
    envp.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, out_path_.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    if (posix_spawn(&pid_, JIT_BIN, &actions, nullptr, argv.data(),
                    envp.data()) != 0)
      pid_ = -1;
    posix_spawn_file_actions_destroy(&actions);
  }
  ~JitProcess() {
    if (pid_ <= 0) return;
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }

  std::string output() const { return ReadAll(out_path_); }

  // The first line of output holding `prefix`...; "" when none came in 20 s.
  std::string WaitForUrl(const std::string& prefix) const {
    std::string url;
    WaitUntil(
        [&] {
          const std::string out = output();
          const size_t at = out.find(prefix);
          const size_t end = out.find('\n', at);
          if (at == std::string::npos || end == std::string::npos) return false;
          url = out.substr(at, end - at);
          return true;
        },
        20s);
    return url;
  }

  // Exit code, or -1 when it did not end within `limit`.
  int Wait(std::chrono::milliseconds limit) {
    int status = 0;
    bool ended = WaitUntil(
        [&] { return pid_ > 0 && waitpid(pid_, &status, WNOHANG) == pid_; },
        limit);
    if (!ended) return -1;
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

 private:
  std::string out_path_;
  pid_t pid_ = -1;
};

struct Form {
  std::string action;
  std::map<std::string, std::string> fields;
};

std::map<std::string, std::string> Attributes(const std::string& tag) {
  static const std::regex kAttr(R"re(([a-zA-Z_]+)="([^"]*)")re");
  std::map<std::string, std::string> out;
  for (std::sregex_iterator it(tag.begin(), tag.end(), kAttr), end; it != end;
       ++it) {
    out[(*it)[1]] = (*it)[2];
  }
  return out;
}

std::vector<Form> Forms(const std::string& html) {
  std::vector<Form> forms;
  size_t at = 0;
  while ((at = html.find("<form", at)) != std::string::npos) {
    const size_t close = html.find("</form>", at);
    const std::string body = html.substr(at, close - at);
    Form form;
    form.action = Attributes(body.substr(0, body.find('>')))["action"];
    for (size_t in = body.find("<input"); in != std::string::npos;
         in = body.find("<input", in + 1)) {
      auto attrs = Attributes(body.substr(in, body.find('>', in) - in));
      if (!attrs["name"].empty()) form.fields[attrs["name"]] = attrs["value"];
    }
    forms.push_back(std::move(form));
    at = close == std::string::npos ? html.size() : close;
  }
  return forms;
}

// A person at a browser, reduced to HTTP: a cookie jar for the provider,
// redirects followed, forms posted. Every loop is bounded.
class Browser {
 public:
  Browser(const OidcProviderProcess& idp, std::string user)
      : idp_(idp), user_(std::move(user)) {}

  enum class Choice { kAllow, kCancel };

  // Starts at `url` and goes on until the provider sends the browser to the
  // loopback (whose answer is returned) or shows a page without a form
  // (device flow done; that page is returned).
  StatusOr<ClientResponse> LogIn(const std::string& url, Choice choice) {
    std::string method = "GET", target = url, body;
    for (int step = 0; step < 20; ++step) {
      if (target.starts_with("http://127.0.0.1:")) return Loopback(target);
      JIT_ASSIGN_OR_RETURN(ClientResponse r, Go(method, target, body));
      if (r.status == 302 || r.status == 303) {
        method = "GET", body = "", target = r.headers["location"];
        continue;
      }
      if (r.status != 200)
        return InternalError("provider answered " + std::to_string(r.status) +
                             ": " + r.body);
      std::vector<Form> forms = Forms(r.body);
      if (forms.empty()) return r;
      Form form = Pick(forms, choice);
      for (auto& [name, value] : form.fields) {
        if (name == "login") value = user_;
        if (name == "password") value = user_ + "-password";
      }
      method = "POST", target = form.action;
      body = FormEncode({form.fields.begin(), form.fields.end()});
    }
    return InternalError("too many steps");
  }

 private:
  static Form Pick(const std::vector<Form>& forms, Choice choice) {
    for (const Form& f : forms) {
      if ((choice == Choice::kCancel) == f.action.ends_with("/abort")) return f;
    }
    return forms.front();
  }

  StatusOr<ClientResponse> Loopback(const std::string& url) {
    JIT_ASSIGN_OR_RETURN(UrlParts parts, SplitUrl(url));
    JIT_ASSIGN_OR_RETURN(HttpClient client,
                         HttpClient::Create(parts.origin, 10s));
    return client.Do("GET", parts.target);
  }

  StatusOr<ClientResponse> Go(const std::string& method, const std::string& url,
                              const std::string& body) {
    std::string target = url;
    if (url.starts_with("https://")) {
      JIT_ASSIGN_OR_RETURN(UrlParts parts, SplitUrl(url));
      target = parts.target;
    }
    JIT_ASSIGN_OR_RETURN(
        HttpClient client,
        HttpClient::Create(idp_.issuer(), 10s, TlsOptions{idp_.ca_file()}));
    std::map<std::string, std::string> headers = {{"cookie", CookieHeader()}};
    if (method == "POST")
      headers["content-type"] = "application/x-www-form-urlencoded";
    if (headers["cookie"].empty()) headers.erase("cookie");
    JIT_ASSIGN_OR_RETURN(ClientResponse r,
                         client.Do(method, target, "", body, headers));
    KeepCookies(r.headers["set-cookie"]);
    return r;
  }

  std::string CookieHeader() const {
    std::string out;
    for (const auto& [name, value] : jar_) {
      out += (out.empty() ? "" : "; ") + name + "=" + value;
    }
    return out;
  }

  // Set-Cookie lines arrive joined with ", " (which `expires=` also
  // holds): a piece starts a cookie when it begins with NAME=.
  void KeepCookies(const std::string& joined) {
    static const std::regex kStart(R"re(^([A-Za-z0-9_.\-]+)=([^;]*))re");
    std::stringstream pieces(
        std::regex_replace(joined, std::regex(", "), "\n"));
    for (std::string piece; std::getline(pieces, piece);) {
      std::smatch m;
      if (!std::regex_search(piece, m, kStart)) continue;
      if (m[2].str().empty()) {
        jar_.erase(m[1]);
      } else {
        jar_[m[1]] = m[2];
      }
    }
  }

  const OidcProviderProcess& idp_;
  std::string user_;
  std::map<std::string, std::string> jar_;
};

class LoginTest : public ::testing::Test {
 protected:
  void SetUp() override {
    idp_ = std::make_unique<OidcProviderProcess>(tmp_.path());
    Status started = idp_->Start("key-1");
    ASSERT_TRUE(started.ok()) << started.ToString();
    jitd_ = std::make_unique<JitdProcess>(tmp_.path(), JitdConfig(*idp_));
    started = jitd_->Start();
    ASSERT_TRUE(started.ok()) << started.ToString();
  }

  std::vector<std::string> LoginArgs(std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {
        "login",      "--issuer",   idp_->issuer(),      "--client-id",
        "jit-cli",    "--ca-file",  idp_->ca_file(),     "--scope",
        "openid jit", "--resource", "https://jitd.test", "--no-browser",
        "--timeout",  "1m"};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  }

  std::string LoginFile() const {
    return tmp_.path() + "/.config/jit/login.json";
  }

  // `jit ARGS` with HOME holding the login and no JIT_TOKEN.
  ProgramResult Jit(std::vector<std::string> args) {
    args.insert(args.begin(), JIT_BIN);
    return RunProgram(args,
                      {{"JIT_SERVER", jitd_->url()}, {"HOME", tmp_.path()}});
  }

  void ExpectRequestAsAlice() {
    ProgramResult asked = Jit({"request", "read", "--for", "5m", "--reason",
                               "read the slow query log", "--json"});
    ASSERT_EQ(asked.exit_code, 0) << asked.out << asked.err;
    json req = json::parse(asked.out, nullptr, false);
    EXPECT_EQ(req["subject"], "alice") << asked.out;
    EXPECT_EQ(req["policy"], "dev-read") << asked.out;
  }

  json StoredLoginJson() const {
    return json::parse(ReadAll(LoginFile()), nullptr, false);
  }

  TempDir tmp_;  // destroyed last
  std::unique_ptr<OidcProviderProcess> idp_;
  std::unique_ptr<JitdProcess> jitd_;
};

TEST_F(LoginTest, BrowserLoginStoresTheTokenAndJitUsesIt) {
  JitProcess jit(tmp_.path(), LoginArgs());
  const std::string url = jit.WaitForUrl(idp_->issuer() + "/auth?");
  ASSERT_FALSE(url.empty()) << jit.output();
  EXPECT_NE(url.find("code_challenge_method=S256"), std::string::npos);
  EXPECT_NE(url.find("redirect_uri=http%3A%2F%2F127.0.0.1%3A"),
            std::string::npos);

  Browser browser(*idp_, "alice");
  StatusOr<ClientResponse> landed = browser.LogIn(url, Browser::Choice::kAllow);
  ASSERT_TRUE(landed.ok()) << landed.status().ToString() << idp_->log();
  EXPECT_EQ(landed->status, 200);
  EXPECT_NE(landed->body.find("Logged in"), std::string::npos);

  ASSERT_EQ(jit.Wait(20s), 0) << jit.output();
  struct stat st {};
  ASSERT_EQ(::stat(LoginFile().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  const json stored = StoredLoginJson();
  const std::string access = stored.value("access_token", "");
  ASSERT_FALSE(access.empty());
  EXPECT_EQ(jit.output().find(access), std::string::npos);  // never printed

  ExpectRequestAsAlice();

  // An expired access token is refreshed with the refresh token.
  ASSERT_FALSE(stored.value("refresh_token", "").empty());
  json expired = stored;
  expired["expires_at"] = 1;
  std::ofstream(LoginFile()) << expired.dump();  // keeps mode 0600
  ProgramResult ls = Jit({"ls", "--json"});
  ASSERT_EQ(ls.exit_code, 0) << ls.out << ls.err;
  EXPECT_NE(StoredLoginJson().value("access_token", ""), access);
  EXPECT_GT(StoredLoginJson().value("expires_at", 0), 1);

  ProgramResult out = Jit({"logout"});
  EXPECT_EQ(out.exit_code, 0) << out.err;
  EXPECT_NE(::stat(LoginFile().c_str(), &st), 0);
  ProgramResult anonymous = Jit({"ls"});
  EXPECT_NE(anonymous.exit_code, 0) << anonymous.out;
}

TEST_F(LoginTest, CancelledLoginFailsClearlyAndStoresNothing) {
  JitProcess jit(tmp_.path(), LoginArgs());
  const std::string url = jit.WaitForUrl(idp_->issuer() + "/auth?");
  ASSERT_FALSE(url.empty()) << jit.output();

  Browser browser(*idp_, "alice");
  StatusOr<ClientResponse> landed =
      browser.LogIn(url, Browser::Choice::kCancel);
  ASSERT_TRUE(landed.ok()) << landed.status().ToString() << idp_->log();

  EXPECT_EQ(jit.Wait(20s), 1) << jit.output();
  EXPECT_NE(jit.output().find("login_refused"), std::string::npos)
      << jit.output();
  EXPECT_NE(jit.output().find("access_denied"), std::string::npos)
      << jit.output();
  struct stat st {};
  EXPECT_NE(::stat(LoginFile().c_str(), &st), 0);
}

TEST_F(LoginTest, DeviceLoginWorksToo) {
  JitProcess jit(tmp_.path(), LoginArgs({"--device"}));
  const std::string url = jit.WaitForUrl(idp_->issuer() + "/device");
  ASSERT_FALSE(url.empty()) << jit.output();

  Browser browser(*idp_, "alice");
  StatusOr<ClientResponse> done = browser.LogIn(url, Browser::Choice::kAllow);
  ASSERT_TRUE(done.ok()) << done.status().ToString() << idp_->log();

  // jit polls every `interval` (5 s by default at this provider).
  ASSERT_EQ(jit.Wait(30s), 0) << jit.output();
  struct stat st {};
  ASSERT_EQ(::stat(LoginFile().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ExpectRequestAsAlice();
}

}  // namespace
}  // namespace jit::testing
