#include "io_real/data_dir_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>

namespace nsq::io_real {

namespace {
// Go prints errno texts in lower case ("resource temporarily unavailable").
std::string go_errno_text(int err) {
  std::string text = std::strerror(err);
  if (!text.empty()) text[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(text[0])));
  return text;
}
}  // namespace

DataDirLock::~DataDirLock() { unlock(); }

std::string DataDirLock::lock(const std::string& dir) {
  unlock();
  const int fd = ::open(dir.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "open " + dir + ": " + go_errno_text(errno);
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    ::close(fd);
    return "cannot flock directory " + dir + " - " + go_errno_text(err) +
           " (possibly in use by another instance of nsqd)";
  }
  fd_ = fd;
  return {};
}

void DataDirLock::unlock() {
  if (fd_ < 0) return;
  ::flock(fd_, LOCK_UN);
  ::close(fd_);
  fd_ = -1;
}

}  // namespace nsq::io_real
