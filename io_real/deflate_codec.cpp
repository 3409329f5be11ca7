// Raw DEFLATE with a sync flush per write, on zlib (see stream_codec.h).
#include <zlib.h>

#include "io_real/stream_codec.h"

namespace nsq::codec {

namespace {

class DeflateEncoder final : public StreamEncoder {
 public:
  explicit DeflateEncoder(int level) {
    // windowBits -15: raw deflate, 32 KiB window, as Go's compress/flate.
    deflateInit2(&z_, level, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY);
  }
  ~DeflateEncoder() override { deflateEnd(&z_); }

  void encode(std::string_view in, std::string& out) override {
    z_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    z_.avail_in = static_cast<uInt>(in.size());
    // Z_SYNC_FLUSH ends the output on a byte boundary with an empty stored block (00 00 ff ff), as Go's
    // flate.Writer.Flush, so the peer can decode everything written so far.
    do {
      const std::size_t at = out.size();
      const std::size_t room = in.size() / 2 + 64;
      out.resize(at + room);
      z_.next_out = reinterpret_cast<Bytef*>(out.data() + at);
      z_.avail_out = static_cast<uInt>(room);
      deflate(&z_, Z_SYNC_FLUSH);
      out.resize(at + room - z_.avail_out);
    } while (z_.avail_out == 0);
  }

 private:
  z_stream z_{};
};

class DeflateDecoder final : public StreamDecoder {
 public:
  DeflateDecoder() { inflateInit2(&z_, -15); }
  ~DeflateDecoder() override { inflateEnd(&z_); }

  std::string decode(const std::uint8_t* data, std::size_t size, std::string& out) override {
    if (!error_.empty()) return error_;
    z_.next_in = const_cast<Bytef*>(data);
    z_.avail_in = static_cast<uInt>(size);
    while (z_.avail_in > 0 && !ended_) {
      const std::size_t at = out.size();
      const std::size_t room = size * 4 + 256;
      out.resize(at + room);
      z_.next_out = reinterpret_cast<Bytef*>(out.data() + at);
      z_.avail_out = static_cast<uInt>(room);
      const int rc = inflate(&z_, Z_SYNC_FLUSH);
      out.resize(at + room - z_.avail_out);
      if (rc == Z_STREAM_END) {
        // A final block: Go's reader answers io.EOF from now on, and nsqd ends the connection.
        ended_ = true;
        error_ = "EOF";
        return error_;
      } else if (rc != Z_OK && rc != Z_BUF_ERROR) {
        // Go: "flate: corrupt input before offset N".
        error_ = "flate: corrupt input before offset " + std::to_string(z_.total_in);
        return error_;
      }
    }
    return error_;
  }

 private:
  z_stream z_{};
  bool ended_ = false;
  std::string error_;
};

}  // namespace

std::unique_ptr<StreamEncoder> make_deflate_encoder(int level) { return std::make_unique<DeflateEncoder>(level); }
std::unique_ptr<StreamDecoder> make_deflate_decoder() { return std::make_unique<DeflateDecoder>(); }

}  // namespace nsq::codec
