#include "engine/http_query.h"

namespace nsq {

namespace {
int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
}  // namespace

std::optional<std::string> query_unescape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '+') {
      out += ' ';
    } else if (c == '%') {
      if (i + 2 >= s.size()) return std::nullopt;
      const int hi = hex_value(s[i + 1]);
      const int lo = hex_value(s[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else {
      out += c;
    }
  }
  return out;
}

std::optional<QueryParams> QueryParams::parse(std::string_view raw) {
  QueryParams params;
  bool failed = false;
  while (!raw.empty()) {
    const auto amp = raw.find('&');
    std::string_view pair = raw.substr(0, amp);
    raw = amp == std::string_view::npos ? std::string_view{} : raw.substr(amp + 1);
    if (pair.find(';') != std::string_view::npos) {  // Go 1.17+: "invalid semicolon separator in query"
      failed = true;
      continue;
    }
    if (pair.empty()) continue;
    const auto eq = pair.find('=');
    const auto key = query_unescape(pair.substr(0, eq));
    const auto value = query_unescape(eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1));
    if (!key || !value) {
      failed = true;
      continue;
    }
    auto it = params.values_.find(*key);
    if (it == params.values_.end()) it = params.values_.emplace(*key, std::vector<std::string>{}).first;
    it->second.push_back(*value);
  }
  if (failed) return std::nullopt;
  return params;
}

const std::string* QueryParams::first(std::string_view key) const {
  const auto it = values_.find(key);
  return it == values_.end() || it->second.empty() ? nullptr : &it->second.front();
}

const std::vector<std::string>* QueryParams::all(std::string_view key) const {
  const auto it = values_.find(key);
  return it == values_.end() ? nullptr : &it->second;
}

}  // namespace nsq
