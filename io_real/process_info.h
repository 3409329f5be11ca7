// seam::ProcessInfo from Linux: /proc/self (RSS, virtual size, start time, open descriptors), getrusage (CPU),
// getrlimit (descriptor limit) and glibc's mallinfo2 (allocator figures).
#pragma once

#include "engine/seam/process.h"

namespace nsq::io_real {

class LinuxProcessInfo final : public seam::ProcessInfo {
 public:
  LinuxProcessInfo();
  seam::ProcessStats sample() override;

 private:
  double start_time_s_ = 0;
};

}  // namespace nsq::io_real
