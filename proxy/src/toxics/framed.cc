#include "toxics/framed.h"

namespace faultline::proxy::toxics {

FramedStage::FramedStage(StageContext& context, const Framing& framing)
    : context_(context),
      splitter_(framing),
      // Joining a live line stream, the first bytes most likely end a line that began before:
      // they pass as that line's tail (counted as frame 1), and frames align from its end.
      // Fixed and length-prefixed frames cannot be found mid-stream: they count from here.
      partial_passed_(framing.kind == Framing::Kind::kLine && context.mid_stream()) {}

void FramedStage::EmitRange(const Chunk& chunk, std::size_t from, std::size_t to) {
  if (from >= to) return;
  Chunk piece;
  piece.timestamp = chunk.timestamp;
  piece.data.assign(chunk.data.begin() + static_cast<std::ptrdiff_t>(from),
                    chunk.data.begin() + static_cast<std::ptrdiff_t>(to));
  context_.Emit(std::move(piece));
}

void FramedStage::Fail(const std::string& reason) {
  failed_ = true;
  partial_.clear();
  context_.Record("close", std::nullopt, "malformed framing: " + reason);
  context_.CloseConnection(CloseMode::kReset);
}

void FramedStage::OnChunk(Chunk chunk) {
  if (failed_) return;
  if (transparent_) {
    if (!partial_.empty()) {
      Chunk held{std::move(partial_), chunk.timestamp};
      partial_.clear();
      context_.Emit(std::move(held));
    }
    context_.Emit(std::move(chunk));
    return;
  }
  if (SkipThrough(chunk)) return;
  ends_.clear();
  const core::Status scanned = splitter_.Scan(chunk.data, ends_);
  const std::size_t size = chunk.data.size();
  if (partial_passed_ && ends_.empty()) {
    // More of a frame whose beginning already went on: it follows.
    context_.Emit(std::move(chunk));
    if (!scanned) Fail(scanned.message());
    return;
  }
  std::size_t start = 0;      // where the next frame begins in chunk.data
  std::size_t pass_from = 0;  // where the run of passing frames not yet emitted begins
  for (const std::size_t end : ends_) {
    ++index_;
    if (partial_passed_) {
      // This frame's beginning already went on, so it passes: its bytes open the run.
      partial_passed_ = false;
    } else if (!partial_.empty()) {
      // The frame began in an earlier read: it is assembled, and stands alone.
      partial_.insert(partial_.end(), chunk.data.begin(),
                      chunk.data.begin() + static_cast<std::ptrdiff_t>(end));
      Chunk frame{std::move(partial_), chunk.timestamp};
      partial_.clear();
      const std::string_view bytes(frame.data.data(), frame.data.size());
      if (Wants(index_, bytes)) {
        TakeFrame(index_, std::move(frame));
      } else {
        context_.Emit(std::move(frame));
      }
      pass_from = end;
    } else {
      const std::string_view bytes(chunk.data.data() + start, end - start);
      if (Wants(index_, bytes)) {
        EmitRange(chunk, pass_from, start);
        Chunk frame;
        frame.timestamp = chunk.timestamp;
        frame.data.assign(bytes.begin(), bytes.end());
        TakeFrame(index_, std::move(frame));
        pass_from = end;
      }
    }
    start = end;
    if (transparent_) break;
  }
  if (transparent_) {
    // Everything after the last frame the toxic cared about goes on as it is.
    if (pass_from == 0 && partial_.empty()) {
      context_.Emit(std::move(chunk));
    } else {
      EmitRange(chunk, pass_from, size);
    }
    return;
  }
  partial_.insert(partial_.end(), chunk.data.begin() + static_cast<std::ptrdiff_t>(start),
                  chunk.data.end());
  if (start > pass_from) {
    // The passing frames at the end of the read go on in the read's own buffer: no copy when
    // they start it, a move within it otherwise, and never an allocation.
    chunk.data.resize(start);
    chunk.data.erase(chunk.data.begin(),
                     chunk.data.begin() + static_cast<std::ptrdiff_t>(pass_from));
    context_.Emit(std::move(chunk));
  }
  if (!scanned) Fail(scanned.message());
}

bool FramedStage::SkipThrough(Chunk& chunk) {
  const std::uint64_t wanted = NextWanted();
  if (wanted <= index_ + 1) return false;
  const auto skipped = splitter_.Skip(chunk.data, wanted - index_ - 1);
  if (!skipped) return false;
  index_ += skipped->frames;
  const std::size_t size = chunk.data.size();
  if (skipped->frames > 0 || partial_passed_) {
    // The start of the first frame, held from earlier reads, goes on ahead of the rest.
    if (!partial_.empty()) {
      Chunk held{std::move(partial_), chunk.timestamp};
      partial_.clear();
      context_.Emit(std::move(held));
    }
  }
  if (wanted > index_ + 1) {
    // The unfinished frame at the end is not wanted either: the whole read goes on as it
    // came, and that frame's remaining bytes will pass when they come.
    if (skipped->frames == 0 && !partial_passed_ && !partial_.empty()) {
      Chunk held{std::move(partial_), chunk.timestamp};
      partial_.clear();
      context_.Emit(std::move(held));
    }
    partial_passed_ = skipped->frames == 0 ? partial_passed_ || size > 0 : skipped->end < size;
    context_.Emit(std::move(chunk));
    return true;
  }
  // The unfinished frame at the end is the one the toxic wants: it waits for its bytes.
  partial_passed_ = false;
  partial_.assign(chunk.data.begin() + static_cast<std::ptrdiff_t>(skipped->end), chunk.data.end());
  chunk.data.resize(skipped->end);
  context_.Emit(std::move(chunk));
  return true;
}

bool FramedStage::PassUnchanged(std::span<const char> data) {
  if (failed_ || !partial_.empty() || held_bytes() > 0) return false;
  if (transparent_) return true;
  const std::uint64_t wanted = NextWanted();
  if (wanted < index_ + 2) return false;
  // Fewer frames complete here than it takes to reach the wanted one, so the unfinished
  // frame at the end is not the wanted one either. Skip changes nothing when it declines.
  const auto skipped = splitter_.Skip(data, wanted - index_ - 2);
  if (!skipped) return false;
  index_ += skipped->frames;
  partial_passed_ =
      skipped->frames == 0 ? partial_passed_ || !data.empty() : skipped->end < data.size();
  return true;
}

void FramedStage::OnEnd() {
  if (failed_) return;
  if (!partial_.empty()) {
    Chunk tail{std::move(partial_), context_.clock().Now()};
    partial_.clear();
    TakeTail(std::move(tail));
  }
  TakeEnd();
}

void FramedStage::Flush() {
  FlushHeld();
  if (!partial_.empty()) {
    Chunk tail{std::move(partial_), context_.clock().Now()};
    partial_.clear();
    context_.Emit(std::move(tail));
  }
}

FrameMatch::FrameMatch(const ToxicSpec& spec, const Framing& framing) : framing_(framing) {
  const std::string& text = spec.Text("match");
  if (text.empty()) return;
  const auto& compiled = spec.compiled_match.pattern;
  if (compiled && compiled->text() == text) {
    pattern_ = compiled;  // shared with every other connection of this spec
    return;
  }
  // A spec that did not pass through ValidateToxic: compiled here, for this stage only.
  if (auto pattern = Pattern::Compile(text)) pattern_ = std::move(*pattern);
}

FrameSelector::FrameSelector(const ToxicSpec& spec, const Framing& framing)
    : frame_(static_cast<std::uint64_t>(spec.Int("frame"))),
      match_(spec, framing),
      probability_(core::Probability::FromFraction(spec.Fraction("probability"))
                       .value_or(core::Probability::Always())) {}

bool FrameSelector::Selects(std::uint64_t index, std::string_view bytes, core::Rng& rng) const {
  if (frame_ != 0 && index != frame_) return false;
  if (match_.set() && !match_.Finds(bytes)) return false;
  return probability_.Sample(rng);
}

}  // namespace faultline::proxy::toxics
