#pragma once
// The data path of a UDP proxy ("protocol": "udp"). One socket bound on the listen address
// takes datagrams from clients; each client address (ip:port) gets a flow with its own
// connected socket towards the upstream, so the server's replies come back on that socket and
// go to the client that caused them. A flow has two seeded Pipelines, upstream (client ->
// server) and downstream (server -> client), and each datagram enters one as one Chunk: with
// raw framing a Chunk is one frame, so drop, duplicate and reorder act on whole datagrams, and
// every Chunk the pipeline emits leaves as one datagram.
//
// Flows are numbered from 1 in the order their first datagram arrived; that number is the
// "connection" of events and toxic targets, and it seeds the flow exactly as the k-th TCP
// connection is seeded, so the same seed and the same datagrams give the same decisions. A
// flow ends after kFlowIdle without a datagram either way (and nothing held in its toxics).
//
// UDP has no backpressure: a direction that holds more than kHighWater bytes in its toxics
// (a slow bandwidth) drops further datagrams, as a full router queue would, and says so in
// the event log.
//
// Everything runs on one worker thread; Start, Stop and SetToxics are called from the control
// thread and return once the worker has done what they ask (Stop and SetToxics wait a bounded
// time, like ProxyInstance::Broadcast). The relay and its flows are bound to that worker
// (OwnedBy in runtime.h): they are destroyed on its thread, whoever releases them last.

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <boost/asio/ip/udp.hpp>

#include "faultline/core/result.h"
#include "runtime.h"

namespace faultline::proxy {

class UdpRelay final : public std::enable_shared_from_this<UdpRelay> {
 public:
  // Like a NAT's UDP mapping: a client silent this long (both ways) has gone away.
  static constexpr std::chrono::seconds kFlowIdle{60};
  static constexpr std::size_t kHighWater = kDirectionBudget;

  // `seed` is the proxy's root (its own seed or the server's); `upstream` the resolved
  // upstream addresses, tried in order when a flow opens its socket. Flows are numbered on
  // from `flows_before` (a proxy disabled and enabled again keeps counting, as TCP does).
  static std::shared_ptr<UdpRelay> Create(Runtime& runtime, std::string name, std::uint64_t seed,
                                          std::vector<boost::asio::ip::udp::endpoint> upstream,
                                          ProxyMetrics metrics, std::uint64_t flows_before);
  ~UdpRelay();
  UdpRelay(const UdpRelay&) = delete;
  UdpRelay& operator=(const UdpRelay&) = delete;

  // Binds and starts relaying. 409: the address is in use; 400: any other failure.
  core::Status Start(const boost::asio::ip::udp::endpoint& bind);
  // Closes the socket and every flow; returns once that is done, or after a bounded wait.
  void Stop();
  // Publishes the toxic set for new flows and applies it to every live one before returning.
  // May be called before Start.
  void SetToxics(std::shared_ptr<const ToxicSet> toxics);

  // The bound address ("host:port"); empty before Start.
  std::string listen_address() const;
  // Flows opened so far, counting `flows_before`.
  std::uint64_t flows_opened() const { return flows_opened_; }

 private:
  class Flow;
  class Direction;
  struct Outbox;

  UdpRelay(Runtime& runtime, Worker& worker, std::string name, std::uint64_t seed,
           std::vector<boost::asio::ip::udp::endpoint> upstream, ProxyMetrics metrics,
           std::uint64_t flows_before);

  void WaitClients();
  void OnClientsReadable();
  std::shared_ptr<Flow> FlowFor(const boost::asio::ip::udp::endpoint& client);
  void EndFlow(const std::shared_ptr<Flow>& flow);
  void CloseAll();
  void ApplyToxics();
  std::shared_ptr<const ToxicSet> toxics() const;
  // Sends one datagram through `outbox`'s socket (to `to` unless it is connected), or queues
  // it while the socket buffer is full. Errors lose the datagram, as UDP does. `owned`, if
  // given, holds the bytes and may be taken; `owner` is the flow that owns `outbox`, if any.
  void Send(Outbox& outbox, const boost::asio::ip::udp::endpoint& to, const char* data,
            std::size_t size, std::vector<char>* owned, Flow* owner);
  // `keep` holds the owning flow (and so `outbox`) until the socket is writable.
  void WaitWritable(Outbox& outbox, std::shared_ptr<Flow> keep);
  void DrainOutbox(Outbox& outbox, const std::shared_ptr<Flow>& keep);

  Runtime& runtime_;
  Worker& worker_;
  const std::string name_;
  const std::uint64_t seed_;
  const std::vector<boost::asio::ip::udp::endpoint> upstream_;
  const ProxyMetrics metrics_;
  boost::asio::ip::udp::socket socket_;
  boost::asio::ip::udp::endpoint bound_;
  bool started_ = false;  // control thread only

  // Worker thread only.
  std::unique_ptr<Outbox> outbox_;  // what socket_ could not send yet (downstream)
  std::map<boost::asio::ip::udp::endpoint, std::shared_ptr<Flow>> flows_;
  std::atomic<std::uint64_t> flows_opened_;
  std::vector<char> buffer_;
  bool closed_ = false;

  mutable std::mutex mutex_;  // guards toxics_, which the control thread publishes
  std::shared_ptr<const ToxicSet> toxics_;
};

}  // namespace faultline::proxy
