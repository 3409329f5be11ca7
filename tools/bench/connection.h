// nsqd-bench: one NSQ V2 TCP connection on an Asio io_context (single-threaded per io_context,
// so no strands). Handles connect, magic + IDENTIFY, the frame read loop, heartbeats (NOP) and a
// double-buffered write path; subclasses implement publisher / consumer behaviour.
#pragma once

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>

#include <atomic>
#include <memory>
#include <string>
#include <string_view>

#include "frame.h"
#include "io_real/stream_codec.h"
#include "run_state.h"

namespace nsqbench {

namespace asio = boost::asio;
using asio::ip::tcp;

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(asio::io_context& io, RunState& run, tcp::endpoint ep, IdentifyOptions idopts,
             std::string name);
  virtual ~Connection() = default;

  // Thread-safe: post the start onto the io_context.
  void start();
  // Thread-safe: ask for a graceful stop (subclass decides what graceful means).
  void stop();
  // Thread-safe: hard close now.
  void abort();

  bool ready() const { return ready_.load(std::memory_order_acquire); }
  bool done() const { return done_.load(std::memory_order_acquire); }
  const std::string& name() const { return name_; }

 protected:
  // Called after IDENTIFY got OK.
  virtual void on_identified() = 0;
  // Non-heartbeat response frame (OK, CLOSE_WAIT, ...).
  virtual void on_response(std::string_view data) = 0;
  virtual void on_message(const Message& msg);
  // After all complete frames of one read were dispatched (good place to flush batched writes).
  virtual void on_read_done() {}
  virtual void on_write_done() {}
  virtual void on_stop() = 0;

  void set_ready() { ready_.store(true, std::memory_order_release); }
  std::string& out() { return pending_; }
  void flush();
  // Close once all pending writes went out; marks done.
  void close_after_flush();
  void fail(std::string what);
  bool closing() const { return closing_; }

  asio::io_context& io_;
  RunState& run_;

 private:
  void do_connect();
  void do_read();
  void handle_frames();
  void finish_close();
  // IDENTIFY's upgrades: JSON → (TLS handshake → OK) → (snappy/deflate → OK) → identified.
  bool on_upgrade_frame(std::string_view data);  // false after fail()
  void start_tls();
  void start_compression();
  enum class Phase { identify, json, tls_ok, compression_ok, done };
  Phase phase_ = Phase::identify;
  bool want_compression_ = false;
  bool handshaking_ = false;
  std::unique_ptr<asio::ssl::context> ssl_ctx_;
  std::unique_ptr<asio::ssl::stream<tcp::socket&>> tls_;
  std::unique_ptr<nsq::codec::StreamEncoder> encoder_;
  std::unique_ptr<nsq::codec::StreamDecoder> stream_decoder_;
  std::vector<char> raw_;
  std::string decoded_;

  tcp::socket sock_;
  tcp::endpoint ep_;
  IdentifyOptions idopts_;
  std::string name_;
  FrameDecoder decoder_;
  std::string pending_;
  std::string writing_;
  bool write_in_flight_ = false;
  bool identified_ = false;
  bool closing_ = false;        // no more reads matter; close when writes drain
  bool closed_ = false;
  std::atomic<bool> ready_{false};
  std::atomic<bool> done_{false};
};

}  // namespace nsqbench
