// Channel pre-creation (nsqd #313, fact sheet §6): a topic created at run time asks every nsqlookupd it knows the
// HTTP address of for the topic's channels (GET /channels?topic=<t>, in parallel) and creates their union before
// it hands out any message, so that no channel misses the first messages. Failures are logged and ignored.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "engine/seam/http_client.h"

namespace nsq {

class NSQD;

// One round of queries. done(channels, error) runs once, after every query answered or failed: channels is the
// sorted union of the names returned (ephemeral ones included), error is "" or the joined failures. Destroying
// the object cancels what is still running (done then never runs).
class LookupdChannelQuery {
 public:
  using DoneFn = std::function<void(std::vector<std::string> channels, std::string error)>;
  LookupdChannelQuery(NSQD& nsqd, const std::string& topic, const std::vector<std::string>& http_addresses,
                      DoneFn done);
  ~LookupdChannelQuery();
  LookupdChannelQuery(const LookupdChannelQuery&) = delete;
  LookupdChannelQuery& operator=(const LookupdChannelQuery&) = delete;

  // Parses lookupd's answer body as Go's json.Unmarshal into struct{Channels []string}. False on error.
  static bool parse_channels(const std::string& body, std::vector<std::string>& out, std::string& error);

 private:
  void send(seam::HttpRequest req);
  void on_answer(const seam::HttpRequest& req, seam::HttpResponse resp);

  NSQD& nsqd_;
  DoneFn done_;
  std::vector<seam::HttpClient::RequestId> pending_;
  std::size_t remaining_ = 0;
  std::size_t queried_ = 0;
  std::vector<std::string> channels_;
  std::vector<std::string> errors_;
};

// Go's url.QueryEscape.
std::string query_escape(std::string_view s);

}  // namespace nsq
