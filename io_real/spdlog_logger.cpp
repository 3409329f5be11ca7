#include "io_real/spdlog_logger.h"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>

namespace nsq::io_real {

std::optional<seam::LogLevel> parse_log_level(std::string_view name) {
  std::string lower(name);
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  if (lower == "debug") return seam::LogLevel::debug;
  if (lower == "info") return seam::LogLevel::info;
  if (lower == "warn") return seam::LogLevel::warn;
  if (lower == "error") return seam::LogLevel::error;
  if (lower == "fatal") return seam::LogLevel::fatal;
  return std::nullopt;
}

namespace {
// nsqd's level names (its lg package prints WARNING, not WARN).
std::string_view level_name(seam::LogLevel level) {
  switch (level) {
    case seam::LogLevel::debug: return "DEBUG";
    case seam::LogLevel::info: return "INFO";
    case seam::LogLevel::warn: return "WARNING";
    case seam::LogLevel::error: return "ERROR";
    case seam::LogLevel::fatal: return "FATAL";
  }
  return "INFO";
}

// spdlog patterns treat '%' as a flag; the user's prefix is literal text.
std::string escape_pattern(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '%') out += '%';
    out += c;
  }
  return out;
}
}  // namespace

SpdlogLogger::SpdlogLogger(const std::string& prefix, seam::LogLevel level)
    // Single-threaded sink: only the io_context thread logs. Not registered globally, so several instances
    // (tests) never clash on a name.
    : level_(level), sink_(std::make_shared<spdlog::logger>("nsqd", std::make_shared<spdlog::sinks::stderr_sink_st>())) {
  sink_->set_pattern(escape_pattern(prefix) + "%Y/%m/%d %H:%M:%S.%f %v");
  sink_->set_level(spdlog::level::trace);  // filtering is ours (enabled()), so the level can change at runtime
  sink_->flush_on(spdlog::level::trace);   // stderr lines must appear at once: tests parse them
}

SpdlogLogger::~SpdlogLogger() = default;

void SpdlogLogger::log(seam::LogLevel level, std::string_view line) {
  if (!enabled(level)) return;
  sink_->info("{}: {}", level_name(level), line);
}

}  // namespace nsq::io_real
