// Seam: figures about the running process that only the OS knows (memory, CPU, file descriptors). The engine
// reports them in /stats "memory", GET /metrics and statsd "mem.*"; io_real reads them from the OS and the
// allocator, io_sim returns fixed values.
#pragma once

#include <cstdint>

namespace nsq::seam {

struct ProcessStats {
  std::int64_t resident_bytes = 0;  // RSS
  std::int64_t virtual_bytes = 0;
  double cpu_seconds = 0;           // user + system
  std::int64_t open_fds = 0;
  std::int64_t max_fds = 0;         // soft RLIMIT_NOFILE
  double start_time_s = 0;          // process start, Unix seconds
  // The allocator's view (glibc mallinfo2 in io_real): bytes handed out, bytes held but free, bytes the
  // allocator has given back to the OS (unknown → 0), and how many allocations are live (unknown → 0).
  std::int64_t heap_in_use_bytes = 0;
  std::int64_t heap_idle_bytes = 0;
  std::int64_t heap_released_bytes = 0;
  std::int64_t heap_objects = 0;
};

class ProcessInfo {
 public:
  virtual ~ProcessInfo() = default;
  virtual ProcessStats sample() = 0;
};

}  // namespace nsq::seam
