// libarchive and libcrypto, loaded the first time an image is opened
// rather than when elfprune starts. Linked, they cost every run their own
// start-up and that of what they pull in (libarchive brings ten more
// libraries, ICU's 30 MB among them): about 7 ms per run here, and twice
// that for `trace`, whose sandbox forks three times. Called through
// ELFPRUNE_LAZY_CALL, the functions keep the headers' exact types.
#pragma once

#include <bit>
#include <mutex>
#include <string>

#include "util/result.hpp"

namespace elfprune {

struct LazyLibrary {
  const char* soname;   // "libarchive.so.13", from the build's own library
  const char* package;  // what provides it, for the error ("libarchive13")
  std::once_flag once;
  void* handle = nullptr;
  std::string error;  // why it could not be loaded
};

LazyLibrary& libarchive_library();
LazyLibrary& libcrypto_library();

// Both loaded, or an error naming the library and the package to install.
// The image layer's entry points check this first, so that a missing
// library is a clear error rather than an exception from deep inside.
Result<void> load_image_libraries();

// The address of `name` in `lib`, loading it if need be; throws (the
// top-level handler reports it) when either cannot be found.
void* lazy_symbol(LazyLibrary& lib, const char* name);

}  // namespace elfprune

// The function `fn` of `lib` (a LazyLibrary&), looked up once per call site.
// decltype only names `fn`: nothing links against it.
#define ELFPRUNE_LAZY_CALL(lib, fn)                                        \
  ([]() -> decltype(&::fn) {                                               \
    static decltype(&::fn) const address =                                 \
        std::bit_cast<decltype(&::fn)>(::elfprune::lazy_symbol(lib, #fn)); \
    return address;                                                        \
  }())
