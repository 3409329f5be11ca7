// seam::Logger on spdlog, writing nsqd-style lines to stderr:
//   "[nsqd] 2024/01/02 15:04:05.000000 INFO: TCP: listening on 127.0.0.1:4150"
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "engine/seam/logger.h"

namespace spdlog {
class logger;
}

namespace nsq::io_real {

// "debug".."fatal", case-insensitive, as nsqd's --log-level.
std::optional<seam::LogLevel> parse_log_level(std::string_view name);

class SpdlogLogger final : public seam::Logger {
 public:
  SpdlogLogger(const std::string& prefix, seam::LogLevel level);
  ~SpdlogLogger() override;

  bool enabled(seam::LogLevel level) const override { return level >= level_; }
  void log(seam::LogLevel level, std::string_view line) override;
  void set_level(seam::LogLevel level) override { level_ = level; }

 private:
  seam::LogLevel level_;
  std::shared_ptr<spdlog::logger> sink_;
};

}  // namespace nsq::io_real
