// seam::HttpClient in the simulated world: deterministic answers on the virtual clock. A handler registered per
// "host:port" decides each reply (status and body, a delay, a dial failure, or never answering so that the
// request times out); an address with no handler refuses the connection. Every request is recorded for tests.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "engine/seam/clock.h"
#include "engine/seam/http_client.h"

namespace nsq::io_sim {

class SimHttpClient final : public seam::HttpClient {
 public:
  struct Reply {
    int status = 200;
    std::string body;
    std::int64_t delay_ns = 0;  // server think time before the answer
    bool refuse = false;        // the dial fails ("connection refused")
    bool blackhole = false;     // the dial never completes: fails at the connect timeout
    bool hang = false;          // connected, but no answer: fails at the request timeout
  };
  using Handler = std::function<Reply(const seam::HttpRequest&)>;

  // latency_ns: one network round trip, added to every answer.
  explicit SimHttpClient(seam::Clock& clock, std::int64_t latency_ns = 1'000'000)
      : clock_(clock), latency_ns_(latency_ns) {}
  ~SimHttpClient() override {
    for (auto& [id, p] : pending_) clock_.cancel(p.timer);
  }

  void set_handler(const std::string& host, Handler h) { handlers_[host] = std::move(h); }
  void remove_handler(const std::string& host) { handlers_.erase(host); }
  const std::vector<seam::HttpRequest>& requests() const { return requests_; }
  std::size_t in_flight() const { return pending_.size(); }

  RequestId request(seam::HttpRequest req, DoneFn done) override {
    const RequestId id = ++last_id_;
    requests_.push_back(req);
    const std::string url = req.method + " \"http://" + req.host + req.target + "\": ";
    const std::int64_t connect_ns = std::min(req.connect_timeout_ns, req.request_timeout_ns);
    seam::HttpResponse resp;
    std::int64_t after = latency_ns_;
    auto h = handlers_.find(req.host);
    if (h == handlers_.end()) {
      resp.error = url + "dial tcp " + req.host + ": connect: connection refused";
    } else {
      Reply r = h->second(req);
      if (r.refuse) {
        resp.error = url + "dial tcp " + req.host + ": connect: connection refused";
      } else if (r.blackhole || latency_ns_ > connect_ns) {
        resp.error = url + "dial tcp " + req.host + ": i/o timeout";
        after = connect_ns;
      } else if (r.hang || latency_ns_ + r.delay_ns > req.request_timeout_ns) {
        resp.error = url + "context deadline exceeded (Client.Timeout exceeded while awaiting headers)";
        after = req.request_timeout_ns;
      } else {
        resp.status = r.status;
        resp.status_text = std::to_string(r.status) + (r.status == 200 ? " OK" : "");
        resp.body = std::move(r.body);
        after = latency_ns_ + r.delay_ns;
      }
    }
    Pending& p = pending_[id];
    p.timer = clock_.schedule_after(after, [this, id, resp = std::move(resp), done = std::move(done)]() mutable {
      pending_.erase(id);
      done(std::move(resp));
    });
    return id;
  }

  void cancel(RequestId id) override {
    auto it = pending_.find(id);
    if (it == pending_.end()) return;
    clock_.cancel(it->second.timer);
    pending_.erase(it);
  }

 private:
  struct Pending {
    seam::TimerId timer = seam::kNoTimer;
  };
  seam::Clock& clock_;
  std::int64_t latency_ns_;
  RequestId last_id_ = 0;
  std::map<std::string, Handler> handlers_;
  std::map<RequestId, Pending> pending_;
  std::vector<seam::HttpRequest> requests_;
};

}  // namespace nsq::io_sim
