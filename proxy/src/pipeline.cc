#include "faultline/proxy/pipeline.h"

#include <algorithm>

#include "faultline/proxy/events.h"

namespace faultline::proxy {

// A toxic's place in the chain. Present for every listed toxic; holds a Stage only while the
// toxic is active on this connection (its toxicity draw came up).
class Pipeline::Slot final : public StageContext {
 public:
  Slot(Pipeline& pipeline, const ToxicSpec& spec)
      : pipeline_(pipeline),
        spec_(spec),
        rng_(core::DeriveSeed(pipeline.seed_, {StreamName(spec.stream), spec.name})) {}

  void Emit(Chunk chunk) override { pipeline_.EmitFrom(this, std::move(chunk)); }
  void EmitEnd() override { pipeline_.EmitEndFrom(this); }
  void CloseConnection(CloseMode mode) override { pipeline_.sink_.Close(mode); }
  // What later stages hold stays with them: only what reached the sink is written.
  void Sync() override { pipeline_.sink_.Sync(); }
  std::size_t room() override { return pipeline_.sink_.room(); }
  core::Clock& clock() override { return pipeline_.clock_; }
  core::Rng& rng() override { return rng_; }
  const PipelineEnv& env() override { return pipeline_.env_; }
  const ToxicSpec& spec() override { return spec_; }
  bool mid_stream() override { return pipeline_.carried_data_; }
  void Record(std::string action, std::optional<std::uint64_t> frame, std::string detail) override {
    if (pipeline_.env_.events == nullptr) return;
    Event event;
    event.proxy = pipeline_.env_.proxy;
    event.connection = pipeline_.env_.connection;
    event.direction = std::string(StreamName(spec_.stream));
    event.frame = frame;
    event.toxic = spec_.name;
    event.action = std::move(action);
    event.detail = std::move(detail);
    pipeline_.env_.events->Append(std::move(event));
  }

  const ToxicSpec& current() const { return spec_; }
  void set_spec(const ToxicSpec& spec) { spec_ = spec; }
  Stage* stage() const { return stage_.get(); }
  std::unique_ptr<Stage>& stage_ptr() { return stage_; }

 private:
  Pipeline& pipeline_;
  ToxicSpec spec_;
  core::Rng rng_;
  std::unique_ptr<Stage> stage_;
};

Pipeline::Pipeline(core::Clock& clock, PipelineSink& sink, std::uint64_t seed, PipelineEnv env)
    : clock_(clock), sink_(sink), seed_(seed), env_(std::move(env)) {}

Pipeline::~Pipeline() = default;

std::size_t Pipeline::IndexOf(const Slot* slot) const {
  for (std::size_t i = 0; i < slots_.size(); ++i) {
    if (slots_[i].get() == slot) return i;
  }
  return slots_.size();
}

void Pipeline::EmitFrom(const Slot* from, Chunk chunk) {
  std::size_t i = from == nullptr ? 0 : IndexOf(from) + 1;
  for (; i < slots_.size(); ++i) {
    if (Stage* stage = slots_[i]->stage()) {
      stage->OnChunk(std::move(chunk));
      return;
    }
  }
  sink_.Deliver(std::move(chunk));
}

void Pipeline::EmitEndFrom(const Slot* from) {
  std::size_t i = from == nullptr ? 0 : IndexOf(from) + 1;
  for (; i < slots_.size(); ++i) {
    if (Stage* stage = slots_[i]->stage()) {
      stage->OnEnd();
      return;
    }
  }
  sink_.DeliverEnd();
}

void Pipeline::Push(Chunk chunk) {
  if (ended_) return;
  carried_data_ = carried_data_ || !chunk.data.empty();
  EmitFrom(nullptr, std::move(chunk));
}

bool Pipeline::Offer(std::span<const char> data, core::TimePoint now) {
  if (ended_) return false;
  carried_data_ = carried_data_ || !data.empty();
  for (const auto& slot : slots_) {
    Stage* stage = slot->stage();
    if (stage == nullptr || stage->PassUnchanged(data)) continue;
    // The stages before this one passed the bytes on unchanged: this one receives them.
    stage->OnChunk(Chunk{std::vector<char>(data.begin(), data.end()), now});
    return false;
  }
  return true;
}

void Pipeline::End() {
  if (ended_) return;
  ended_ = true;
  EmitEndFrom(nullptr);
}

void Pipeline::Activate(Slot& slot) {
  slot.stage_ptr() = MakeStage(slot.current(), slot);
  if (slot.stage() != nullptr) {
    ++active_stages_;
    sink_.ToxicActivated(slot.current());
  }
}

void Pipeline::Deactivate(Slot& slot) {
  Stage* stage = slot.stage();
  if (stage == nullptr) return;
  // The stage stays in place while it flushes, so what it emits goes on to its successors.
  stage->Flush();
  slot.stage_ptr().reset();
  --active_stages_;
}

void Pipeline::SetToxics(std::span<const ToxicSpec> all, std::string_view client_ip) {
  std::vector<ToxicSpec> toxics;
  for (const ToxicSpec& spec : all) {
    if (IsConnectionToxic(spec.type)) continue;
    if (!spec.target.Matches(env_.connection, client_ip)) continue;
    toxics.push_back(spec);
  }
  // Remove what is gone, flushing its data forward.
  for (std::size_t i = 0; i < slots_.size();) {
    const std::string& name = slots_[i]->current().name;
    const bool kept = std::any_of(toxics.begin(), toxics.end(), [&](const ToxicSpec& t) {
      return t.name == name && t.type == slots_[i]->current().type;
    });
    if (kept) {
      ++i;
      continue;
    }
    Deactivate(*slots_[i]);
    slots_.erase(slots_.begin() + static_cast<std::ptrdiff_t>(i));
  }
  // Update what changed, append what is new.
  for (const ToxicSpec& spec : toxics) {
    auto it = std::find_if(slots_.begin(), slots_.end(),
                           [&](const auto& slot) { return slot->current().name == spec.name; });
    if (it == slots_.end()) {
      slots_.push_back(std::make_unique<Slot>(*this, spec));
      Slot& slot = *slots_.back();
      if (spec.probability().Sample(slot.rng())) Activate(slot);
      continue;
    }
    Slot& slot = **it;
    if (slot.current() == spec) continue;
    slot.set_spec(spec);
    const bool active = spec.probability().Sample(slot.rng());
    if (active && slot.stage() != nullptr) {
      slot.stage()->Update(spec);
    } else if (active) {
      Activate(slot);
    } else {
      Deactivate(slot);
    }
  }
}

std::size_t Pipeline::buffered_bytes() const {
  std::size_t total = 0;
  for (const auto& slot : slots_) {
    if (const Stage* stage = slot->stage()) total += stage->buffered_bytes();
  }
  return total;
}

}  // namespace faultline::proxy
