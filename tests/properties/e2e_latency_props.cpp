// End-to-end latency quantiles (engine/e2e_latency): the CKMS stream must give exactly what nsqd's
// (bmizerany/perks d9a9656a, the version nsqd v1.3.0 pins) gives, and the rolling window must forget old data.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <cstdint>
#include <vector>

#include "engine/e2e_latency.h"

namespace {

using nsq::E2eLatency;
using nsq::QuantileStream;

struct Golden {
  int n;
  std::int64_t count;
  std::vector<double> values;  // for quantiles 1, 0.99, 0.95, 0.5
};

// Produced by the Go perks package on the same inputs (two streams, every third sample in the second, merged into
// a third as nsqd's QueryHandler does).
const Golden kGolden[] = {
    {1, 1, {8834774, 8834774, 8834774, 8834774}},
    {7, 7, {9165278, 9165278, 9165278, 7257219}},
    {499, 499, {9849953, 9841773, 9195196, 4547134}},
    {500, 500, {9777380, 9769165, 9357659, 4978920}},
    {1200, 1200, {9849902, 9816096, 9310065, 4682210}},
    {20000, 20000, {9999809, 9830960, 9622069, 5099281}},
};

TEST(E2eLatency, QuantileStreamMatchesGoPerks) {
  const std::vector<double> qs{1.0, 0.99, 0.95, 0.5};
  for (const Golden& g : kGolden) {
    QuantileStream a(qs), b(qs);
    std::uint64_t x = static_cast<std::uint64_t>(g.n);
    for (int i = 0; i < g.n; ++i) {
      x = x * 6364136223846793005ULL + 1442695040888963407ULL;
      const double v = static_cast<double>((x >> 33) % 10000000);
      (i % 3 == 0 ? b : a).insert(v);
    }
    QuantileStream merged(qs);
    merged.merge(a.samples());
    merged.merge(b.samples());
    EXPECT_EQ(merged.count(), g.count) << g.n;
    for (std::size_t k = 0; k < qs.size(); ++k) EXPECT_EQ(merged.query(qs[k]), g.values[k]) << g.n << " q=" << qs[k];
  }
}

TEST(E2eLatency, WindowForgetsOldSamplesAndMergeAddsCounts) {
  constexpr std::int64_t kS = 1'000'000'000;
  E2eLatency a({0.99, 0.5}, 10 * kS, 0);
  E2eLatency b({0.99, 0.5}, 10 * kS, 0);
  a.insert(5'000'000, 1 * kS);
  b.insert(7'000'000, 2 * kS);
  b.insert(9'000'000, 3 * kS);
  E2eLatency topic({0.99, 0.5}, 10 * kS, 3 * kS);
  topic.merge_from(a, 3 * kS);
  topic.merge_from(b, 3 * kS);
  const auto r = topic.result(3 * kS);
  EXPECT_EQ(r.count, 3);
  ASSERT_EQ(r.percentiles.size(), 2u);
  EXPECT_EQ(r.percentiles[0].first, 0.99);
  EXPECT_EQ(r.percentiles[0].second, 9'000'000);
  // Half a window later the data is in the older stream; a whole window later it is gone.
  EXPECT_EQ(a.result(7 * kS).count, 1);
  EXPECT_EQ(a.result(12 * kS).count, 0);
  EXPECT_EQ(a.result(12 * kS).percentiles[0].second, 0);
  EXPECT_TRUE(a.result(12 * kS).has_percentiles);
  // A long idle gap is skipped without looping per half window.
  E2eLatency idle({0.5}, 2, 0);
  idle.insert(1, 1);
  EXPECT_EQ(idle.result(std::int64_t{1} << 60).count, 0);
}

// Quantile answers are always one of the inserted values and ordered by quantile.
RC_GTEST_PROP(E2eLatency, AnswersAreSamplesAndMonotone, (const std::vector<std::uint32_t>& raw)) {
  const std::vector<double> qs{1.0, 0.99, 0.9, 0.5, 0.1};
  QuantileStream s(qs);
  std::vector<double> values;
  for (std::uint32_t v : raw) {
    values.push_back(static_cast<double>(v));
    s.insert(static_cast<double>(v));
  }
  QuantileStream merged(qs);
  merged.merge(s.samples());
  RC_ASSERT(merged.count() == static_cast<std::int64_t>(values.size()));
  double previous = 1e300;
  for (double q : qs) {
    const double v = merged.query(q);
    if (values.empty()) {
      RC_ASSERT(v == 0);
      continue;
    }
    RC_ASSERT(std::find(values.begin(), values.end(), v) != values.end());
    RC_ASSERT(v <= previous);
    previous = v;
  }
}

}  // namespace
