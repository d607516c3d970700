#pragma once
// Serves an Api over HTTP/1.1 (Boost.Beast) on its own thread, with keep-alive, a 1 MiB body
// limit (413) and a 30 s read timeout. Malformed HTTP gets a 400 JSON error and a close. A
// failed accept (out of descriptors) is retried after 100 ms, never in a busy loop.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "faultline/core/result.h"
#include "faultline/proxy/api.h"

namespace faultline::proxy {

class HttpServer {
 public:
  // Binds host:port (port 0 picks a free one) and starts serving. A port in use or an
  // unknown host is an error, not an exception.
  static core::Result<std::unique_ptr<HttpServer>> Start(Api& api, std::string_view host,
                                                         std::uint16_t port);
  ~HttpServer();  // stops accepting, closes connections, joins the thread
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  std::uint16_t port() const;
  std::string address() const;  // "host:port" as bound
  // True when bound to a loopback address (127.0.0.0/8, ::1), so only this host can reach it.
  bool loopback() const;

 private:
  class Impl;
  explicit HttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace faultline::proxy
