// Small helpers shared by the property tests.
#pragma once

#include <rapidcheck.h>

#include <algorithm>
#include <cstddef>
#include <cstdio>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace propu {

// A readable rendering of binary bytes (C-style escapes), for failure messages.
inline std::string printable(std::string_view s, std::size_t max = 80) {
  std::string out = "\"";
  for (std::size_t i = 0; i < s.size() && i < max; ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c == '\\' || c == '"') {
      out.push_back('\\');
      out.push_back(static_cast<char>(c));
    } else if (c >= 0x20 && c < 0x7F) {
      out.push_back(static_cast<char>(c));
    } else {
      char b[8];
      std::snprintf(b, sizeof b, "\\x%02x", c);
      out += b;
    }
  }
  if (s.size() > max) out += "...(" + std::to_string(s.size()) + " bytes)";
  out.push_back('"');
  return out;
}

// Cut points for a stream of n bytes (any order, duplicates allowed; normalised by chunks()).
inline rc::Gen<std::vector<std::size_t>> gen_cuts(std::size_t n) {
  if (n == 0) return rc::gen::just(std::vector<std::size_t>{});
  return rc::gen::container<std::vector<std::size_t>>(rc::gen::inRange<std::size_t>(0, n + 1));
}

// (offset, length) pieces of [0, n) split at the given cut points; empty pieces are kept (feeding 0 bytes is
// legal and must be harmless).
inline std::vector<std::pair<std::size_t, std::size_t>> chunks(std::size_t n, std::vector<std::size_t> cuts) {
  for (auto& c : cuts) c = std::min(c, n);
  std::sort(cuts.begin(), cuts.end());
  std::vector<std::pair<std::size_t, std::size_t>> out;
  std::size_t at = 0;
  for (std::size_t c : cuts) {
    out.emplace_back(at, c - at);
    at = c;
  }
  out.emplace_back(at, n - at);
  return out;
}

}  // namespace propu
