#include "engine/e2e_latency.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace nsq {

namespace {
constexpr std::size_t kBufferSize = 500;
bool by_value(const QuantileStream::Sample& a, const QuantileStream::Sample& b) { return a.value < b.value; }
}  // namespace

QuantileStream::QuantileStream(std::vector<double> quantiles) : quantiles_(std::move(quantiles)) {
  buffer_.reserve(kBufferSize);
}

// The targeted invariant (perks d9a9656a, epsilon 0.01): the allowed error at rank r, the tightest over all
// target quantiles.
double QuantileStream::invariant(double r) const {
  constexpr double kEpsilon = 0.01;
  double m = std::numeric_limits<double>::max();
  for (double q : quantiles_) {
    double f = 0;
    if (q * n_ <= r) {
      f = (2 * kEpsilon * r) / q;
    } else {
      f = (2 * kEpsilon * (n_ - r)) / (1 - q);
    }
    m = std::min(m, f);
  }
  return m;
}

void QuantileStream::insert(double value) {
  buffer_.push_back(Sample{value, 1, 0});
  if (buffer_.size() == kBufferSize) {
    flush();
    compress();
  }
}

void QuantileStream::flush() {
  std::stable_sort(buffer_.begin(), buffer_.end(), by_value);
  merge_sorted(buffer_);
  buffer_.clear();
}

void QuantileStream::merge(std::vector<Sample> samples) {
  std::stable_sort(samples.begin(), samples.end(), by_value);
  merge_sorted(samples);
}

// perks' stream.merge, including its quirks (no rank advance for an inserted sample, no compress here).
void QuantileStream::merge_sorted(const std::vector<Sample>& samples) {
  double r = 0;
  std::size_t i = 0;
  for (const Sample& sample : samples) {
    bool inserted = false;
    for (; i < summary_.size(); ++i) {
      const Sample c = summary_[i];
      if (c.value > sample.value) {
        const double delta = std::floor(invariant(r)) - 1;
        summary_.insert(summary_.begin() + static_cast<std::ptrdiff_t>(i), Sample{sample.value, sample.width, delta});
        ++i;
        inserted = true;
        break;
      }
      r += c.width;
    }
    if (!inserted) {
      summary_.push_back(Sample{sample.value, sample.width, 0});
      ++i;
    }
    n_ += sample.width;
  }
}

void QuantileStream::compress() {
  if (summary_.size() < 2) return;
  std::size_t xi = summary_.size() - 1;
  Sample x = summary_[xi];
  double r = n_ - 1 - x.width;
  for (std::size_t k = summary_.size() - 1; k-- > 0;) {
    const Sample c = summary_[k];
    if (c.width + x.width + x.delta <= invariant(r)) {
      x.width += c.width;
      summary_[xi] = x;
      summary_.erase(summary_.begin() + static_cast<std::ptrdiff_t>(k));
      --xi;
    } else {
      x = c;
      xi = k;
    }
    r -= c.width;
  }
}

double QuantileStream::query_summary(double q) const {
  double t = std::ceil(q * n_);
  t += std::ceil(invariant(t) / 2);
  Sample p = summary_[0];
  double r = 0;
  for (std::size_t k = 1; k < summary_.size(); ++k) {
    const Sample& c = summary_[k];
    if (r + c.width + c.delta > t) return p.value;
    r += p.width;
    p = c;
  }
  return p.value;
}

double QuantileStream::query(double q) {
  if (!flushed()) {
    // Few samples: exact answer from the sorted buffer.
    if (buffer_.empty()) return 0;
    auto i = static_cast<std::size_t>(static_cast<double>(buffer_.size()) * q);
    if (i > 0) --i;
    std::stable_sort(buffer_.begin(), buffer_.end(), by_value);
    return buffer_[std::min(i, buffer_.size() - 1)].value;
  }
  flush();
  return query_summary(q);
}

std::vector<QuantileStream::Sample> QuantileStream::samples() {
  if (!flushed()) return buffer_;
  flush();
  compress();
  return summary_;
}

std::int64_t QuantileStream::count() const { return static_cast<std::int64_t>(buffer_.size()) + static_cast<std::int64_t>(n_); }

void QuantileStream::reset() {
  summary_.clear();
  buffer_.clear();
  n_ = 0;
}

E2eLatency::E2eLatency(std::vector<double> quantiles, std::int64_t window_ns, std::int64_t now_ns)
    : quantiles_(quantiles),
      half_window_ns_(std::max<std::int64_t>(window_ns / 2, 1)),
      last_move_ns_(now_ns),
      streams_{QuantileStream(quantiles), QuantileStream(quantiles)} {}

void E2eLatency::advance(std::int64_t now_ns) {
  // nsqd moves the window one half at a time until the data is fresh; jump straight there after a long idle
  // period (two moves reset both streams anyway).
  if (now_ns - last_move_ns_ > 4 * half_window_ns_) {
    // Leave at least three halves: the loop below then moves at least twice, resetting both streams.
    const std::int64_t halves = (now_ns - last_move_ns_) / half_window_ns_ - 3;
    last_move_ns_ += halves * half_window_ns_;
  }
  while (now_ns > last_move_ns_ + half_window_ns_) {
    current_ ^= 1;
    last_move_ns_ += half_window_ns_;
    streams_[current_].reset();
  }
}

void E2eLatency::insert(std::int64_t latency_ns, std::int64_t now_ns) {
  advance(now_ns);
  streams_[current_].insert(static_cast<double>(latency_ns));
}

void E2eLatency::merge_from(E2eLatency& other, std::int64_t now_ns) {
  advance(now_ns);
  other.advance(now_ns);
  int us = current_;
  int them = other.current_;
  streams_[us].merge(other.streams_[them].samples());
  us ^= 1;
  them ^= 1;
  streams_[us].merge(other.streams_[them].samples());
  last_move_ns_ = std::max(last_move_ns_, other.last_move_ns_);
}

E2eResult E2eLatency::result(std::int64_t now_ns) {
  advance(now_ns);
  QuantileStream merged(quantiles_);
  merged.merge(streams_[0].samples());
  merged.merge(streams_[1].samples());
  E2eResult out;
  out.count = merged.count();
  out.has_percentiles = true;
  for (double q : quantiles_) out.percentiles.emplace_back(q, merged.query(q));
  return out;
}

}  // namespace nsq
