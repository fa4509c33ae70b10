#pragma once

#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace jit::pam::testing {

// What the stand-in for jitd's enforcement socket does with each request.
enum class Behaviour {
  kAllow,        // 200 {"allowed": true, "grant_id": ..., "expires_at": ...}
  kDeny,         // 200 {"allowed": false}
  kNeverAnswer,  // reads the request, keeps the connection, says nothing
  kGarbage,      // 200 with a body that is not JSON
  kAllowedText,  // 200 {"allowed": "true"} (a string, not a boolean)
  kServerError,  // 500 {"allowed": true}
};

// A small HTTP server on a Unix stream socket, on its own thread, answering
// POST /v1/check/target as told. Thread-safe.
class TestCheckServer {
 public:
  // Binds `socket_path` (which must not exist) and starts serving.
  explicit TestCheckServer(const std::string& socket_path);
  ~TestCheckServer();
  TestCheckServer(const TestCheckServer&) = delete;
  TestCheckServer& operator=(const TestCheckServer&) = delete;

  void SetBehaviour(Behaviour b);
  // "METHOD TARGET" and JSON body of every request so far (body null when
  // it was not JSON).
  struct Seen {
    std::string request_line;
    nlohmann::json body;
  };
  std::vector<Seen> Requests() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// A fresh 0700 directory under /tmp (short enough for socket paths),
// removed with its contents on destruction.
class ScratchDir {
 public:
  ScratchDir();
  ~ScratchDir();
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace jit::pam::testing
