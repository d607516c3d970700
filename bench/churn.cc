// faultline-churn: toxics added, changed and removed through the API while traffic flows,
// against a real `faultline proxy` process. It is how a nemesis uses the proxy, and what
// the proxy must survive: in ./dev test for seconds, under the sanitizers, and for an hour
// in ./dev soak-proxy.
//
// Three proxies stand in front of one echo service, each with its own clients:
//   keep    only toxics that lose nothing (latency, bandwidth, slicer, hold, point, delay,
//           the connection delays, slow_close): every byte a client sends must come back,
//           in order, and the connection must stay up;
//   frames  line-framed drop, duplicate, reorder and delay, with resets and limits: every
//           whole line that comes back must be a line the client sent, intact;
//   chaos   every toxic, raw framing, stalls and timeouts, and the proxy disabled and
//           enabled again: only survival counts.
// API threads churn the toxics of all three as fast as the API answers. At the end the
// toxics are removed and the keep clients must receive everything they sent. Throughout,
// the proxy's RSS is sampled; at the end it must exit cleanly on SIGTERM with no sanitizer
// report in its output.

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>

#include "faultline/core/random.h"
#include "net.h"
#include "process.h"

namespace faultline::bench {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

struct Options {
  std::string faultline;
  double seconds = 20;
  int clients = 6;  // per proxy
  int api_threads = 3;
  unsigned threads = 2;
  long max_rss_mib = 512;
  std::uint64_t seed = 1;
  std::vector<std::string> types;  // only these toxic types (all when empty)
};

enum class Kind { kKeep, kFrames, kChaos };
constexpr Kind kKinds[] = {Kind::kKeep, Kind::kFrames, Kind::kChaos};

const char* NameOf(Kind kind) {
  switch (kind) {
    case Kind::kKeep:
      return "keep";
    case Kind::kFrames:
      return "frames";
    case Kind::kChaos:
      return "chaos";
  }
  return "";
}

// What went wrong, from any thread; the first few are kept for the report.
class Failures {
 public:
  void Add(std::string what) {
    std::lock_guard lock(mutex_);
    ++count_;
    if (list_.size() < 20) list_.push_back(std::move(what));
  }
  std::size_t count() const {
    std::lock_guard lock(mutex_);
    return count_;
  }
  std::vector<std::string> list() const {
    std::lock_guard lock(mutex_);
    return list_;
  }

 private:
  mutable std::mutex mutex_;
  std::size_t count_ = 0;
  std::vector<std::string> list_;
};

// The run's phases, in order: churn (toxics change), drain (toxics gone, keep clients collect
// what is still owed), done.
enum class Phase { kChurn, kDrain, kDone };

struct Shared {
  std::atomic<Phase> phase{Phase::kChurn};
  Failures failures;
  std::atomic<std::uint64_t> api_calls{0};
  std::atomic<std::uint64_t> bytes_sent{0};
  std::atomic<std::uint64_t> bytes_received{0};
  std::atomic<std::uint64_t> lines_verified{0};
  std::atomic<std::uint64_t> reconnects{0};
  std::atomic<std::uint64_t> keep_clients_done{0};
  std::atomic<std::int64_t> api_max_us{0};
  std::atomic<std::uint64_t> api_slow{0};  // calls that took over a second
};

// ---------------------------------------------------------------------------------------
// The echo service: a thread per connection, blocking reads and writes.

class EchoService {
 public:
  EchoService() : listener_(Listen(0)) {
    acceptor_ = std::thread([this] { AcceptLoop(); });
  }
  ~EchoService() {
    stopping_ = true;
    ::shutdown(listener_.get(), SHUT_RDWR);
    acceptor_.join();
    std::unique_lock lock(mutex_);
    for (int fd : open_) ::shutdown(fd, SHUT_RDWR);
    if (!closed_.wait_for(lock, 10s, [this] { return open_.empty(); })) {
      std::cerr << "faultline-churn: " << open_.size() << " echo connections did not end\n";
    }
  }
  sockaddr_in address() const { return Loopback(LocalPort(listener_.get())); }

 private:
  void AcceptLoop() {
    while (!stopping_) {
      const int fd = ::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) {
        if (errno == EINTR || errno == ECONNABORTED) continue;
        if (stopping_) return;
        if (errno == EMFILE || errno == ENFILE) {
          std::this_thread::sleep_for(10ms);  // out of descriptors: wait for some to close
          continue;
        }
        return;
      }
      std::lock_guard lock(mutex_);
      open_.push_back(fd);
      // Detached: over an hour, thousands of connections come and go.
      std::thread([this, fd] { Echo(fd); }).detach();
    }
  }

  static bool SendAll(int fd, const char* data, std::size_t size) {
    while (size > 0) {
      const ssize_t n = ::send(fd, data, size, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      data += n;
      size -= static_cast<std::size_t>(n);
    }
    return true;
  }

  void Echo(int fd) {
    char buffer[16384];
    for (;;) {
      const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0 || !SendAll(fd, buffer, static_cast<std::size_t>(n))) break;
    }
    // Under the lock, so that the number is not reused before it leaves open_.
    std::lock_guard lock(mutex_);
    open_.erase(std::find(open_.begin(), open_.end(), fd));
    CloseWithReset(Fd(fd));
    closed_.notify_all();
  }

  Fd listener_;
  std::atomic<bool> stopping_{false};
  std::thread acceptor_;
  std::mutex mutex_;
  std::condition_variable closed_;
  std::vector<int> open_;
};

// ---------------------------------------------------------------------------------------
// Lines: "<client>.<seq>.<payload>.<hash>\n", so a line that comes back can be checked on its
// own, whatever happened around it.

std::uint32_t Fnv1a(std::string_view text) {
  std::uint32_t hash = 2166136261u;
  for (unsigned char c : text) hash = (hash ^ c) * 16777619u;
  return hash;
}

std::string MakeLine(int client, std::uint64_t seq, core::Rng& rng) {
  std::string line = std::to_string(client) + "." + std::to_string(seq) + ".";
  const auto length = rng.Below(120);
  for (std::uint64_t i = 0; i < length; ++i) line += static_cast<char>('a' + rng.Below(26));
  char hash[16];
  std::snprintf(hash, sizeof hash, ".%08x\n", Fnv1a(line));
  return line + hash;
}

// A whole line without its '\n': intact and from `client`, with a sequence number below
// `generated`, the count of lines it has made.
bool LineIsIntact(std::string_view line, int client, std::uint64_t generated) {
  const auto last_dot = line.rfind('.');
  if (last_dot == std::string_view::npos || line.size() - last_dot != 9) return false;
  char hash[9];
  std::snprintf(hash, sizeof hash, "%08x", Fnv1a(line.substr(0, last_dot)));
  if (line.substr(last_dot + 1) != hash) return false;
  const std::string prefix = std::to_string(client) + ".";
  if (!line.starts_with(prefix)) return false;
  const std::uint64_t seq = std::strtoull(line.data() + prefix.size(), nullptr, 10);
  return seq < generated;
}

// ---------------------------------------------------------------------------------------
// A client: one connection at a time, at most kWindow bytes in flight, checked as they return.

constexpr std::size_t kWindow = 64 << 10;

class Client {
 public:
  Client(Kind kind, sockaddr_in proxy, int id, std::uint64_t seed, Shared& shared)
      : kind_(kind), proxy_(proxy), id_(id), rng_(seed), shared_(shared) {}

  void Run() {
    while (shared_.phase.load() != Phase::kDone) {
      if (kind_ == Kind::kKeep && connected_once_) break;  // keep connections never end
      if (!RunConnection()) break;
      if (kind_ != Kind::kKeep) {
        shared_.reconnects++;
        std::this_thread::sleep_for(5ms);  // pacing: a refused connection must not spin
      }
    }
    if (kind_ == Kind::kKeep) shared_.keep_clients_done++;
  }

 private:
  std::string Where() const {
    return std::string(NameOf(kind_)) + " client " + std::to_string(id_);
  }

  void Fail(const std::string& what) { shared_.failures.Add(Where() + ": " + what); }

  // One connection, to its end; false: stop this client.
  bool RunConnection() {
    Fd fd = TryConnect(proxy_);
    struct ResetOnExit {
      Fd& fd;
      ~ResetOnExit() { CloseWithReset(std::move(fd)); }
    } reset_on_exit{fd};
    if (!fd.valid()) {
      if (kind_ == Kind::kKeep) {
        Fail(std::string("cannot connect: ") + std::strerror(errno));
        return false;
      }
      std::this_thread::sleep_for(10ms);  // the chaos proxy may be disabled just now
      return true;
    }
    connected_once_ = true;
    ::fcntl(fd.get(), F_SETFL, ::fcntl(fd.get(), F_GETFL) | O_NONBLOCK);
    std::string outgoing;         // generated, not yet sent
    std::string owed;             // keep: sent, not yet echoed (in order)
    std::size_t owed_offset = 0;  // keep: how much of `owed` has come back
    std::string partial;          // frames: the unfinished last line
    std::size_t in_flight = 0;    // sent minus received, for the window (frames, chaos)
    auto last_progress = Clock::now();
    const auto stall_limit = kind_ == Kind::kKeep ? 60s : 3s;
    std::optional<Clock::time_point> drain_deadline;
    char buffer[16384];
    for (;;) {
      const Phase phase = shared_.phase.load();
      if (phase == Phase::kDone) return false;
      if (phase == Phase::kDrain) {
        if (kind_ != Kind::kKeep) return false;
        if (!drain_deadline) drain_deadline = Clock::now() + 60s;
        if (owed_offset == owed.size() && outgoing.empty()) return false;  // all came back
        if (Clock::now() > *drain_deadline) {
          Fail(std::to_string(owed.size() - owed_offset) +
               " bytes sent never came back after the toxics were removed");
          return false;
        }
      }
      const std::size_t window_used = kind_ == Kind::kKeep ? owed.size() - owed_offset : in_flight;
      if (phase == Phase::kChurn && outgoing.empty() && window_used < kWindow) {
        while (outgoing.size() < 4096) outgoing += MakeLine(id_, next_seq_++, rng_);
      }
      pollfd p{fd.get(), static_cast<short>(POLLIN | (outgoing.empty() ? 0 : POLLOUT)), 0};
      const int ready = ::poll(&p, 1, 100);
      if (ready < 0 && errno != EINTR) {
        Fail(std::string("poll: ") + std::strerror(errno));
        return false;
      }
      if (p.revents & POLLOUT) {
        const ssize_t n = ::send(fd.get(), outgoing.data(), outgoing.size(), MSG_NOSIGNAL);
        if (n > 0) {
          if (kind_ == Kind::kKeep) owed.append(outgoing, 0, static_cast<std::size_t>(n));
          in_flight += static_cast<std::size_t>(n);
          shared_.bytes_sent += static_cast<std::uint64_t>(n);
          outgoing.erase(0, static_cast<std::size_t>(n));
        } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
          return Ended(std::string("send: ") + std::strerror(errno));
        }
      }
      if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
        const ssize_t n = ::recv(fd.get(), buffer, sizeof buffer, 0);
        if (n == 0) return Ended("the proxy closed the connection");
        if (n < 0 && errno != EAGAIN && errno != EINTR) {
          return Ended(std::string("recv: ") + std::strerror(errno));
        }
        if (n > 0) {
          const std::string_view got(buffer, static_cast<std::size_t>(n));
          last_progress = Clock::now();
          shared_.bytes_received += got.size();
          in_flight -= std::min(in_flight, got.size());
          if (kind_ == Kind::kKeep) {
            if (owed.compare(owed_offset, got.size(), got) != 0) {
              std::size_t at = 0;
              while (at < got.size() && owed[owed_offset + at] == got[at]) ++at;
              const auto show = [](std::string_view text) {
                std::string shown(text.substr(0, 60));
                std::replace(shown.begin(), shown.end(), '\n', '|');
                return shown;
              };
              Fail("bytes came back changed at offset " + std::to_string(received_total_ + at) +
                   ": expected '" + show(std::string_view(owed).substr(owed_offset + at)) +
                   "', got '" + show(got.substr(at)) + "'");
              return false;
            }
            owed_offset += got.size();
            received_total_ += got.size();
            shared_.lines_verified +=
                static_cast<std::uint64_t>(std::count(got.begin(), got.end(), '\n'));
            if (owed_offset > (1 << 20)) {  // forget what has been checked
              owed.erase(0, owed_offset);
              owed_offset = 0;
            }
          } else if (kind_ == Kind::kFrames) {
            partial.append(got);
            std::size_t start = 0;
            for (auto nl = partial.find('\n'); nl != std::string::npos;
                 nl = partial.find('\n', start)) {
              const std::string_view line(partial.data() + start, nl - start);
              if (!LineIsIntact(line, id_, next_seq_)) {
                Fail("a line came back that was never sent: '" + std::string(line.substr(0, 80)) +
                     "'");
                return false;
              }
              shared_.lines_verified++;
              start = nl + 1;
            }
            partial.erase(0, start);
          }
        }
      }
      if (Clock::now() - last_progress > stall_limit && window_used > 0) {
        if (kind_ == Kind::kKeep) {
          Fail("nothing came back for " + std::to_string(stall_limit.count()) + " s");
          return false;
        }
        return true;  // a stalled chaos or frames connection: start another one
      }
    }
  }

  // The connection ended under the client: expected on frames and chaos, a failure on keep.
  bool Ended(const std::string& how) {
    if (kind_ == Kind::kKeep) {
      Fail(how);
      return false;
    }
    return true;
  }

  Kind kind_;
  sockaddr_in proxy_;
  int id_;
  core::Rng rng_;
  Shared& shared_;
  std::uint64_t next_seq_ = 0;
  std::uint64_t received_total_ = 0;
  bool connected_once_ = false;
};

// ---------------------------------------------------------------------------------------
// The API side: each thread adds, changes and removes toxics of its own.

std::string Pick(core::Rng& rng, std::initializer_list<const char*> choices) {
  return *(choices.begin() + rng.Below(choices.size()));
}

std::string Int(core::Rng& rng, std::int64_t lo, std::int64_t hi) {
  return std::to_string(rng.Between(lo, hi));
}

// The toxic types each proxy's API churn draws from.
std::vector<std::string> TypesFor(Kind kind) {
  switch (kind) {
    case Kind::kKeep:
      return {"latency", "bandwidth",    "slicer",        "hold",      "point",
              "delay",   "accept_delay", "connect_delay", "slow_close"};
    case Kind::kFrames:
      return {"drop",   "duplicate",  "reorder",    "delay", "latency",
              "slicer", "reset_peer", "limit_data", "hold",  "connect_refuse"};
    case Kind::kChaos:
      return {"latency",    "bandwidth",     "slow_close",     "timeout",
              "reset_peer", "slicer",        "limit_data",     "reorder",
              "hold",       "point",         "duplicate",      "drop",
              "delay",      "connect_delay", "connect_refuse", "accept_delay"};
  }
  return {};
}

// A toxic body of `type` for `kind`'s proxy, its attributes drawn from `rng`. Attribute values
// keep keep's toxics from stalling a direction for long (a hold times out within 200 ms).
std::string RandomToxic(Kind kind, core::Rng& rng, const std::string& name,
                        const std::string& keep_point, const std::string& type) {
  std::string attributes;
  const std::string line_framing = R"("framing":"line",)";
  const bool chaos = kind == Kind::kChaos;
  const std::string framing = chaos ? Pick(rng, {R"("framing":"raw",)", R"("framing":"line",)",
                                                 R"("framing":"fixed","frame_size":7,)"})
                                    : line_framing;
  if (type == "latency") {
    attributes = R"("latency":)" + Int(rng, 0, 20) + R"(,"jitter":)" + Int(rng, 0, 5);
  } else if (type == "bandwidth") {
    attributes = R"("rate":)" + (chaos ? Int(rng, 0, 2000) : Int(rng, 100, 5000));
  } else if (type == "slow_close") {
    attributes = R"("delay":)" + Int(rng, 0, 50);
  } else if (type == "timeout") {
    attributes = R"("timeout":)" + Int(rng, 0, 200);
  } else if (type == "reset_peer") {
    attributes = R"("timeout":)" + Int(rng, 0, 300);
  } else if (type == "slicer") {
    const auto average = rng.Between(chaos ? 1 : 64, 256);
    attributes = R"("average_size":)" + std::to_string(average) + R"(,"size_variation":)" +
                 std::to_string(rng.Below(static_cast<std::uint64_t>(average))) + R"(,"delay":)" +
                 Int(rng, 0, chaos ? 1000 : 100);
  } else if (type == "limit_data") {
    attributes = R"("bytes":)" + Int(rng, 1, 200000);
  } else if (type == "reorder") {
    attributes = framing + R"("window":)" + Int(rng, 2, 8) + R"(,"max_wait":)" + Int(rng, 1, 50);
  } else if (type == "hold") {
    attributes = framing + R"("frame":)" + Int(rng, 1, 50) + R"(,"timeout":)" + Int(rng, 1, 200);
    if (kind == Kind::kKeep && !keep_point.empty() && rng.Below(2) == 0) {
      attributes += R"(,"release_on":"keep/)" + keep_point + R"(")";
    }
  } else if (type == "point") {
    attributes = framing + R"("frame":)" + Int(rng, 1, 50);
  } else if (type == "duplicate") {
    attributes =
        framing + R"("probability":0.)" + Int(rng, 0, 9) + R"(,"copies":)" + Int(rng, 1, 3);
  } else if (type == "drop") {
    attributes = framing + R"("probability":0.)" + Int(rng, 0, 9);
  } else if (type == "delay") {
    attributes =
        framing + R"("probability":0.)" + Int(rng, 0, 9) + R"(,"delay":)" + Int(rng, 0, 20);
  } else if (type == "connect_delay" || type == "accept_delay") {
    attributes = R"("delay":)" + Int(rng, 0, 50);
  }
  const std::string stream = rng.Below(2) == 0 ? "upstream" : "downstream";
  const std::string toxicity = rng.Below(4) == 0 ? "0.5" : "1";
  return R"({"name":")" + name + R"(","type":")" + type + R"(","stream":")" + stream +
         R"(","toxicity":)" + toxicity + R"(,"attributes":{)" + attributes + "}}";
}

class ApiChurner {
 public:
  ApiChurner(sockaddr_in api, int id, std::uint64_t seed, const std::vector<std::string>& only,
             Shared& shared)
      : api_(api), id_(id), rng_(seed), shared_(shared) {
    for (Kind kind : kKinds) {
      for (std::string& type : TypesFor(kind)) {
        if (only.empty() || std::find(only.begin(), only.end(), type) != only.end()) {
          types_[static_cast<int>(kind)].push_back(std::move(type));
        }
      }
    }
  }

  // Until the churn ends, or the API stops answering (the proxy's fate is then told by the
  // main thread, which watches the process).
  void Run() {
    while (shared_.phase.load() == Phase::kChurn && !unanswered_) Step();
  }

 private:
  struct Owned {
    Kind kind;
    std::string name;
    std::string type;
  };

  // Any answer outside `expected` is a failure of the proxy's API.
  HttpReply Call(std::string_view method, const std::string& path, const std::string& body,
                 std::initializer_list<int> expected) {
    const auto start = Clock::now();
    HttpReply reply = TryHttpCall(api_, method, path, body);
    if (reply.status == 0) {
      shared_.failures.Add("API thread " + std::to_string(id_) + ": " + reply.error);
      unanswered_ = true;
      return reply;
    }
    const auto took =
        std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start).count();
    shared_.api_calls++;
    if (took > 1'000'000) shared_.api_slow++;
    for (auto max = shared_.api_max_us.load(); took > max;) {
      if (shared_.api_max_us.compare_exchange_weak(max, took)) break;
    }
    if (std::find(expected.begin(), expected.end(), reply.status) == expected.end()) {
      shared_.failures.Add("API " + std::string(method) + " " + path + " " + body + ": HTTP " +
                           std::to_string(reply.status) + " " + reply.body);
    }
    return reply;
  }

  void Step() {
    const Kind kind = kKinds[rng_.Below(3)];
    const std::string proxy = NameOf(kind);
    const auto roll = rng_.Below(100);
    std::vector<std::size_t> mine;
    for (std::size_t i = 0; i < owned_.size(); ++i) {
      if (owned_[i].kind == kind) mine.push_back(i);
    }
    if (roll < 4 && kind == Kind::kChaos) {
      chaos_enabled_ = !chaos_enabled_;
      Call("POST", "/proxies/chaos",
           chaos_enabled_ ? R"({"enabled":true})" : R"({"enabled":false})", {200});
      return;
    }
    if (roll < 8) {
      Call("GET", rng_.Below(2) == 0 ? "/proxies" : "/events?limit=50", "", {200});
      return;
    }
    if (roll < 12 && !mine.empty()) {
      const Owned& toxic = owned_[mine[rng_.Below(mine.size())]];
      if (toxic.type == "hold") {
        Call("POST", "/proxies/" + proxy + "/holds/" + toxic.name + "/release?all=1", "",
             {200, 409});
        return;
      }
    }
    if (mine.size() < 3 && (mine.empty() || roll < 55)) {
      const std::string name = "t" + std::to_string(id_) + "_" + std::to_string(next_++);
      std::string keep_point;
      for (const Owned& o : owned_) {
        if (o.kind == Kind::kKeep && o.type == "point") keep_point = o.name;
      }
      const auto& types = types_[static_cast<int>(kind)];
      if (types.empty()) return;
      const std::string body =
          RandomToxic(kind, rng_, name, keep_point, types[rng_.Below(types.size())]);
      const HttpReply reply = Call("POST", "/proxies/" + proxy + "/toxics", body, {200});
      if (reply.status == 200) owned_.push_back({kind, name, JsonString(body, "type")});
      return;
    }
    if (mine.empty()) return;
    const std::size_t index = mine[rng_.Below(mine.size())];
    const Owned toxic = owned_[index];
    if (roll < 80) {
      // The same type with new attributes; stream and toxicity are kept by the server.
      const std::string body = RandomToxic(kind, rng_, toxic.name, "", toxic.type);
      const auto attributes = body.find(R"("attributes")");
      Call("POST", "/proxies/" + proxy + "/toxics/" + toxic.name,
           "{" + body.substr(attributes, body.size() - attributes - 1) + "}", {200});
      return;
    }
    Call("DELETE", "/proxies/" + proxy + "/toxics/" + toxic.name, "", {204});
    owned_.erase(owned_.begin() + static_cast<std::ptrdiff_t>(index));
  }

  sockaddr_in api_;
  int id_;
  core::Rng rng_;
  Shared& shared_;
  std::vector<Owned> owned_;
  std::vector<std::string> types_[3];  // by Kind
  std::uint64_t next_ = 0;
  bool chaos_enabled_ = true;
  bool unanswered_ = false;
};

// ---------------------------------------------------------------------------------------

std::string Mib(double bytes) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f", bytes / (1 << 20));
  return text;
}

int Run(const Options& options) {
  InstallChildCleanup();
  EchoService echo;
  Child proxy = Child::Spawn({options.faultline, "proxy", "--host", "127.0.0.1", "--port", "0",
                              "--threads", std::to_string(options.threads), "--seed", "1"},
                             "faultline proxy");
  const std::string banner = proxy.WaitForLine("API on http://", 60s);
  const auto begin = banner.find("http://") + 7;
  const sockaddr_in api = ParseLoopback(banner.substr(begin, banner.find(',', begin) - begin));

  std::vector<sockaddr_in> listen;
  for (Kind kind : kKinds) {
    const HttpReply reply =
        HttpCall(api, "POST", "/proxies",
                 R"({"name":")" + std::string(NameOf(kind)) +
                     R"(","listen":"127.0.0.1:0","upstream":")" + Format(echo.address()) + R"("})");
    if (reply.status != 201) Die("creating proxy " + std::string(NameOf(kind)) + ": " + reply.body);
    listen.push_back(ParseLoopback(JsonString(reply.body, "listen")));
  }

  std::cout << "churn: " << options.seconds << " s, " << options.clients
            << " clients on each of keep, frames and chaos, " << options.api_threads
            << " API threads, proxy pid " << proxy.pid() << std::endl;
  Shared shared;
  std::vector<std::thread> threads;
  int client_id = 0;
  for (std::size_t k = 0; k < 3; ++k) {
    for (int i = 0; i < options.clients; ++i) {
      const int id = client_id++;
      threads.emplace_back([&, k, id] {
        Client(kKinds[k], listen[k], id, core::DeriveSeed(options.seed, {"client", id}), shared)
            .Run();
      });
    }
  }
  std::vector<std::thread> churners;
  for (int i = 0; i < options.api_threads; ++i) {
    churners.emplace_back([&, i] {
      ApiChurner(api, i, core::DeriveSeed(options.seed, {"api", i}), options.types, shared).Run();
    });
  }

  // Watch the proxy: alive, and its memory, by quarter of the run.
  const auto start = Clock::now();
  const auto length = std::chrono::duration<double>(options.seconds);
  long rss_max[4] = {0, 0, 0, 0};
  auto next_report = start + std::chrono::duration_cast<Clock::duration>(length / 10);
  while (Clock::now() - start < length) {
    proxy.CheckRunning();
    const double fraction = std::chrono::duration<double>(Clock::now() - start) / length;
    const int quarter = std::min(3, static_cast<int>(fraction * 4));
    rss_max[quarter] = std::max(rss_max[quarter], ReadRssKib(proxy.pid()));
    if (Clock::now() >= next_report) {
      std::cout << "churn: " << static_cast<int>(fraction * 100 + 0.5) << "%, "
                << shared.api_calls.load() << " API calls, "
                << Mib(static_cast<double>(shared.bytes_received.load())) << " MiB echoed, "
                << shared.reconnects.load() << " reconnects, RSS "
                << Mib(static_cast<double>(rss_max[quarter]) * 1024) << " MiB, "
                << shared.failures.count() << " failures" << std::endl;
      next_report += std::chrono::duration_cast<Clock::duration>(length / 10);
    }
    std::this_thread::sleep_for(250ms);
  }

  // Drain: no toxic left, and every keep client gets back what it sent.
  shared.phase = Phase::kDrain;
  for (auto& t : churners) t.join();
  const HttpReply reset = TryHttpCall(api, "POST", "/reset", "");
  if (reset.status != 204) {
    shared.failures.Add("POST /reset: " +
                        (reset.status == 0 ? reset.error : "HTTP " + std::to_string(reset.status)));
  }
  const auto drain_start = Clock::now();
  while (shared.keep_clients_done.load() < static_cast<std::uint64_t>(options.clients) &&
         Clock::now() - drain_start < 90s) {
    proxy.CheckRunning();
    std::this_thread::sleep_for(50ms);
  }
  shared.phase = Phase::kDone;
  for (auto& t : threads) t.join();
  proxy.CheckRunning();
  const long rss_end = ReadRssKib(proxy.pid());

  const int status = proxy.Stop(30s);
  const std::string log = proxy.Log();
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    shared.failures.Add("faultline proxy " + DescribeStatus(status) + " on SIGTERM");
  }
  for (const char* marker : {"Sanitizer", "runtime error:", "double free", "corrupt"}) {
    if (log.find(marker) != std::string::npos) {
      shared.failures.Add(std::string("the proxy's output has '") + marker + "'");
    }
  }

  std::cout << "\n| measurement | value |\n|---|---:|\n"
            << "| run (s) | " << options.seconds << " |\n"
            << "| API calls | " << shared.api_calls.load() << " |\n"
            << "| MiB sent | " << Mib(static_cast<double>(shared.bytes_sent.load())) << " |\n"
            << "| MiB echoed | " << Mib(static_cast<double>(shared.bytes_received.load())) << " |\n"
            << "| lines verified | " << shared.lines_verified.load() << " |\n"
            << "| reconnects (frames, chaos) | " << shared.reconnects.load() << " |\n"
            << "| slowest API call (ms) | " << shared.api_max_us.load() / 1000 << " |\n"
            << "| API calls over 1 s | " << shared.api_slow.load() << " |\n";
  for (int q = 0; q < 4; ++q) {
    std::cout << "| proxy RSS max, quarter " << q + 1 << " (MiB) | "
              << Mib(static_cast<double>(rss_max[q]) * 1024) << " |\n";
  }
  std::cout << "| proxy RSS after the drain (MiB) | " << Mib(static_cast<double>(rss_end) * 1024)
            << " |\n\n";
  const long rss_peak = *std::max_element(std::begin(rss_max), std::end(rss_max));
  if (rss_peak > options.max_rss_mib * 1024) {
    shared.failures.Add("proxy RSS reached " + Mib(static_cast<double>(rss_peak) * 1024) +
                        " MiB (limit " + std::to_string(options.max_rss_mib) + " MiB)");
  }
  // Changing a toxic waits for the connections a bounded time (2 s), and calls from the API
  // threads queue behind each other: on a loaded machine a few seconds, never a hang.
  if (shared.api_max_us.load() > 15'000'000) {
    shared.failures.Add("an API call took " + std::to_string(shared.api_max_us.load() / 1000) +
                        " ms");
  }
  if (shared.lines_verified.load() == 0) shared.failures.Add("no line was verified at all");
  if (shared.failures.count() > 0) {
    // The failures come last, where a log cut to its end still shows them; the proxy's
    // output before them, its start (a sanitizer's first report) and its end.
    std::cout << "the proxy's output:\n";
    if (log.size() <= 20000) {
      std::cout << log;
    } else {
      std::cout << log.substr(0, 12000) << "\n[... " << log.size() - 20000 << " bytes ...]\n"
                << log.substr(log.size() - 8000);
    }
    std::cout << "\nchurn: FAILED, " << shared.failures.count() << " failures:\n";
    for (const std::string& f : shared.failures.list()) std::cout << "  " << f << "\n";
    std::cout << std::flush;
    return 1;
  }
  std::cout << "churn: passed" << std::endl;
  return 0;
}

}  // namespace
}  // namespace faultline::bench

int main(int argc, char** argv) {
  ::signal(SIGPIPE, SIG_IGN);
  faultline::bench::Options options;
  CLI::App app{
      "faultline-churn: clients stream through three proxies of a `faultline proxy` while API "
      "threads add, change and remove every toxic type; checks that the proxy survives, loses "
      "no byte a toxic did not drop, corrupts none, stays within its memory, and exits cleanly"};
  app.add_option("--faultline", options.faultline, "Path of the faultline executable")
      ->required()
      ->check(CLI::ExistingFile);
  app.add_option("--seconds", options.seconds, "How long toxics churn")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--clients", options.clients, "Clients on each of the three proxies")
      ->check(CLI::Range(1, 200))
      ->capture_default_str();
  app.add_option("--api-threads", options.api_threads, "Threads changing toxics")
      ->check(CLI::Range(1, 32))
      ->capture_default_str();
  app.add_option("--threads", options.threads, "The proxy's data-path threads")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  app.add_option("--max-rss-mib", options.max_rss_mib, "Fail if the proxy's RSS exceeds this")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--seed", options.seed, "Seed for the clients' data and the API's choices")
      ->capture_default_str();
  app.add_option("--types", options.types,
                 "Churn only these toxic types (to narrow down a failure); default: all")
      ->delimiter(',');
  CLI11_PARSE(app, argc, argv);
  return faultline::bench::Run(options);
}
