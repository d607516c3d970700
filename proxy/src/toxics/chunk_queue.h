#pragma once
// A FIFO of chunks that can hand out its front in pieces, for stages that release data
// gradually (bandwidth, slicer) and must give it all back on Flush.

#include <algorithm>
#include <deque>

#include "faultline/proxy/stage.h"

namespace faultline::proxy::toxics {

class ChunkQueue {
 public:
  void Push(Chunk chunk) {
    bytes_ += chunk.data.size();
    chunks_.push_back(std::move(chunk));
  }
  bool empty() const { return chunks_.empty(); }
  std::size_t bytes() const { return bytes_; }
  std::size_t front_remaining() const { return chunks_.front().data.size() - offset_; }

  // Removes up to `max` bytes from the front chunk (at least one byte if max is 0).
  Chunk TakeFront(std::size_t max) {
    Chunk& front = chunks_.front();
    const std::size_t size = front.data.size();
    const std::size_t n = std::clamp<std::size_t>(max, 1, size - offset_);
    bytes_ -= n;
    if (offset_ == 0 && n == size) {
      Chunk whole = std::move(front);
      chunks_.pop_front();
      return whole;
    }
    const auto begin = front.data.begin() + static_cast<std::ptrdiff_t>(offset_);
    Chunk piece{std::vector<char>(begin, begin + static_cast<std::ptrdiff_t>(n)), front.timestamp};
    offset_ += n;
    if (offset_ == size) {
      chunks_.pop_front();
      offset_ = 0;
    }
    return piece;
  }

  // Removes everything, oldest first.
  template <typename Fn>
  void Drain(Fn&& emit) {
    while (!empty()) emit(TakeFront(front_remaining()));
  }

 private:
  std::deque<Chunk> chunks_;
  std::size_t offset_ = 0;
  std::size_t bytes_ = 0;
};

}  // namespace faultline::proxy::toxics
