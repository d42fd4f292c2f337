// Declared optional dependencies: the FDO `.note.dlopen` ELF note
// (docs/loader-resolution.md §8). The payload is JSON; parsing is kept apart
// from the ELF adapter so that it can be tested and fuzzed on its own.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.hpp"

namespace elfprune {

inline constexpr std::uint32_t kNoteTypeFdoDlopen = 0x407c0c0a;
inline constexpr std::string_view kNoteOwnerFdo = "FDO";

struct DlopenDependency {
  std::vector<std::string> sonames;  // alternatives, most preferred first
  std::string feature;
  std::string description;
  std::string priority = "recommended";  // required | recommended | suggested
};

// Parse one note descriptor (NUL-terminated, padded JSON). Accepts the array
// form and the older single-object form with a string `soname`; unknown keys
// are ignored. An error says what is wrong with the payload.
Result<std::vector<DlopenDependency>> parse_dlopen_note(std::string_view descriptor);

}  // namespace elfprune
