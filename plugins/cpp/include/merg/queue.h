// A bounded, mutex-guarded hand-over queue with preallocated slots.
//
// Push copy-assigns into a slot and Pop copy-assigns out of it, so element types that
// hold strings (Event) reuse their capacity: once slots and the reader's element have
// grown, the queue allocates nothing. Any number of producers and consumers.
#pragma once

#include <cstddef>
#include <mutex>
#include <vector>

namespace merg {

template <typename T>
class BoundedQueue {
 public:
  // `prepare` runs on every slot once (e.g. to reserve string capacity).
  explicit BoundedQueue(size_t capacity, void (*prepare)(T*) = nullptr)
      : slots_(capacity > 0 ? capacity : 1) {
    if (prepare != nullptr) {
      for (T& slot : slots_) prepare(&slot);
    }
  }

  BoundedQueue(const BoundedQueue&) = delete;
  BoundedQueue& operator=(const BoundedQueue&) = delete;

  // False when full (the item is not queued).
  bool Push(const T& item) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (size_ == slots_.size()) return false;
    slots_[(head_ + size_) % slots_.size()] = item;
    ++size_;
    return true;
  }

  // Fill the next free slot in place (no copy); false when full. `fill` runs under the lock.
  template <typename Fill>
  bool Emplace(Fill&& fill) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (size_ == slots_.size()) return false;
    fill(&slots_[(head_ + size_) % slots_.size()]);
    ++size_;
    return true;
  }

  bool Pop(T* out) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (size_ == 0) return false;
    *out = slots_[head_];
    head_ = (head_ + 1) % slots_.size();
    --size_;
    return true;
  }

  size_t size() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return size_;
  }

  bool full() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return size_ == slots_.size();
  }

  size_t capacity() const { return slots_.size(); }

  void Clear() {
    std::lock_guard<std::mutex> lock(mutex_);
    head_ = 0;
    size_ = 0;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<T> slots_;
  size_t head_ = 0;
  size_t size_ = 0;
};

}  // namespace merg
