// A small HTTP/1.1 server for the integration tests (stands in for nsqlookupd's HTTP API and for an auth
// server): raw sockets on 127.0.0.1 with an OS-chosen port, one thread, one request per connection. A handler
// decides each answer; a request can also be left unanswered (to test nsqd's timeouts). Requests are recorded.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace nsqit {

struct FakeHttpRequest {
  std::string method;
  std::string target;  // path and query, as received
  std::string path;
  std::map<std::string, std::string> query;    // decoded; first value wins
  std::map<std::string, std::string> headers;  // keys lower-cased
  std::string body;
};

struct FakeHttpReply {
  int status = 200;
  std::string body;
  std::string content_type = "application/json; charset=utf-8";
  bool hang = false;  // never answer (the connection stays open until the client gives up or the server stops)
};

class FakeHttpServer {
 public:
  using Handler = std::function<FakeHttpReply(const FakeHttpRequest&)>;
  explicit FakeHttpServer(Handler handler);
  ~FakeHttpServer();
  FakeHttpServer(const FakeHttpServer&) = delete;
  FakeHttpServer& operator=(const FakeHttpServer&) = delete;

  int port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  void set_handler(Handler h);
  std::vector<FakeHttpRequest> requests();
  // Waits until at least n requests arrived.
  bool wait_requests(std::size_t n, std::chrono::milliseconds timeout);

 private:
  void run();
  void serve(int fd);

  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  Handler handler_;
  std::vector<FakeHttpRequest> requests_;
  std::vector<int> hung_;  // connections left unanswered, closed at the end
  std::thread thread_;
};

}  // namespace nsqit
