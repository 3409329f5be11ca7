// TcpListener/TcpConnection against a plain Asio client on 127.0.0.1:0.
#include <gtest/gtest.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

#include <chrono>
#include <memory>
#include <string>

#include "io_real/endpoint.h"
#include "io_real/tcp_listener.h"

namespace nsq::io_real {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;

class NullLogger final : public seam::Logger {
 public:
  bool enabled(seam::LogLevel) const override { return false; }
  void log(seam::LogLevel, std::string_view) override {}
};

// Echoes every read back; counts callbacks.
class Echo final : public seam::ConnectionHandler {
 public:
  explicit Echo(std::unique_ptr<seam::Connection> c) : conn(std::move(c)) { conn->start(this); }
  void on_read(const std::uint8_t* data, std::size_t size) override {
    received.append(reinterpret_cast<const char*>(data), size);
    if (close_on_read) {
      conn->write(std::string("bye"));
      conn->close();
      conn.reset();  // the handle dies inside its own callback
      return;
    }
    conn->write(std::string(reinterpret_cast<const char*>(data), size));
  }
  void on_drained() override { ++drained; }
  void on_closed(std::string_view reason) override {
    ++closed;
    close_reason = std::string(reason);
  }

  std::unique_ptr<seam::Connection> conn;
  std::string received;
  std::string close_reason;
  int drained = 0;
  int closed = 0;
  bool close_on_read = false;
};

struct Fixture : ::testing::Test {
  asio::io_context io;
  NullLogger logger;
  TcpListener listener{io, "127.0.0.1:0", logger};
  std::unique_ptr<Echo> echo;
  tcp::socket client{io};

  void SetUp() override {
    listener.start([this](std::unique_ptr<seam::Connection> c) { echo = std::make_unique<Echo>(std::move(c)); });
    client.connect(resolve_listen_address(io, listener.local_address()));
    while (!echo) io.run_one();
  }
  void run_until(const std::function<bool()>& done) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (!done() && std::chrono::steady_clock::now() < deadline) io.run_for(std::chrono::milliseconds(10));
  }
};

TEST_F(Fixture, ListenerResolvesPortZero) {
  EXPECT_EQ(listener.local_address().rfind("127.0.0.1:", 0), 0u);
  EXPECT_NE(listener.local_port(), 0);
  EXPECT_EQ(echo->conn->remote_address(), to_string(client.local_endpoint()));
}

TEST_F(Fixture, EchoesAndReportsDrainedThenEof) {
  asio::write(client, asio::buffer(std::string("hello")));
  run_until([&] { return echo->drained > 0; });
  EXPECT_EQ(echo->received, "hello");
  EXPECT_EQ(echo->conn->pending_bytes(), 0u);
  std::string back(5, '\0');
  asio::read(client, asio::buffer(back));
  EXPECT_EQ(back, "hello");

  client.shutdown(tcp::socket::shutdown_send);
  run_until([&] { return echo->closed > 0; });
  EXPECT_EQ(echo->closed, 1);
  EXPECT_EQ(echo->close_reason, "EOF");
}

TEST_F(Fixture, CloseInsideCallbackFlushesAndNeverCallsBack) {
  echo->close_on_read = true;
  asio::write(client, asio::buffer(std::string("x")));
  run_until([&] { return !echo->conn; });
  std::string all;
  boost::system::error_code ec;
  std::array<char, 64> buf{};
  run_until([&] {
    const std::size_t n = client.read_some(asio::buffer(buf), ec);
    all.append(buf.data(), n);
    return static_cast<bool>(ec);
  });
  EXPECT_EQ(all, "bye");
  EXPECT_EQ(ec, asio::error::eof);
  io.run_for(std::chrono::milliseconds(20));
  EXPECT_EQ(echo->closed, 0);
  EXPECT_EQ(echo->drained, 0);
}

TEST_F(Fixture, PausedReadingHoldsBytesUntilResumed) {
  echo->conn->set_reading(false);
  asio::write(client, asio::buffer(std::string("abc")));
  io.run_for(std::chrono::milliseconds(50));
  EXPECT_EQ(echo->received, "");
  echo->conn->set_reading(true);
  EXPECT_EQ(echo->received, "");  // not delivered inside set_reading
  run_until([&] { return echo->received == "abc"; });
  EXPECT_EQ(echo->received, "abc");
}

TEST_F(Fixture, QueuedWritesGoOutInOrder) {
  std::string expected;
  for (int i = 0; i < 1000; ++i) {
    std::string part = std::to_string(i) + ",";
    expected += part;
    echo->conn->write(std::move(part));
  }
  EXPECT_EQ(echo->conn->pending_bytes(), expected.size());
  std::string got(expected.size(), '\0');
  run_until([&] { return echo->drained > 0; });
  asio::read(client, asio::buffer(got));
  EXPECT_EQ(got, expected);
  EXPECT_EQ(echo->drained, 1);
}

}  // namespace
}  // namespace nsq::io_real
