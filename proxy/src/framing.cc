#include "faultline/proxy/framing.h"

#include <cstring>
#include <string>

namespace faultline::proxy {

core::Status FrameSplitter::Fail(std::string message) {
  failed_ = true;
  return core::MakeError(std::move(message));
}

core::Status FrameSplitter::Scan(std::span<const char> data, std::vector<std::size_t>& ends) {
  if (failed_) return core::MakeError("the stream's framing already failed");
  const std::size_t size = data.size();
  std::size_t at = 0;
  switch (framing_.kind) {
    case Framing::Kind::kPrefix:
      if (!prefix_done_) {
        const std::size_t want = framing_.frame_size - partial_;
        if (size - at < want) {
          partial_ += size - at;
          return core::Ok();
        }
        at += want;
        ends.push_back(at);
        partial_ = 0;
        prefix_done_ = true;
      }
      [[fallthrough]];
    case Framing::Kind::kRaw:
      if (at < size) ends.push_back(size);
      return core::Ok();

    case Framing::Kind::kLine:
      while (at < size) {
        const void* newline = std::memchr(data.data() + at, '\n', size - at);
        if (newline == nullptr) {
          partial_ += size - at;
          if (partial_ > framing_.max_frame) {
            return Fail("line longer than max_frame (" + std::to_string(framing_.max_frame) +
                        " bytes) without a newline");
          }
          return core::Ok();
        }
        const std::size_t end = static_cast<const char*>(newline) - data.data() + 1;
        if (partial_ + (end - at) > framing_.max_frame) {
          return Fail("line longer than max_frame (" + std::to_string(framing_.max_frame) +
                      " bytes)");
        }
        ends.push_back(end);
        partial_ = 0;
        at = end;
      }
      return core::Ok();

    case Framing::Kind::kFixed:
      if (framing_.frame_size == 0) return Fail("fixed framing needs a frame_size");
      while (size - at >= framing_.frame_size - partial_) {
        at += framing_.frame_size - partial_;
        ends.push_back(at);
        partial_ = 0;
      }
      partial_ += size - at;
      return core::Ok();

    case Framing::Kind::kLengthPrefixed: {
      const std::size_t header = framing_.length_bytes;
      while (at < size) {
        // Gather the header a byte at a time: it may be split across reads.
        while (partial_ < header && at < size) {
          header_value_ = (header_value_ << 8) | static_cast<unsigned char>(data[at]);
          ++partial_;
          ++at;
        }
        if (partial_ < header) return core::Ok();
        if (partial_ == header && frame_total_ == 0) {
          std::size_t total = header_value_;
          if (framing_.length_includes_header) {
            if (total < header) {
              return Fail("length prefix " + std::to_string(total) +
                          " is shorter than its own header (" + std::to_string(header) + " bytes)");
            }
          } else {
            total += header;
          }
          if (total > framing_.max_frame) {
            return Fail("length prefix announces a frame of " + std::to_string(total) +
                        " bytes, over max_frame (" + std::to_string(framing_.max_frame) + ")");
          }
          frame_total_ = total;
        }
        const std::size_t want = frame_total_ - partial_;
        if (size - at < want) {
          partial_ += size - at;
          return core::Ok();
        }
        at += want;
        ends.push_back(at);
        partial_ = 0;
        frame_total_ = 0;
        header_value_ = 0;
      }
      return core::Ok();
    }
  }
  return core::Ok();
}

}  // namespace faultline::proxy
