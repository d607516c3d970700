// limit_data: passes at most `bytes` bytes on this connection, then closes it (FIN) once
// those bytes are written. Counting survives updates: raising the limit lets more through.

#include "toxics/toxics.h"

namespace faultline::proxy::toxics {
namespace {

class LimitData final : public Stage {
 public:
  LimitData(const ToxicSpec& spec, StageContext& context)
      : context_(context), limit_(static_cast<std::uint64_t>(Attr(spec, "bytes"))) {}

  void OnChunk(Chunk chunk) override {
    if (closed_) return;
    const std::uint64_t remaining = limit_ > passed_ ? limit_ - passed_ : 0;
    if (chunk.data.size() > remaining) chunk.data.resize(remaining);
    passed_ += chunk.data.size();
    if (!chunk.data.empty()) context_.Emit(std::move(chunk));
    if (passed_ >= limit_) {
      closed_ = true;
      context_.Record("close", std::nullopt, std::to_string(passed_) + " bytes passed");
      context_.CloseConnection(CloseMode::kGraceful);
    }
  }
  void OnEnd() override { context_.EmitEnd(); }
  void Update(const ToxicSpec& spec) override {
    limit_ = static_cast<std::uint64_t>(Attr(spec, "bytes"));
  }
  void Flush() override {}
  std::size_t buffered_bytes() const override { return 0; }

 private:
  StageContext& context_;
  std::uint64_t limit_;
  std::uint64_t passed_ = 0;
  bool closed_ = false;
};

}  // namespace

namespace limit_data {

const ToxicCheck kCheck = nullptr;

std::unique_ptr<Stage> Make(const ToxicSpec& spec, StageContext& context) {
  return std::make_unique<LimitData>(spec, context);
}

}  // namespace limit_data

}  // namespace faultline::proxy::toxics
