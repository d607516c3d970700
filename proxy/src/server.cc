#include "faultline/proxy/server.h"

#include <pthread.h>
#include <signal.h>
#include <sys/prctl.h>

#include <algorithm>
#include <future>
#include <map>

#include <prometheus/registry.h>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>

#include "faultline/proxy/metrics.h"
#include "proxy_instance.h"

namespace faultline::proxy {
namespace {

using boost::asio::ip::tcp;

// Runs a worker's event loop. With busy polling, the thread checks for ready sockets without
// sleeping for `spin` after the last event, so a reply arriving within that window is seen at
// once instead of after a wake-up.
void RunWorker(Worker& worker, std::chrono::microseconds spin) {
  // splice() into a socket takes no MSG_NOSIGNAL: writing to one whose peer has gone (a FIN
  // and then a reset, say) raises SIGPIPE, which would kill the process hosting the proxy.
  // Blocked here, it stays pending on this thread and the call fails with EPIPE, which ends
  // the connection like any other write error.
  sigset_t pipe;
  sigemptyset(&pipe);
  sigaddset(&pipe, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe, nullptr);
  // The default 50 µs timer slack lets the kernel fire a toxic's timer late to batch
  // wake-ups; a delay toxic wants its deadline, so ask for the smallest slack.
  ::prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
  auto& context = worker.context;
  if (spin.count() == 0) {
    context.run();
    return;
  }
  while (!context.stopped()) {
    if (context.run_one() == 0) break;
    auto deadline = std::chrono::steady_clock::now() + spin;
    while (!context.stopped() && std::chrono::steady_clock::now() < deadline) {
      if (context.poll() > 0) deadline = std::chrono::steady_clock::now() + spin;
    }
  }
}

// A UDP proxy relays whole datagrams: only toxics that delay, pace, drop, copy or reorder
// them apply, and a frame-aware one must take each datagram as one frame (raw framing).
core::Status CheckToxicForProtocol(const ToxicSpec& toxic, std::string_view protocol) {
  if (protocol != "udp") return core::Ok();
  const core::KindInfo* kind = core::FindKind(toxic.type);
  if (kind == nullptr || kind->udp == core::Udp::kNoUdp) {
    return core::MakeError("toxic type '" + toxic.type + "' is not supported on a UDP proxy", 400);
  }
  if (const std::string& framing = toxic.Text("framing"); !framing.empty() && framing != "raw") {
    return core::MakeError("framing '" + framing + "' of toxic type '" + toxic.type +
                               "' is not supported on a UDP proxy (each datagram is one frame: "
                               "use raw)",
                           400);
  }
  return core::Ok();
}

}  // namespace

core::Status ValidateName(std::string_view what, std::string_view name) {
  if (name.empty()) return core::MakeError("missing required field: name", 400);
  if (name.size() > 255) {
    return core::MakeError(std::string(what) + " name is longer than 255 bytes", 400);
  }
  for (unsigned char c : name) {
    if (c < 0x20 || c == 0x7f || c == '/') {
      return core::MakeError(std::string(what) + " name '" + std::string(name) +
                                 "' may not contain '/' or control characters",
                             400);
    }
  }
  return core::Ok();
}

class ProxyServer::Impl {
 public:
  explicit Impl(Options options)
      : registry_(options.metrics ? options.metrics : std::make_shared<prometheus::Registry>()),
        runtime_{control_, workers_, std::move(options.lookup), options.seed, RegisterFamilies(),
                 &events_, &holds_} {
    unsigned threads = options.threads;
    if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
    for (unsigned i = 0; i < threads; ++i) {
      auto worker = std::make_unique<Worker>();
      Worker* raw = worker.get();
      worker->thread = std::thread([raw, spin = options.busy_poll] { RunWorker(*raw, spin); });
      workers_.push_back(std::move(worker));
    }
    control_thread_ = std::thread([this] { control_.run(); });
  }

  ~Impl() {
    OnControl([this] {
      for (auto& [name, proxy] : proxies_) proxy->Stop();
      proxies_.clear();
      return 0;
    });
    // The control loop finishes what the stops left behind (cancelled accepts own sockets
    // bound to the workers' loops) and returns once it has nothing left to do, so none of
    // its handlers outlives the workers.
    control_guard_.reset();
    control_thread_.join();
    // Work already queued (closing sessions) runs before the final stop.
    for (auto& worker : workers_) {
      worker->guard.reset();
      boost::asio::post(worker->context, [raw = worker.get()] { raw->context.stop(); });
    }
    for (auto& worker : workers_) {
      worker->thread.join();
      worker->mailbox->Close();  // lookups that answer later find no one to tell
    }
    // What is left (sessions, relays, their stages) dies with its worker's loop, while the
    // hold board and event log its stages report to are still here. Proxies they released
    // were handed to the control loop: they go last.
    workers_.clear();
    control_.restart();
    control_.poll();
  }

  // Runs `fn` on the control thread (inline if already there) and returns its result.
  template <typename Fn>
  auto OnControl(Fn&& fn) -> decltype(fn()) {
    if (control_.get_executor().running_in_this_thread()) return fn();
    std::packaged_task<decltype(fn())()> task(std::forward<Fn>(fn));
    auto result = task.get_future();
    boost::asio::post(control_, [&task] { task(); });
    return result.get();
  }

  core::Result<ProxyState> Create(ProxySpec spec, std::vector<ToxicSpec> toxics) {
    if (auto ok = ValidateName("proxy", spec.name); !ok) return ok.error();
    if (proxies_.count(spec.name) != 0) return core::MakeError("proxy already exists", 409);
    auto set = BuildToxicSet(std::move(toxics), spec.protocol);
    if (!set) return set.error();
    if (auto ok = Validate(spec); !ok) return ok.error();
    auto instance = MakeInstance(spec);
    instance->SetToxics(std::make_shared<const ToxicSet>(std::move(*set)));
    if (spec.enabled) {
      if (auto ok = instance->Start(); !ok) return ok.error();
    }
    proxies_.emplace(spec.name, instance);
    return State(*instance);
  }

  core::Result<std::vector<ProxyState>> Populate(std::vector<ProxyState> proxies) {
    // Check everything first, so a bad entry changes nothing.
    std::map<std::string, int> seen;
    for (std::size_t i = 0; i < proxies.size(); ++i) {
      ProxyState& p = proxies[i];
      const std::string where =
          "proxy " + std::to_string(i) + (p.spec.name.empty() ? "" : " ('" + p.spec.name + "')");
      if (auto ok = ValidateName("proxy", p.spec.name); !ok) {
        return core::MakeError(where + ": " + ok.message(), 400);
      }
      if (++seen[p.spec.name] > 1) {
        return core::MakeError(where + ": name appears twice", 400);
      }
      if (auto ok = Validate(p.spec); !ok) return core::MakeError(where + ": " + ok.message(), 400);
      auto set = BuildToxicSet(p.toxics, p.spec.protocol);
      if (!set) return core::MakeError(where + ": " + set.message(), set.code());
    }
    std::vector<ProxyState> result;
    std::vector<std::string> created;
    for (ProxyState& p : proxies) {
      auto it = proxies_.find(p.spec.name);
      if (it != proxies_.end()) {
        const ProxySpec& old = it->second->spec();
        if (old.listen == p.spec.listen && old.upstream == p.spec.upstream &&
            old.protocol == p.spec.protocol) {
          result.push_back(State(*it->second));
          continue;
        }
        it->second->Stop();
        proxies_.erase(it);
      }
      auto state = Create(p.spec, p.toxics);
      if (!state) {
        for (const std::string& name : created) {
          proxies_.at(name)->Stop();
          proxies_.erase(name);
        }
        return core::MakeError("proxy '" + p.spec.name + "': " + state.message(), state.code());
      }
      created.push_back(p.spec.name);
      result.push_back(std::move(*state));
    }
    return result;
  }

  std::vector<ProxyState> List() const {
    std::vector<ProxyState> result;
    for (const auto& [name, proxy] : proxies_) result.push_back(State(*proxy));
    return result;
  }

  core::Result<ProxyState> Get(std::string_view name) const {
    auto proxy = Find(name);
    if (!proxy) return NotFound();
    return State(*proxy);
  }

  core::Result<ProxyState> Update(std::string_view name, const ProxyPatch& patch) {
    auto proxy = Find(name);
    if (!proxy) return NotFound();
    ProxySpec spec = proxy->spec();
    if (patch.protocol && *patch.protocol != spec.protocol) {
      return core::MakeError("field 'protocol' cannot be changed (delete and re-create the proxy)",
                             400);
    }
    spec.listen = patch.listen.value_or(spec.listen);
    spec.upstream = patch.upstream.value_or(spec.upstream);
    spec.enabled = patch.enabled.value_or(proxy->running());
    if (auto ok = Validate(spec); !ok) return ok.error();
    const bool moved =
        spec.listen != proxy->spec().listen || spec.upstream != proxy->spec().upstream;
    if (!moved) {
      if (spec.enabled && !proxy->running()) {
        if (auto ok = proxy->Start(); !ok) return ok.error();
      } else if (!spec.enabled && proxy->running()) {
        proxy->Stop();
      }
      return State(*proxy);
    }
    // A new listener or upstream: restart, and put the old one back if the new one fails.
    const bool was_running = proxy->running();
    proxy->Stop();
    auto replacement = MakeInstance(spec);
    replacement->SetToxics(proxy->toxics());
    if (spec.enabled) {
      if (auto ok = replacement->Start(); !ok) {
        if (was_running) (void)proxy->Start();
        return ok.error();
      }
    }
    proxies_[spec.name] = replacement;
    return State(*replacement);
  }

  core::Status Delete(std::string_view name) {
    auto it = proxies_.find(std::string(name));
    if (it == proxies_.end()) return NotFound();
    it->second->Stop();
    proxies_.erase(it);
    holds_.Forget(std::string(name) + "/");
    return core::Ok();
  }

  core::Status Reset() {
    for (auto& [name, proxy] : proxies_) {
      if (!proxy->running()) {
        if (auto ok = proxy->Start(); !ok) return ok;
      }
      proxy->SetToxics(std::make_shared<const ToxicSet>());
    }
    holds_.Forget("");
    return core::Ok();
  }

  core::Result<ToxicSpec> AddToxic(std::string_view name, ToxicSpec toxic) {
    auto proxy = Find(name);
    if (!proxy) return NotFound();
    if (!toxic.name.empty()) {
      if (auto ok = ValidateName("toxic", toxic.name); !ok) return ok.error();
    }
    if (auto ok = ValidateToxic(toxic); !ok) return core::MakeError(ok.message(), 400);
    if (auto ok = CheckToxicForProtocol(toxic, proxy->spec().protocol); !ok) return ok.error();
    ToxicSet set = *proxy->toxics();
    if (FindToxic(set, toxic.name)) return core::MakeError("toxic already exists", 409);
    set.For(toxic.stream).push_back(toxic);
    proxy->SetToxics(std::make_shared<const ToxicSet>(std::move(set)));
    return toxic;
  }

  core::Result<ToxicSpec> UpdateToxic(std::string_view name, std::string_view toxic_name,
                                      const ToxicPatch& patch) {
    auto proxy = Find(name);
    if (!proxy) return NotFound();
    ToxicSet set = *proxy->toxics();
    ToxicSpec* toxic = FindToxic(set, toxic_name);
    if (toxic == nullptr) return core::MakeError("toxic not found", 404);
    ToxicSpec updated = *toxic;
    for (const auto& [key, value] : patch.attributes) updated.attributes[key] = value;
    if (patch.toxicity) updated.toxicity = *patch.toxicity;
    if (patch.target) updated.target = *patch.target;
    if (auto ok = ValidateToxic(updated); !ok) return core::MakeError(ok.message(), 400);
    if (auto ok = CheckToxicForProtocol(updated, proxy->spec().protocol); !ok) return ok.error();
    *toxic = updated;
    proxy->SetToxics(std::make_shared<const ToxicSet>(std::move(set)));
    return updated;
  }

  core::Status RemoveToxic(std::string_view name, std::string_view toxic_name) {
    auto proxy = Find(name);
    if (!proxy) return NotFound();
    ToxicSet set = *proxy->toxics();
    bool removed = false;
    for (Stream stream : {Stream::kUpstream, Stream::kDownstream}) {
      auto& chain = set.For(stream);
      auto it = std::find_if(chain.begin(), chain.end(),
                             [&](const ToxicSpec& t) { return t.name == toxic_name; });
      if (it != chain.end()) {
        chain.erase(it);
        removed = true;
      }
    }
    if (!removed) return core::MakeError("toxic not found", 404);
    proxy->SetToxics(std::make_shared<const ToxicSet>(std::move(set)));
    holds_.Forget(std::string(name) + "/" + std::string(toxic_name));
    return core::Ok();
  }

  core::Result<std::vector<HoldInfo>> ReleaseHold(std::string_view name, std::string_view hold,
                                                  std::optional<std::uint64_t> connection,
                                                  bool all) {
    auto proxy = Find(name);
    if (!proxy) return NotFound();
    ToxicSet set = *proxy->toxics();
    const ToxicSpec* toxic = FindToxic(set, hold);
    if (toxic == nullptr) return core::MakeError("hold not found", 404);
    if (toxic->type != "hold") {
      return core::MakeError(
          "toxic '" + std::string(hold) + "' is a " + toxic->type + ", not a hold", 400);
    }
    auto released = holds_.Release(name, hold, connection, all);
    if (released.empty()) {
      return core::MakeError(
          "hold '" + std::string(hold) + "' is not holding anything" +
              (connection ? " on connection " + std::to_string(*connection) : std::string()),
          409);
    }
    return released;
  }

  EventLog& events() { return events_; }
  HoldBoard& holds() { return holds_; }

  std::uint64_t seed() const { return runtime_.seed; }
  prometheus::Registry& metrics() const { return *registry_; }

 private:
  static core::Error NotFound() { return core::MakeError("proxy not found", 404); }

  MetricFamilies RegisterFamilies() {
    MetricFamilies f;
    f.bytes = &prometheus::BuildCounter()
                   .Name(metrics::kBytesTotal)
                   .Help("Bytes read from the client (upstream) or the server (downstream).")
                   .Register(*registry_);
    f.connections_active = &prometheus::BuildGauge()
                                .Name(metrics::kConnectionsActive)
                                .Help("Connections open through the proxy now.")
                                .Register(*registry_);
    f.connections_total = &prometheus::BuildCounter()
                               .Name(metrics::kConnectionsTotal)
                               .Help("Connections accepted by the proxy.")
                               .Register(*registry_);
    f.toxic_activations = &prometheus::BuildCounter()
                               .Name(metrics::kToxicActivationsTotal)
                               .Help("Times a toxic took effect on a connection.")
                               .Register(*registry_);
    return f;
  }

  // Handles are resolved once per proxy and never removed, so sessions can keep pointers.
  ProxyMetrics MetricsFor(const std::string& name) {
    const MetricFamilies& f = runtime_.families;
    ProxyMetrics m;
    m.bytes_upstream = &f.bytes->Add({{"proxy", name}, {"direction", "upstream"}});
    m.bytes_downstream = &f.bytes->Add({{"proxy", name}, {"direction", "downstream"}});
    m.connections_active = &f.connections_active->Add({{"proxy", name}});
    m.connections_total = &f.connections_total->Add({{"proxy", name}});
    m.toxic_activations = f.toxic_activations;
    return m;
  }

  std::shared_ptr<ProxyInstance> MakeInstance(const ProxySpec& spec) {
    return ProxyInstance::Create(runtime_, spec, MetricsFor(spec.name));
  }

  core::Status Validate(const ProxySpec& spec) const {
    if (spec.protocol != "tcp" && spec.protocol != "udp") {
      return core::MakeError("protocol '" + spec.protocol + "' is not supported (use tcp or udp)",
                             400);
    }
    if (spec.upstream.empty()) return core::MakeError("missing required field: upstream", 400);
    if (auto parts = SplitHostPort(spec.upstream); !parts) {
      return core::MakeError("upstream: " + parts.message(), 400);
    }
    if (auto parts = SplitHostPort(spec.listen); !parts) {
      return core::MakeError("listen: " + parts.message(), 400);
    }
    return core::Ok();
  }

  core::Result<ToxicSet> BuildToxicSet(std::vector<ToxicSpec> toxics,
                                       std::string_view protocol) const {
    ToxicSet set;
    for (std::size_t i = 0; i < toxics.size(); ++i) {
      ToxicSpec& toxic = toxics[i];
      const std::string label = "toxics[" + std::to_string(i) + "]";
      if (!toxic.name.empty()) {
        if (auto ok = ValidateName("toxic", toxic.name); !ok) {
          return core::MakeError(label + ": " + ok.message(), 400);
        }
      }
      if (auto ok = ValidateToxic(toxic); !ok) {
        return core::MakeError(label + ": " + ok.message(), 400);
      }
      if (auto ok = CheckToxicForProtocol(toxic, protocol); !ok) {
        return core::MakeError(label + ": " + ok.message(), 400);
      }
      if (FindToxic(set, toxic.name)) {
        return core::MakeError("toxic '" + toxic.name + "' appears twice", 400);
      }
      set.For(toxic.stream).push_back(std::move(toxic));
    }
    return set;
  }

  static ToxicSpec* FindToxic(ToxicSet& set, std::string_view name) {
    for (Stream stream : {Stream::kUpstream, Stream::kDownstream}) {
      for (ToxicSpec& t : set.For(stream)) {
        if (t.name == name) return &t;
      }
    }
    return nullptr;
  }

  std::shared_ptr<ProxyInstance> Find(std::string_view name) const {
    auto it = proxies_.find(std::string(name));
    return it == proxies_.end() ? nullptr : it->second;
  }

  static ProxyState State(const ProxyInstance& proxy) {
    ProxyState state{proxy.spec(), {}};
    state.spec.listen = proxy.listen_address();
    state.spec.enabled = proxy.running();
    const auto toxics = proxy.toxics();
    state.toxics = toxics->upstream;
    state.toxics.insert(state.toxics.end(), toxics->downstream.begin(), toxics->downstream.end());
    return state;
  }

  std::shared_ptr<prometheus::Registry> registry_;
  boost::asio::io_context control_{1};
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> control_guard_ =
      boost::asio::make_work_guard(control_);
  std::vector<std::unique_ptr<Worker>> workers_;
  EventLog events_;
  HoldBoard holds_;
  Runtime runtime_;
  std::thread control_thread_;
  std::map<std::string, std::shared_ptr<ProxyInstance>, std::less<>> proxies_;
};

ProxyServer::ProxyServer(Options options) : impl_(std::make_unique<Impl>(std::move(options))) {}
ProxyServer::~ProxyServer() = default;

core::Result<ProxyState> ProxyServer::Create(ProxySpec spec, std::vector<ToxicSpec> toxics) {
  return impl_->OnControl([&] { return impl_->Create(std::move(spec), std::move(toxics)); });
}
core::Result<std::vector<ProxyState>> ProxyServer::Populate(std::vector<ProxyState> proxies) {
  return impl_->OnControl([&] { return impl_->Populate(std::move(proxies)); });
}
std::vector<ProxyState> ProxyServer::List() const {
  return impl_->OnControl([&] { return impl_->List(); });
}
core::Result<ProxyState> ProxyServer::Get(std::string_view name) const {
  return impl_->OnControl([&] { return impl_->Get(name); });
}
core::Result<ProxyState> ProxyServer::Update(std::string_view name, const ProxyPatch& patch) {
  return impl_->OnControl([&] { return impl_->Update(name, patch); });
}
core::Status ProxyServer::Delete(std::string_view name) {
  return impl_->OnControl([&] { return impl_->Delete(name); });
}
core::Status ProxyServer::Reset() {
  return impl_->OnControl([&] { return impl_->Reset(); });
}
core::Result<ToxicSpec> ProxyServer::AddToxic(std::string_view proxy, ToxicSpec toxic) {
  return impl_->OnControl([&] { return impl_->AddToxic(proxy, std::move(toxic)); });
}
core::Result<ToxicSpec> ProxyServer::UpdateToxic(std::string_view proxy, std::string_view toxic,
                                                 const ToxicPatch& patch) {
  return impl_->OnControl([&] { return impl_->UpdateToxic(proxy, toxic, patch); });
}
core::Status ProxyServer::RemoveToxic(std::string_view proxy, std::string_view toxic) {
  return impl_->OnControl([&] { return impl_->RemoveToxic(proxy, toxic); });
}
core::Result<std::vector<HoldInfo>> ProxyServer::ReleaseHold(
    std::string_view proxy, std::string_view hold, std::optional<std::uint64_t> connection,
    bool all) {
  return impl_->OnControl([&] { return impl_->ReleaseHold(proxy, hold, connection, all); });
}
std::vector<HoldInfo> ProxyServer::Holds() const { return impl_->holds().List(); }
HoldBoard& ProxyServer::holds() { return impl_->holds(); }
EventLog& ProxyServer::events() { return impl_->events(); }
std::uint64_t ProxyServer::seed() const { return impl_->seed(); }
prometheus::Registry& ProxyServer::metrics() const { return impl_->metrics(); }

}  // namespace faultline::proxy
