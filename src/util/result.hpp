// Expected-style results for leaf code. Errors carry the path they concern so
// that the single handler at the top can print `elfprune: error: <path>: <what>`.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace elfprune {

// What kind of failure, so the top-level handler can pick the exit status
// (docs/design.md: 1 the work failed, 2 bad usage or input).
enum class ErrorKind { Input, Failed, Usage };

struct Error {
  std::string path;     // the file concerned, inside the root when it comes from the tree
  std::string message;  // what went wrong, lower case, no trailing period
  ErrorKind kind = ErrorKind::Input;
  int errnum = 0;  // the errno behind it, when a system call said no; callers branch on this
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

// Success or an error, for work that produces no value.
template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)) {}  // NOLINT(google-explicit-constructor)

  bool ok() const { return !error_.has_value(); }
  explicit operator bool() const { return ok(); }
  const Error& error() const { return *error_; }

 private:
  std::optional<Error> error_;
};

// strerror(err) in the house style: lower case, the common ones reworded.
std::string errno_text(int err);

inline Error make_error(std::string path, std::string message, ErrorKind kind = ErrorKind::Input) {
  return Error{std::move(path), std::move(message), kind, 0};
}

// A failed system call's error: errno_text(err) as the message, err kept.
inline Error errno_error(std::string path, int err, ErrorKind kind = ErrorKind::Input) {
  return Error{std::move(path), errno_text(err), kind, err};
}

}  // namespace elfprune

// Propagation without the hand-written `if (!x) return x.error();`, as
// TRY does in ccache: the enclosing function returns the error of a failed
// Result (any Result<T> converts from an Error).
//
//   ELFPRUNE_TRY(write_all(fd, bytes));             // Result<void> or any Result<T>
//   ELFPRUNE_TRY_ASSIGN(auto st, root.resolve(p));  // declares st as the value
#define ELFPRUNE_TRY(expr)                                    \
  do {                                                        \
    if (auto&& elfprune_try_ = (expr); !elfprune_try_.ok()) { \
      return elfprune_try_.error();                           \
    }                                                         \
  } while (false)

#define ELFPRUNE_TRY_CONCAT_(a, b) a##b
#define ELFPRUNE_TRY_NAME_(line) ELFPRUNE_TRY_CONCAT_(elfprune_try_, line)
#define ELFPRUNE_TRY_ASSIGN(decl, expr) \
  ELFPRUNE_TRY_ASSIGN_(ELFPRUNE_TRY_NAME_(__LINE__), decl, expr)
#define ELFPRUNE_TRY_ASSIGN_(tmp, decl, expr) \
  auto tmp = (expr);                          \
  if (!tmp.ok()) return tmp.error();          \
  decl = std::move(tmp).value()
