#pragma once
// One proxied TCP connection: the client socket, the upstream socket, and a Flow (socket
// reader, Pipeline, socket writer) per direction. Everything runs on one worker thread.
//
// Data path: small reads go through a per-thread scratch buffer and straight out with recv
// and send; once a read fills that buffer the direction is streaming and moves data with
// splice() through a pooled pipe, never through user space. With a toxic active, reads
// become Chunks for the pipeline. With no toxic, a direction stops reading while its
// destination lags; with toxics that hold data, it stops once it holds more than
// kDirectionBudget bytes, or the proxy's connections together more than kProxyBudget
// (toxic.h). Either way backpressure reaches the sender through TCP. An idle connection owns no
// buffer and no pipe.
//
// Lifetime: a session is owned by its proxy (until it finishes) and by its own pending
// operations; it is made only by Create, bound to its worker (OwnedBy in runtime.h), so it
// and its stages are destroyed on the worker's thread whoever releases it last.

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
  // `connection` numbers the proxy's connections from 1, in accept order.
  static std::shared_ptr<Session> Create(std::shared_ptr<ProxyInstance> proxy, Worker& worker,
                                         boost::asio::ip::tcp::socket client,
                                         std::uint64_t connection, std::uint64_t seed);
  ~Session();

  // All three run on the session's worker thread.
  void Start(std::shared_ptr<const ToxicSet> toxics);
  void ApplyToxics(std::shared_ptr<const ToxicSet> toxics);
  void Shutdown();  // the proxy was disabled or removed: close both sides now

  Worker& worker() { return worker_; }

 private:
  class Flow;
  enum class State { kConnecting, kOpen, kClosing, kClosed };

  Session(std::shared_ptr<ProxyInstance> proxy, Worker& worker, boost::asio::ip::tcp::socket client,
          std::uint64_t connection, std::uint64_t seed);

  // Connection toxics (accept_delay, connect_refuse, connect_delay) run before the connect.
  void ApplyConnectionToxics(const ToxicSet& toxics);
  void Connect();
  void ConnectTo(const std::vector<boost::asio::ip::tcp::endpoint>& endpoints);
  void OnConnected(const boost::system::error_code& ec);
  void Record(const std::string& toxic, const std::string& action, const std::string& detail);
  PipelineEnv MakeEnv() const;
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
  std::uint64_t connection_;
  std::uint64_t seed_;
  std::string client_ip_;
  core::Duration connect_delay_{};
};

}  // namespace faultline::proxy
