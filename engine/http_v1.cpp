#include "engine/http_v1.h"

#include <nlohmann/json.hpp>

#include "engine/names.h"

namespace nsq {

std::string http_v1_error(const seam::HttpResponse& resp) {
  if (!resp.error.empty()) return resp.error;
  if (resp.status != 200) return "got response " + resp.status_text + " " + go_quote(resp.body);
  return {};
}

std::optional<seam::HttpRequest> http_v1_https_retry(const seam::HttpRequest& req, const seam::HttpResponse& resp,
                                                     std::string& error) {
  if (!resp.error.empty() || resp.status != 403 || req.https) return std::nullopt;
  // Go's json.Unmarshal into struct{HTTPSPort int `json:"https_port"`}: a missing port is 0.
  const auto j = nlohmann::json::parse(resp.body, nullptr, false);
  std::int64_t port = 0;
  if (j.is_discarded() || !(j.is_object() || j.is_null())) {
    error = "invalid 403 answer " + go_quote(resp.body);
    return std::nullopt;
  }
  if (j.is_object()) {
    for (auto it = j.begin(); it != j.end(); ++it) {
      std::string k = it.key();
      for (char& c : k) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
      if (k != "https_port" || it->is_null()) continue;
      if (!it->is_number_integer()) {
        error = "json: cannot unmarshal https_port";
        return std::nullopt;
      }
      port = it->get<std::int64_t>();
    }
  }
  seam::HttpRequest again = req;
  again.https = true;
  const auto colon = req.host.rfind(':');
  again.host = (colon == std::string::npos ? req.host : req.host.substr(0, colon)) + ":" + std::to_string(port);
  return again;
}

}  // namespace nsq
