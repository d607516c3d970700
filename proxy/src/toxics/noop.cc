// noop: Toxiproxy's pass-through toxic; data and the end of stream pass untouched.

#include "toxics/toxics.h"

namespace faultline::proxy::toxics {
namespace {

class Noop final : public Stage {
 public:
  explicit Noop(StageContext& context) : context_(context) {}

  void OnChunk(Chunk chunk) override { context_.Emit(std::move(chunk)); }
  void OnEnd() override { context_.EmitEnd(); }
  void Update(const ToxicSpec&) override {}
  void Flush() override {}
  std::size_t buffered_bytes() const override { return 0; }

 private:
  StageContext& context_;
};

}  // namespace

namespace noop {

const ToxicCheck kCheck = nullptr;

std::unique_ptr<Stage> Make(const ToxicSpec&, StageContext& context) {
  return std::make_unique<Noop>(context);
}

}  // namespace noop

}  // namespace faultline::proxy::toxics
