#include "proxy_instance.h"

#include <charconv>
#include <thread>

#include <boost/asio/post.hpp>

#include "session.h"
#include "udp_relay.h"

namespace faultline::proxy {
namespace {

using boost::asio::ip::tcp;

constexpr auto kBroadcastLimit = std::chrono::seconds(2);
// How long a name may take to resolve, for listen addresses and upstreams alike.
constexpr auto kLookupBudget = std::chrono::seconds(5);
constexpr auto kAcceptRetry = std::chrono::milliseconds(100);
constexpr int kListenBacklog = 4096;

}  // namespace

core::Result<HostPort> SplitHostPort(std::string_view text) {
  const std::string quoted = "'" + std::string(text) + "'";
  if (text.empty()) return core::MakeError("empty address (expected host:port)", 400);
  std::string_view host;
  std::string_view port;
  if (text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return core::MakeError("bad address " + quoted + " (expected [v6-address]:port)", 400);
    }
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos) {
      return core::MakeError("bad address " + quoted + ": missing port (expected host:port)", 400);
    }
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) {
      return core::MakeError("bad address " + quoted + ": IPv6 addresses need brackets", 400);
    }
  }
  unsigned value = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || ec != std::errc() || end != port.data() + port.size() || value > 65535) {
    return core::MakeError("bad address " + quoted + ": port must be a number from 0 to 65535",
                           400);
  }
  return HostPort{std::string(host), std::string(port)};
}

std::string FormatEndpoint(const tcp::endpoint& endpoint) {
  const auto address = endpoint.address();
  const std::string host = address.is_v6() ? "[" + address.to_string() + "]" : address.to_string();
  return host + ":" + std::to_string(endpoint.port());
}

namespace {

// IPv4 first: most services listen on 127.0.0.1 rather than ::1.
std::vector<tcp::endpoint> ToEndpoints(const std::vector<Address>& addresses) {
  std::vector<tcp::endpoint> v4;
  std::vector<tcp::endpoint> v6;
  for (const Address& a : addresses) {
    boost::system::error_code ec;
    const auto ip = boost::asio::ip::make_address(a.ip, ec);
    if (!ec) (ip.is_v4() ? v4 : v6).emplace_back(ip, a.port);
  }
  v4.insert(v4.end(), v6.begin(), v6.end());
  return v4;
}

}  // namespace

core::Result<std::vector<tcp::endpoint>> ResolveEndpoints(const Lookup& lookup,
                                                          std::string_view what,
                                                          std::string_view address) {
  auto parts = SplitHostPort(address);
  if (!parts) return core::MakeError(std::string(what) + ": " + parts.message(), 400);
  const std::string host = parts->host.empty() ? "0.0.0.0" : parts->host;
  auto addresses = LookupWithin(host, parts->port, kLookupBudget, lookup);
  std::vector<tcp::endpoint> endpoints;
  if (addresses) endpoints = ToEndpoints(*addresses);
  if (endpoints.empty()) {
    return core::MakeError(std::string(what) + " '" + std::string(address) +
                               "': " + (addresses ? "no address" : addresses.message()),
                           400);
  }
  return endpoints;
}

core::Result<std::shared_ptr<Upstream>> Upstream::Parse(std::string_view address, Lookup lookup) {
  auto parts = SplitHostPort(address);
  if (!parts) return core::MakeError("upstream: " + parts.message(), 400);
  if (parts->port == "0") {
    return core::MakeError("upstream '" + std::string(address) + "': port must not be 0", 400);
  }
  if (parts->host.empty()) {
    return core::MakeError("upstream '" + std::string(address) + "': missing host", 400);
  }
  std::shared_ptr<Upstream> upstream(
      new Upstream(std::string(address), parts->host, parts->port, std::move(lookup)));
  if (IsIpLiteral(parts->host) || parts->host == "localhost") {
    auto endpoints = ResolveEndpoints(NumericLookup, "upstream", address);
    if (!endpoints) return endpoints.error();
    upstream->fixed_ = std::move(*endpoints);
  }
  return upstream;
}

void Upstream::Resolve(Done done) {
  {
    std::lock_guard lock(mutex_);
    waiting_.push_back(std::move(done));
    if (waiting_.size() > 1) return;  // a lookup is on its way
  }
  std::thread([self = shared_from_this()] {
    auto addresses = LookupWithin(self->host_, self->port_, kLookupBudget, self->lookup_);
    core::Result<Endpoints> found =
        core::MakeError("upstream '" + self->address_ +
                        "': " + (addresses ? std::string("no address") : addresses.message()));
    if (addresses) {
      if (auto endpoints = ToEndpoints(*addresses); !endpoints.empty())
        found = std::move(endpoints);
    }
    std::vector<Done> waiting;
    {
      std::lock_guard lock(self->mutex_);
      waiting.swap(self->waiting_);
    }
    for (const Done& done : waiting) done(found);
  }).detach();
}

std::shared_ptr<ProxyInstance> ProxyInstance::Create(Runtime& runtime, ProxySpec spec,
                                                     ProxyMetrics metrics) {
  return OwnedBy(runtime.control, new ProxyInstance(runtime, std::move(spec), metrics));
}

ProxyInstance::ProxyInstance(Runtime& runtime, ProxySpec spec, ProxyMetrics metrics)
    : runtime_(runtime),
      spec_(std::move(spec)),
      metrics_(metrics),
      retry_timer_(runtime.control),
      toxics_(std::make_shared<const ToxicSet>()) {}

ProxyInstance::~ProxyInstance() = default;

std::string ProxyInstance::listen_address() const {
  if (relay_) return relay_->listen_address();
  return acceptor_ ? FormatEndpoint(bound_) : spec_.listen;
}

core::Status ProxyInstance::Start() {
  if (running()) return core::Ok();
  auto upstream = Upstream::Parse(spec_.upstream, runtime_.lookup);
  if (!upstream) return upstream.error();
  auto listen = ResolveEndpoints(runtime_.lookup, "listen", spec_.listen);
  if (!listen) return listen.error();

  if (spec_.protocol == "udp") {
    upstream_ = std::move(*upstream);
    return StartUdp(listen->front());
  }
  const tcp::endpoint endpoint = listen->front();
  tcp::acceptor acceptor(runtime_.control);
  boost::system::error_code ec;
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(kListenBacklog, ec);
  if (ec) {
    const int status = ec == boost::asio::error::address_in_use ? 409 : 400;
    return core::MakeError("listen " + FormatEndpoint(endpoint) + ": " + ec.message(), status);
  }
  bound_ = acceptor.local_endpoint(ec);
  // Like Toxiproxy, a proxy that asked for port 0 keeps the port it got across restarts.
  spec_.listen = FormatEndpoint(bound_);
  upstream_ = std::move(*upstream);
  acceptor_.emplace(std::move(acceptor));
  Accept();
  return core::Ok();
}

core::Status ProxyInstance::StartUdp(const tcp::endpoint& listen) {
  using boost::asio::ip::udp;
  // Datagram flows open on the fly, so a UDP upstream name is looked up once, here (within
  // the lookup budget), not per flow.
  std::vector<tcp::endpoint> resolved;
  if (const auto* fixed = upstream_->fixed()) {
    resolved = *fixed;
  } else {
    auto found = ResolveEndpoints(runtime_.lookup, "upstream", spec_.upstream);
    if (!found) return found.error();
    resolved = std::move(*found);
  }
  std::vector<udp::endpoint> upstream;
  for (const tcp::endpoint& e : resolved) upstream.emplace_back(e.address(), e.port());
  auto relay = UdpRelay::Create(runtime_, spec_.name, spec_.seed.value_or(runtime_.seed),
                                std::move(upstream), metrics_, connections_);
  relay->SetToxics(toxics());
  if (auto ok = relay->Start(udp::endpoint(listen.address(), listen.port())); !ok) return ok;
  relay_ = std::move(relay);
  // Like the TCP listener: a proxy that asked for port 0 keeps the port it got.
  spec_.listen = relay_->listen_address();
  return core::Ok();
}

void ProxyInstance::Accept() {
  if (!acceptor_) return;
  Worker& worker = runtime_.PickWorker();
  acceptor_->async_accept(
      worker.context, [self = shared_from_this(), &worker](const boost::system::error_code& ec,
                                                           tcp::socket socket) {
        if (ec == boost::asio::error::operation_aborted || !self->acceptor_) return;
        if (ec) {
          // Out of descriptors or similar: back off instead of spinning.
          self->retry_timer_.expires_after(kAcceptRetry);
          self->retry_timer_.async_wait([self](const boost::system::error_code& wait_ec) {
            if (!wait_ec) self->Accept();
          });
          return;
        }
        const std::uint64_t index = self->connections_++;
        const std::uint64_t root = self->spec_.seed.value_or(self->runtime_.seed);
        const std::uint64_t seed = core::DeriveSeed(root, {self->spec_.name, index});
        auto session = Session::Create(self, worker, std::move(socket), index + 1, seed);
        std::shared_ptr<const ToxicSet> toxics;
        {
          std::lock_guard lock(self->mutex_);
          self->sessions_.emplace(session.get(), session);
          toxics = self->toxics_;
        }
        boost::asio::post(worker.context, [session, toxics] { session->Start(toxics); });
        self->Accept();
      });
}

void ProxyInstance::Broadcast(void (*action)(Session&, const std::shared_ptr<const ToxicSet>&),
                              const std::shared_ptr<const ToxicSet>& toxics) {
  // Weak references: a session that finishes meanwhile is left to go.
  std::vector<std::pair<Worker*, std::weak_ptr<Session>>> sessions;
  {
    std::lock_guard lock(mutex_);
    sessions.reserve(sessions_.size());
    for (auto& [raw, session] : sessions_) sessions.emplace_back(&session->worker(), session);
  }
  if (sessions.empty()) return;
  auto countdown = std::make_shared<Countdown>(sessions.size());
  for (auto& entry : sessions) {
    boost::asio::post(entry.first->context, [weak = entry.second, action, toxics, countdown] {
      if (auto session = weak.lock()) action(*session, toxics);
      countdown->Done();
    });
  }
  countdown->WaitFor(kBroadcastLimit);
}

void ProxyInstance::Stop() {
  if (relay_) {
    relay_->Stop();
    connections_ = relay_->flows_opened();
    relay_.reset();
  }
  if (acceptor_) {
    boost::system::error_code ignored;
    acceptor_->close(ignored);
    acceptor_.reset();
  }
  retry_timer_.cancel();
  Broadcast([](Session& session, const std::shared_ptr<const ToxicSet>&) { session.Shutdown(); },
            nullptr);
}

void ProxyInstance::SetToxics(std::shared_ptr<const ToxicSet> toxics) {
  {
    std::lock_guard lock(mutex_);
    toxics_ = toxics;
  }
  if (relay_) {
    relay_->SetToxics(toxics);
    return;
  }
  Broadcast([](Session& session,
               const std::shared_ptr<const ToxicSet>& set) { session.ApplyToxics(set); },
            toxics);
}

std::shared_ptr<const ToxicSet> ProxyInstance::toxics() const {
  std::lock_guard lock(mutex_);
  return toxics_;
}

void ProxyInstance::Remove(const Session* session) {
  std::lock_guard lock(mutex_);
  sessions_.erase(session);
}

}  // namespace faultline::proxy
