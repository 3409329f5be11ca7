// nsqd-bench: latency histogram with HDR-like log-linear buckets.
//
// Values below 256 are exact; above, every power-of-two octave is split into 128 linear
// sub-buckets, so a reported percentile is within 1/128 (< 0.8%) of the true sample. Recording is
// a clz + shift + increment; histograms are per connection and merged at the end.
#pragma once

#include <cstdint>
#include <vector>

namespace nsqbench {

class LatencyHistogram {
 public:
  static constexpr int kSubBits = 7;
  static constexpr std::uint64_t kSubCount = 1u << kSubBits;     // 128 per octave
  static constexpr std::uint64_t kLinearLimit = kSubCount * 2;   // values < 256 are exact
  static constexpr std::size_t kBuckets = kLinearLimit + (64 - kSubBits - 1) * kSubCount;

  LatencyHistogram();

  void record(std::uint64_t value) {
    ++counts_[index_of(value)];
    ++count_;
    sum_ += value;
    if (value > max_) max_ = value;
    if (value < min_) min_ = value;
  }
  void merge(const LatencyHistogram& other);
  void reset();

  std::uint64_t count() const { return count_; }
  std::uint64_t max() const { return count_ ? max_ : 0; }
  std::uint64_t min() const { return count_ ? min_ : 0; }
  double mean() const { return count_ ? static_cast<double>(sum_) / static_cast<double>(count_) : 0; }

  // Smallest recorded-bucket value v such that at least p% of samples are <= v (p in [0,100]).
  // Returns the bucket's highest equivalent value, clamped to [min, max]. 0 when empty.
  std::uint64_t percentile(double p) const;

  static std::size_t index_of(std::uint64_t v) {
    if (v < kLinearLimit) return static_cast<std::size_t>(v);
    const int msb = 63 - __builtin_clzll(v);
    const int shift = msb - kSubBits;  // >= 1
    return static_cast<std::size_t>(kLinearLimit + static_cast<std::uint64_t>(shift - 1) * kSubCount +
                                    ((v >> shift) - kSubCount));
  }
  static std::uint64_t highest_equivalent(std::size_t index);

 private:
  std::vector<std::uint64_t> counts_;
  std::uint64_t count_ = 0;
  std::uint64_t sum_ = 0;
  std::uint64_t max_ = 0;
  std::uint64_t min_ = UINT64_MAX;
};

}  // namespace nsqbench
