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
//
// Bodies are read as Toxiproxy reads them (json.h): a field faultline does not know is
// ignored, a null is "not given", an attribute out of range is taken as Toxiproxy's toxics
// take it; each leniency is named in a "Warning: 299 faultline "..."" response header. A
// request with "Prefer: handling=strict" (RFC 7240) gets a 400 for each instead, and
// "Preference-Applied: handling=strict" back.
//
// With a token, every request except GET /version must carry "Authorization: Bearer
// <token>"; any other gets 401 and "WWW-Authenticate: Bearer". /metrics needs it too.

#include <string>
#include <string_view>
#include <vector>

#include "faultline/core/result.h"
#include "faultline/proxy/json.h"
#include "faultline/proxy/server.h"

namespace faultline::proxy {

struct HttpRequest {
  std::string method;
  std::string target;  // path and optional query
  std::string body;
  std::string user_agent;
  std::string authorization = {};  // the Authorization header as sent
  std::string prefer = {};         // the Prefer header as sent
};

struct HttpResponse {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
  std::string www_authenticate = {};       // the WWW-Authenticate header, on a 401
  std::vector<std::string> warnings = {};  // what a lenient reading let pass, one a header
  bool strict = false;                     // the request's handling=strict was applied
};

// The largest request body the API reads; bigger ones get 413.
inline constexpr std::size_t kMaxRequestBody = 1 << 20;
// The Toxiproxy release whose API this one implements. GET /version reports it as "version",
// since clients branch on it (toxiproxy-ruby toggles with PATCH from 2.6 on); faultline's
// own version is the separate field "faultline".
inline constexpr std::string_view kToxiproxyApiVersion = "2.12.0";

// The most events one GET /events returns; page with ?since=.
inline constexpr std::size_t kMaxEventsPerRequest = 10'000;

class Api {
 public:
  // `version` is faultline's own. An empty `token` leaves the API open, as Toxiproxy's is.
  Api(ProxyServer& server, std::string version, std::string token = "")
      : server_(server), version_(std::move(version)), token_(std::move(token)) {}
  HttpResponse Handle(const HttpRequest& request);

 private:
  bool Authorized(std::string_view authorization) const;
  HttpResponse Route(const HttpRequest& request, json::Reading& reading);

  ProxyServer& server_;
  std::string version_;
  std::string token_;
};

// The API token kept in `path`: the file's content without surrounding whitespace. An
// unreadable or empty file, or a token with characters a header cannot carry, is an error.
core::Result<std::string> ReadTokenFile(const std::string& path);

HttpResponse ErrorResponse(int status, std::string_view message);

}  // namespace faultline::proxy
