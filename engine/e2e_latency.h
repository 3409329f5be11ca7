// End-to-end processing latency (nsqd's --e2e-processing-latency-percentile): per channel, the time from a
// message's publish timestamp to its FIN, summarised as biased quantiles over a rolling window.
//
// As nsqd (internal/quantile on the "perks" targeted-quantile stream): two streams each cover half the window;
// when the current half is over the older stream is reset and becomes current. A query merges both. A topic's
// value is the merge of its channels' streams.
#pragma once

#include <cstdint>
#include <vector>

namespace nsq {

// A CKMS targeted-quantile stream (Cormode, Korn, Muthukrishnan, Srivastava), as perks/quantile implements
// it: up to 500 samples are buffered; small sets answer exactly from the sorted buffer.
class QuantileStream {
 public:
  struct Sample {
    double value = 0;
    double width = 0;
    double delta = 0;
  };

  explicit QuantileStream(std::vector<double> quantiles);

  void insert(double value);
  // Merges another stream's summary (its samples) into this one.
  void merge(std::vector<Sample> samples);
  double query(double q);
  std::vector<Sample> samples();
  std::int64_t count() const;
  void reset();

 private:
  double invariant(double r) const;
  void flush();
  void merge_sorted(const std::vector<Sample>& samples);
  void compress();
  double query_summary(double q) const;
  bool flushed() const { return !summary_.empty(); }

  std::vector<double> quantiles_;
  std::vector<Sample> buffer_;  // unsorted recent inserts
  std::vector<Sample> summary_;
  double n_ = 0;
};

// {"count":N,"percentiles":[{"quantile":q,"value":ns}...]} or, when disabled / nothing to merge, count 0 and
// no percentiles (JSON null).
struct E2eResult {
  std::int64_t count = 0;
  bool has_percentiles = false;
  std::vector<std::pair<double, double>> percentiles;  // (quantile, value ns), in the configured order
};

class E2eLatency {
 public:
  // quantiles sorted descending (as nsqd sorts them); window_ns is the whole window (each stream covers half).
  E2eLatency(std::vector<double> quantiles, std::int64_t window_ns, std::int64_t now_ns);

  // latency_ns = wall now − message timestamp; now_ns is the monotonic clock (moves the window).
  void insert(std::int64_t latency_ns, std::int64_t now_ns);
  // Adds other's two streams into this one's (nsqd's Quantile.Merge), for topic aggregation.
  void merge_from(E2eLatency& other, std::int64_t now_ns);
  E2eResult result(std::int64_t now_ns);
  const std::vector<double>& quantiles() const { return quantiles_; }

 private:
  void advance(std::int64_t now_ns);

  std::vector<double> quantiles_;
  std::int64_t half_window_ns_;
  std::int64_t last_move_ns_;
  int current_ = 0;
  QuantileStream streams_[2];
};

}  // namespace nsq
