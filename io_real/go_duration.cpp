#include "io_real/go_duration.h"

#include <limits>
#include <utility>

namespace nsq::io_real {

namespace {
bool is_digit(char c) { return c >= '0' && c <= '9'; }

std::optional<std::uint64_t> unit_ns(std::string_view unit) {
  static constexpr std::pair<std::string_view, std::uint64_t> kUnits[] = {
      {"ns", 1},
      {"us", 1'000},
      {"\xC2\xB5s", 1'000},  // U+00B5 micro sign
      {"\xCE\xBCs", 1'000},  // U+03BC Greek mu
      {"ms", 1'000'000},
      {"s", 1'000'000'000},
      {"m", 60'000'000'000},
      {"h", 3'600'000'000'000},
  };
  for (const auto& [name, ns] : kUnits) {
    if (name == unit) return ns;
  }
  return std::nullopt;
}
}  // namespace

std::optional<std::int64_t> parse_go_duration(std::string_view s) {
  bool negative = false;
  if (!s.empty() && (s.front() == '-' || s.front() == '+')) {
    negative = s.front() == '-';
    s.remove_prefix(1);
  }
  if (s == "0") return 0;
  if (s.empty()) return std::nullopt;

  constexpr std::uint64_t kMax = std::uint64_t{1} << 63;  // |min int64|
  std::uint64_t total = 0;
  while (!s.empty()) {
    // [digits][.digits]unit, with digits on at least one side of the point.
    std::uint64_t whole = 0;
    std::size_t i = 0;
    bool overflow = false;
    for (; i < s.size() && is_digit(s[i]); ++i) {
      if (whole > (kMax - 9) / 10) overflow = true;
      whole = whole * 10 + static_cast<std::uint64_t>(s[i] - '0');
    }
    bool digits = i > 0;
    std::uint64_t fraction = 0;
    std::uint64_t scale = 1;
    if (i < s.size() && s[i] == '.') {
      ++i;
      const std::size_t start = i;
      for (; i < s.size() && is_digit(s[i]); ++i) {
        if (scale > std::numeric_limits<std::uint64_t>::max() / 100) continue;  // extra digits are noise
        fraction = fraction * 10 + static_cast<std::uint64_t>(s[i] - '0');
        scale *= 10;
      }
      digits = digits || i > start;
    }
    if (!digits || overflow) return std::nullopt;
    const std::size_t unit_start = i;
    while (i < s.size() && s[i] != '.' && !is_digit(s[i])) ++i;
    const auto unit = unit_ns(s.substr(unit_start, i - unit_start));
    if (!unit) return std::nullopt;
    s.remove_prefix(i);

    if (whole > kMax / *unit) return std::nullopt;
    std::uint64_t value = whole * *unit;
    // fraction / scale of a unit, computed in long double: exact enough for a config value.
    value += static_cast<std::uint64_t>(static_cast<long double>(fraction) * *unit / scale);
    if (value > kMax || total > kMax - value) return std::nullopt;
    total += value;
  }
  if (total == kMax && !negative) return std::nullopt;
  return negative ? -static_cast<std::int64_t>(total - 1) - 1 : static_cast<std::int64_t>(total);
}

}  // namespace nsq::io_real
