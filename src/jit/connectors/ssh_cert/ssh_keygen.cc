#include "jit/connectors/ssh_cert/ssh_keygen.h"

#include <fmt/format.h>
#include <time.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <sstream>

#include "jit/base/status_macros.h"

namespace jit {
namespace {

constexpr char kSshKeygen[] = "/usr/bin/ssh-keygen";
constexpr size_t kMaxStderrInMessage = 512;

std::string Trimmed(std::string_view s) {
  auto is_space = [](char c) {
    return std::isspace(static_cast<unsigned char>(c));
  };
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  if (s.size() > kMaxStderrInMessage) {
    return std::string(s.substr(0, kMaxStderrInMessage)) + "...";
  }
  return std::string(s);
}

StatusOr<std::string> ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return UnavailableError("cannot read " + path.string());
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

}  // namespace

std::string SshKeygenTime(SystemTime t) {
  const time_t secs = std::chrono::system_clock::to_time_t(
      std::chrono::floor<std::chrono::seconds>(t));
  struct tm utc {};
  gmtime_r(&secs, &utc);
  char buf[32];
  strftime(buf, sizeof(buf), "%Y%m%d%H%M%SZ", &utc);
  return buf;
}

std::vector<std::string> SignArgv(
    const std::filesystem::path& ca_key, const CertificateRequest& req,
    const std::filesystem::path& public_key_file) {
  std::vector<std::string> argv = {
      kSshKeygen,
      "-q",
      "-s",
      ca_key.string(),
      "-I",
      req.key_id,
      "-n",
      req.principal,
      "-z",
      std::to_string(req.serial),
      "-V",
      SshKeygenTime(req.valid_after) + ":" + SshKeygenTime(req.valid_before),
      "-O",
      "clear",
      "-O",
      "permit-pty"};
  auto add = [&argv](std::string option) {
    argv.push_back("-O");
    argv.push_back(std::move(option));
  };
  if (req.permit_port_forwarding) add("permit-port-forwarding");
  if (req.permit_agent_forwarding) add("permit-agent-forwarding");
  if (req.permit_x11_forwarding) add("permit-X11-forwarding");
  if (!req.source_address.empty()) add("source-address=" + req.source_address);
  argv.push_back(public_key_file.string());
  return argv;
}

StatusOr<CommandResult> SshKeygen::Run(std::string_view what,
                                       const std::vector<std::string>& args,
                                       Deadline deadline) const {
  auto left = std::chrono::floor<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
  if (left <= std::chrono::milliseconds::zero()) {
    return DeadlineExceededError(
        fmt::format("ssh-keygen {}: deadline already passed", what));
  }
  StatusOr<CommandResult> r = runner_.Run(
      args, {{"PATH", "/usr/bin:/bin"}, {"LC_ALL", "C"}, {"TZ", "UTC"}},
      std::min(timeout_, left));
  if (!r.ok())
    return r.status().WithContext(fmt::format("ssh-keygen {}", what));
  return r;
}

Status SshKeygen::RunToSuccess(std::string_view what,
                               const std::vector<std::string>& args,
                               Deadline deadline) const {
  JIT_ASSIGN_OR_RETURN(CommandResult r, Run(what, args, deadline));
  if (r.exit_code == 0) return OkStatus();
  return UnavailableError(fmt::format("ssh-keygen {} exited with {}: {}", what,
                                      r.exit_code, Trimmed(r.err)));
}

Status SshKeygen::GenerateEd25519(const std::filesystem::path& private_key,
                                  const std::string& comment,
                                  Deadline deadline) const {
  return RunToSuccess("generate CA key",
                      {kSshKeygen, "-q", "-t", "ed25519", "-N", "", "-C",
                       comment, "-f", private_key.string()},
                      deadline);
}

StatusOr<std::string> SshKeygen::PublicKeyOf(
    const std::filesystem::path& private_key, Deadline deadline) const {
  JIT_ASSIGN_OR_RETURN(
      CommandResult r,
      Run("read public key", {kSshKeygen, "-y", "-f", private_key.string()},
          deadline));
  if (r.exit_code != 0) {
    return UnavailableError(fmt::format("ssh-keygen -y {} exited with {}: {}",
                                        private_key.string(), r.exit_code,
                                        Trimmed(r.err)));
  }
  return Trimmed(r.out) + "\n";
}

Status SshKeygen::CheckPublicKey(const std::filesystem::path& public_key_file,
                                 Deadline deadline) const {
  JIT_ASSIGN_OR_RETURN(
      CommandResult r,
      Run("check public key",
          {kSshKeygen, "-l", "-f", public_key_file.string()}, deadline));
  if (r.exit_code != 0) {
    return InvalidArgumentError("public key is not a valid OpenSSH public key");
  }
  return OkStatus();
}

StatusOr<std::string> SshKeygen::Sign(
    const std::filesystem::path& ca_key, const CertificateRequest& req,
    const std::filesystem::path& public_key_file, Deadline deadline) const {
  JIT_RETURN_IF_ERROR(
      RunToSuccess("sign", SignArgv(ca_key, req, public_key_file), deadline));
  std::filesystem::path cert = public_key_file;
  cert.replace_extension();
  cert += "-cert.pub";
  return ReadFile(cert);
}

Status SshKeygen::GenerateKrl(const std::filesystem::path& out,
                              const std::filesystem::path& ca_public_key,
                              const std::filesystem::path& spec_file,
                              Deadline deadline) const {
  return RunToSuccess("generate KRL",
                      {kSshKeygen, "-q", "-k", "-f", out.string(), "-s",
                       ca_public_key.string(), spec_file.string()},
                      deadline);
}

}  // namespace jit
