// golang/snappy's framing format on Debian's libsnappy (see stream_codec.h).
#include <snappy.h>

#include <array>

#include "io_real/stream_codec.h"

namespace nsq::codec {

namespace {

constexpr std::uint8_t kCompressed = 0x00;
constexpr std::uint8_t kUncompressed = 0x01;
constexpr std::uint8_t kPadding = 0xfe;
constexpr std::uint8_t kStreamIdentifier = 0xff;
constexpr std::string_view kMagicBody = "sNaPpY";
constexpr std::size_t kMaxBlockSize = 65536;
constexpr std::size_t kChecksumSize = 4;
constexpr std::size_t kHeaderSize = 4;
const std::string kCorrupt = "snappy: corrupt input";
const std::string kUnsupported = "snappy: unsupported input";

std::array<std::uint32_t, 256> make_table() {
  std::array<std::uint32_t, 256> t{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0x82f63b78u : c >> 1;
    t[i] = c;
  }
  return t;
}

// The framing format's "masked" checksum.
std::uint32_t masked_crc(const std::uint8_t* data, std::size_t size) {
  const std::uint32_t c = crc32c(data, size);
  return ((c >> 15) | (c << 17)) + 0xa282ead8u;
}

void put_u24(std::string& out, std::size_t v) {
  out.push_back(static_cast<char>(v & 0xff));
  out.push_back(static_cast<char>((v >> 8) & 0xff));
  out.push_back(static_cast<char>((v >> 16) & 0xff));
}

void put_u32le(std::string& out, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

std::uint32_t get_u32le(const std::uint8_t* p) {
  return static_cast<std::uint32_t>(p[0]) | static_cast<std::uint32_t>(p[1]) << 8 |
         static_cast<std::uint32_t>(p[2]) << 16 | static_cast<std::uint32_t>(p[3]) << 24;
}

class SnappyEncoder final : public StreamEncoder {
 public:
  void encode(std::string_view in, std::string& out) override {
    if (in.empty()) return;  // Go's Writer.Write of nothing writes nothing
    if (!wrote_header_) {
      wrote_header_ = true;
      out.push_back(static_cast<char>(kStreamIdentifier));
      put_u24(out, kMagicBody.size());
      out.append(kMagicBody);
    }
    while (!in.empty()) {
      const std::string_view block = in.substr(0, kMaxBlockSize);
      in.remove_prefix(block.size());
      const auto* bytes = reinterpret_cast<const std::uint8_t*>(block.data());
      const std::uint32_t crc = masked_crc(bytes, block.size());
      scratch_.resize(snappy::MaxCompressedLength(block.size()));
      std::size_t compressed_size = 0;
      snappy::RawCompress(block.data(), block.size(), scratch_.data(), &compressed_size);
      // As golang/snappy: keep the compressed form only if it saves at least 12.5%.
      if (compressed_size >= block.size() - block.size() / 8) {
        out.push_back(static_cast<char>(kUncompressed));
        put_u24(out, kChecksumSize + block.size());
        put_u32le(out, crc);
        out.append(block);
      } else {
        out.push_back(static_cast<char>(kCompressed));
        put_u24(out, kChecksumSize + compressed_size);
        put_u32le(out, crc);
        out.append(scratch_.data(), compressed_size);
      }
    }
  }

 private:
  bool wrote_header_ = false;
  std::string scratch_;
};

class SnappyDecoder final : public StreamDecoder {
 public:
  std::string decode(const std::uint8_t* data, std::size_t size, std::string& out) override {
    if (!error_.empty()) return error_;
    buf_.append(reinterpret_cast<const char*>(data), size);
    std::size_t pos = 0;
    while (buf_.size() - pos >= kHeaderSize) {
      const auto* h = reinterpret_cast<const std::uint8_t*>(buf_.data() + pos);
      const std::uint8_t type = h[0];
      const std::size_t len = static_cast<std::size_t>(h[1]) | static_cast<std::size_t>(h[2]) << 8 |
                              static_cast<std::size_t>(h[3]) << 16;
      // Checks that need only the header come first, as golang/snappy's Reader makes them.
      if (!read_header_ && type != kStreamIdentifier) return fail(kCorrupt);
      if (type == kCompressed && (len < kChecksumSize || len > kChecksumSize + snappy::MaxCompressedLength(kMaxBlockSize))) {
        return fail(kCorrupt);
      }
      if (type == kUncompressed && (len < kChecksumSize || len - kChecksumSize > kMaxBlockSize)) return fail(kCorrupt);
      if (type == kStreamIdentifier && len != kMagicBody.size()) return fail(kCorrupt);
      if (type >= 0x02 && type <= 0x7f) return fail(kUnsupported);
      if (buf_.size() - pos - kHeaderSize < len) break;  // the rest of the chunk has not arrived yet
      const auto* body = h + kHeaderSize;
      pos += kHeaderSize + len;
      if (type == kStreamIdentifier) {
        if (std::string_view(reinterpret_cast<const char*>(body), len) != kMagicBody) return fail(kCorrupt);
        read_header_ = true;
      } else if (type == kCompressed) {
        const char* compressed = reinterpret_cast<const char*>(body + kChecksumSize);
        const std::size_t compressed_size = len - kChecksumSize;
        std::size_t n = 0;
        if (!snappy::GetUncompressedLength(compressed, compressed_size, &n) || n > kMaxBlockSize) return fail(kCorrupt);
        const std::size_t at = out.size();
        out.resize(at + n);
        if (!snappy::RawUncompress(compressed, compressed_size, out.data() + at)) return fail(kCorrupt);
        if (masked_crc(reinterpret_cast<const std::uint8_t*>(out.data() + at), n) != get_u32le(body)) {
          return fail(kCorrupt);
        }
      } else if (type == kUncompressed) {
        const std::size_t n = len - kChecksumSize;
        if (masked_crc(body + kChecksumSize, n) != get_u32le(body)) return fail(kCorrupt);
        out.append(reinterpret_cast<const char*>(body + kChecksumSize), n);
      }
      // 0x80..0xfd are skippable, 0xfe is padding: their bodies are ignored.
      (void)kPadding;
    }
    buf_.erase(0, pos);
    return {};
  }

 private:
  std::string fail(const std::string& e) {
    error_ = e;
    buf_.clear();
    return error_;
  }
  std::string buf_;
  bool read_header_ = false;
  std::string error_;
};

}  // namespace

std::uint32_t crc32c(const std::uint8_t* data, std::size_t size) {
  static const std::array<std::uint32_t, 256> table = make_table();
  std::uint32_t c = 0xffffffffu;
  for (std::size_t i = 0; i < size; ++i) c = table[(c ^ data[i]) & 0xff] ^ (c >> 8);
  return c ^ 0xffffffffu;
}

std::unique_ptr<StreamEncoder> make_snappy_encoder() { return std::make_unique<SnappyEncoder>(); }
std::unique_ptr<StreamDecoder> make_snappy_decoder() { return std::make_unique<SnappyDecoder>(); }

}  // namespace nsq::codec
