// Go's time.ParseDuration ("60s", "250ms", "1m30s", "1.5h", "-2us", "0"), which nsqd's duration flags use.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace nsq::io_real {

// Nanoseconds, or nullopt when Go would return an error (no unit, unknown unit, overflow, empty).
std::optional<std::int64_t> parse_go_duration(std::string_view text);

}  // namespace nsq::io_real
