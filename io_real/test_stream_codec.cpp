// The IDENTIFY stream formats: round trips in any chunking, golang/snappy's framing details, and the errors a
// corrupt stream gets.
#include <gtest/gtest.h>

#include <string>

#include "io_real/stream_codec.h"

namespace nsq::codec {
namespace {

std::string sample(std::size_t n, bool compressible) {
  std::string s;
  std::uint32_t x = 7;
  while (s.size() < n) {
    x = x * 1664525u + 1013904223u;
    s.push_back(compressible ? static_cast<char>('a' + (x >> 29)) : static_cast<char>(x >> 24));
  }
  return s;
}

// Decodes bytes fed in chunks of `step`.
std::string decode_all(StreamDecoder& d, const std::string& wire, std::size_t step, std::string* error = nullptr) {
  std::string out;
  for (std::size_t i = 0; i < wire.size(); i += step) {
    const std::string e =
        d.decode(reinterpret_cast<const std::uint8_t*>(wire.data() + i), std::min(step, wire.size() - i), out);
    if (!e.empty()) {
      if (error) *error = e;
      break;
    }
  }
  return out;
}

TEST(StreamCodec, Crc32cKnownValue) {
  const std::string s = "123456789";
  EXPECT_EQ(crc32c(reinterpret_cast<const std::uint8_t*>(s.data()), s.size()), 0xe3069283u);
}

TEST(StreamCodec, SnappyRoundTripsInAnyChunking) {
  for (bool compressible : {true, false}) {
    auto enc = make_snappy_encoder();
    std::string wire;
    const std::string a = sample(150000, compressible), b = "OK", c = sample(65536, compressible);
    enc->encode(a, wire);
    enc->encode(b, wire);
    enc->encode(c, wire);
    for (std::size_t step : {std::size_t{1}, std::size_t{7}, std::size_t{4096}, wire.size()}) {
      auto dec = make_snappy_decoder();
      EXPECT_EQ(decode_all(*dec, wire, step), a + b + c) << "step " << step;
    }
  }
}

TEST(StreamCodec, SnappyFramingAsGolangSnappy) {
  auto enc = make_snappy_encoder();
  std::string wire;
  enc->encode("OK", wire);
  // Stream identifier, then a tiny write in an uncompressed chunk (0x01) with length 4 + 2.
  EXPECT_EQ(wire.substr(0, 10), std::string("\xff\x06\x00\x00sNaPpY", 10));
  EXPECT_EQ(wire.substr(10, 4), std::string("\x01\x06\x00\x00", 4));
  EXPECT_EQ(wire.substr(18), "OK");
  std::string more;
  enc->encode(std::string(1000, 'z'), more);
  EXPECT_EQ(more[0], '\x00');  // compressible: a compressed chunk, and no second stream identifier
}

TEST(StreamCodec, SnappyCorruptInput) {
  std::string error;
  auto dec = make_snappy_decoder();
  decode_all(*dec, "NOP\n", 4, &error);
  EXPECT_EQ(error, "snappy: corrupt input");  // no stream identifier first
  auto enc = make_snappy_encoder();
  std::string wire;
  enc->encode("hello world", wire);
  wire.back() ^= 1;  // checksum mismatch
  error.clear();
  auto dec2 = make_snappy_decoder();
  decode_all(*dec2, wire, wire.size(), &error);
  EXPECT_EQ(error, "snappy: corrupt input");
  std::string reserved = std::string("\xff\x06\x00\x00sNaPpY", 10) + std::string("\x02\x00\x00\x00", 4);
  error.clear();
  auto dec3 = make_snappy_decoder();
  decode_all(*dec3, reserved, reserved.size(), &error);
  EXPECT_EQ(error, "snappy: unsupported input");
}

TEST(StreamCodec, DeflateRoundTripsAndEachWriteEndsWithASyncFlush) {
  for (int level : {1, 6, 9}) {
    auto enc = make_deflate_encoder(level);
    std::string wire, first;
    enc->encode("OK", first);
    ASSERT_GE(first.size(), 4u);
    EXPECT_EQ(first.substr(first.size() - 4), std::string("\x00\x00\xff\xff", 4));
    wire = first;
    const std::string big = sample(300000, true), noise = sample(70000, false);
    enc->encode(big, wire);
    enc->encode(noise, wire);
    for (std::size_t step : {std::size_t{1}, std::size_t{1000}, wire.size()}) {
      auto dec = make_deflate_decoder();
      EXPECT_EQ(decode_all(*dec, wire, step), "OK" + big + noise) << "level " << level << " step " << step;
    }
  }
}

TEST(StreamCodec, DeflateCorruptInput) {
  std::string error;
  auto dec = make_deflate_decoder();
  decode_all(*dec, std::string("\xff\xff\xff\xff", 4), 4, &error);
  EXPECT_EQ(error.rfind("flate: corrupt input before offset ", 0), 0u) << error;
}

}  // namespace
}  // namespace nsq::codec
