#pragma once
// Private: the base of every frame-aware toxic. It cuts the direction's bytes into frames
// with a FrameSplitter and asks the toxic about each complete frame. Frames the toxic lets
// pass go on untouched: a read made only of passing frames is forwarded as the same Chunk,
// without a copy. Bytes of an unfinished frame wait until it completes; if the stream ends
// first they go on unchanged, since they are not a frame. Malformed framing from the wire
// closes the connection (RST) and says why in the event log; the proxy carries on.

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "faultline/core/probability.h"
#include "faultline/proxy/framing.h"
#include "faultline/proxy/pattern.h"
#include "toxics/toxics.h"

namespace faultline::proxy::toxics {

class FramedStage : public Stage {
 public:
  FramedStage(StageContext& context, const Framing& framing);

  void OnChunk(Chunk chunk) final;
  bool PassUnchanged(std::span<const char> data) final;
  void OnEnd() final;
  void Flush() final;
  std::size_t buffered_bytes() const final { return partial_.size() + held_bytes(); }

 protected:
  // One complete frame (index counts from 1): true to take it (TakeFrame follows with its
  // bytes), false to let it pass untouched.
  virtual bool Wants(std::uint64_t index, std::string_view bytes) = 0;
  virtual void TakeFrame(std::uint64_t index, Chunk frame) = 0;
  // The stream ended inside a frame: these bytes go on, after whatever the toxic holds.
  virtual void TakeTail(Chunk tail) { context_.Emit(std::move(tail)); }
  // The stream ended: forward the end, after whatever the toxic holds.
  virtual void TakeEnd() { context_.EmitEnd(); }
  // The toxic leaves the chain: emit everything it holds, oldest first, then the end if it
  // held that too.
  virtual void FlushHeld() = 0;
  virtual std::size_t held_bytes() const = 0;
  // The index of the next frame the toxic may act on, if it knows it without seeing the
  // frames before it (a frame number): those pass without being looked at, so a toxic
  // waiting for the millionth line costs little more than none. 0: every frame matters.
  virtual std::uint64_t NextWanted() const { return 0; }

  // The toxic has nothing left to do on this connection: from now on bytes pass unscanned.
  // Call only while holding nothing.
  void PassEverything() { transparent_ = true; }
  StageContext& context() { return context_; }
  const Framing& framing() const { return splitter_.framing(); }

 private:
  void EmitRange(const Chunk& chunk, std::size_t from, std::size_t to);
  // Passes a read none of whose frames the toxic wants; false if it cannot tell cheaply.
  bool SkipThrough(Chunk& chunk);
  void Fail(const std::string& reason);

  StageContext& context_;
  FrameSplitter splitter_;
  std::vector<std::size_t> ends_;  // scratch for Scan
  std::vector<char> partial_;      // bytes of the unfinished frame
  std::uint64_t index_ = 0;        // frames seen
  // The unfinished frame's bytes so far have gone on already (it was not wanted), so it can
  // only pass; partial_ is then empty.
  bool partial_passed_ = false;
  bool transparent_ = false;
  bool failed_ = false;
};

// A toxic's `match`: the pattern its spec compiled, searched in each frame's payload (the
// frame without its delimiter), so `^` and `$` anchor at the payload's start and end.
class FrameMatch {
 public:
  FrameMatch(const ToxicSpec& spec, const Framing& framing);
  bool set() const { return pattern_.has_value(); }
  // Whether the pattern is set and matches in this complete frame.
  bool Finds(std::string_view frame) const {
    return pattern_ && pattern_->Finds(FramePayload(framing_, frame));
  }

 private:
  std::optional<Pattern> pattern_;
  Framing framing_;
};

// Which frames a filter toxic acts on: the k-th (if set), matching the pattern (if set), and
// then with the probability.
class FrameSelector {
 public:
  FrameSelector(const ToxicSpec& spec, const Framing& framing);
  bool Selects(std::uint64_t index, std::string_view bytes, core::Rng& rng) const;
  // Nothing after `index` can be selected (the k-th frame has gone by).
  bool ExhaustedAfter(std::uint64_t index) const { return frame_ != 0 && index >= frame_; }
  // The k-th frame when only its number matters; 0 when content or chance decide.
  std::uint64_t OnlyFrame() const { return match_.set() ? 0 : frame_; }

 private:
  std::uint64_t frame_;
  FrameMatch match_;
  core::Probability probability_;
};

}  // namespace faultline::proxy::toxics
