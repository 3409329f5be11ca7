#include "secure_client.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

#include <cstdlib>

namespace nsqit {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

void sh(const std::string& cmd) {
  const RunResult r = run_command({"/bin/sh", "-c", cmd}, Ms(60000));
  if (r.exit_code != 0) throw std::runtime_error("certificate setup failed: " + cmd + "\n" + r.output);
}

std::int32_t be_i32(const char* p) {
  const auto* u = reinterpret_cast<const unsigned char*>(p);
  return static_cast<std::int32_t>(static_cast<std::uint32_t>(u[0]) << 24 | static_cast<std::uint32_t>(u[1]) << 16 |
                                   static_cast<std::uint32_t>(u[2]) << 8 | u[3]);
}

}  // namespace

TestCerts::TestCerts() {
  const std::string d = dir.path().string();
  ca_cert = d + "/ca.pem";
  server_cert = d + "/server.pem";
  server_key = d + "/server.key";
  client_cert = d + "/client.pem";
  client_key = d + "/client.key";
  other_cert = d + "/other.pem";
  other_key = d + "/other.key";
  const std::string q = "cd '" + d + "' && ";
  // A CA, and one from elsewhere; EC keys keep this fast.
  for (const std::string ca : {"ca", "otherca"}) {
    sh(q + "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=" + ca +
       " -keyout " + ca + ".key -out " + ca + ".pem 2>&1");
  }
  auto leaf = [&](const std::string& name, const std::string& cn, const std::string& ca, const std::string& ext) {
    sh(q + "openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj /CN=" + cn + " -keyout " +
       name + ".key -out " + name + ".csr 2>&1 && printf '" + ext + "' > " + name + ".ext && openssl x509 -req -in " +
       name + ".csr -CA " + ca + ".pem -CAkey " + ca + ".key -CAcreateserial -days 2 -extfile " + name +
       ".ext -out " + name + ".pem 2>&1");
  };
  leaf("server", "127.0.0.1", "ca", "subjectAltName=IP:127.0.0.1\\nextendedKeyUsage=serverAuth\\n");
  leaf("client", "test-client", "ca", "extendedKeyUsage=clientAuth\\n");
  leaf("other", "stranger", "otherca", "extendedKeyUsage=clientAuth\\n");
}

SecureClient::SecureClient(int port) : socket_(io_) {
  socket_.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)));
  socket_.set_option(tcp::no_delay(true));
  send_plain("  V2");
}

SecureClient::~SecureClient() {
  boost::system::error_code ignored;
  socket_.close(ignored);
}

void SecureClient::send_plain(const std::string& bytes) { asio::write(socket_, asio::buffer(bytes)); }

void SecureClient::send(const std::string& bytes) {
  std::string out = bytes;
  if (encoder_) {
    out.clear();
    encoder_->encode(bytes, out);
  }
  if (tls_) {
    asio::write(*tls_, asio::buffer(out));
  } else {
    send_plain(out);
  }
}

void SecureClient::start_tls(const TlsClientOptions& opts) {
  if (!buf_.empty()) throw ClientError("bytes left before the TLS handshake");
  ctx_ = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_client);
  if (opts.max_version != 0) SSL_CTX_set_max_proto_version(ctx_->native_handle(), opts.max_version);
  if (!opts.ca_file.empty()) {
    ctx_->load_verify_file(opts.ca_file);
    ctx_->set_verify_mode(asio::ssl::verify_peer);
  } else {
    ctx_->set_verify_mode(asio::ssl::verify_none);
  }
  if (!opts.cert_file.empty()) {
    ctx_->use_certificate_chain_file(opts.cert_file);
    ctx_->use_private_key_file(opts.key_file, asio::ssl::context::pem);
  }
  tls_ = std::make_unique<asio::ssl::stream<tcp::socket&>>(socket_, *ctx_);
  boost::system::error_code result = asio::error::timed_out;
  bool done = false;
  tls_->async_handshake(asio::ssl::stream_base::client, [&](const boost::system::error_code& ec) {
    result = ec;
    done = true;
  });
  io_.restart();
  io_.run_for(std::chrono::seconds(10));
  if (!done) {
    socket_.cancel();
    io_.restart();
    io_.run();
  }
  if (result) throw ClientError("TLS handshake failed: " + result.message());
}

void SecureClient::start_snappy() {
  encoder_ = nsq::codec::make_snappy_encoder();
  decoder_ = nsq::codec::make_snappy_decoder();
  // Bytes read behind the last clear-text frame are already compressed (the server upgrades right after it).
  wire_ = std::move(buf_);
  buf_.clear();
  if (const std::string err = decoder_->decode(reinterpret_cast<const std::uint8_t*>(wire_.data()), wire_.size(), buf_);
      !err.empty()) {
    throw ClientError("decode failed: " + err);
  }
}

void SecureClient::start_deflate(int level) {
  encoder_ = nsq::codec::make_deflate_encoder(level);
  decoder_ = nsq::codec::make_deflate_decoder();
  // Bytes read behind the last clear-text frame are already compressed (the server upgrades right after it).
  wire_ = std::move(buf_);
  buf_.clear();
  if (const std::string err = decoder_->decode(reinterpret_cast<const std::uint8_t*>(wire_.data()), wire_.size(), buf_);
      !err.empty()) {
    throw ClientError("decode failed: " + err);
  }
}

std::size_t SecureClient::read_some(char* buf, std::size_t n, Ms timeout) {
  boost::system::error_code result;
  std::size_t got = 0;
  bool done = false;
  auto handler = [&](const boost::system::error_code& ec, std::size_t k) {
    result = ec;
    got = k;
    done = true;
  };
  if (tls_) {
    tls_->async_read_some(asio::buffer(buf, n), handler);
  } else {
    socket_.async_read_some(asio::buffer(buf, n), handler);
  }
  io_.restart();
  io_.run_for(timeout);
  if (!done) {
    socket_.cancel();
    io_.restart();
    io_.run();
    if (!result || result == asio::error::operation_aborted) return 0;
  }
  if (result) throw ClientError("read failed: " + result.message());
  return got;
}

bool SecureClient::fill(std::size_t n, std::chrono::steady_clock::time_point deadline) {
  char tmp[65536];
  while (buf_.size() < n) {
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline) return false;
    const std::size_t k = read_some(tmp, sizeof(tmp), std::chrono::duration_cast<Ms>(deadline - now) + Ms(1));
    if (k == 0) return false;
    wire_.append(tmp, k);
    if (decoder_) {
      const std::string err = decoder_->decode(reinterpret_cast<const std::uint8_t*>(tmp), k, buf_);
      if (!err.empty()) throw ClientError("decode failed: " + err);
    } else {
      buf_.append(tmp, k);
    }
  }
  return true;
}

std::optional<Frame> SecureClient::try_read_frame(Ms timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (!fill(8, deadline)) return std::nullopt;
    const std::int32_t size = be_i32(buf_.data());
    if (size < 4) throw ClientError("bad frame size");
    if (!fill(4 + static_cast<std::size_t>(size), deadline)) return std::nullopt;
    Frame f;
    f.type = static_cast<FrameType>(be_i32(buf_.data() + 4));
    f.data = buf_.substr(8, static_cast<std::size_t>(size) - 4);
    buf_.erase(0, 4 + static_cast<std::size_t>(size));
    if (f.is_heartbeat()) continue;
    return f;
  }
}

Frame SecureClient::read_frame(Ms timeout) {
  auto f = try_read_frame(timeout);
  if (!f) throw ClientError("timed out waiting for a frame");
  return *f;
}

bool SecureClient::closed_within(Ms timeout) {
  try {
    auto f = try_read_frame(timeout);
    return false;  // a frame, or silence until the timeout
  } catch (const ClientError&) {
    return true;
  }
}

}  // namespace nsqit
