// The compressed stream formats nsqd negotiates in IDENTIFY, for one direction each:
// - snappy: the framing format of golang/snappy's NewWriter/NewReader (stream identifier chunk, then chunks of at
//   most 64 KiB of input, each with a masked CRC-32C; a chunk that does not shrink by 12.5% is sent uncompressed);
// - deflate: raw DEFLATE (RFC 1951, no zlib header) as Go's compress/flate, every flush a sync flush.
// Used by the daemon's connections and by test clients and nsqd-bench, so it depends on nothing of the engine.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace nsq::codec {

class StreamEncoder {
 public:
  virtual ~StreamEncoder() = default;
  // Compresses in as one flush: appends bytes to out that let the peer decode all of in at once.
  virtual void encode(std::string_view in, std::string& out) = 0;
};

class StreamDecoder {
 public:
  virtual ~StreamDecoder() = default;
  // Appends what the bytes complete to out. Returns "" or an error in Go's words ("snappy: corrupt input");
  // after an error the stream is unusable.
  virtual std::string decode(const std::uint8_t* data, std::size_t size, std::string& out) = 0;
};

std::unique_ptr<StreamEncoder> make_snappy_encoder();
std::unique_ptr<StreamDecoder> make_snappy_decoder();
// level 1..9 as Go's flate.NewWriter (nsqd caps it with --max-deflate-level).
std::unique_ptr<StreamEncoder> make_deflate_encoder(int level);
std::unique_ptr<StreamDecoder> make_deflate_decoder();

// CRC-32C (Castagnoli), as the snappy framing format checksums chunks.
std::uint32_t crc32c(const std::uint8_t* data, std::size_t size);

}  // namespace nsq::codec
