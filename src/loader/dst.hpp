// Dynamic string tokens: $ORIGIN, $LIB, $PLATFORM (docs/loader-resolution.md §2).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace elfprune {

struct DstValues {
  std::string origin;    // directory of the object, without trailing slash
  std::string lib;       // value of $LIB
  std::string platform;  // value of $PLATFORM
};

// glibc's _dl_dst_substitute. A recognised token with no value (an empty
// string here) makes the whole element unusable: nullopt. Unknown `$`
// sequences stay literal. With `musl` only $ORIGIN/${ORIGIN} are tokens.
std::optional<std::string> expand_dst(std::string_view input, const DstValues& values, bool musl);

}  // namespace elfprune
