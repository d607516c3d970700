#pragma once
// The production Clock: steady time, timers on one io_context (one event-loop thread).

#include <boost/asio/io_context.hpp>

#include "faultline/core/clock.h"

namespace faultline::proxy {

class AsioClock final : public core::Clock {
 public:
  explicit AsioClock(boost::asio::io_context& context) : context_(context) {}
  core::TimePoint Now() const override { return std::chrono::steady_clock::now(); }
  std::unique_ptr<core::Timer> MakeTimer() override;

 private:
  boost::asio::io_context& context_;
};

}  // namespace faultline::proxy
