// An immutable message body, allocated once at publish and shared (by reference count) by every channel copy
// of the message. The count is not atomic on purpose: the engine's thread owns every Body.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <new>
#include <string_view>
#include <utility>

namespace nsq {

class Body {
 public:
  static Body* create(std::string_view data) {
    void* mem = ::operator new(sizeof(Body) + data.size());
    Body* b = new (mem) Body(static_cast<std::uint32_t>(data.size()));
    if (!data.empty()) std::memcpy(b->bytes(), data.data(), data.size());
    return b;
  }
  std::string_view view() const { return {bytes(), size_}; }
  std::size_t size() const { return size_; }
  bool shared() const { return refs_ > 1; }
  void ref() { ++refs_; }
  void unref() {
    if (--refs_ == 0) {
      this->~Body();
      ::operator delete(this);
    }
  }

 private:
  explicit Body(std::uint32_t size) : size_(size) {}
  char* bytes() { return reinterpret_cast<char*>(this + 1); }
  const char* bytes() const { return reinterpret_cast<const char*>(this + 1); }
  std::uint32_t refs_ = 1;
  std::uint32_t size_;
};

// Owning handle to a shared Body.
class BodyRef {
 public:
  BodyRef() = default;
  explicit BodyRef(std::string_view data) : p_(Body::create(data)) {}
  BodyRef(const BodyRef& o) : p_(o.p_) {
    if (p_) p_->ref();
  }
  BodyRef(BodyRef&& o) noexcept : p_(std::exchange(o.p_, nullptr)) {}
  BodyRef& operator=(BodyRef o) noexcept {
    std::swap(p_, o.p_);
    return *this;
  }
  ~BodyRef() {
    if (p_) p_->unref();
  }
  std::string_view view() const { return p_ ? p_->view() : std::string_view{}; }
  std::size_t size() const { return p_ ? p_->size() : 0; }
  // Whether another handle shares this body (a fan-out copy on another channel).
  bool shared() const { return p_ != nullptr && p_->shared(); }
  // Hands the reference over as a raw pointer (MemoryQueue keeps shared bodies so) and back.
  Body* release() { return std::exchange(p_, nullptr); }
  static BodyRef adopt(Body* p) {
    BodyRef r;
    r.p_ = p;
    return r;
  }

 private:
  Body* p_ = nullptr;
};

}  // namespace nsq
