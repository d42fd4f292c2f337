// Expected-style results for leaf code. Errors carry the path they concern so
// that the single handler at the top can print `elfprune: error: <path>: <what>`.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace elfprune {

// What kind of failure, so the top-level handler can pick the exit status
// (design.md: 1 the work failed, 2 bad usage or input).
enum class ErrorKind { Input, Failed, Usage };

struct Error {
  std::string path;     // the file concerned, inside the root when it comes from the tree
  std::string message;  // what went wrong, lower case, no trailing period
  ErrorKind kind = ErrorKind::Input;
};

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}      // NOLINT(google-explicit-constructor)
  Result(Error error) : v_(std::move(error)) {}  // NOLINT(google-explicit-constructor)

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

inline Error make_error(std::string path, std::string message, ErrorKind kind = ErrorKind::Input) {
  return Error{std::move(path), std::move(message), kind};
}

}  // namespace elfprune
