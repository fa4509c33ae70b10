#include "jit/base/files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "jit/base/ids.h"

namespace jit {
namespace {

Status Errno(std::string_view what, const std::filesystem::path& path) {
  return UnavailableError(std::string(what) + " " + path.string() + ": " +
                          std::strerror(errno));
}

Status WriteAll(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return UnavailableError(std::strerror(errno));
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return OkStatus();
}

}  // namespace

Status WriteFileAtomically(const std::filesystem::path& path,
                           std::string_view bytes,
                           std::filesystem::perms mode) {
  std::filesystem::path tmp = path;
  tmp += ".tmp-" + RandomHex(6);
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return Errno("cannot create", tmp);
  Status written = WriteAll(fd, bytes);
  bool synced = written.ok() && ::fsync(fd) == 0;
  bool moded = synced && ::fchmod(fd, static_cast<mode_t>(mode)) == 0;
  ::close(fd);
  if (!moded || ::rename(tmp.c_str(), path.c_str()) != 0) {
    Status err = Errno("cannot write", path);
    ::unlink(tmp.c_str());
    return err;
  }
  // The rename itself must survive a crash too.
  int dir = ::open(path.parent_path().c_str(), O_RDONLY | O_DIRECTORY);
  if (dir >= 0) {
    ::fsync(dir);
    ::close(dir);
  }
  return OkStatus();
}

}  // namespace jit
