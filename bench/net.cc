#include "net.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <deque>
#include <iterator>
#include <list>
#include <memory>
#include <optional>
#include <thread>

#include "process.h"

namespace faultline::bench {
namespace {

using Clock = std::chrono::steady_clock;

constexpr std::size_t kServerBuffer = 256 << 10;
constexpr std::size_t kRelayBuffer = 64 << 10;
// A reply that takes this long means the target is stuck, not slow.
constexpr int kStallMs = 10'000;

std::string Errno(std::string_view what) { return std::string(what) + ": " + std::strerror(errno); }

void SetNonBlocking(int fd) {
  if (::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK) < 0) Die(Errno("fcntl"));
}

void SetReceiveTimeout(int fd, int seconds) {
  timeval tv{seconds, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
}

// Sends all of it; false, with errno set, if the socket failed first.
bool TrySendAll(int fd, const char* data, std::size_t size) {
  while (size > 0) {
    const ssize_t n = ::send(fd, data, size, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data += n;
    size -= static_cast<std::size_t>(n);
  }
  return true;
}

void SendAll(int fd, const char* data, std::size_t size, std::string_view what) {
  if (!TrySendAll(fd, data, size)) Die(Errno(what));
}

// Reads exactly `size` bytes; dies on EOF, error or timeout.
void ReceiveAll(int fd, char* data, std::size_t size, std::string_view what) {
  while (size > 0) {
    const ssize_t n = ::recv(fd, data, size, 0);
    if (n == 0) Die(std::string(what) + ": the connection closed early");
    if (n < 0) {
      if (errno == EINTR) continue;
      Die(Errno(what));
    }
    data += n;
    size -= static_cast<std::size_t>(n);
  }
}

}  // namespace

void Fd::Reset() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

sockaddr_in Loopback(std::uint16_t port) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return address;
}

sockaddr_in ParseLoopback(std::string_view host_port) {
  const auto colon = host_port.rfind(':');
  if (colon == std::string_view::npos) Die("'" + std::string(host_port) + "' is not host:port");
  std::string host(host_port.substr(0, colon));
  const std::string_view port_text = host_port.substr(colon + 1);
  unsigned port = 0;
  auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc() || end != port_text.data() + port_text.size() || port == 0 ||
      port > 65535) {
    Die("'" + std::string(host_port) + "' has no valid port");
  }
  if (host == "localhost") host = "127.0.0.1";
  sockaddr_in address = Loopback(static_cast<std::uint16_t>(port));
  if (::inet_pton(AF_INET, host.c_str(), &address.sin_addr) != 1 ||
      (ntohl(address.sin_addr.s_addr) >> 24) != 127) {
    Die("'" + std::string(host_port) +
        "' is not a loopback address; the benchmark only uses 127.0.0.0/8");
  }
  return address;
}

std::string Format(const sockaddr_in& address) {
  char host[INET_ADDRSTRLEN];
  ::inet_ntop(AF_INET, &address.sin_addr, host, sizeof host);
  return std::string(host) + ":" + std::to_string(ntohs(address.sin_port));
}

Fd TryConnect(const sockaddr_in& address) {
  Fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return fd;
  const int one = 1;
  ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  int rc;
  do {
    rc = ::connect(fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address);
  } while (rc < 0 && errno == EINTR);
  if (rc < 0) {
    const int saved = errno;
    fd.Reset();
    errno = saved;
  }
  return fd;
}

Fd Connect(const sockaddr_in& address) {
  Fd fd = TryConnect(address);
  if (!fd.valid()) Die(Errno("connect to " + Format(address)));
  return fd;
}

Fd Listen(std::uint16_t port) {
  Fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) Die(Errno("socket"));
  const int one = 1;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  const sockaddr_in address = Loopback(port);
  if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) < 0) {
    Die(Errno("bind " + Format(address)));
  }
  if (::listen(fd.get(), SOMAXCONN) < 0) Die(Errno("listen"));
  return fd;
}

std::uint16_t LocalPort(int fd) {
  sockaddr_in address{};
  socklen_t length = sizeof address;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) < 0) {
    Die(Errno("getsockname"));
  }
  return ntohs(address.sin_port);
}

std::vector<std::uint16_t> FreePorts(int count) {
  // All bound at once, so the ports are distinct.
  std::vector<Fd> held;
  std::vector<std::uint16_t> ports;
  for (int i = 0; i < count; ++i) {
    held.push_back(Listen(0));
    ports.push_back(LocalPort(held.back().get()));
  }
  return ports;
}

void CloseWithReset(Fd fd) {
  const linger abort{1, 0};
  if (fd.valid()) ::setsockopt(fd.get(), SOL_SOCKET, SO_LINGER, &abort, sizeof abort);
}

void CloseWithReset(std::vector<Fd>& fds) {
  for (Fd& fd : fds) CloseWithReset(std::move(fd));
  fds.clear();
}

namespace {

class Server {
 public:
  Server(Fd listener, const ServeOptions& options)
      : listener_(std::move(listener)),
        epoll_(::epoll_create1(EPOLL_CLOEXEC)),
        options_(options),
        buffer_(new char[kServerBuffer]) {
    if (!epoll_.valid()) Die(Errno("epoll_create1"));
    SetNonBlocking(listener_.get());
    Watch(EPOLL_CTL_ADD, listener_.get(), EPOLLIN);
    if (options_.delay.count() > 0) {
      // As the proxy's workers do: the floor must not carry timer slack the proxy avoids.
      ::prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
      timer_ = Fd(::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC));
      if (!timer_.valid()) Die(Errno("timerfd_create"));
      Watch(EPOLL_CTL_ADD, timer_.get(), EPOLLIN);
    }
  }

  [[noreturn]] void Run() {
    epoll_event events[256];
    for (;;) {
      const int ready = ::epoll_wait(epoll_.get(), events, 256, -1);
      if (ready < 0) {
        if (errno == EINTR) continue;
        Die(Errno("epoll_wait"));
      }
      for (int e = 0; e < ready; ++e) {
        const int fd = events[e].data.fd;
        if (fd == listener_.get()) {
          Accept();
        } else if (fd == timer_.get()) {
          ReleaseDue();
        } else {
          OnConnection(fd);
        }
      }
    }
  }

 private:
  struct Conn {
    std::vector<char> pending;  // reply bytes the socket did not take yet
    std::uint64_t received = 0;
    std::uint64_t generation = 0;  // tells a delayed reply that its fd was reused
  };
  struct Delayed {
    Clock::time_point due;
    int fd;
    std::uint64_t generation;
    std::vector<char> data;
  };

  void Watch(int op, int fd, std::uint32_t events) {
    epoll_event event{};
    event.events = events;
    event.data.fd = fd;
    if (::epoll_ctl(epoll_.get(), op, fd, &event) < 0) Die(Errno("epoll_ctl"));
  }

  void Accept() {
    for (;;) {
      const int fd = ::accept4(listener_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) return;  // EAGAIN, or out of fds: retried on the next wakeup
      const int one = 1;
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      if (static_cast<std::size_t>(fd) >= conns_.size()) conns_.resize(fd * 2 + 1);
      Watch(EPOLL_CTL_ADD, fd, EPOLLIN);
    }
  }

  void OnConnection(int fd) {
    Conn& conn = conns_[fd];
    if (!conn.pending.empty()) {
      if (Flush(fd) && conn.pending.empty()) Watch(EPOLL_CTL_MOD, fd, EPOLLIN);
      return;
    }
    const ssize_t n = ::recv(fd, buffer_.get(), kServerBuffer, MSG_DONTWAIT);
    if (n < 0) {
      if (errno != EAGAIN && errno != EINTR) Close(fd);
      return;
    }
    if (n == 0) {
      // The count is 8 bytes into an idle socket's empty send buffer: it always fits.
      if (options_.discard) ::send(fd, &conn.received, sizeof conn.received, MSG_NOSIGNAL);
      Close(fd);
      return;
    }
    if (options_.discard) {
      conn.received += static_cast<std::uint64_t>(n);
    } else if (timer_.valid()) {
      delayed_.push_back(Delayed{Clock::now() + options_.delay, fd, conn.generation,
                                 std::vector<char>(buffer_.get(), buffer_.get() + n)});
      if (delayed_.size() == 1) ArmTimer();
    } else {
      Reply(fd, buffer_.get(), static_cast<std::size_t>(n));
    }
  }

  void Reply(int fd, const char* data, std::size_t size) {
    std::vector<char>& pending = conns_[fd].pending;
    const bool idle = pending.empty();
    pending.insert(pending.end(), data, data + size);
    // Stop reading until the reply is out, so a fast sender cannot grow the buffer.
    if (idle && Flush(fd) && !pending.empty()) Watch(EPOLL_CTL_MOD, fd, EPOLLOUT);
  }

  // Returns false once the connection is closed.
  bool Flush(int fd) {
    std::vector<char>& pending = conns_[fd].pending;
    const ssize_t n = ::send(fd, pending.data(), pending.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0 && errno != EAGAIN && errno != EINTR) {
      Close(fd);
      return false;
    }
    pending.erase(pending.begin(), pending.begin() + std::max<ssize_t>(n, 0));
    return true;
  }

  void Close(int fd) {
    Conn& conn = conns_[fd];
    conn.pending.clear();
    conn.received = 0;
    ++conn.generation;
    ::close(fd);
  }

  // The delay is constant, so replies fall due in arrival order.
  void ReleaseDue() {
    std::uint64_t expirations;
    while (::read(timer_.get(), &expirations, sizeof expirations) > 0) {
    }
    const auto now = Clock::now();
    while (!delayed_.empty() && delayed_.front().due <= now) {
      const Delayed& front = delayed_.front();
      if (conns_[front.fd].generation == front.generation) {
        Reply(front.fd, front.data.data(), front.data.size());
      }
      delayed_.pop_front();
    }
    if (!delayed_.empty()) ArmTimer();
  }

  void ArmTimer() {
    // steady_clock is CLOCK_MONOTONIC on Linux.
    const auto since_boot = delayed_.front().due.time_since_epoch();
    const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(since_boot);
    itimerspec spec{};
    spec.it_value.tv_sec = seconds.count();
    spec.it_value.tv_nsec =
        std::chrono::duration_cast<std::chrono::nanoseconds>(since_boot - seconds).count();
    if (::timerfd_settime(timer_.get(), TFD_TIMER_ABSTIME, &spec, nullptr) < 0) {
      Die(Errno("timerfd_settime"));
    }
  }

  Fd listener_;
  Fd epoll_;
  Fd timer_;  // only with a delay
  ServeOptions options_;
  std::vector<Conn> conns_;  // indexed by fd
  std::unique_ptr<char[]> buffer_;
  std::deque<Delayed> delayed_;
};

}  // namespace

void Serve(Fd listener, const ServeOptions& options) { Server(std::move(listener), options).Run(); }

namespace {

// The yardstick relay. Each pair of sockets is copied both ways by recv into one buffer and
// send out of it; bytes the receiver's socket does not take wait on the pair, and the side
// they came from is not read until they are out, so a slow reader cannot grow the buffer.
class Relayer {
 public:
  Relayer(Fd listener, const sockaddr_in& upstream)
      : listener_(std::move(listener)),
        epoll_(::epoll_create1(EPOLL_CLOEXEC)),
        upstream_(upstream),
        buffer_(new char[kRelayBuffer]) {
    if (!epoll_.valid()) Die(Errno("epoll_create1"));
    SetNonBlocking(listener_.get());
    // Level-triggered, unlike the relayed sockets: a client left in the backlog when an
    // accept fails (out of descriptors) brings another wakeup instead of waiting for the next.
    epoll_event event{};
    event.events = EPOLLIN;
    event.data.ptr = nullptr;
    if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, listener_.get(), &event) < 0) {
      Die(Errno("epoll_ctl"));
    }
  }

  [[noreturn]] void Run() {
    epoll_event events[256];
    for (;;) {
      const int ready = ::epoll_wait(epoll_.get(), events, 256, -1);
      if (ready < 0) {
        if (errno == EINTR) continue;
        Die(Errno("epoll_wait"));
      }
      for (int e = 0; e < ready; ++e) {
        if (events[e].data.ptr == nullptr) {
          Accept();
        } else {
          OnEvent(*static_cast<End*>(events[e].data.ptr), events[e].events);
        }
      }
      // Only now: events later in the batch may still have pointed at a closed pair.
      closed_.clear();
    }
  }

 private:
  struct Pair;
  struct End {
    Fd fd;
    End* peer = nullptr;
    Pair* pair = nullptr;
    std::vector<char> unsent;  // read from the peer, not yet taken by this socket
    // The peer hung up: read on past short reads, as no further edge will announce the EOF.
    bool hangup = false;
  };
  struct Pair {
    End client;
    End server;
    bool closed = false;
    std::list<Pair>::iterator self;
  };

  void Accept() {
    for (;;) {
      Fd client(::accept4(listener_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
      if (!client.valid()) return;
      // A blocking connect completes at once on loopback, and no round trip is timed before
      // the client's connect has returned.
      Fd server = TryConnect(upstream_);
      if (!server.valid()) continue;  // the client sees its connection closed
      SetNonBlocking(server.get());
      const int one = 1;
      ::setsockopt(client.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);

      Pair& pair = pairs_.emplace_back();
      pair.self = std::prev(pairs_.end());
      pair.client.fd = std::move(client);
      pair.server.fd = std::move(server);
      for (auto [end, peer] :
           {std::pair{&pair.client, &pair.server}, {&pair.server, &pair.client}}) {
        end->peer = peer;
        end->pair = &pair;
        epoll_event event{};
        event.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
        event.data.ptr = end;
        if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, end->fd.get(), &event) < 0) {
          Die(Errno("epoll_ctl"));
        }
      }
    }
  }

  void OnEvent(End& end, std::uint32_t events) {
    if (end.pair->closed) return;
    if (events & EPOLLERR) {
      Close(*end.pair);
      return;
    }
    if (events & (EPOLLRDHUP | EPOLLHUP)) end.hangup = true;
    if ((events & EPOLLOUT) && !end.unsent.empty()) {
      const ssize_t sent = Send(end, end.unsent.data(), end.unsent.size());
      if (sent < 0) return;
      end.unsent.erase(end.unsent.begin(), end.unsent.begin() + sent);
      // The peer was left unread while these bytes waited; its edge has passed.
      if (end.unsent.empty()) Pump(*end.peer);
    }
    if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP)) Pump(end);
  }

  // Copies from `from` to its peer until `from` is drained or the peer's socket is full.
  void Pump(End& from) {
    End& to = *from.peer;
    while (!from.pair->closed && to.unsent.empty()) {
      const ssize_t n = ::recv(from.fd.get(), buffer_.get(), kRelayBuffer, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno == EAGAIN) return;
      if (n <= 0) {
        Close(*from.pair);
        return;
      }
      const ssize_t sent = Send(to, buffer_.get(), static_cast<std::size_t>(n));
      if (sent < 0) return;
      to.unsent.assign(buffer_.get() + sent, buffer_.get() + n);
      // A short read took all there was: the next bytes bring a new edge. Saves the recv
      // that would only say EAGAIN, a syscall on every round trip.
      if (static_cast<std::size_t>(n) < kRelayBuffer && !from.hangup) return;
    }
  }

  // What the socket took, 0 if it is full; -1 once the pair is closed for an error.
  ssize_t Send(End& to, const char* data, std::size_t size) {
    ssize_t n;
    do {
      n = ::send(to.fd.get(), data, size, MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    if (n >= 0 || errno == EAGAIN) return std::max<ssize_t>(n, 0);
    Close(*to.pair);
    return -1;
  }

  void Close(Pair& pair) {
    pair.closed = true;
    pair.client.fd.Reset();  // closing the only descriptor also leaves the epoll set
    pair.server.fd.Reset();
    closed_.splice(closed_.end(), pairs_, pair.self);
  }

  Fd listener_;
  Fd epoll_;
  sockaddr_in upstream_;
  std::unique_ptr<char[]> buffer_;
  std::list<Pair> pairs_;   // list: epoll holds pointers to the ends
  std::list<Pair> closed_;  // freed after the batch of events that closed them
};

}  // namespace

void Relay(Fd listener, sockaddr_in upstream) { Relayer(std::move(listener), upstream).Run(); }

std::vector<double> RunClosedLoop(std::span<Fd> fds, int count, int warmup, int size,
                                  std::chrono::microseconds stagger) {
  Fd epoll(::epoll_create1(EPOLL_CLOEXEC));
  if (!epoll.valid()) Die(Errno("epoll_create1"));
  for (std::size_t i = 0; i < fds.size(); ++i) {
    SetNonBlocking(fds[i].get());
    epoll_event event{};
    event.events = EPOLLIN;
    event.data.u64 = i;
    if (::epoll_ctl(epoll.get(), EPOLL_CTL_ADD, fds[i].get(), &event) < 0) {
      Die(Errno("epoll_ctl"));
    }
  }

  struct Outstanding {
    Clock::time_point sent;
    int received = 0;
  };
  std::vector<Outstanding> state(fds.size());
  const std::vector<char> request(static_cast<std::size_t>(size), 'x');
  std::vector<char> reply(static_cast<std::size_t>(size));
  const int total = count + warmup;
  int issued = 0;
  int done = 0;
  std::vector<double> rtt_us;
  rtt_us.reserve(static_cast<std::size_t>(count));

  auto issue = [&](std::size_t i) {
    state[i] = Outstanding{Clock::now(), 0};
    // A request this small always fits an idle socket's send buffer.
    const ssize_t sent = ::send(fds[i].get(), request.data(), request.size(), MSG_NOSIGNAL);
    if (sent < 0) Die(Errno("send"));
    if (sent != size) Die("a request did not fit into the socket's send buffer");
    ++issued;
  };
  const auto start = Clock::now();
  for (std::size_t i = 0; i < fds.size() && issued < total; ++i) {
    std::this_thread::sleep_until(start + stagger * i / fds.size());
    issue(i);
  }

  epoll_event events[256];
  while (done < total) {
    const int ready = ::epoll_wait(epoll.get(), events, 256, kStallMs);
    if (ready == 0) Die("no reply within 10 s; the target stalled");
    if (ready < 0) {
      if (errno == EINTR) continue;
      Die(Errno("epoll_wait"));
    }
    // Every reply in this batch had arrived by now; stamping each after handling the ones
    // before it would charge our own processing to the target.
    const auto arrived = Clock::now();
    for (int e = 0; e < ready; ++e) {
      const std::size_t i = events[e].data.u64;
      Outstanding& out = state[i];
      const ssize_t n = ::recv(fds[i].get(), reply.data(), size - out.received, 0);
      if (n == 0) Die("the target closed a connection during the round trips");
      if (n < 0) {
        if (errno == EAGAIN || errno == EINTR) continue;
        Die(Errno("recv"));
      }
      out.received += static_cast<int>(n);
      if (out.received < size) continue;
      if (done++ >= warmup) {
        rtt_us.push_back(std::chrono::duration<double, std::micro>(arrived - out.sent).count());
      }
      if (issued < total) issue(i);
    }
  }
  return rtt_us;
}

std::vector<double> MeasureRoundTrips(const sockaddr_in& target, int conns, int count, int warmup,
                                      int size, std::chrono::microseconds stagger) {
  std::vector<Fd> fds;
  for (int i = 0; i < conns; ++i) fds.push_back(Connect(target));
  return RunClosedLoop(fds, count, warmup, size, stagger);
}

double MeasureThroughput(const sockaddr_in& target, std::uint64_t bytes, std::size_t write_size) {
  Fd fd = Connect(target);
  SetReceiveTimeout(fd.get(), 60);
  // A write and one line more, so that each send can start where the last one left off in
  // its line: with the same bytes each time, a write size that is not a multiple of the line
  // (1 MiB is not) would leave a longer line at every seam.
  std::vector<char> lines(write_size + kBulkLine, 'b');
  for (std::size_t end = kBulkLine - 1; end < lines.size(); end += kBulkLine) lines[end] = '\n';
  const auto start = Clock::now();
  for (std::uint64_t sent = 0; sent < bytes;) {
    const std::size_t size =
        static_cast<std::size_t>(std::min<std::uint64_t>(bytes - sent, write_size));
    SendAll(fd.get(), lines.data() + sent % kBulkLine, size, "bulk send");
    sent += size;
  }
  ::shutdown(fd.get(), SHUT_WR);
  std::uint64_t counted = 0;
  ReceiveAll(fd.get(), reinterpret_cast<char*>(&counted), sizeof counted, "bulk byte count");
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  if (counted != bytes) {
    Die("the discard server got " + std::to_string(counted) + " of " + std::to_string(bytes) +
        " bytes");
  }
  return static_cast<double>(bytes) / seconds / 1e6;
}

namespace {

// recv, and the kernel's receive timestamp of the last segment read if it gave one.
ssize_t ReceiveStamped(int fd, char* buffer, std::size_t size,
                       std::optional<std::chrono::system_clock::time_point>& arrival) {
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(timespec))];
  iovec data{buffer, size};
  msghdr message{};
  message.msg_iov = &data;
  message.msg_iovlen = 1;
  message.msg_control = control;
  message.msg_controllen = sizeof control;
  const ssize_t n = ::recvmsg(fd, &message, 0);
  arrival.reset();
  const cmsghdr* stamp = n > 0 ? CMSG_FIRSTHDR(&message) : nullptr;
  if (stamp != nullptr && stamp->cmsg_level == SOL_SOCKET && stamp->cmsg_type == SCM_TIMESTAMPNS) {
    timespec at;
    std::memcpy(&at, CMSG_DATA(stamp), sizeof at);
    arrival = std::chrono::system_clock::time_point(
        std::chrono::duration_cast<std::chrono::system_clock::duration>(
            std::chrono::seconds(at.tv_sec) + std::chrono::nanoseconds(at.tv_nsec)));
  }
  return n;
}

}  // namespace

LineService::LineService() : listener_(Listen(0)) {
  // Accepted sockets inherit the option. The kernel turns stamping on from a work queue a
  // moment after the first socket asks, and reads until then carry no time, so wait for a
  // test read that has one; the listener keeps it on from then on.
  const int one = 1;
  if (::setsockopt(listener_.get(), SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof one) < 0) {
    Die(Errno("SO_TIMESTAMPNS"));
  }
  for (const auto deadline = Clock::now() + std::chrono::seconds(2);;) {
    const Fd client = Connect(address());
    const Fd server = Accept();
    SendAll(client.get(), "x", 1, "line service self-test");
    char byte;
    std::optional<std::chrono::system_clock::time_point> arrival;
    if (ReceiveStamped(server.get(), &byte, 1, arrival) == 1 && arrival) break;
    if (Clock::now() > deadline) Die("the kernel gives no receive timestamps (SO_TIMESTAMPNS)");
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

sockaddr_in LineService::address() const { return Loopback(LocalPort(listener_.get())); }

Fd LineService::Accept() {
  pollfd ready{listener_.get(), POLLIN, 0};
  if (::poll(&ready, 1, kStallMs) != 1) Die("no connection to the line service within 10 s");
  Fd connection(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
  if (!connection.valid()) Die(Errno("accept"));
  return connection;
}

LineService::Line LineService::ReadLine(const Fd& connection) {
  Line line;
  char buffer[256];
  for (;;) {
    pollfd ready{connection.get(), POLLIN, 0};
    if (::poll(&ready, 1, kStallMs) != 1) Die("no line at the line service within 10 s");
    std::optional<std::chrono::system_clock::time_point> arrival;
    const ssize_t n = ReceiveStamped(connection.get(), buffer, sizeof buffer, arrival);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) Die(Errno("line service read"));
    if (n == 0) Die("a connection to the line service closed before its line");
    if (!arrival) Die("a read at the line service came without its arrival time");
    const std::string_view data(buffer, static_cast<std::size_t>(n));
    const auto newline = data.find('\n');
    line.text.append(data.substr(0, newline));
    if (newline == std::string_view::npos) continue;
    if (newline + 1 != data.size()) Die("more than one line on a connection to the line service");
    line.at = *arrival;
    return line;
  }
}

HttpReply TryHttpCall(const sockaddr_in& server, std::string_view method, std::string_view path,
                      std::string_view body) {
  HttpReply reply;
  const std::string call = std::string(method) + " " + std::string(path) + " on " + Format(server);
  Fd fd = TryConnect(server);
  if (!fd.valid()) {
    reply.error = Errno("connect for " + call);
    return reply;
  }
  SetReceiveTimeout(fd.get(), 10);
  std::string request =
      std::string(method) + " " + std::string(path) + " HTTP/1.1\r\nHost: " + Format(server) +
      "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
      "\r\nConnection: close\r\n\r\n";
  request += body;
  if (!TrySendAll(fd.get(), request.data(), request.size())) {
    reply.error = Errno("send for " + call);
    return reply;
  }
  std::string response;
  char buffer[4096];
  for (;;) {
    const ssize_t n = ::recv(fd.get(), buffer, sizeof buffer, 0);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      reply.error = Errno("response to " + call);
      return reply;
    }
    response.append(buffer, static_cast<std::size_t>(n));
  }
  const auto space = response.find(' ');
  const auto header_end = response.find("\r\n\r\n");
  if (space == std::string::npos || header_end == std::string::npos) {
    reply.error =
        "malformed response to " + call + " (" + std::to_string(response.size()) + " bytes)";
    return reply;
  }
  reply.status = std::atoi(response.c_str() + space + 1);
  reply.body = response.substr(header_end + 4);
  // The server closed first; a reset spares it the TIME_WAIT, so a loop of calls never runs
  // out of ports.
  CloseWithReset(std::move(fd));
  return reply;
}

HttpReply HttpCall(const sockaddr_in& server, std::string_view method, std::string_view path,
                   std::string_view body) {
  HttpReply reply = TryHttpCall(server, method, path, body);
  if (reply.status == 0) Die("API " + reply.error);
  return reply;
}

std::string JsonString(std::string_view json, std::string_view key) {
  const std::string quoted = "\"" + std::string(key) + "\"";
  auto at = json.find(quoted);
  if (at == std::string_view::npos) return "";
  at = json.find('"', json.find(':', at + quoted.size()));
  if (at == std::string_view::npos) return "";
  const auto end = json.find('"', at + 1);
  if (end == std::string_view::npos) return "";
  return std::string(json.substr(at + 1, end - at - 1));
}

double Percentile(std::vector<double>& values, double p) {
  if (values.empty()) return NAN;
  const auto rank = static_cast<std::size_t>(std::ceil(p * static_cast<double>(values.size())));
  const auto index = std::min(values.size() - 1, rank == 0 ? 0 : rank - 1);
  std::nth_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(index),
                   values.end());
  return values[index];
}

}  // namespace faultline::bench
