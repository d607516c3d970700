#pragma once
// Real-socket helpers for integration tests: a loopback echo server on its own thread,
// and blocking clients with timeouts so a broken proxy fails a test instead of hanging it.

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

namespace faultline::testing {

// Accepts on 127.0.0.1:0. kEcho echoes as it reads and half-closes after the client does;
// kReplyAfterEnd reads until the client half-closes, then sends everything back reversed
// and closes (a request/EOF/response protocol).
class EchoServer {
 public:
  enum class Mode { kEcho, kReplyAfterEnd };
  explicit EchoServer(Mode mode = Mode::kEcho);
  ~EchoServer();
  std::uint16_t port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  void Serve(int fd);
  Mode mode_;
  int listener_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread acceptor_;
  std::vector<std::thread> connections_;
};

// A connected client socket; every blocking call gives up after `timeout`.
class Client {
 public:
  explicit Client(std::uint16_t port, std::chrono::milliseconds timeout = std::chrono::seconds(10));
  ~Client();
  Client(Client&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  bool connected() const { return fd_ >= 0; }
  bool SendAll(const std::string& data);
  // Reads exactly n bytes; returns fewer on EOF, error or timeout.
  std::string Receive(std::size_t n);
  // Reads until EOF (or error/timeout); `error` gets errno of a failed read, 0 on clean EOF.
  std::string ReceiveUntilEnd(int* error = nullptr);
  void ShutdownWrite();
  int fd() const { return fd_; }

 private:
  int fd_ = -1;
};

std::string RandomBytes(std::size_t n, std::uint64_t seed);
std::uint64_t Checksum(const std::string& data);

}  // namespace faultline::testing
