#include "udp_relay.h"

#include <deque>
#include <functional>
#include <utility>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>

#include "faultline/core/random.h"
#include "faultline/proxy/events.h"
#include "faultline/proxy/pipeline.h"
#include "proxy_instance.h"

namespace faultline::proxy {
namespace {

using boost::asio::ip::udp;

// The largest UDP payload (IPv4: 65507; IPv6 without jumbograms: 65527) fits.
constexpr std::size_t kMaxDatagram = 64 << 10;
constexpr int kReadsPerWakeup = 64;
// Room for bursts (a duplicate toxic doubles them) without loss on the proxy's own sockets.
constexpr int kListenSocketBuffer = 4 << 20;
constexpr int kFlowSocketBuffer = 1 << 20;
constexpr auto kWaitLimit = std::chrono::seconds(2);

bool WouldBlock(const boost::system::error_code& ec) {
  return ec == boost::asio::error::would_block || ec == boost::asio::error::try_again;
}

void SetBuffers(udp::socket& socket, int size) {
  boost::system::error_code ignored;
  // The kernel caps these at net.core.{r,w}mem_max; whatever it grants is used.
  socket.set_option(udp::socket::receive_buffer_size(size), ignored);
  socket.set_option(udp::socket::send_buffer_size(size), ignored);
  socket.non_blocking(true, ignored);
}

std::string Format(const udp::endpoint& endpoint) {
  return FormatEndpoint(boost::asio::ip::tcp::endpoint(endpoint.address(), endpoint.port()));
}

}  // namespace

// Datagrams a socket could not take yet (its send buffer was full), oldest first.
struct UdpRelay::Outbox {
  struct Datagram {
    udp::endpoint to;
    std::vector<char> data;
  };
  explicit Outbox(udp::socket& s, bool is_connected) : socket(s), connected(is_connected) {}

  udp::socket& socket;
  bool connected;  // send() to the connected peer; otherwise send_to() each datagram's `to`
  std::deque<Datagram> queue;
  std::size_t bytes = 0;
  bool waiting = false;
};

// One direction of a flow: its pipeline, and where the pipeline's output goes.
class UdpRelay::Direction final : public PipelineSink {
 public:
  Direction(Flow& flow, Stream stream, std::uint64_t seed, PipelineEnv env);

  void Deliver(Chunk chunk) override;
  // Datagrams have no end of stream: a flow never ends its pipelines, it is dropped whole.
  void DeliverEnd() override {}
  void Close(CloseMode mode) override;
  void ToxicActivated(const ToxicSpec& spec) override;

  Stream stream() const { return stream_; }
  Pipeline& pipeline() { return pipeline_; }
  // Set while datagrams are dropped because the toxics hold too much, so that each such run
  // is reported once.
  bool overflowing = false;

 private:
  Flow& flow_;
  Stream stream_;
  Pipeline pipeline_;
};

class UdpRelay::Flow final : public std::enable_shared_from_this<Flow> {
 public:
  Flow(UdpRelay& relay, udp::endpoint client, udp::socket upstream, std::uint64_t connection,
       std::uint64_t seed)
      : relay_(relay),
        client_(std::move(client)),
        client_ip_(client_.address().to_string()),
        upstream_(std::move(upstream)),
        upstream_out_(upstream_, /*is_connected=*/true),
        connection_(connection),
        up_(*this, Stream::kUpstream, core::DeriveSeed(seed, {StreamName(Stream::kUpstream)}),
            MakeEnv()),
        down_(*this, Stream::kDownstream, core::DeriveSeed(seed, {StreamName(Stream::kDownstream)}),
              MakeEnv()),
        idle_(relay.worker_.clock.MakeTimer()),
        last_active_(relay.worker_.clock.Now()) {}

  void Start(const ToxicSet& toxics) {
    SetToxics(toxics);
    WaitUpstream();
    ArmIdle(last_active_ + kFlowIdle);
  }

  void SetToxics(const ToxicSet& toxics) {
    if (closed_) return;
    up_.pipeline().SetToxics(toxics.upstream, client_ip_);
    if (!closed_) down_.pipeline().SetToxics(toxics.downstream, client_ip_);
  }

  void FromClient(const char* data, std::size_t size) { Receive(up_, data, size); }

  // The pipeline of `direction` emitted a datagram.
  void Send(Stream direction, const char* data, std::size_t size, std::vector<char>* owned) {
    if (closed_) return;
    if (direction == Stream::kUpstream) {
      relay_.Send(upstream_out_, client_, data, size, owned, this);
    } else {
      relay_.Send(*relay_.outbox_, client_, data, size, owned, nullptr);
    }
  }

  // A toxic asked to close the connection (malformed framing): the flow ends; the client's
  // next datagram starts a new one. Not inline: a stage is running.
  void CloseSoon() {
    boost::asio::post(relay_.worker_.context,
                      [self = shared_from_this()] { self->relay_.EndFlow(self); });
  }

  void Close() {
    if (closed_) return;
    closed_ = true;
    idle_->Cancel();
    boost::system::error_code ignored;
    upstream_.close(ignored);
  }

  void ToxicActivated(const ToxicSpec& spec) {
    relay_.metrics_.toxic_activations->Add({{"proxy", relay_.name_}, {"kind", spec.type}})
        .Increment();
  }

  const udp::endpoint& client() const { return client_; }
  bool closed() const { return closed_; }
  UdpRelay& relay() { return relay_; }

 private:
  PipelineEnv MakeEnv() const {
    PipelineEnv env;
    env.proxy = relay_.name_;
    env.connection = connection_;
    env.events = relay_.runtime_.events;
    env.holds = relay_.runtime_.holds;
    env.datagrams = true;
    env.post = [&context = relay_.worker_.context](std::function<void()> task) {
      boost::asio::post(context, std::move(task));
    };
    return env;
  }

  void Receive(Direction& direction, const char* data, std::size_t size) {
    if (closed_) return;
    const core::TimePoint now = relay_.worker_.clock.Now();
    last_active_ = now;
    Pipeline& pipeline = direction.pipeline();
    if (pipeline.bypass()) {
      Send(direction.stream(), data, size, nullptr);
      return;
    }
    if (pipeline.buffered_bytes() >= kHighWater) {
      if (!direction.overflowing) {
        direction.overflowing = true;
        Overflow(direction.stream());
      }
      return;
    }
    direction.overflowing = false;
    // An empty datagram holds no frame for raw framing, so an active frame-aware toxic
    // swallows it; latency and bandwidth pass it on.
    pipeline.Push(Chunk{std::vector<char>(data, data + size), now});
  }

  void Overflow(Stream stream) {
    EventLog* events = relay_.runtime_.events;
    if (events == nullptr) return;
    Event event;
    event.proxy = relay_.name_;
    event.connection = connection_;
    event.direction = std::string(StreamName(stream));
    event.action = "overflow";
    event.detail = "toxics hold over " + std::to_string(kHighWater >> 20) +
                   " MiB: dropping datagrams until they drain";
    events->Append(std::move(event));
  }

  void WaitUpstream() {
    if (closed_) return;
    upstream_.async_wait(udp::socket::wait_read,
                         [self = shared_from_this()](const boost::system::error_code& ec) {
                           if (!ec) self->OnUpstreamReadable();
                         });
  }

  void OnUpstreamReadable() {
    char* buffer = relay_.buffer_.data();
    for (int i = 0; i < kReadsPerWakeup && !closed_; ++i) {
      boost::system::error_code ec;
      const std::size_t n = upstream_.receive(boost::asio::buffer(buffer, kMaxDatagram), 0, ec);
      if (WouldBlock(ec)) break;
      // Other errors (an ICMP port unreachable from the upstream, reported as connection
      // refused) are consumed by the read; the next datagram may well get through.
      if (ec) continue;
      relay_.metrics_.bytes_downstream->Increment(static_cast<double>(n));
      Receive(down_, buffer, n);
    }
    WaitUpstream();
  }

  void ArmIdle(core::TimePoint at) {
    idle_->ArmAt(at, [this] { CheckIdle(); });
  }

  void CheckIdle() {
    const core::TimePoint now = relay_.worker_.clock.Now();
    if (now - last_active_ < kFlowIdle) {
      ArmIdle(last_active_ + kFlowIdle);
      return;
    }
    // Datagrams still held in a toxic (a slow bandwidth) keep the flow until they are out.
    if (up_.pipeline().buffered_bytes() + down_.pipeline().buffered_bytes() + upstream_out_.bytes >
        0) {
      ArmIdle(now + kFlowIdle);
      return;
    }
    relay_.EndFlow(shared_from_this());
  }

  UdpRelay& relay_;
  const udp::endpoint client_;
  const std::string client_ip_;
  udp::socket upstream_;
  Outbox upstream_out_;
  const std::uint64_t connection_;
  Direction up_;
  Direction down_;
  std::unique_ptr<core::Timer> idle_;
  core::TimePoint last_active_;
  bool closed_ = false;
};

UdpRelay::Direction::Direction(Flow& flow, Stream stream, std::uint64_t seed, PipelineEnv env)
    : flow_(flow),
      stream_(stream),
      pipeline_(flow.relay().worker_.clock, *this, seed, std::move(env)) {}

void UdpRelay::Direction::Deliver(Chunk chunk) {
  flow_.Send(stream_, chunk.data.data(), chunk.data.size(), &chunk.data);
}

void UdpRelay::Direction::Close(CloseMode) { flow_.CloseSoon(); }

void UdpRelay::Direction::ToxicActivated(const ToxicSpec& spec) { flow_.ToxicActivated(spec); }

std::shared_ptr<UdpRelay> UdpRelay::Create(Runtime& runtime, std::string name, std::uint64_t seed,
                                           std::vector<udp::endpoint> upstream,
                                           ProxyMetrics metrics, std::uint64_t flows_before) {
  Worker& worker = runtime.PickWorker();
  return OwnedBy(worker.context, new UdpRelay(runtime, worker, std::move(name), seed,
                                              std::move(upstream), metrics, flows_before));
}

UdpRelay::UdpRelay(Runtime& runtime, Worker& worker, std::string name, std::uint64_t seed,
                   std::vector<udp::endpoint> upstream, ProxyMetrics metrics,
                   std::uint64_t flows_before)
    : runtime_(runtime),
      worker_(worker),
      name_(std::move(name)),
      seed_(seed),
      upstream_(std::move(upstream)),
      metrics_(metrics),
      socket_(worker_.context),
      outbox_(std::make_unique<Outbox>(socket_, /*is_connected=*/false)),
      flows_opened_(flows_before),
      buffer_(kMaxDatagram),
      toxics_(std::make_shared<const ToxicSet>()) {}

UdpRelay::~UdpRelay() = default;

core::Status UdpRelay::Start(const udp::endpoint& bind) {
  if (started_) return core::Ok();
  boost::system::error_code ec;
  // No SO_REUSEADDR: for UDP it would let two proxies share one port, not report a conflict.
  socket_.open(bind.protocol(), ec);
  if (!ec) socket_.bind(bind, ec);
  if (!ec) bound_ = socket_.local_endpoint(ec);
  if (ec) {
    boost::system::error_code ignored;
    socket_.close(ignored);
    const int status = ec == boost::asio::error::address_in_use ? 409 : 400;
    return core::MakeError("listen " + Format(bind) + " (udp): " + ec.message(), status);
  }
  SetBuffers(socket_, kListenSocketBuffer);
  started_ = true;
  boost::asio::post(worker_.context, [self = shared_from_this()] { self->WaitClients(); });
  return core::Ok();
}

void UdpRelay::Stop() {
  if (!started_) return;
  started_ = false;
  auto countdown = std::make_shared<Countdown>(1);
  boost::asio::post(worker_.context, [self = shared_from_this(), countdown] {
    self->CloseAll();
    countdown->Done();
  });
  countdown->WaitFor(kWaitLimit);
}

void UdpRelay::SetToxics(std::shared_ptr<const ToxicSet> toxics) {
  {
    std::lock_guard lock(mutex_);
    toxics_ = std::move(toxics);
  }
  if (!started_) return;
  auto countdown = std::make_shared<Countdown>(1);
  boost::asio::post(worker_.context, [self = shared_from_this(), countdown] {
    self->ApplyToxics();
    countdown->Done();
  });
  countdown->WaitFor(kWaitLimit);
}

std::string UdpRelay::listen_address() const { return started_ ? Format(bound_) : std::string(); }

std::shared_ptr<const ToxicSet> UdpRelay::toxics() const {
  std::lock_guard lock(mutex_);
  return toxics_;
}

void UdpRelay::ApplyToxics() {
  if (closed_) return;
  const auto set = toxics();
  std::vector<std::shared_ptr<Flow>> flows;
  flows.reserve(flows_.size());
  for (auto& [client, flow] : flows_) flows.push_back(flow);
  for (auto& flow : flows) flow->SetToxics(*set);
}

void UdpRelay::WaitClients() {
  if (closed_) return;
  socket_.async_wait(udp::socket::wait_read,
                     [self = shared_from_this()](const boost::system::error_code& ec) {
                       if (!ec) self->OnClientsReadable();
                     });
}

void UdpRelay::OnClientsReadable() {
  char* buffer = buffer_.data();
  for (int i = 0; i < kReadsPerWakeup && !closed_; ++i) {
    udp::endpoint client;
    boost::system::error_code ec;
    const std::size_t n =
        socket_.receive_from(boost::asio::buffer(buffer, kMaxDatagram), client, 0, ec);
    if (WouldBlock(ec)) break;
    if (ec) continue;
    metrics_.bytes_upstream->Increment(static_cast<double>(n));
    if (auto flow = FlowFor(client)) flow->FromClient(buffer, n);
  }
  WaitClients();
}

std::shared_ptr<UdpRelay::Flow> UdpRelay::FlowFor(const udp::endpoint& client) {
  if (auto it = flows_.find(client); it != flows_.end()) return it->second;
  udp::socket upstream(worker_.context);
  boost::system::error_code ec = boost::asio::error::host_unreachable;
  for (const udp::endpoint& endpoint : upstream_) {
    boost::system::error_code ignored;
    upstream.close(ignored);
    ec.clear();
    upstream.open(endpoint.protocol(), ec);
    // Connecting a UDP socket only fixes its peer: the kernel then delivers just that
    // peer's datagrams to it, which is how replies find their client.
    if (!ec) upstream.connect(endpoint, ec);
    if (!ec) break;
  }
  if (ec) return nullptr;  // out of descriptors or no route: the datagram is lost
  SetBuffers(upstream, kFlowSocketBuffer);
  // Seeded exactly like the proxy's k-th TCP connection (ProxyInstance::Accept).
  const std::uint64_t index = flows_opened_++;
  const std::uint64_t seed = core::DeriveSeed(seed_, {name_, index});
  auto flow =
      OwnedBy(worker_.context, new Flow(*this, client, std::move(upstream), index + 1, seed));
  flows_.emplace(client, flow);
  metrics_.connections_total->Increment();
  metrics_.connections_active->Increment();
  flow->Start(*toxics());
  return flow;
}

void UdpRelay::EndFlow(const std::shared_ptr<Flow>& flow) {
  if (flow->closed()) return;
  flow->Close();
  metrics_.connections_active->Decrement();
  // The caller may be one of the flow's own callbacks: the last release only schedules the
  // flow's destruction.
  if (auto it = flows_.find(flow->client()); it != flows_.end() && it->second == flow) {
    flows_.erase(it);
  }
}

void UdpRelay::CloseAll() {
  if (closed_) return;
  closed_ = true;
  boost::system::error_code ignored;
  socket_.close(ignored);
  auto flows = std::move(flows_);
  flows_.clear();
  for (auto& [client, flow] : flows) {
    if (flow->closed()) continue;
    flow->Close();
    metrics_.connections_active->Decrement();
  }
}

void UdpRelay::Send(Outbox& outbox, const udp::endpoint& to, const char* data, std::size_t size,
                    std::vector<char>* owned, Flow* owner) {
  if (outbox.queue.empty()) {
    boost::system::error_code ec;
    // A connected socket reports an earlier ICMP error on the next send instead of sending;
    // the error is cleared by then, so one retry sends the datagram.
    for (int attempt = 0; attempt < 2; ++attempt) {
      ec.clear();
      if (outbox.connected) {
        outbox.socket.send(boost::asio::buffer(data, size), 0, ec);
      } else {
        outbox.socket.send_to(boost::asio::buffer(data, size), to, 0, ec);
      }
      if (ec != boost::asio::error::connection_refused) break;
    }
    if (!WouldBlock(ec)) return;  // sent, or lost as UDP loses datagrams
  }
  if (outbox.bytes + size > kHighWater) return;
  outbox.bytes += size;
  outbox.queue.push_back(
      {to, owned != nullptr ? std::move(*owned) : std::vector<char>(data, data + size)});
  WaitWritable(outbox, owner != nullptr ? owner->shared_from_this() : nullptr);
}

void UdpRelay::WaitWritable(Outbox& outbox, std::shared_ptr<Flow> keep) {
  if (outbox.waiting || closed_) return;
  outbox.waiting = true;
  outbox.socket.async_wait(udp::socket::wait_write, [self = shared_from_this(), &outbox,
                                                     keep](const boost::system::error_code& ec) {
    outbox.waiting = false;
    if (ec || self->closed_ || (keep && keep->closed())) return;
    self->DrainOutbox(outbox, keep);
  });
}

void UdpRelay::DrainOutbox(Outbox& outbox, const std::shared_ptr<Flow>& keep) {
  while (!outbox.queue.empty()) {
    Outbox::Datagram& front = outbox.queue.front();
    boost::system::error_code ec;
    if (outbox.connected) {
      outbox.socket.send(boost::asio::buffer(front.data), 0, ec);
    } else {
      outbox.socket.send_to(boost::asio::buffer(front.data), front.to, 0, ec);
    }
    if (WouldBlock(ec)) {
      WaitWritable(outbox, keep);
      return;
    }
    outbox.bytes -= front.data.size();
    outbox.queue.pop_front();
  }
}

}  // namespace faultline::proxy
