// Unit tests for nsqd-bench's protocol encoder/decoder, latency histogram and duration parser.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "duration.h"
#include "frame.h"
#include "histogram.h"

using namespace nsqbench;

namespace {
std::string be32(std::uint32_t v) {
  std::string s(4, '\0');
  put_be32(s.data(), v);
  return s;
}
}  // namespace

TEST(Encode, SimpleCommands) {
  std::string out;
  encode_magic(out);
  encode_sub(out, "t", "c");
  encode_rdy(out, 2500);
  encode_fin(out, "0123456789abcdef");
  encode_nop(out);
  encode_cls(out);
  EXPECT_EQ(out, "  V2SUB t c\nRDY 2500\nFIN 0123456789abcdef\nNOP\nCLS\n");
}

TEST(Encode, IdentifyAndPub) {
  std::string out;
  encode_identify(out, "{}");
  EXPECT_EQ(out, "IDENTIFY\n" + be32(2) + "{}");
  out.clear();
  encode_pub(out, "bench", "hello");
  EXPECT_EQ(out, "PUB bench\n" + be32(5) + "hello");
}

TEST(Encode, Mpub) {
  std::string out;
  std::vector<std::string_view> bodies{"ab", "cde"};
  encode_mpub(out, "t", bodies);
  // body size = 4 (count) + (4+2) + (4+3) = 17
  EXPECT_EQ(out, "MPUB t\n" + be32(17) + be32(2) + be32(2) + "ab" + be32(3) + "cde");
}

TEST(BatchTemplate, MpubLayoutAndStamp) {
  BatchTemplate b("topic", 3, 10, 'x');
  std::string expect;
  std::vector<std::string_view> bodies(3, "xxxxxxxxxx");
  encode_mpub(expect, "topic", bodies);
  EXPECT_EQ(b.bytes(), expect);

  std::string out = "prefix";
  b.append_to(out, 0x0102030405060708LL);
  ASSERT_EQ(out.size(), 6 + expect.size());
  for (std::size_t i = 0; i < 3; ++i) {
    const char* body = out.data() + 6 + b.body_offset(i);
    EXPECT_EQ(get_be64(body), 0x0102030405060708ULL) << i;
    EXPECT_EQ(std::string(body + 8, 2), "xx") << i;
    EXPECT_EQ(get_be32(body - 4), 10u) << i;
  }
  // Unstamped copy is byte-identical to the template.
  out.clear();
  b.append_to(out);
  EXPECT_EQ(out, expect);
}

TEST(BatchTemplate, SingleIsPub) {
  BatchTemplate b("t", 1, 8, 'y');
  EXPECT_EQ(b.bytes(), "PUB t\n" + be32(8) + "yyyyyyyy");
  std::string out;
  b.append_to(out, 42);
  EXPECT_EQ(get_be64(out.data() + b.body_offset(0)), 42u);
}

TEST(Decoder, ResponsesErrorsAndMessages) {
  FrameDecoder d(64);
  d.feed(encode_frame(FrameType::Response, "OK"));
  d.feed(encode_frame(FrameType::Error, "E_INVALID invalid command X"));
  d.feed(encode_message_frame(1234567890123LL, 3, "0123456789abcdef", "body!"));
  Frame f;
  ASSERT_EQ(d.next(f), FrameDecoder::Status::kFrame);
  EXPECT_EQ(f.type, FrameType::Response);
  EXPECT_EQ(f.data, "OK");
  ASSERT_EQ(d.next(f), FrameDecoder::Status::kFrame);
  EXPECT_EQ(f.type, FrameType::Error);
  EXPECT_EQ(f.data, "E_INVALID invalid command X");
  ASSERT_EQ(d.next(f), FrameDecoder::Status::kFrame);
  ASSERT_EQ(f.type, FrameType::Message);
  Message m;
  ASSERT_TRUE(parse_message(f.data, m));
  EXPECT_EQ(m.timestamp_ns, 1234567890123LL);
  EXPECT_EQ(m.attempts, 3);
  EXPECT_EQ(m.id, "0123456789abcdef");
  EXPECT_EQ(m.body, "body!");
  EXPECT_EQ(d.next(f), FrameDecoder::Status::kNeedMore);
  EXPECT_EQ(d.buffered(), 0u);
}

TEST(Decoder, ByteAtATimeAndLargeFrames) {
  // Frames larger than the initial buffer, delivered one byte per read.
  std::string stream;
  std::vector<std::string> bodies;
  for (int i = 0; i < 5; ++i) {
    bodies.push_back(std::string(100 + i * 300, static_cast<char>('a' + i)));
    stream += encode_message_frame(i, 1, "0123456789abcdef", bodies.back());
    stream += encode_frame(FrameType::Response, "_heartbeat_");
  }
  FrameDecoder d(16);
  std::vector<std::string> got;
  int heartbeats = 0;
  for (char c : stream) {
    auto span = d.prepare(1);
    span[0] = c;
    d.commit(1);
    Frame f;
    FrameDecoder::Status st;
    while ((st = d.next(f)) == FrameDecoder::Status::kFrame) {
      if (f.type == FrameType::Message) {
        Message m;
        ASSERT_TRUE(parse_message(f.data, m));
        got.emplace_back(m.body);
      } else {
        EXPECT_EQ(f.data, "_heartbeat_");
        ++heartbeats;
      }
    }
    ASSERT_EQ(st, FrameDecoder::Status::kNeedMore);
  }
  EXPECT_EQ(got, bodies);
  EXPECT_EQ(heartbeats, 5);
}

TEST(Decoder, InvalidSizeAndType) {
  FrameDecoder d(64, 1024);
  d.feed(be32(2) + "xx");
  Frame f;
  EXPECT_EQ(d.next(f), FrameDecoder::Status::kError);

  FrameDecoder d2(64, 1024);
  d2.feed(be32(4096));
  EXPECT_EQ(d2.next(f), FrameDecoder::Status::kError);

  FrameDecoder d3(64, 1024);
  d3.feed(be32(6) + be32(7) + "zz");
  EXPECT_EQ(d3.next(f), FrameDecoder::Status::kError);
}

TEST(Decoder, ShortMessageRejected) {
  Message m;
  EXPECT_FALSE(parse_message(std::string(25, 'x'), m));
  EXPECT_TRUE(parse_message(std::string(26, 'x'), m));
  EXPECT_TRUE(m.body.empty());
}

TEST(Histogram, EmptyAndSmallExact) {
  LatencyHistogram h;
  EXPECT_EQ(h.percentile(50), 0u);
  for (std::uint64_t v = 1; v <= 100; ++v) h.record(v);
  EXPECT_EQ(h.count(), 100u);
  EXPECT_EQ(h.percentile(50), 50u);
  EXPECT_EQ(h.percentile(99), 99u);
  EXPECT_EQ(h.percentile(100), 100u);
  EXPECT_EQ(h.percentile(0), 1u);
  EXPECT_EQ(h.min(), 1u);
  EXPECT_EQ(h.max(), 100u);
  EXPECT_DOUBLE_EQ(h.mean(), 50.5);
}

TEST(Histogram, BucketsAreMonotonicAndContainTheirValues) {
  std::mt19937_64 rng(7);
  for (int i = 0; i < 100000; ++i) {
    const std::uint64_t v = rng() >> (rng() % 64);
    const auto idx = LatencyHistogram::index_of(v);
    ASSERT_LT(idx, LatencyHistogram::kBuckets);
    ASSERT_GE(LatencyHistogram::highest_equivalent(idx), v);
    if (idx > 0) {
      ASSERT_LT(LatencyHistogram::highest_equivalent(idx - 1), v);
    }
  }
  EXPECT_EQ(LatencyHistogram::index_of(UINT64_MAX), LatencyHistogram::kBuckets - 1);
}

TEST(Histogram, PercentilesWithinOnePercent) {
  // Uniform 1us..100ms in ns, shuffled, split across two histograms and merged.
  std::vector<std::uint64_t> vals;
  for (std::uint64_t v = 1000; v <= 100'000'000; v += 997) vals.push_back(v);
  std::mt19937_64 rng(1);
  std::shuffle(vals.begin(), vals.end(), rng);
  LatencyHistogram a, b;
  for (std::size_t i = 0; i < vals.size(); ++i) (i % 2 ? a : b).record(vals[i]);
  a.merge(b);
  std::sort(vals.begin(), vals.end());
  for (double p : {50.0, 90.0, 99.0, 99.9}) {
    const auto rank = static_cast<std::size_t>(std::ceil(p / 100 * static_cast<double>(vals.size())));
    const double exact = static_cast<double>(vals[rank - 1]);
    const double got = static_cast<double>(a.percentile(p));
    EXPECT_GE(got, exact) << p;
    EXPECT_LE(got, exact * 1.01) << p;
  }
  EXPECT_EQ(a.percentile(100), vals.back());
  EXPECT_EQ(a.max(), vals.back());
  EXPECT_EQ(a.count(), vals.size());
}

TEST(Histogram, OutlierOnlyInTail) {
  LatencyHistogram h;
  for (int i = 0; i < 999; ++i) h.record(1'000'000);  // 1 ms
  h.record(500'000'000);                                // 500 ms
  EXPECT_LE(h.percentile(99.9), 1'010'000u);
  EXPECT_GE(h.percentile(99.9), 1'000'000u);
  EXPECT_EQ(h.percentile(99.95), 500'000'000u);
  EXPECT_EQ(h.max(), 500'000'000u);
}

TEST(Duration, Parse) {
  EXPECT_DOUBLE_EQ(*parse_duration("10s"), 10);
  EXPECT_DOUBLE_EQ(*parse_duration("500ms"), 0.5);
  EXPECT_DOUBLE_EQ(*parse_duration("1m30s"), 90);
  EXPECT_DOUBLE_EQ(*parse_duration("2"), 2);
  EXPECT_DOUBLE_EQ(*parse_duration("1.5s"), 1.5);
  EXPECT_DOUBLE_EQ(*parse_duration("0"), 0);
  EXPECT_FALSE(parse_duration(""));
  EXPECT_FALSE(parse_duration("10x"));
  EXPECT_FALSE(parse_duration("s"));
  EXPECT_FALSE(parse_duration("-1s"));
  EXPECT_FALSE(parse_duration("1s2"));
}

TEST(BatchTemplate, NonceInBytes8To15) {
  BatchTemplate b("t", 2, 20, 'x');
  b.set_nonce(0xabcdef0123456789ULL);
  std::string out;
  b.append_to(out, 5);
  for (std::size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(get_be64(out.data() + b.body_offset(i)), 5u);
    EXPECT_EQ(get_be64(out.data() + b.body_offset(i) + 8), 0xabcdef0123456789ULL);
    EXPECT_EQ(out[b.body_offset(i) + 16], 'x');
  }
}
