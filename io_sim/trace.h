// The run's fingerprint: every observable event (virtual time + kind + payload) folds into one 64-bit FNV-1a
// hash. Two runs of one seed must produce the same hash; if they do not, something non-deterministic (real
// time, unordered iteration, pointer order) leaked into behaviour. A bounded tail of readable lines is kept
// for diagnosing a failing seed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <initializer_list>
#include <string>
#include <string_view>

namespace nsq::io_sim {

class Trace {
 public:
  explicit Trace(std::size_t keep_lines = 400) : keep_(keep_lines) {}

  void record(std::int64_t time_ns, std::string_view kind, std::string_view detail) { record(time_ns, kind, {detail}); }
  // The same as recording the concatenation of parts as the detail, without building it unless a line is kept.
  void record(std::int64_t time_ns, std::string_view kind, std::initializer_list<std::string_view> parts) {
    std::uint64_t h = hash_;
    const auto t = static_cast<std::uint64_t>(time_ns);
    for (int i = 0; i < 8; ++i) h = mix(h, static_cast<unsigned char>(t >> (8 * i)));
    for (unsigned char c : kind) h = mix(h, c);
    h = mix(h, 0);
    for (std::string_view part : parts) {
      for (unsigned char c : part) h = mix(h, c);
    }
    hash_ = mix(h, 0xff);
    ++events_;
    if (keep_ == 0 && !echo_) return;
    std::string detail;
    for (std::string_view part : parts) detail += part;
    std::string line = format_time(time_ns) + " " + std::string(kind) + " " + printable(detail, 160);
    if (echo_) std::fprintf(stderr, "%s\n", line.c_str());
    if (keep_ == 0) return;
    if (tail_.size() == keep_) tail_.pop_front();
    tail_.push_back(std::move(line));
  }

  std::uint64_t hash() const { return hash_; }
  std::uint64_t events() const { return events_; }
  const std::deque<std::string>& tail() const { return tail_; }
  // Echo every event to stderr as it happens (debugging one seed).
  void set_echo(bool echo) { echo_ = echo; }

  static std::string hex(std::uint64_t v) {
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
    return buf;
  }
  // Protocol bytes made readable: control and high bytes as \xNN, truncated to max bytes.
  static std::string printable(std::string_view bytes, std::size_t max) {
    std::string out;
    for (std::size_t i = 0; i < bytes.size() && i < max; ++i) {
      unsigned char c = static_cast<unsigned char>(bytes[i]);
      if (c >= 0x20 && c < 0x7f && c != '\\') {
        out += static_cast<char>(c);
      } else {
        char buf[5];
        std::snprintf(buf, sizeof buf, "\\x%02x", c);
        out += buf;
      }
    }
    if (bytes.size() > max) out += "...(" + std::to_string(bytes.size()) + " bytes)";
    return out;
  }
  // Seconds.microseconds of virtual time.
  static std::string format_time(std::int64_t ns) {
    char buf[40];
    std::snprintf(buf, sizeof buf, "%lld.%06lld", static_cast<long long>(ns / 1'000'000'000),
                  static_cast<long long>((ns % 1'000'000'000) / 1000));
    return buf;
  }

 private:
  static std::uint64_t mix(std::uint64_t h, unsigned char c) { return (h ^ c) * 0x100000001b3ULL; }

  std::uint64_t hash_ = 0xcbf29ce484222325ULL;
  std::uint64_t events_ = 0;
  std::size_t keep_;
  bool echo_ = false;
  std::deque<std::string> tail_;
};

}  // namespace nsq::io_sim
