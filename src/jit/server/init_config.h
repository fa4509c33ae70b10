#pragma once

#include <string>
#include <string_view>

#include "jit/base/status.h"

namespace jit {

// What `jitd --init DIR` writes: a commented starter config at DIR/jitd.yaml
// with the embedded SQLite store, the in-process `fake` connector (no
// outside system needed), example entitlements and policies, and one
// administrator token of which only the SHA-256 is kept in the file.
struct InitOptions {
  // Where jitd.yaml goes; made absolute, created 0700 when missing.
  std::string dir;
  // `listen:` of the written file.
  std::string listen = "127.0.0.1:8420";
  // `data_dir:` of the written file; empty = DIR/data.
  std::string data_dir;
  // `web: {dir: ...}` of the written file; empty = no `web:` key (jitd's
  // default, web/dist under its working directory).
  std::string web_dir;
};

struct InitResult {
  std::string config_path;  // absolute
  std::string data_dir;     // absolute, as written
  std::string listen;       // as written
  // The administrator token in clear text. It exists nowhere else: the
  // caller shows it once and forgets it.
  std::string admin_token;
};

// The starter config text for `o` (with `dir` and `data_dir` already
// absolute) and the token's hex SHA-256. Pure.
std::string StarterConfigYaml(const InitOptions& o,
                              std::string_view admin_token_sha256);

// Writes the starter config with a fresh random admin token (OpenSSL's
// CSPRNG, 32 bytes). The file is mode 0600 and appears complete or not at
// all (written aside, checked with LoadConfig, then linked into place).
// Errors, each with nothing written or changed:
//   kAlreadyExists: DIR/jitd.yaml exists (never overwritten);
//   kInvalidArgument: bad `listen`, or empty `dir`;
//   kUnavailable: the directory or file cannot be created;
//   kInternal: the written text does not load as a config (a bug).
StatusOr<InitResult> WriteStarterConfig(InitOptions o);

// The console that belongs to the jitd binary at `exe`: EXE/../share/jitd/web
// (the `cmake --install` layout) when it holds an index.html, else "".
std::string InstalledWebDir(const std::string& exe);

}  // namespace jit
