// Seam: logging. The engine formats a line; the io layer decides where it goes (spdlog in io_real, a trace
// buffer in io_sim).
#pragma once

#include <string_view>

namespace nsq::seam {

// Numbering as nsqd's /config/log_level: 1 debug .. 5 fatal.
enum class LogLevel : int { debug = 1, info = 2, warn = 3, error = 4, fatal = 5 };

class Logger {
 public:
  virtual ~Logger() = default;
  virtual bool enabled(LogLevel level) const = 0;
  virtual void log(LogLevel level, std::string_view line) = 0;
  // PUT /config/log_level changes the level at run time.
  virtual void set_level(LogLevel) {}
};

}  // namespace nsq::seam
