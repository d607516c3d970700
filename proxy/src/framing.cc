#include "faultline/proxy/framing.h"

#include <algorithm>
#include <cstring>
#include <string>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace faultline::proxy {
namespace {

std::uint64_t CountNewlinesScalar(const char* data, std::size_t size) {
  std::uint64_t count = 0;
  for (std::size_t at = 0; at < size; ++at) count += data[at] == '\n';
  return count;
}

#if defined(__x86_64__)
// Newlines 16 bytes at a time (SSE2, in every x86-64): byte-wide counters, summed every 255
// blocks so none overflows.
std::uint64_t CountNewlinesSse2(const char* data, std::size_t size) {
  std::uint64_t count = 0;
  std::size_t at = 0;
  const __m128i newline = _mm_set1_epi8('\n');
  const __m128i zero = _mm_setzero_si128();
  while (size - at >= 16) {
    __m128i counters = zero;
    const std::size_t blocks = std::min<std::size_t>((size - at) / 16, 255);
    for (std::size_t b = 0; b < blocks; ++b, at += 16) {
      const __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(data + at));
      counters = _mm_sub_epi8(counters, _mm_cmpeq_epi8(bytes, newline));
    }
    const __m128i sums = _mm_sad_epu8(counters, zero);
    count += static_cast<std::uint64_t>(_mm_cvtsi128_si32(sums)) +
             static_cast<std::uint64_t>(_mm_extract_epi16(sums, 4));
  }
  return count + CountNewlinesScalar(data + at, size - at);
}

// The same 32 bytes at a time, on CPUs that have AVX2.
__attribute__((target("avx2"))) std::uint64_t CountNewlinesAvx2(const char* data,
                                                                std::size_t size) {
  std::uint64_t count = 0;
  std::size_t at = 0;
  const __m256i newline = _mm256_set1_epi8('\n');
  const __m256i zero = _mm256_setzero_si256();
  while (size - at >= 32) {
    __m256i counters = zero;
    const std::size_t blocks = std::min<std::size_t>((size - at) / 32, 255);
    for (std::size_t b = 0; b < blocks; ++b, at += 32) {
      const __m256i bytes = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(data + at));
      counters = _mm256_sub_epi8(counters, _mm256_cmpeq_epi8(bytes, newline));
    }
    const __m256i sums = _mm256_sad_epu8(counters, zero);
    count += static_cast<std::uint64_t>(_mm256_extract_epi64(sums, 0)) +
             static_cast<std::uint64_t>(_mm256_extract_epi64(sums, 1)) +
             static_cast<std::uint64_t>(_mm256_extract_epi64(sums, 2)) +
             static_cast<std::uint64_t>(_mm256_extract_epi64(sums, 3));
  }
  return count + CountNewlinesSse2(data + at, size - at);
}
#endif

// Newlines in a read: a line-framed toxic that is waiting for a later frame only needs to
// count lines, not to find each one.
std::uint64_t CountNewlines(const char* data, std::size_t size) {
#if defined(__x86_64__)
  static const bool avx2 = __builtin_cpu_supports("avx2");
  return avx2 ? CountNewlinesAvx2(data, size) : CountNewlinesSse2(data, size);
#else
  return CountNewlinesScalar(data, size);
#endif
}

}  // namespace

std::string_view FramePayload(const Framing& framing, std::string_view frame) {
  switch (framing.kind) {
    case Framing::Kind::kLine:
      if (frame.ends_with('\n')) {
        frame.remove_suffix(1);
        if (frame.ends_with('\r')) frame.remove_suffix(1);
      }
      return frame;
    case Framing::Kind::kLengthPrefixed:
      frame.remove_prefix(std::min<std::size_t>(framing.length_bytes, frame.size()));
      return frame;
    case Framing::Kind::kRaw:
    case Framing::Kind::kFixed:
    case Framing::Kind::kPrefix:
      break;
  }
  return frame;
}

std::optional<FrameSplitter::Skipped> FrameSplitter::Skip(std::span<const char> data,
                                                          std::uint64_t limit) {
  if (failed_) return std::nullopt;
  const std::size_t size = data.size();
  switch (framing_.kind) {
    case Framing::Kind::kRaw:
      if (size == 0) return Skipped{};
      if (limit == 0) return std::nullopt;
      return Skipped{1, size};
    case Framing::Kind::kLine: {
      // Only when no line here can be over max_frame: Scan checks each line's length.
      if (partial_ + size > framing_.max_frame) return std::nullopt;
      const std::uint64_t count = CountNewlines(data.data(), size);
      if (count > limit) return std::nullopt;
      if (count == 0) {
        partial_ += size;
        return Skipped{};
      }
      const void* last = ::memrchr(data.data(), '\n', size);
      const std::size_t end = static_cast<const char*>(last) - data.data() + 1;
      partial_ = size - end;
      return Skipped{count, end};
    }
    case Framing::Kind::kFixed: {
      if (framing_.frame_size == 0) return std::nullopt;
      const std::uint64_t count = (partial_ + size) / framing_.frame_size;
      if (count > limit) return std::nullopt;
      const std::size_t end = count == 0 ? 0 : count * framing_.frame_size - partial_;
      partial_ = (partial_ + size) % framing_.frame_size;
      return Skipped{count, end};
    }
    case Framing::Kind::kLengthPrefixed:
    case Framing::Kind::kPrefix:
      break;
  }
  return std::nullopt;
}

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
