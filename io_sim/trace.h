// The run's fingerprint: every observable event (virtual time + kind + payload) folds into one 64-bit hash.
// Two runs of one seed must produce the same hash; if they do not, something non-deterministic (real time,
// unordered iteration, pointer order) leaked into behaviour. A bounded tail of readable lines is kept
// for diagnosing a failing seed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
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
    Fold f{hash_};
    f.word(static_cast<std::uint64_t>(time_ns));
    f.bytes(kind);
    f.end();
    for (std::string_view part : parts) f.bytes(part);
    f.end();
    hash_ = f.h;
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
  // Folds a byte stream into the hash eight bytes at a time (the bytes, not how they were split into parts,
  // decide the result). end() closes a field with its length, so field boundaries count.
  struct Fold {
    std::uint64_t h;
    std::uint64_t pending = 0;  // up to 7 bytes not yet folded, little-endian
    unsigned npending = 0;
    std::uint64_t length = 0;
    void word(std::uint64_t w) {
      h = (h ^ w) * 0x9e3779b97f4a7c15ULL;
      h ^= h >> 29;
    }
    void bytes(std::string_view b) {
      length += b.size();
      std::size_t i = 0;
      while (npending != 0 && i < b.size()) {
        pending |= static_cast<std::uint64_t>(static_cast<unsigned char>(b[i++])) << (8 * npending);
        if (++npending == 8) {
          word(pending);
          pending = 0;
          npending = 0;
        }
      }
      for (; i + 8 <= b.size(); i += 8) {
        std::uint64_t w;
        std::memcpy(&w, b.data() + i, 8);  // host order: little-endian, as the bytes above
        word(w);
      }
      for (; i < b.size(); ++i) {
        pending |= static_cast<std::uint64_t>(static_cast<unsigned char>(b[i])) << (8 * npending++);
      }
    }
    void end() {
      word(pending);
      word(length);
      pending = 0;
      npending = 0;
      length = 0;
    }
  };

  std::uint64_t hash_ = 0xcbf29ce484222325ULL;
  std::uint64_t events_ = 0;
  std::size_t keep_;
  bool echo_ = false;
  std::deque<std::string> tail_;
};

}  // namespace nsq::io_sim
