// Search lists: RPATH, RUNPATH and LD_LIBRARY_PATH strings turned into the
// directories the loader will try (docs/loader-resolution.md §2, §6, §7).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "loader/dst.hpp"

namespace elfprune {

// Split `list` on any of `separators`, expand tokens, strip trailing slashes
// (not from "/"), and drop duplicates keeping the first.
// glibc: an empty element is the working directory, returned as ""; an
// element whose token has no value is dropped; with `empty_is_ignored` a
// list that is entirely empty yields nothing (an empty DT_RPATH).
// musl: empty elements are skipped, and any `$` other than $ORIGIN discards
// the whole list (fixup_rpath).
std::vector<std::string> parse_search_list(std::string_view list, std::string_view separators,
                                           const DstValues& values, bool musl,
                                           bool empty_is_ignored);

}  // namespace elfprune
