// URL query strings as Go's url.ParseQuery reads them: pairs split on '&', key and value percent-decoded with
// '+' as space, every value of a repeated key kept in order (nsqd's handlers use the first).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace nsq {

// Go's url.QueryUnescape: nullopt on a '%' not followed by two hex digits.
std::optional<std::string> query_unescape(std::string_view s);

class QueryParams {
 public:
  // nullopt when Go's ParseQuery would return an error (bad escape, or a ';' in a pair), which nsqd answers
  // with 400 INVALID_REQUEST.
  static std::optional<QueryParams> parse(std::string_view raw);

  bool has(std::string_view key) const { return values_.find(key) != values_.end(); }
  // The first value of key, or null when the key is absent ("?topic" has the value "").
  const std::string* first(std::string_view key) const;
  const std::vector<std::string>* all(std::string_view key) const;

 private:
  std::map<std::string, std::vector<std::string>, std::less<>> values_;
};

}  // namespace nsq
