#pragma once
// Framing: how a frame-aware toxic cuts one direction's byte stream into messages. The
// splitter only finds frame boundaries; it never copies or keeps the bytes, so a toxic that
// lets a frame pass can forward the bytes it was given untouched. It has no I/O and no
// clock, so it is fuzzed on its own.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "faultline/core/result.h"
#include "faultline/proxy/toxic.h"

namespace faultline::proxy {

struct Framing {
  enum class Kind {
    kRaw,             // each read from the socket is a frame
    kLine,            // up to and including '\n'
    kLengthPrefixed,  // a big-endian u16 or u32 length, then that many bytes
    kFixed,           // frame_size bytes each
    kPrefix,          // the first frame_size bytes, then each read (a hold "after N bytes")
  };
  Kind kind = Kind::kRaw;
  std::size_t frame_size = 0;
  unsigned length_bytes = 4;            // 2 or 4
  bool length_includes_header = false;  // the length counts the prefix itself
  std::size_t max_frame = 16 << 20;     // a longer frame is malformed input
};

// The framing a frame-aware toxic's attributes describe; an error names the attribute.
core::Result<Framing> FramingFromSpec(const ToxicSpec& spec);

// What a `match` pattern sees of a complete frame: its payload, without the delimiter the
// framing adds. A line without its "\n" (or "\r\n"), a length-prefixed frame without its
// length; raw, fixed and prefix frames are all payload.
std::string_view FramePayload(const Framing& framing, std::string_view frame);

class FrameSplitter {
 public:
  explicit FrameSplitter(const Framing& framing) : framing_(framing) {}

  // Scans the next bytes of the stream and appends to `ends` the offset (within `data`) just
  // past each frame that completes inside it. Bytes after the last end begin a frame that
  // continues in later data. On malformed input (a frame over max_frame, a length prefix
  // shorter than its own header) returns an error naming the problem; the splitter then
  // stays failed.
  core::Status Scan(std::span<const char> data, std::vector<std::size_t>& ends);

  // The fast path for toxics that do not care about the next frames: counts the frames that
  // complete inside `data` without reporting each boundary. Returns how many and the offset
  // just past the last one, or nothing when more than `limit` complete here or the framing
  // has no cheap count (the caller then uses Scan). Leaves the splitter as Scan would.
  struct Skipped {
    std::uint64_t frames = 0;
    std::size_t end = 0;
  };
  std::optional<Skipped> Skip(std::span<const char> data, std::uint64_t limit);

  // Bytes of the unfinished frame seen so far.
  std::size_t partial() const { return partial_; }
  const Framing& framing() const { return framing_; }

 private:
  core::Status Fail(std::string message);

  Framing framing_;
  std::size_t partial_ = 0;  // bytes of the current frame already scanned
  // Length-prefixed: the header bytes gathered so far, and the frame's total size once known.
  std::uint32_t header_value_ = 0;
  std::size_t frame_total_ = 0;
  bool prefix_done_ = false;  // kPrefix: the first frame has completed
  bool failed_ = false;
};

}  // namespace faultline::proxy
