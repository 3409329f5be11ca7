// nsqd-bench: Go-style duration strings ("10s", "500ms", "1m30s", "2"). A bare number is seconds.
#pragma once

#include <optional>
#include <string_view>

namespace nsqbench {

// Returns seconds, or nullopt when the text is not a valid non-negative duration.
std::optional<double> parse_duration(std::string_view text);

}  // namespace nsqbench
