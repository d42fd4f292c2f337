#include "image/lazy_library.hpp"

#include <dlfcn.h>
#include <fmt/format.h>

#include <stdexcept>

namespace elfprune {

namespace {

void load(LazyLibrary& lib) {
  std::call_once(lib.once, [&lib] {
    lib.handle = ::dlopen(lib.soname, RTLD_NOW | RTLD_LOCAL);
    if (lib.handle == nullptr) {
      const char* why = ::dlerror();
      lib.error = fmt::format("images need {} (Debian package {}), which cannot be loaded: {}",
                              lib.soname, lib.package, why != nullptr ? why : "unknown error");
    }
  });
}

}  // namespace

LazyLibrary& libarchive_library() {
  static LazyLibrary lib{ELFPRUNE_LIBARCHIVE_SONAME, "libarchive13", {}, nullptr, {}};
  return lib;
}

LazyLibrary& libcrypto_library() {
  static LazyLibrary lib{ELFPRUNE_LIBCRYPTO_SONAME, "libssl3", {}, nullptr, {}};
  return lib;
}

Result<void> load_image_libraries() {
  for (LazyLibrary* lib : {&libarchive_library(), &libcrypto_library()}) {
    load(*lib);
    if (lib->handle == nullptr) return make_error(lib->soname, lib->error, ErrorKind::Failed);
  }
  // What destructors call must be there before anything is made: a lookup
  // that throws from a destructor would end the program.
  const std::pair<LazyLibrary*, const char*> needed[] = {
      {&libarchive_library(), "archive_read_free"},
      {&libarchive_library(), "archive_write_free"},
      {&libarchive_library(), "archive_entry_free"},
      {&libcrypto_library(), "EVP_MD_CTX_free"}};
  for (const auto& [lib, name] : needed) {
    if (::dlsym(lib->handle, name) == nullptr) {
      return make_error(lib->soname,
                        fmt::format("has no function {}: too old for this build", name),
                        ErrorKind::Failed);
    }
  }
  return {};
}

void* lazy_symbol(LazyLibrary& lib, const char* name) {
  load(lib);
  if (lib.handle == nullptr) throw std::runtime_error(lib.error);
  void* address = ::dlsym(lib.handle, name);
  if (address == nullptr) {
    throw std::runtime_error(fmt::format("{} has no function {}", lib.soname, name));
  }
  return address;
}

}  // namespace elfprune
