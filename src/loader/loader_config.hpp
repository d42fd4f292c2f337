// Everything about the root's dynamic loader that the resolver needs:
// which loader (glibc or musl), its default directories, its cache, the
// values of $LIB and $PLATFORM, and the glibc-hwcaps subdirectories to try.
// Read from the root's files; nothing in the root is executed.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "elf/elf_info.hpp"
#include "loader/ldcache.hpp"
#include "tree/root.hpp"

namespace elfprune {

enum class LoaderFlavor { Glibc, Musl };

// x86-64 micro-architecture level used to pick glibc-hwcaps subdirectories.
enum class HwcapsLevel { Host, Baseline, V2, V3, V4 };

std::optional<HwcapsLevel> parse_hwcaps_level(std::string_view text);

struct LoaderConfig {
  LoaderFlavor flavor = LoaderFlavor::Glibc;
  std::string interpreter;  // inside path, e.g. /lib64/ld-linux-x86-64.so.2
  std::uint8_t elf_class = elfconst::kClass64;
  std::uint16_t machine = elfconst::kMachineX86_64;

  // glibc
  std::vector<std::string> default_dirs;           // without trailing slash
  std::string lib_token;                           // value of $LIB
  std::string platform_token;                      // value of $PLATFORM
  std::vector<std::string> hwcaps_subdirs;         // "x86-64-v3", most capable first
  std::vector<std::string> legacy_hwcaps_subdirs;  // "tls/x86_64", ... (glibc <= 2.36)
  std::optional<LdCache> cache;
  bool cache_emulated = false;  // built from ld.so.conf because the root has no cache
  std::int32_t cache_abi_flags = cacheflags::kElfLibc6 | cacheflags::kX8664Lib64;

  // musl
  std::vector<std::string> musl_path;  // system directories from /etc/ld-musl-ARCH.path

  std::vector<std::string> notes;  // how each value was found, for --verbose and reports
};

struct LoaderOptions {
  HwcapsLevel hwcaps = HwcapsLevel::Host;
};

// The interpreter the root's loader would be for an object of this class
// and machine that has no PT_INTERP of its own (a shared library given to
// `deps`, as `ld.so --list` would be run on it).
std::string default_interpreter(const Root& root, std::uint8_t elf_class, std::uint16_t machine);

// Detect the loader configuration of `root` for objects loaded by
// `interpreter` (an inside path) with the given class and machine.
LoaderConfig detect_loader(const Root& root, const std::string& interpreter, std::uint8_t elf_class,
                           std::uint16_t machine, const LoaderOptions& options);

}  // namespace elfprune
