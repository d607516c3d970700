#pragma once
// A minimal blocking HTTP/1.1 client (Boost.Beast) for talking to a faultline or Toxiproxy
// API from the command line and from tests.

#include <string>
#include <string_view>

#include "faultline/core/result.h"

namespace faultline::cli {

struct HttpReply {
  int status = 0;
  std::string body;
  std::string www_authenticate;  // the header, when the server sent one (a 401)
};

// `base_url` is "http://host:port" (a bare "host:port" also works). Connection failures are
// errors; any HTTP status is a reply. Requests carry "Prefer: handling=strict", so a faultline
// API refuses what it would let pass for a Toxiproxy client (an unknown field, an attribute
// out of range) with a 400 naming it; Toxiproxy ignores the header. A non-empty `token` goes out as
// "Authorization: Bearer <token>".
core::Result<HttpReply> HttpCall(std::string_view base_url, std::string_view method,
                                 std::string_view path, std::string_view body = {},
                                 std::string_view token = {});

}  // namespace faultline::cli
