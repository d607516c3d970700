#pragma once
// One direction of one connection: the chain of stages between the socket it reads and the
// socket it writes. The Pipeline applies toxic changes to live data without losing a byte:
// a removed stage hands what it holds to the next one; an updated stage keeps its data.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "faultline/core/clock.h"
#include "faultline/proxy/stage.h"
#include "faultline/proxy/toxic.h"

namespace faultline::proxy {

// Where the pipeline's output goes: the destination socket, in production.
class PipelineSink {
 public:
  virtual ~PipelineSink() = default;
  virtual void Deliver(Chunk chunk) = 0;
  virtual void DeliverEnd() = 0;
  virtual void Close(CloseMode mode) = 0;
  // Hands what was delivered so far to the destination now (a sink may gather deliveries
  // and write them together).
  virtual void Sync() {}
  // Bytes the destination may still be handed before this direction's or the proxy's
  // budget is spent (toxic.h).
  virtual std::size_t room() const { return kDirectionBudget; }
  // A toxic's chance came up for this connection: it now acts on the data.
  virtual void ToxicActivated(const ToxicSpec& spec) {}
};

class Pipeline {
 public:
  // `seed` is this direction's own stream; each toxic derives its stream from it and its
  // name, so the same seed and the same traffic give the same decisions.
  Pipeline(core::Clock& clock, PipelineSink& sink, std::uint64_t seed, PipelineEnv env = {});
  ~Pipeline();
  Pipeline(const Pipeline&) = delete;
  Pipeline& operator=(const Pipeline&) = delete;

  // Makes the chain match `toxics` (in order; connection toxics and toxics whose target
  // excludes this connection are skipped): keeps stages whose spec is unchanged,
  // updates changed ones in place, flushes and removes those no longer listed, and appends
  // new ones. Toxicity is drawn when a toxic joins and again when it is updated, never
  // because some other toxic changed.
  void SetToxics(std::span<const ToxicSpec> toxics, std::string_view client_ip = {});

  void Push(Chunk chunk);
  // Offers bytes the caller can forward by itself without copying them. True: no active stage
  // needs them; they count as passed, and the caller must send them on, unchanged and ahead
  // of anything else. False: a stage needs them and the pipeline has taken a copy (as Push
  // would), so the caller drops its own.
  bool Offer(std::span<const char> data, core::TimePoint now);
  void End();
  // The caller forwarded bytes itself while no stage was active (bypass).
  void Bypassed() { carried_data_ = true; }

  // True when no toxic acts on this direction, so bytes may go straight to the sink.
  bool bypass() const { return active_stages_ == 0; }
  std::size_t buffered_bytes() const;

 private:
  class Slot;
  void EmitFrom(const Slot* from, Chunk chunk);
  void EmitEndFrom(const Slot* from);
  std::size_t IndexOf(const Slot* slot) const;
  void Activate(Slot& slot);
  void Deactivate(Slot& slot);

  core::Clock& clock_;
  PipelineSink& sink_;
  std::uint64_t seed_;
  PipelineEnv env_;
  std::vector<std::unique_ptr<Slot>> slots_;
  std::size_t active_stages_ = 0;
  bool carried_data_ = false;  // some data has gone through this direction
  bool ended_ = false;
};

}  // namespace faultline::proxy
