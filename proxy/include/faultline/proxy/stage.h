#pragma once
// A Stage is one toxic acting on one direction of one connection (Toxiproxy's "stub").
// Stages form a chain; each receives chunks from the one before and emits them, now or
// later, to the one after. Stages run on their connection's event-loop thread only, never
// block, never throw, and keep time only through the injected Clock.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "faultline/core/clock.h"
#include "faultline/core/random.h"
#include "faultline/proxy/toxic.h"

namespace faultline::proxy {

// One read from a socket, as it travels through the chain.
struct Chunk {
  std::vector<char> data;
  // When the proxy read it. A latency stage moves it forward by the delay it applied, so
  // chained latencies add up and a chunk is never delayed twice for the same wait.
  core::TimePoint timestamp;
};

enum class CloseMode {
  kGraceful,  // write out what was already emitted, then close both sides with FIN
  kReset,     // close both sides at once with RST (SO_LINGER 0)
};

class EventLog;
class HoldBoard;

// Where a pipeline works: for the event log, holds and targeting. Every pointer may be null
// (unit tests), and then that facility is simply off.
struct PipelineEnv {
  std::string proxy;
  std::uint64_t connection = 0;  // 1-based, in accept order
  EventLog* events = nullptr;
  HoldBoard* holds = nullptr;
  // Runs a task on the pipeline's own thread soon; callable from any thread. Null: tasks run
  // inline (single-threaded tests).
  std::function<void(std::function<void()>)> post;
  // Each chunk is a datagram (UDP): stages may delay, drop, copy or reorder chunks but must
  // not cut one into pieces.
  bool datagrams = false;
};

// What a stage may do to the rest of the connection. Provided by the Pipeline.
class StageContext {
 public:
  virtual ~StageContext() = default;
  virtual void Emit(Chunk chunk) = 0;  // to the next stage, or to the destination socket
  virtual void EmitEnd() = 0;          // the source finished; forwarded as a half-close
  virtual void CloseConnection(CloseMode mode) = 0;
  // What this stage emitted so far reaches the destination socket before the stage goes on
  // (for a point, whose being reached must follow its frame onto the wire).
  virtual void Sync() = 0;
  // Bytes this direction may still take before its budget or its proxy's is spent: what a
  // stage that makes data (duplicate) may add.
  virtual std::size_t room() = 0;
  virtual core::Clock& clock() = 0;
  virtual core::Rng& rng() = 0;  // this stage's own seeded stream
  virtual const PipelineEnv& env() = 0;
  virtual const ToxicSpec& spec() = 0;
  // Whether this direction had carried data before the stage joined (a toxic added to a live
  // connection), so that a line-framed stage starts inside a line.
  virtual bool mid_stream() = 0;
  // Records a fault decision in the event log, with proxy, connection, direction and toxic.
  virtual void Record(std::string action, std::optional<std::uint64_t> frame,
                      std::string detail) = 0;
};

class Stage {
 public:
  virtual ~Stage() = default;
  virtual void OnChunk(Chunk chunk) = 0;
  // Bytes the proxy could forward itself without copying them (they are still in the kernel).
  // A stage that would emit exactly these bytes at once, unchanged, counts them as passed
  // (frames seen, bytes done) and returns true. Otherwise it returns false having changed
  // nothing, and OnChunk receives them next.
  virtual bool PassUnchanged(std::span<const char> data) { return false; }
  // The source reached end of stream. Forward it (EmitEnd) after any buffered data.
  virtual void OnEnd() = 0;
  // The toxic's attributes changed. Data the stage holds stays and is not lost.
  virtual void Update(const ToxicSpec& spec) = 0;
  // The stage is leaving the chain: emit everything it holds, oldest first, and the end of
  // stream if it was holding that too. No timer may fire afterwards.
  virtual void Flush() = 0;
  virtual std::size_t buffered_bytes() const = 0;
};

// Builds the stage for a validated spec; the context must outlive the stage.
std::unique_ptr<Stage> MakeStage(const ToxicSpec& spec, StageContext& context);

}  // namespace faultline::proxy
