#pragma once

#include <string>
#include <vector>

#include "jit/base/status.h"

namespace jit::testing {

// A Linux account created for one test with `useradd` and removed with
// `userdel -r` on destruction. Needs root. Names are `jt<8 hex>` so parallel
// tests never collide and leftovers are easy to spot.
class SystemUser {
 public:
  // Creates the account with a home directory and /bin/sh as shell.
  static StatusOr<SystemUser> Create();
  SystemUser(SystemUser&& other) noexcept;
  SystemUser& operator=(SystemUser&&) = delete;
  SystemUser(const SystemUser&) = delete;
  ~SystemUser();

  const std::string& name() const { return name_; }
  const std::string& home() const { return home_; }
  int uid() const { return uid_; }
  int gid() const { return gid_; }

 private:
  SystemUser(std::string name, std::string home, int uid, int gid)
      : name_(std::move(name)), home_(std::move(home)), uid_(uid), gid_(gid) {}
  std::string name_;  // empty once moved from
  std::string home_;
  int uid_ = -1;
  int gid_ = -1;
};

// Whether this process runs as root (tests labelled root-required skip
// otherwise, saying why).
bool RunningAsRoot();

// argv prefixed so it runs as `user` (runuser -u USER --).
std::vector<std::string> AsUser(const std::string& user,
                                std::vector<std::string> argv);

}  // namespace jit::testing
