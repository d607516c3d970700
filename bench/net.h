#pragma once
// Loopback-only sockets for the benchmark: the echo and discard servers, the minimal relay,
// the closed-loop round-trip client, the bulk sender, a service that timestamps lines and a
// minimal HTTP client for the proxy API. Any address outside 127.0.0.0/8 is refused, so the
// benchmark never sends traffic off the host.

#include <netinet/in.h>

#include <chrono>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace faultline::bench {

// Owns a file descriptor.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  Fd& operator=(Fd&& other) noexcept {
    if (this != &other) {
      Reset();
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { Reset(); }

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  void Reset();

 private:
  int fd_ = -1;
};

// "127.x.y.z:PORT" or "localhost:PORT"; dies on anything else.
sockaddr_in ParseLoopback(std::string_view host_port);
sockaddr_in Loopback(std::uint16_t port);
std::string Format(const sockaddr_in& address);

// A blocking TCP connection with TCP_NODELAY; an invalid Fd (errno set) if it fails.
Fd TryConnect(const sockaddr_in& address);
Fd Connect(const sockaddr_in& address);  // dies on failure
Fd Listen(std::uint16_t port);           // 127.0.0.1:port; 0 picks a free port
std::uint16_t LocalPort(int fd);
// Ports that were free a moment ago, for servers (HAProxy) that cannot report their own.
std::vector<std::uint16_t> FreePorts(int count);
// Closes with an RST instead of a FIN so thousands of closes leave no TIME_WAIT behind.
void CloseWithReset(Fd fd);
void CloseWithReset(std::vector<Fd>& fds);

struct ServeOptions {
  // Read each connection to EOF, then reply with the byte count (8 bytes, host order) so
  // the sender knows every byte arrived. Otherwise echo what is read.
  bool discard = false;
  // Echo each read this much later, off one timerfd: the least a delay can cost on this
  // host, the yardstick for the proxy's latency toxic.
  std::chrono::microseconds delay{};
};

// Serves on listen_fd until the process is killed.
[[noreturn]] void Serve(Fd listen_fd, const ServeOptions& options);

// Relays every connection accepted on `listener` to `upstream` until the process is killed:
// one thread, edge-triggered epoll, recv and send, nothing else. What it adds to a round trip
// is the least a user-space proxy that sleeps in epoll_wait between messages can add on this
// host, the yardstick for the proxies; only busy polling, which never sleeps, can go below.
// Either side's EOF or error closes both; half-close is not forwarded.
[[noreturn]] void Relay(Fd listener, sockaddr_in upstream);

// Closed loop over connected sockets: each keeps one `size`-byte request outstanding until
// warmup + count round trips are done; returns the last `count` round trips in µs. The
// first requests are spread evenly over `stagger`: behind a fixed delay, connections that
// start together stay in lockstep, and every reply then queues behind the whole burst.
std::vector<double> RunClosedLoop(std::span<Fd> fds, int count, int warmup, int size,
                                  std::chrono::microseconds stagger = {});
// The same over `conns` fresh connections to `target`.
std::vector<double> MeasureRoundTrips(const sockaddr_in& target, int conns, int count, int warmup,
                                      int size, std::chrono::microseconds stagger = {});

// Sends `bytes` through one connection to a discard server; returns MB/s (10^6 bytes). The
// data is lines of kBulkLine bytes ending in '\n', so that line-framed toxics have frames to
// count; every target gets the same bytes.
constexpr std::size_t kBulkLine = 100;
// Each send is `write_size` bytes (the last may be shorter); bulk writes by default.
constexpr std::size_t kBulkChunk = 1 << 20;
double MeasureThroughput(const sockaddr_in& target, std::uint64_t bytes,
                         std::size_t write_size = kBulkChunk);

// The service end for timing messages that reach one service over different connections.
// A line's arrival time is the kernel's receive timestamp (SO_TIMESTAMPNS) of the segment
// that completed it, not a clock read by a thread woken for it: on a host with few CPUs a
// thread that wakes as lines arrive takes a CPU the proxy under test needs, and delays what
// it times. With the kernel's time, nothing here needs to be awake until the lines are in.
class LineService {
 public:
  struct Line {
    std::chrono::system_clock::time_point at;  // CLOCK_REALTIME, the kernel's timestamp clock
    std::string text;                          // without its '\n'
  };

  LineService();  // listens on a free loopback port
  sockaddr_in address() const;
  // The next connection to the service; dies after 10 s without one.
  Fd Accept();
  // The first line on a connection from Accept, for connections that carry one line each:
  // dies if more follows it, on EOF, or after 10 s.
  Line ReadLine(const Fd& connection);

 private:
  Fd listener_;
};

struct HttpReply {
  int status = 0;  // 0: no answer; `error` says why
  std::string body;
  std::string error;  // the connection failed, was reset or the answer was not HTTP
};
// One request on a connection of its own. TryHttpCall reports a failed exchange in the reply;
// HttpCall dies of it.
HttpReply TryHttpCall(const sockaddr_in& server, std::string_view method, std::string_view path,
                      std::string_view body);
HttpReply HttpCall(const sockaddr_in& server, std::string_view method, std::string_view path,
                   std::string_view body);
// The string value of "key" in a flat JSON object; empty if absent.
std::string JsonString(std::string_view json, std::string_view key);

// Nearest-rank percentile, p in [0, 1]; the input is reordered.
double Percentile(std::vector<double>& values, double p);

}  // namespace faultline::bench
