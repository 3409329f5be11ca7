#include "connection.h"

#include <utility>

namespace nsqbench {

namespace {
std::string json_escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (static_cast<unsigned char>(c) < 0x20) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::string identify_json(const IdentifyOptions& o) {
  boost::system::error_code ec;
  std::string host = asio::ip::host_name(ec);
  if (ec) host = "localhost";
  std::string j = "{\"client_id\":\"" + json_escape(o.client_id) + "\",\"hostname\":\"" + json_escape(host) +
                  "\",\"user_agent\":\"nsqd-bench/1.3.0\",\"feature_negotiation\":" +
                  ((o.tls || o.snappy || o.deflate) ? "true" : "false");
  if (o.tls) j += ",\"tls_v1\":true";
  if (o.snappy) j += ",\"snappy\":true";
  if (o.deflate) j += ",\"deflate\":true,\"deflate_level\":" + std::to_string(o.deflate_level);
  if (o.heartbeat_interval_ms != 0) j += ",\"heartbeat_interval\":" + std::to_string(o.heartbeat_interval_ms);
  if (o.output_buffer_size != 0) j += ",\"output_buffer_size\":" + std::to_string(o.output_buffer_size);
  if (o.output_buffer_timeout_ms != 0)
    j += ",\"output_buffer_timeout\":" + std::to_string(o.output_buffer_timeout_ms);
  j += "}";
  return j;
}
}  // namespace

Connection::Connection(asio::io_context& io, RunState& run, tcp::endpoint ep, IdentifyOptions idopts,
                       std::string name)
    : io_(io), run_(run), sock_(io), ep_(std::move(ep)), idopts_(std::move(idopts)), name_(std::move(name)) {}

void Connection::start() {
  asio::post(io_, [self = shared_from_this()] { self->do_connect(); });
}

void Connection::stop() {
  asio::post(io_, [self = shared_from_this()] {
    if (!self->closed_ && !self->closing_) self->on_stop();
  });
}

void Connection::abort() {
  asio::post(io_, [self = shared_from_this()] { self->finish_close(); });
}

void Connection::do_connect() {
  sock_.async_connect(ep_, [self = shared_from_this()](const boost::system::error_code& ec) {
    if (self->closed_) return;
    if (ec) {
      self->fail("connect to " + self->ep_.address().to_string() + ":" + std::to_string(self->ep_.port()) +
                 ": " + ec.message());
      return;
    }
    boost::system::error_code ignored;
    self->sock_.set_option(tcp::no_delay(true), ignored);
    encode_magic(self->pending_);
    encode_identify(self->pending_, identify_json(self->idopts_));
    const IdentifyOptions& o = self->idopts_;
    self->phase_ = (o.tls || o.snappy || o.deflate) ? Phase::json : Phase::done;
    self->flush();
    self->do_read();
  });
}

void Connection::do_read() {
  const bool decode = stream_decoder_ != nullptr;
  std::span<char> span;
  if (decode) {
    raw_.resize(64 * 1024);
    span = std::span<char>(raw_.data(), raw_.size());
  } else {
    span = decoder_.prepare(64 * 1024);
  }
  auto on_read = [self = shared_from_this(), decode](const boost::system::error_code& ec, std::size_t n) {
                          if (self->closed_) return;
                          if (ec) {
                            if (self->closing_) {
                              self->finish_close();
                            } else if (ec == asio::error::eof) {
                              self->fail("connection closed by server");
                            } else {
                              self->fail("read: " + ec.message());
                            }
                            return;
                          }
                          if (decode) {
                            self->decoded_.clear();
                            const std::string err = self->stream_decoder_->decode(
                                reinterpret_cast<const std::uint8_t*>(self->raw_.data()), n, self->decoded_);
                            if (!err.empty()) {
                              self->fail("decode: " + err);
                              return;
                            }
                            self->decoder_.feed(self->decoded_);
                          } else {
                            self->decoder_.commit(n);
                          }
                          self->handle_frames();
                          if (self->closed_) return;
                          if (self->handshaking_) {
                            self->start_tls();
                          } else {
                            self->do_read();
                          }
                        };
  if (tls_) {
    tls_->async_read_some(asio::buffer(span.data(), span.size()), std::move(on_read));
  } else {
    sock_.async_read_some(asio::buffer(span.data(), span.size()), std::move(on_read));
  }
}

bool Connection::on_upgrade_frame(std::string_view data) {
  auto granted = [&](const char* key) { return data.find(std::string("\"") + key + "\":true") != std::string_view::npos; };
  switch (phase_) {
    case Phase::json:
      if (data.empty() || data.front() != '{') {
        fail("unexpected IDENTIFY response: " + std::string(data));
        return false;
      }
      if ((idopts_.tls && !granted("tls_v1")) || (idopts_.snappy && !granted("snappy")) ||
          (idopts_.deflate && !granted("deflate"))) {
        fail("nsqd did not grant every upgrade asked for: " + std::string(data));
        return false;
      }
      want_compression_ = idopts_.snappy || idopts_.deflate;
      if (idopts_.tls) {
        phase_ = Phase::tls_ok;
        handshaking_ = true;  // after this read's frames: no further bytes come before our ClientHello
      } else {
        start_compression();
      }
      return true;
    case Phase::tls_ok:
    case Phase::compression_ok:
      if (data != "OK") {
        fail("unexpected upgrade response: " + std::string(data));
        return false;
      }
      if (phase_ == Phase::tls_ok && want_compression_) {
        start_compression();
        return true;
      }
      phase_ = Phase::done;
      identified_ = true;
      on_identified();
      return true;
    default:
      return true;
  }
}

void Connection::start_compression() {
  phase_ = Phase::compression_ok;
  if (idopts_.snappy) {
    encoder_ = nsq::codec::make_snappy_encoder();
    stream_decoder_ = nsq::codec::make_snappy_decoder();
  } else {
    encoder_ = nsq::codec::make_deflate_encoder(idopts_.deflate_level);
    stream_decoder_ = nsq::codec::make_deflate_decoder();
  }
  // Bytes already read behind the last uncompressed frame are compressed.
  const std::string rest = decoder_.take_buffered();
  decoded_.clear();
  const std::string err =
      stream_decoder_->decode(reinterpret_cast<const std::uint8_t*>(rest.data()), rest.size(), decoded_);
  if (!err.empty()) return fail("decode: " + err);
  decoder_.feed(decoded_);
}

void Connection::start_tls() {
  ssl_ctx_ = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_client);
  ssl_ctx_->set_verify_mode(asio::ssl::verify_none);  // a load generator: any server certificate
  tls_ = std::make_unique<asio::ssl::stream<tcp::socket&>>(sock_, *ssl_ctx_);
  tls_->async_handshake(asio::ssl::stream_base::client, [self = shared_from_this()](const boost::system::error_code& ec) {
    self->handshaking_ = false;
    if (self->closed_) return;
    if (ec) {
      self->fail("TLS handshake: " + ec.message());
      return;
    }
    self->flush();
    self->do_read();
  });
}

void Connection::handle_frames() {
  Frame f;
  for (;;) {
    if (closed_) return;
    auto st = decoder_.next(f);
    if (st == FrameDecoder::Status::kNeedMore) break;
    if (st == FrameDecoder::Status::kError) {
      fail("protocol error: " + decoder_.error());
      return;
    }
    switch (f.type) {
      case FrameType::Response:
        if (f.data == "_heartbeat_") {
          encode_nop(pending_);
        } else if (!identified_ && phase_ != Phase::done) {
          if (!on_upgrade_frame(f.data)) return;
          if (handshaking_) return;  // the rest of the stream is TLS
        } else if (!identified_) {
          if (f.data != "OK") {
            fail("unexpected IDENTIFY response: " + std::string(f.data));
            return;
          }
          identified_ = true;
          on_identified();
        } else {
          on_response(f.data);
        }
        break;
      case FrameType::Error:
        fail("error frame: " + std::string(f.data));
        return;
      case FrameType::Message: {
        Message m;
        if (!parse_message(f.data, m)) {
          fail("protocol error: short message frame (" + std::to_string(f.data.size()) + " bytes)");
          return;
        }
        on_message(m);
        break;
      }
    }
  }
  on_read_done();
  flush();
}

void Connection::on_message(const Message&) { fail("protocol error: unexpected message frame"); }

void Connection::flush() {
  if (write_in_flight_ || pending_.empty() || closed_ || handshaking_) return;
  std::swap(pending_, writing_);
  if (encoder_) {
    std::string encoded;
    encoder_->encode(writing_, encoded);
    writing_ = std::move(encoded);
  }
  write_in_flight_ = true;
  auto on_written = [self = shared_from_this()](const boost::system::error_code& ec, std::size_t) {
                      self->write_in_flight_ = false;
                      if (self->closed_) return;
                      if (ec) {
                        self->fail("write: " + ec.message());
                        return;
                      }
                      self->writing_.clear();
                      if (self->closing_ && self->pending_.empty()) {
                        self->finish_close();
                        return;
                      }
                      self->on_write_done();
                      self->flush();
                    };
  if (tls_) {
    asio::async_write(*tls_, asio::buffer(writing_), std::move(on_written));
  } else {
    asio::async_write(sock_, asio::buffer(writing_), std::move(on_written));
  }
}

void Connection::close_after_flush() {
  if (closed_) return;
  closing_ = true;
  if (!write_in_flight_ && pending_.empty()) {
    finish_close();
  } else {
    flush();
  }
}

void Connection::finish_close() {
  if (closed_) return;
  closed_ = true;
  boost::system::error_code ignored;
  sock_.shutdown(tcp::socket::shutdown_both, ignored);
  sock_.close(ignored);
  done_.store(true, std::memory_order_release);
}

void Connection::fail(std::string what) {
  run_.fail(name_ + ": " + what);
  finish_close();
}

}  // namespace nsqbench
