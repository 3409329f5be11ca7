// A disk queue on the in-memory file system, for unit and property tests.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "engine/disk_queue.h"
#include "io_sim/sim_file_system.h"
#include "io_sim/virtual_clock.h"

namespace dqtest {

// Collects log lines so tests can check what the queue said.
class ListLogger final : public nsq::seam::Logger {
 public:
  bool enabled(nsq::seam::LogLevel) const override { return true; }
  void log(nsq::seam::LogLevel, std::string_view line) override { lines.emplace_back(line); }
  bool contains(const std::string& s) const {
    for (const auto& l : lines) {
      if (l.find(s) != std::string::npos) return true;
    }
    return false;
  }
  std::vector<std::string> lines;
};

struct Env {
  nsq::io_sim::VirtualClock clock;
  nsq::io_sim::SimFileSystem fs{clock};
  ListLogger logger;
  nsq::DiskQueueOptions opts;

  Env() {
    opts.data_path = "/data";
    opts.max_bytes_per_file = 1024;
    opts.min_msg_size = 4;
    opts.max_msg_size = 1000;
    opts.sync_every = 1000000;
    opts.sync_timeout_ns = 2'000'000'000;
  }
  std::unique_ptr<nsq::DiskQueue> open(const std::string& name = "q") {
    return std::make_unique<nsq::DiskQueue>(name, opts, fs, clock, logger);
  }
  // Runs the clock until every pending I/O completion has been delivered (sync timers keep re-arming, so a
  // bounded number of steps).
  void settle() { clock.run_for(100'000'000); }
  void sync(nsq::DiskQueue& q) {
    bool done = false;
    q.sync([&](nsq::seam::IoResult) { done = true; });
    while (!done && clock.run_next()) {
    }
  }
  std::string read_text(const std::string& path) {
    std::string s;
    fs.read_file(path, s);
    return s;
  }
};

// A payload of exactly n bytes that names its index.
inline std::string payload(int i, std::size_t n = 16) {
  std::string s = "m" + std::to_string(i) + ":";
  s.resize(std::max<std::size_t>(n, s.size()), '.');
  return s;
}

}  // namespace dqtest
