// /etc/ld.so.conf and an emulation of ldconfig for roots that have no
// ld.so.cache yet (docs/loader-resolution.md §4). The loader itself never reads
// ld.so.conf; this is only the fallback.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "loader/ldcache.hpp"
#include "tree/root.hpp"

namespace elfprune {

struct LdConf {
  std::vector<std::string> directories;  // in order, first occurrence kept
  std::vector<std::string> warnings;     // unreadable includes and the like
};

// Parse `path` (normally /etc/ld.so.conf) inside `root`: `#` comments,
// `include GLOB...` relative to the including file's directory, expanded in
// sorted order and recursively; other lines are directories (trailing
// blanks and slashes stripped). Missing files or directories are fine.
LdConf parse_ld_so_conf(const Root& root, const std::string& path = "/etc/ld.so.conf");

// What ldconfig would put in the cache for `directories` (the ld.so.conf
// ones followed by the built-in system directories): files named lib*.so*,
// ld-*.so*, ld.so.*, ld64.so.* that are ELF; key = DT_SONAME (else the file
// name); value = dir/key. Within a directory a regular file beats a symlink,
// then the higher version; across directories the earlier one wins.
// `abi_flags` is stamped on each entry for ELF files of `elf_class`/`machine`.
LdCache emulate_ldconfig(const Root& root, const std::vector<std::string>& directories,
                         std::uint8_t elf_class, std::uint16_t machine, std::int32_t abi_flags);

}  // namespace elfprune
