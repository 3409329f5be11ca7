// nsqd's data-path lock: the directory itself is opened and flock()ed (exclusive, non-blocking), so a second
// nsqd on the same data path fails at start instead of corrupting the queues.
#pragma once

#include <string>

namespace nsq::io_real {

class DataDirLock {
 public:
  DataDirLock() = default;
  ~DataDirLock();
  DataDirLock(const DataDirLock&) = delete;
  DataDirLock& operator=(const DataDirLock&) = delete;

  // Returns "" on success, else nsqd's error text (e.g. "cannot flock directory /d - resource temporarily
  // unavailable (possibly in use by another instance of nsqd)").
  std::string lock(const std::string& dir);
  void unlock();

 private:
  int fd_ = -1;
};

}  // namespace nsq::io_real
