#include "engine/lookupd_channels.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>

#include "engine/http_v1.h"
#include "engine/nsqd.h"

namespace nsq {

std::string query_escape(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else if (c == ' ') {
      out += '+';
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

bool LookupdChannelQuery::parse_channels(const std::string& body, std::vector<std::string>& out, std::string& error) {
  const auto j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_discarded()) {
    error = "invalid JSON";
    return false;
  }
  if (j.is_null()) return true;
  if (!j.is_object()) {
    error = "json: cannot unmarshal " + std::string(j.type_name()) + " into Go value";
    return false;
  }
  // Go matches field names case-insensitively (an exact match wins).
  const nlohmann::json* channels = nullptr;
  for (auto it = j.begin(); it != j.end(); ++it) {
    std::string key = it.key();
    std::transform(key.begin(), key.end(), key.begin(), [](unsigned char c) { return std::tolower(c); });
    if (key != "channels") continue;
    if (it.key() == "channels" || channels == nullptr) channels = &it.value();
  }
  if (channels == nullptr || channels->is_null()) return true;
  if (!channels->is_array()) {
    error = "json: cannot unmarshal " + std::string(channels->type_name()) + " into Go struct field .channels";
    return false;
  }
  std::vector<std::string> names;
  for (const auto& c : *channels) {
    if (!c.is_string()) {
      error = "json: cannot unmarshal " + std::string(c.type_name()) + " into Go struct field .channels of type string";
      return false;
    }
    names.push_back(c.get<std::string>());
  }
  out.insert(out.end(), names.begin(), names.end());
  return true;
}

LookupdChannelQuery::LookupdChannelQuery(NSQD& nsqd, const std::string& topic,
                                         const std::vector<std::string>& http_addresses, DoneFn done)
    : nsqd_(nsqd), done_(std::move(done)) {
  const Options& o = nsqd_.options();
  for (const std::string& address : http_addresses) {
    seam::HttpRequest req;
    req.method = "GET";
    req.host = address;
    req.target = "/channels?topic=" + query_escape(topic);
    req.headers.emplace_back("Accept", "application/vnd.nsq; version=1.0");
    req.connect_timeout_ns = o.http_client_connect_timeout;
    req.request_timeout_ns = o.http_client_request_timeout;
    nsqd_.log(seam::LogLevel::info, "CI: querying nsqlookupd http://" + address + req.target);
    ++remaining_;
    ++queried_;
    send(std::move(req));
  }
}

void LookupdChannelQuery::send(seam::HttpRequest req) {
  seam::HttpRequest copy = req;
  pending_.push_back(nsqd_.http_client()->request(
      std::move(req), [this, copy = std::move(copy)](seam::HttpResponse resp) { on_answer(copy, std::move(resp)); }));
}

LookupdChannelQuery::~LookupdChannelQuery() {
  if (remaining_ == 0) return;
  if (seam::HttpClient* client = nsqd_.http_client()) {
    for (auto id : pending_) client->cancel(id);
  }
}

void LookupdChannelQuery::on_answer(const seam::HttpRequest& req, seam::HttpResponse resp) {
  std::string error;
  if (auto again = http_v1_https_retry(req, resp, error)) {
    send(std::move(*again));
    return;
  }
  if (error.empty()) error = http_v1_error(resp);
  if (error.empty()) parse_channels(resp.body, channels_, error);
  if (!error.empty()) errors_.push_back(std::move(error));
  if (--remaining_ != 0) return;
  std::sort(channels_.begin(), channels_.end());
  channels_.erase(std::unique(channels_.begin(), channels_.end()), channels_.end());
  std::string joined;
  for (const auto& e : errors_) joined += (joined.empty() ? "" : "; ") + e;
  if (!errors_.empty() && errors_.size() == queried_) {
    joined = "failed to query any nsqlookupd: " + joined;
    channels_.clear();
  }
  DoneFn done = std::move(done_);
  std::vector<std::string> channels = std::move(channels_);
  done(std::move(channels), std::move(joined));  // may destroy this
}

}  // namespace nsq
