#pragma once
// One proxied TCP connection: the client socket, the upstream socket, and a Flow (socket
// reader, Pipeline, socket writer) per direction. Everything runs on one worker thread.
//
// Data path: wait for readability, read into a per-thread scratch buffer, and either write
// straight through (no active toxic) or hand a Chunk to the pipeline. Unwritten bytes are
// queued; when a direction holds more than kHighWater bytes, its source is no longer read,
// so backpressure reaches the sender through TCP. An idle connection owns no buffer.

#include <cstdint>
#include <deque>
#include <memory>
#include <vector>

#include <boost/asio/ip/tcp.hpp>

#include "faultline/proxy/pipeline.h"
#include "runtime.h"

namespace faultline::proxy {

class ProxyInstance;

class Session final : public std::enable_shared_from_this<Session> {
 public:
  static constexpr std::size_t kHighWater = 4 << 20;

  Session(std::shared_ptr<ProxyInstance> proxy, Worker& worker, boost::asio::ip::tcp::socket client,
          std::uint64_t seed);
  ~Session();

  // All three run on the session's worker thread.
  void Start(std::shared_ptr<const ToxicSet> toxics);
  void ApplyToxics(std::shared_ptr<const ToxicSet> toxics);
  void Shutdown();  // the proxy was disabled or removed: close both sides now

  Worker& worker() { return worker_; }

 private:
  class Flow;
  enum class State { kConnecting, kOpen, kClosing, kClosed };

  void OnConnected(const boost::system::error_code& ec);
  void Close(CloseMode mode);
  void Abort(bool propagate_reset);
  void MaybeFinish();
  void Finish();

  std::shared_ptr<ProxyInstance> proxy_;
  Worker& worker_;
  boost::asio::ip::tcp::socket client_;
  boost::asio::ip::tcp::socket upstream_;
  std::unique_ptr<core::Timer> deadline_;
  std::shared_ptr<const ToxicSet> pending_toxics_;
  std::unique_ptr<Flow> up_;
  std::unique_ptr<Flow> down_;
  State state_ = State::kConnecting;
  std::uint64_t seed_;
};

}  // namespace faultline::proxy
