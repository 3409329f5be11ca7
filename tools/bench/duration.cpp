#include "duration.h"

#include <cctype>
#include <cstdlib>
#include <string>

namespace nsqbench {

std::optional<double> parse_duration(std::string_view text) {
  if (text.empty()) return std::nullopt;
  double total = 0;
  std::size_t i = 0;
  bool any = false;
  while (i < text.size()) {
    std::size_t j = i;
    while (j < text.size() && (std::isdigit(static_cast<unsigned char>(text[j])) || text[j] == '.')) ++j;
    if (j == i) return std::nullopt;
    const std::string num(text.substr(i, j - i));
    char* end = nullptr;
    const double v = std::strtod(num.c_str(), &end);
    if (end != num.c_str() + num.size()) return std::nullopt;
    std::size_t k = j;
    while (k < text.size() && std::isalpha(static_cast<unsigned char>(text[k]))) ++k;
    const std::string_view unit = text.substr(j, k - j);
    double mult;
    if (unit.empty()) {
      if (any || k != text.size()) return std::nullopt;  // bare number only on its own
      mult = 1;
    } else if (unit == "h") {
      mult = 3600;
    } else if (unit == "m") {
      mult = 60;
    } else if (unit == "s") {
      mult = 1;
    } else if (unit == "ms") {
      mult = 1e-3;
    } else if (unit == "us") {
      mult = 1e-6;
    } else if (unit == "ns") {
      mult = 1e-9;
    } else {
      return std::nullopt;
    }
    total += v * mult;
    any = true;
    i = k;
  }
  return total;
}

}  // namespace nsqbench
