#include "histogram.h"

#include <algorithm>
#include <cmath>

namespace nsqbench {

LatencyHistogram::LatencyHistogram() : counts_(kBuckets, 0) {}

void LatencyHistogram::merge(const LatencyHistogram& other) {
  for (std::size_t i = 0; i < kBuckets; ++i) counts_[i] += other.counts_[i];
  count_ += other.count_;
  sum_ += other.sum_;
  max_ = std::max(max_, other.max_);
  min_ = std::min(min_, other.min_);
}

void LatencyHistogram::reset() {
  std::fill(counts_.begin(), counts_.end(), 0);
  count_ = sum_ = max_ = 0;
  min_ = UINT64_MAX;
}

std::uint64_t LatencyHistogram::highest_equivalent(std::size_t index) {
  if (index < kLinearLimit) return index;
  const std::uint64_t rel = index - kLinearLimit;
  const int shift = static_cast<int>(rel / kSubCount) + 1;
  const std::uint64_t mantissa = kSubCount + rel % kSubCount;
  const std::uint64_t lo = mantissa << shift;
  return lo + ((std::uint64_t{1} << shift) - 1);
}

std::uint64_t LatencyHistogram::percentile(double p) const {
  if (count_ == 0) return 0;
  p = std::clamp(p, 0.0, 100.0);
  // The tiny relative slack keeps e.g. 99.9% of 1000 at rank 999 despite 0.999*1000 > 999 in FP.
  const double exact_rank = p / 100.0 * static_cast<double>(count_);
  auto rank = static_cast<std::uint64_t>(std::ceil(exact_rank * (1 - 1e-12)));
  rank = std::clamp<std::uint64_t>(rank, 1, count_);
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < kBuckets; ++i) {
    seen += counts_[i];
    if (seen >= rank) return std::clamp(highest_equivalent(i), min(), max());
  }
  return max();
}

}  // namespace nsqbench
