// A blocking protocol V2 client for the TLS and compression tests: plain TCP that can upgrade to TLS (Asio SSL,
// optional client certificate) and then to snappy or deflate (nsq_stream_codecs), as a real client does after
// IDENTIFY. Every read has a timeout; failures throw ClientError.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>

#include <memory>
#include <optional>
#include <string>

#include "io_real/stream_codec.h"
#include "daemon.h"
#include "v2_client.h"

namespace nsqit {

// Certificates made by the test with Debian's openssl CLI in a temp dir: a CA, a server certificate for
// 127.0.0.1 signed by it, a client certificate signed by it, and a client certificate from another CA.
struct TestCerts {
  TestCerts();
  TempDir dir;
  std::string ca_cert, server_cert, server_key, client_cert, client_key, other_cert, other_key;
};

struct TlsClientOptions {
  std::string ca_file;  // verify the server against it (empty: no verification)
  std::string cert_file, key_file;  // client certificate
  int max_version = 0;  // e.g. TLS1_2_VERSION; 0 = library default
};

class SecureClient {
 public:
  explicit SecureClient(int port);
  ~SecureClient();

  void send(const std::string& bytes);  // through TLS and compression when on
  void send_line(const std::string& line) { send(line + "\n"); }
  void send_with_body(const std::string& line, const std::string& body) { send(line + "\n" + be32(static_cast<std::int32_t>(body.size())) + body); }
  // Sends raw bytes on the socket, below TLS and compression.
  void send_plain(const std::string& bytes);

  // Client handshake; throws ClientError with the TLS error on failure.
  void start_tls(const TlsClientOptions& opts);
  void start_snappy();
  void start_deflate(int level = 6);

  Frame read_frame(Ms timeout = Ms(5000));  // heartbeats skipped
  std::optional<Frame> try_read_frame(Ms timeout);
  // True if the peer closes (or the stream fails) within timeout without sending another non-heartbeat frame.
  bool closed_within(Ms timeout);
  // Bytes as received on the wire (after TLS, before decompression), for checking the stream format.
  const std::string& wire_received() const { return wire_; }

 private:
  std::size_t read_some(char* buf, std::size_t n, Ms timeout);  // 0 on timeout; throws on EOF/error
  bool fill(std::size_t n, std::chrono::steady_clock::time_point deadline);

  boost::asio::io_context io_;
  boost::asio::ip::tcp::socket socket_;
  std::unique_ptr<boost::asio::ssl::context> ctx_;
  std::unique_ptr<boost::asio::ssl::stream<boost::asio::ip::tcp::socket&>> tls_;
  std::unique_ptr<nsq::codec::StreamEncoder> encoder_;
  std::unique_ptr<nsq::codec::StreamDecoder> decoder_;
  std::string buf_;   // decoded, unparsed
  std::string wire_;
};

}  // namespace nsqit
