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
  // Lines at min_level and above are trace events (hashed; a trace with echo on shows them). With echo on,
  // lines from echo_level up to min_level are shown on stderr too, unhashed, so `--trace` replays a run with
  // the same fingerprint as the run without it.
  SimLogger(const seam::Clock& clock, Trace& trace, seam::LogLevel min_level = seam::LogLevel::debug,
            bool echo_stderr = false, seam::LogLevel echo_level = seam::LogLevel::fatal)
      : clock_(clock), trace_(trace), min_(min_level), echo_level_(echo_level), echo_(echo_stderr) {}

  bool enabled(seam::LogLevel level) const override {
    return level >= min_ || (echo_ && level >= echo_level_);
  }

  void log(seam::LogLevel level, std::string_view line) override {
    if (!enabled(level)) return;
    static constexpr const char* kNames[] = {"?", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"};
    const int i = static_cast<int>(level);
    const char* name = (i >= 1 && i <= 5) ? kNames[i] : kNames[0];
    if (level >= min_) {
      trace_.record(clock_.now_ns(), std::string("log.") + name, line);
    } else if (echo_) {
      std::fprintf(stderr, "%s %s %.*s\n", Trace::format_time(clock_.now_ns()).c_str(), name,
                   static_cast<int>(line.size()), line.data());
    }
  }

  void set_echo(bool echo) { echo_ = echo; }

 private:
  const seam::Clock& clock_;
  Trace& trace_;
  seam::LogLevel min_;
  seam::LogLevel echo_level_;
  bool echo_;
};

}  // namespace nsq::io_sim
