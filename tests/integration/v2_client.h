// A small blocking TCP client that speaks NSQ protocol V2, for integration tests.
//
// Every read has a timeout; failures (timeout, peer closed, malformed frame) throw ClientError so a test
// fails with a readable reason instead of hanging.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace nsqit {

using Ms = std::chrono::milliseconds;

struct ClientError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

enum class FrameType : std::int32_t { Response = 0, Error = 1, Message = 2 };

struct Frame {
  FrameType type = FrameType::Response;
  std::string data;
  bool is_heartbeat() const { return type == FrameType::Response && data == "_heartbeat_"; }
  std::string describe() const;  // "response OK", "error E_INVALID ...", "message id=... attempts=..."
};

struct Message {
  std::int64_t timestamp_ns = 0;
  std::uint16_t attempts = 0;
  std::string id;  // 16 bytes
  std::string body;
};

// Parses a message frame's payload. Throws ClientError if it is shorter than the 26-byte header.
Message parse_message(const std::string& data);

// Big-endian helpers for building bodies.
std::string be32(std::int32_t v);
// MPUB body without the leading body-size field: [count]([size][bytes])*
std::string mpub_payload(const std::vector<std::string>& bodies);

class V2Client {
 public:
  // Connects to 127.0.0.1:port; sends the "  V2" magic unless send_magic is false.
  explicit V2Client(int port, bool send_magic = true);
  ~V2Client();
  V2Client(const V2Client&) = delete;
  V2Client& operator=(const V2Client&) = delete;

  // --- raw writes
  void send_raw(const std::string& bytes);
  void send_line(const std::string& line);                             // appends '\n'
  void send_with_body(const std::string& line, const std::string& body);  // line\n [int32 size][body]
  void shutdown_write();
  void close();

  // --- commands (no reads)
  void identify(const std::string& json) { send_with_body("IDENTIFY", json); }
  void sub(const std::string& topic, const std::string& channel) { send_line("SUB " + topic + " " + channel); }
  void pub(const std::string& topic, const std::string& body) { send_with_body("PUB " + topic, body); }
  void dpub(const std::string& topic, std::int64_t delay_ms, const std::string& body) {
    send_with_body("DPUB " + topic + " " + std::to_string(delay_ms), body);
  }
  void mpub(const std::string& topic, const std::vector<std::string>& bodies) {
    send_with_body("MPUB " + topic, mpub_payload(bodies));
  }
  void rdy(int n) { send_line("RDY " + std::to_string(n)); }
  void fin(const std::string& id) { send_line("FIN " + id); }
  void req(const std::string& id, std::int64_t ms) { send_line("REQ " + id + " " + std::to_string(ms)); }
  void touch(const std::string& id) { send_line("TOUCH " + id); }
  void nop() { send_line("NOP"); }
  void cls() { send_line("CLS"); }

  // --- reads
  // Next frame of any kind (heartbeats included, nothing stashed). Throws on timeout / close.
  Frame read_raw_frame(Ms timeout = Ms(5000));
  // Like read_raw_frame but returns nullopt on timeout (still throws if the peer closed).
  std::optional<Frame> try_read_raw_frame(Ms timeout);
  // Next non-heartbeat frame that is not a message; message frames seen meanwhile are stashed for
  // read_message(). Heartbeats are skipped (and counted).
  Frame read_reply(Ms timeout = Ms(5000));
  // Next message (stashed ones first). Heartbeats are skipped; a response/error frame throws ClientError.
  Message read_message(Ms timeout = Ms(5000));
  // Waits up to `timeout` for a message; nullopt if none arrived. Response/error frames throw.
  std::optional<Message> try_read_message(Ms timeout);

  // Send a command and expect a response frame `OK` (fails with the frame's text otherwise).
  ::testing::AssertionResult expect_ok(Ms timeout = Ms(5000));
  ::testing::AssertionResult expect_response(const std::string& text, Ms timeout = Ms(5000));
  ::testing::AssertionResult expect_error(const std::string& text, Ms timeout = Ms(5000));
  // Expect an error frame with `text` and then the connection closed (fatal error).
  ::testing::AssertionResult expect_fatal(const std::string& text, Ms timeout = Ms(5000));
  // Expect EOF/reset within timeout; heartbeats are tolerated, any other frame is a failure.
  ::testing::AssertionResult expect_closed(Ms timeout = Ms(5000));
  // Expect no frame other than heartbeats for `duration`; stashed messages count as frames.
  ::testing::AssertionResult expect_silence(Ms duration);
  // Round trip proving all earlier commands were processed without a reply: publishes a marker to
  // `sync_topic` and expects exactly OK as the next reply (an error frame fails the assertion).
  ::testing::AssertionResult sync(Ms timeout = Ms(5000));

  // Convenience: SUB and expect OK.
  ::testing::AssertionResult subscribe(const std::string& topic, const std::string& channel);
  ::testing::AssertionResult publish(const std::string& topic, const std::string& body);

  int heartbeats_seen() const { return heartbeats_; }
  std::size_t stashed_messages() const { return stash_.size(); }
  int fd() const { return fd_; }

 private:
  // Reads at least n bytes into buf_ or throws / returns false on timeout.
  bool fill(std::size_t n, std::chrono::steady_clock::time_point deadline);
  std::optional<Frame> next_frame(std::chrono::steady_clock::time_point deadline);

  int fd_ = -1;
  std::string buf_;
  std::deque<Message> stash_;
  int heartbeats_ = 0;
};

}  // namespace nsqit
