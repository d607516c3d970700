#pragma once
// Result<T>: a value or an Error with a human-readable message. The control plane returns
// these instead of throwing; the data plane never throws at all.

#include <string>
#include <utility>
#include <variant>

namespace faultline::core {

struct Error {
  std::string message;
  // Optional, caller-defined classification (the proxy API uses HTTP status codes).
  int code = 0;
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::move(value)) {}      // NOLINT: implicit by design
  Result(Error error) : state_(std::move(error)) {}  // NOLINT: implicit by design

  bool ok() const { return state_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<0>(state_); }
  const T& value() const& { return std::get<0>(state_); }
  T&& value() && { return std::get<0>(std::move(state_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  T value_or(T fallback) const& { return ok() ? value() : std::move(fallback); }

  const Error& error() const { return std::get<1>(state_); }
  const std::string& message() const { return error().message; }
  int code() const { return error().code; }

 private:
  std::variant<T, Error> state_;
};

// A Result that carries no value: success or an Error.
using Status = Result<std::monostate>;
inline Status Ok() { return std::monostate{}; }

inline Error MakeError(std::string message, int code = 0) {
  return Error{std::move(message), code};
}

}  // namespace faultline::core
