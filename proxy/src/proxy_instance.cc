#include "proxy_instance.h"

#include <charconv>

#include <boost/asio/post.hpp>

#include "session.h"
#include "udp_relay.h"

namespace faultline::proxy {
namespace {

using boost::asio::ip::tcp;

constexpr auto kBroadcastLimit = std::chrono::seconds(2);
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

core::Result<std::vector<tcp::endpoint>> ResolveEndpoints(const Resolver& resolver,
                                                          std::string_view what,
                                                          std::string_view address) {
  auto parts = SplitHostPort(address);
  if (!parts) return core::MakeError(std::string(what) + ": " + parts.message(), 400);
  auto addresses = resolver(parts->host, parts->port);
  if (!addresses) {
    return core::MakeError(
        std::string(what) + " '" + std::string(address) + "': " + addresses.message(), 400);
  }
  const auto port = static_cast<unsigned short>(std::stoul(parts->port));
  std::vector<tcp::endpoint> endpoints;
  for (const std::string& a : *addresses) {
    boost::system::error_code ec;
    auto ip = boost::asio::ip::make_address(a, ec);
    if (!ec) endpoints.emplace_back(ip, port);
  }
  if (endpoints.empty()) {
    return core::MakeError(std::string(what) + " '" + std::string(address) + "' has no address",
                           400);
  }
  return endpoints;
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
  auto upstream = ResolveEndpoints(runtime_.resolver, "upstream", spec_.upstream);
  if (!upstream) return upstream.error();
  if (upstream->front().port() == 0) {
    return core::MakeError("upstream '" + spec_.upstream + "': port must not be 0", 400);
  }
  auto listen = ResolveEndpoints(runtime_.resolver, "listen", spec_.listen);
  if (!listen) return listen.error();

  if (spec_.protocol == "udp") {
    upstream_endpoints_ = std::move(*upstream);
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
  upstream_endpoints_ = std::move(*upstream);
  acceptor_.emplace(std::move(acceptor));
  Accept();
  return core::Ok();
}

core::Status ProxyInstance::StartUdp(const tcp::endpoint& listen) {
  using boost::asio::ip::udp;
  std::vector<udp::endpoint> upstream;
  for (const tcp::endpoint& e : upstream_endpoints_) upstream.emplace_back(e.address(), e.port());
  auto relay = std::make_shared<UdpRelay>(runtime_, spec_.name, spec_.seed.value_or(runtime_.seed),
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
        auto session = std::make_shared<Session>(self, worker, std::move(socket), index + 1, seed);
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
  std::vector<std::shared_ptr<Session>> sessions;
  {
    std::lock_guard lock(mutex_);
    sessions.reserve(sessions_.size());
    for (auto& [raw, session] : sessions_) sessions.push_back(session);
  }
  if (sessions.empty()) return;
  auto countdown = std::make_shared<Countdown>(sessions.size());
  for (auto& session : sessions) {
    boost::asio::post(session->worker().context, [session, action, toxics, countdown] {
      action(*session, toxics);
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

void ProxyInstance::Remove(const std::shared_ptr<Session>& session) {
  std::lock_guard lock(mutex_);
  sessions_.erase(session.get());
}

}  // namespace faultline::proxy
