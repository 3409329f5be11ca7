// seam::HttpClient on Boost.Beast: one connection per request (Connection: close), on the engine's io_context, so
// completions run on the engine's thread. Deadlines as Go's http.Client in nsqd: the dial within the connect
// timeout, the whole exchange within the request timeout.
#pragma once

#include <boost/asio/io_context.hpp>

#include <map>
#include <memory>

#include "engine/seam/http_client.h"

namespace nsq::io_real {

class BeastHttpClient final : public seam::HttpClient {
 public:
  explicit BeastHttpClient(boost::asio::io_context& io) : io_(io) {}
  ~BeastHttpClient() override;
  RequestId request(seam::HttpRequest req, DoneFn done) override;
  void cancel(RequestId id) override;

  struct Exchange;  // one request in flight (beast_http_client.cpp)

 private:
  void finish(RequestId id);
  boost::asio::io_context& io_;
  RequestId last_id_ = 0;
  std::map<RequestId, std::shared_ptr<Exchange>> live_;
};

}  // namespace nsq::io_real
