#include "io_real/process_info.h"

#include <dirent.h>
#include <malloc.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstddef>
#include <ctime>
#include <fstream>
#include <sstream>
#include <string>

// Sanitizer builds (ASan: GCC's __SANITIZE_ADDRESS__ / clang's __has_feature; TSan: __SANITIZE_THREAD__)
// replace malloc; their allocator has its own statistics.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define NSQD_SANITIZER_ALLOCATOR 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define NSQD_SANITIZER_ALLOCATOR 1
#endif
#endif
#ifndef NSQD_SANITIZER_ALLOCATOR
#define NSQD_SANITIZER_ALLOCATOR 0
#endif
#if NSQD_SANITIZER_ALLOCATOR
// From compiler-rt's sanitizer/allocator_interface.h (which GCC does not install); exported by libasan/libtsan.
extern "C" {
std::size_t __sanitizer_get_current_allocated_bytes();
std::size_t __sanitizer_get_heap_size();
std::size_t __sanitizer_get_unmapped_bytes();
}
#endif

namespace nsq::io_real {

namespace {

// Boot time (unix s) from /proc/stat's "btime" line.
double boot_time_s() {
  std::ifstream in("/proc/stat");
  std::string key;
  while (in >> key) {
    if (key == "btime") {
      double v = 0;
      in >> v;
      return v;
    }
    std::string rest;
    std::getline(in, rest);
  }
  return 0;
}

// Field 22 of /proc/self/stat: start time in clock ticks after boot. The command name (field 2) may hold spaces,
// so count from the closing parenthesis.
double process_start_time_s() {
  std::ifstream in("/proc/self/stat");
  std::string line;
  std::getline(in, line);
  const auto paren = line.rfind(')');
  if (paren == std::string::npos) return 0;
  std::istringstream fields(line.substr(paren + 2));
  std::string field;
  // After ")": field 3 is the state; field 22 is the 20th from here.
  for (int i = 3; i <= 22 && fields >> field; ++i) {
    if (i == 22) return boot_time_s() + std::stod(field) / static_cast<double>(::sysconf(_SC_CLK_TCK));
  }
  return 0;
}

}  // namespace

LinuxProcessInfo::LinuxProcessInfo() : start_time_s_(process_start_time_s()) {}

seam::ProcessStats LinuxProcessInfo::sample() {
  seam::ProcessStats s;
  s.start_time_s = start_time_s_;
  {
    std::ifstream in("/proc/self/statm");
    long long size_pages = 0, resident_pages = 0;
    if (in >> size_pages >> resident_pages) {
      const long long page = ::sysconf(_SC_PAGESIZE);
      s.virtual_bytes = size_pages * page;
      s.resident_bytes = resident_pages * page;
    }
  }
  rusage usage{};
  if (::getrusage(RUSAGE_SELF, &usage) == 0) {
    s.cpu_seconds = static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
                    static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
  }
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) == 0) s.max_fds = static_cast<std::int64_t>(limit.rlim_cur);
  if (DIR* dir = ::opendir("/proc/self/fd")) {
    std::int64_t n = 0;
    while (const dirent* entry = ::readdir(dir)) {
      if (entry->d_name[0] != '.') ++n;
    }
    ::closedir(dir);
    s.open_fds = n - 1;  // the directory handle itself
  }
#if NSQD_SANITIZER_ALLOCATOR
  // Under ASan/TSan malloc is the sanitizer's, and glibc's mallinfo2 reports zeros.
  const std::size_t allocated = __sanitizer_get_current_allocated_bytes();
  const std::size_t heap = __sanitizer_get_heap_size();
  s.heap_in_use_bytes = static_cast<std::int64_t>(allocated);
  s.heap_idle_bytes = static_cast<std::int64_t>(heap > allocated ? heap - allocated : 0);
  s.heap_released_bytes = static_cast<std::int64_t>(__sanitizer_get_unmapped_bytes());
#else
  const struct mallinfo2 mi = ::mallinfo2();
  s.heap_in_use_bytes = static_cast<std::int64_t>(mi.uordblks + mi.hblkhd);
  s.heap_idle_bytes = static_cast<std::int64_t>(mi.fordblks);
  s.heap_released_bytes = 0;  // glibc does not report what it has returned to the OS
#endif
  return s;
}

}  // namespace nsq::io_real
