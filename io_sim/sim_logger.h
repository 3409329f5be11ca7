// seam::Logger for the simulation: engine log lines become trace events (so they are part of the run's
// fingerprint and of the failure tail), optionally echoed to stderr with virtual timestamps.
#pragma once

#include <cstdio>
#include <string>
#include <string_view>

#include "engine/seam/clock.h"
#include "engine/seam/logger.h"
#include "io_sim/trace.h"

namespace nsq::io_sim {

class SimLogger final : public seam::Logger {
 public:
  SimLogger(const seam::Clock& clock, Trace& trace, seam::LogLevel min_level = seam::LogLevel::debug,
            bool echo_stderr = false)
      : clock_(clock), trace_(trace), min_(min_level), echo_(echo_stderr) {}

  bool enabled(seam::LogLevel level) const override { return level >= min_; }

  void log(seam::LogLevel level, std::string_view line) override {
    if (!enabled(level)) return;
    static constexpr const char* kNames[] = {"?", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"};
    const int i = static_cast<int>(level);
    const char* name = (i >= 1 && i <= 5) ? kNames[i] : kNames[0];
    trace_.record(clock_.now_ns(), std::string("log.") + name, line);
    if (echo_) {
      std::fprintf(stderr, "%s %s %.*s\n", Trace::format_time(clock_.now_ns()).c_str(), name,
                   static_cast<int>(line.size()), line.data());
    }
  }

  void set_echo(bool echo) { echo_ = echo; }

 private:
  const seam::Clock& clock_;
  Trace& trace_;
  seam::LogLevel min_;
  bool echo_;
};

}  // namespace nsq::io_sim
