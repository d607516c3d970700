#pragma once
// The Toxiproxy-compatible HTTP API as a pure function from request to response, so it is
// tested and fuzzed without sockets. http_server.h puts it on the network.
//
// Routes (Toxiproxy 2.12): GET/POST /proxies, POST /populate, POST /reset,
// GET/POST/PATCH/DELETE /proxies/{proxy}, GET/POST /proxies/{proxy}/toxics,
// GET/POST/PATCH/DELETE /proxies/{proxy}/toxics/{toxic}, GET /version, GET /metrics.
// faultline's own: GET /holds, POST /proxies/{proxy}/holds/{hold}/release[?connection=N|
// ?all=1], GET /events[?since=N&limit=M].
// Errors: {"error": "<what was wrong>", "status": <code>}.

#include <string>
#include <string_view>

#include "faultline/proxy/server.h"

namespace faultline::proxy {

struct HttpRequest {
  std::string method;
  std::string target;  // path and optional query
  std::string body;
  std::string user_agent;
};

struct HttpResponse {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
};

// The largest request body the API reads; bigger ones get 413.
inline constexpr std::size_t kMaxRequestBody = 1 << 20;
// The most events one GET /events returns; page with ?since=.
inline constexpr std::size_t kMaxEventsPerRequest = 10'000;

class Api {
 public:
  Api(ProxyServer& server, std::string version) : server_(server), version_(std::move(version)) {}
  HttpResponse Handle(const HttpRequest& request);

 private:
  ProxyServer& server_;
  std::string version_;
};

HttpResponse ErrorResponse(int status, std::string_view message);

}  // namespace faultline::proxy
