// Name lookup with a deadline: numeric hosts at once, names through the resolver, and a
// lookup that never answers cut off at the budget.

#include <catch2/catch.hpp>

#include <chrono>
#include <future>

#include "faultline/proxy/lookup.h"

using namespace faultline;
using namespace faultline::proxy;
using namespace std::chrono_literals;

TEST_CASE("a numeric host is its own address", "[proxy][lookup]") {
  const auto v4 = LookupWithin("127.0.0.1", "8080", 1s);
  REQUIRE(v4);
  CHECK(*v4 == std::vector<Address>{{"127.0.0.1", 8080}});
  const auto v6 = LookupWithin("::1", "53", 1s);
  REQUIRE(v6);
  CHECK(*v6 == std::vector<Address>{{"::1", 53}});
}

TEST_CASE("localhost resolves to a loopback address", "[proxy][lookup]") {
  const auto addresses = LookupWithin("localhost", "80", 10s);
  REQUIRE(addresses);
  REQUIRE(!addresses->empty());
  for (const Address& address : *addresses) {
    CAPTURE(address.ip);
    CHECK((address.ip.starts_with("127.") || address.ip == "::1"));
    CHECK(address.port == 80);
  }
}

TEST_CASE("a lookup that does not answer is cut off at the budget", "[proxy][lookup]") {
  // A stand-in for a DNS server that never answers: the lookup waits until the test ends.
  std::promise<void> answer;
  std::shared_future<void> answered = answer.get_future().share();
  const Lookup silent = [answered](const std::string&,
                                   const std::string&) -> core::Result<std::vector<Address>> {
    answered.wait();
    return core::MakeError("too late");
  };
  const auto start = std::chrono::steady_clock::now();
  const auto addresses = LookupWithin("store.staging", "8080", 200ms, silent);
  const auto waited = std::chrono::steady_clock::now() - start;
  REQUIRE(!addresses);
  CHECK(addresses.message() == "cannot resolve store.staging within 200ms");
  CHECK(waited >= 200ms);
  CHECK(waited < 5s);  // generous: the machine may be loaded
  answer.set_value();  // the abandoned lookup ends on its own
}

TEST_CASE("a lookup's own answer or error comes through in time", "[proxy][lookup]") {
  const Lookup fixed = [](const std::string& host,
                          const std::string& port) -> core::Result<std::vector<Address>> {
    if (host == "missing.staging") return core::MakeError("cannot resolve " + host + ": unknown");
    return std::vector<Address>{{"10.0.0.7", static_cast<std::uint16_t>(std::stoi(port))}};
  };
  const auto found = LookupWithin("store.staging", "9000", 5s, fixed);
  REQUIRE(found);
  CHECK(*found == std::vector<Address>{{"10.0.0.7", 9000}});
  const auto missing = LookupWithin("missing.staging", "9000", 5s, fixed);
  REQUIRE(!missing);
  CHECK(missing.message() == "cannot resolve missing.staging: unknown");
}
