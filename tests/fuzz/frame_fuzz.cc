// libFuzzer target over the frame parsers, as bytes from the wire reach them. The first
// bytes of the input choose a framing; the rest is the stream, cut into reads at places the
// input also chooses. Checked for every input:
//   - the splitter's frames tile the stream: each frame obeys its framing and max_frame;
//   - a frame-aware toxic that never acts forwards exactly the bytes it was given, in order,
//     or (malformed framing) a prefix of them and a reset, never anything else;
//   - dropping the k-th frame (the path that counts frames without looking at them) forwards
//     exactly the stream without that frame.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "faultline/proxy/framing.h"
#include "faultline/proxy/pipeline.h"

using namespace faultline;
using namespace faultline::proxy;

namespace {

void Check(bool condition) {
  if (!condition) std::abort();
}

class Collect final : public PipelineSink {
 public:
  void Deliver(Chunk chunk) override { data.append(chunk.data.begin(), chunk.data.end()); }
  void DeliverEnd() override { ended = true; }
  void Close(CloseMode) override { closed = true; }
  std::string data;
  bool ended = false;
  bool closed = false;
};

const char* FramingName(Framing::Kind kind) {
  switch (kind) {
    case Framing::Kind::kLine:
      return "line";
    case Framing::Kind::kLengthPrefixed:
      return "length-prefixed";
    case Framing::Kind::kFixed:
      return "fixed";
    default:
      return "raw";
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 4) return 0;
  Framing framing;
  framing.kind = static_cast<Framing::Kind>(data[0] % 4);  // raw, line, length-prefixed, fixed
  framing.length_bytes = data[1] & 1 ? 4 : 2;
  framing.length_includes_header = (data[1] & 2) != 0;
  framing.frame_size = 1 + data[2] % 16;
  framing.max_frame = framing.frame_size + data[3] % 64;
  const std::string stream(reinterpret_cast<const char*>(data) + 4, size - 4);

  // Reads of 1..8 bytes, their sizes taken from the stream itself.
  std::vector<std::string> reads;
  for (std::size_t at = 0; at < stream.size();) {
    const std::size_t n = 1 + static_cast<unsigned char>(stream[at]) % 8;
    reads.push_back(stream.substr(at, n));
    at += n;
  }

  FrameSplitter splitter(framing);
  std::string current;
  std::vector<std::string> frames;
  bool failed = false;
  for (const std::string& read : reads) {
    std::vector<std::size_t> ends;
    const auto ok = splitter.Scan(read, ends);
    std::size_t start = 0;
    for (std::size_t end : ends) {
      Check(end > start || (end == start && !current.empty()) ||
            framing.kind == Framing::Kind::kLengthPrefixed);
      Check(end <= read.size());
      current += read.substr(start, end - start);
      Check(current.size() <= framing.max_frame || framing.kind == Framing::Kind::kRaw);
      if (framing.kind == Framing::Kind::kLine) Check(!current.empty() && current.back() == '\n');
      if (framing.kind == Framing::Kind::kFixed) Check(current.size() == framing.frame_size);
      if (framing.kind == Framing::Kind::kLengthPrefixed) {
        Check(current.size() >= framing.length_bytes);
        std::size_t length = 0;
        for (unsigned i = 0; i < framing.length_bytes; ++i) {
          length = (length << 8) | static_cast<unsigned char>(current[i]);
        }
        Check(length + (framing.length_includes_header ? 0 : framing.length_bytes) ==
              current.size());
      }
      frames.push_back(std::move(current));
      current.clear();
      start = end;
    }
    current += read.substr(start);
    if (!ok) {
      failed = true;
      break;
    }
  }

  // The same stream through pipelines: a toxic that never acts, and one that drops frame k.
  auto run = [&](std::int64_t frame, double probability) {
    ToxicSpec spec;
    spec.type = "drop";
    spec.attributes = {{"framing", std::string(FramingName(framing.kind))},
                       {"length_bytes", static_cast<std::int64_t>(framing.length_bytes)},
                       {"length_includes_header", framing.length_includes_header ? 1 : 0},
                       {"frame_size", static_cast<std::int64_t>(framing.frame_size)},
                       {"max_frame", static_cast<std::int64_t>(framing.max_frame)},
                       {"frame", frame},
                       {"probability", probability}};
    Check(ValidateToxic(spec).ok());
    core::ManualClock clock;
    Collect sink;
    Pipeline pipeline(clock, sink, 1);
    pipeline.SetToxics({&spec, 1});
    for (const std::string& read : reads) {
      pipeline.Push(Chunk{std::vector<char>(read.begin(), read.end()), clock.Now()});
    }
    pipeline.End();
    return sink;
  };
  const Collect silent = run(0, 0.0);
  if (failed) {
    Check(silent.closed);
    Check(stream.compare(0, silent.data.size(), silent.data) == 0);
    return 0;
  }
  Check(!silent.closed);
  Check(silent.ended);
  Check(silent.data == stream);

  const std::size_t k = 1 + static_cast<unsigned char>(data[2]) % 8;
  std::string expected;
  for (std::size_t i = 0; i < frames.size(); ++i) {
    if (i + 1 != k) expected += frames[i];
  }
  expected += current;  // an unfinished frame at the end goes on unchanged
  const Collect dropped = run(static_cast<std::int64_t>(k), 1.0);
  Check(!dropped.closed);
  Check(dropped.data == expected);
  return 0;
}
