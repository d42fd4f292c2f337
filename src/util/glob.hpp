// Globs for --keep GLOB and --drop GLOB.
#pragma once

#include <string_view>

namespace elfprune {

// fnmatch(3)-style glob on a whole inside path, where `*` does not cross
// `/`, `**` does, and a pattern without `/` matches the last component; a
// relative pattern with a `/` is anchored at `/`. Classes `[a-z]`, `[!x]`,
// `?` and backslash escapes work as in fnmatch.
bool glob_match(std::string_view pattern, std::string_view path);

}  // namespace elfprune
