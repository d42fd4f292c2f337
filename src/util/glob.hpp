// Globs for --keep GLOB and --drop GLOB.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.hpp"

namespace elfprune {

// fnmatch(3)-style glob on a whole inside path, where `*` does not cross
// `/`, `**` does, and a pattern without `/` matches the last component; a
// relative pattern with a `/` is anchored at `/`. `?` and backslash escapes
// work as in fnmatch; so do bracket expressions: `[a-z]`, `[!x]` or `[^x]`,
// `]` first stands for itself, and the POSIX classes of the C locale
// (`[[:digit:]]`, `[^[:space:]_]`: alnum alpha blank cntrl digit graph lower
// print punct space upper xdigit). Neither `?` nor a bracket matches `/`.
//
// Compiled once per run, then matched against every inventory entry: a
// match costs O(path length × pattern length) at worst, whatever the stars.
class GlobPattern {
 public:
  // An error (kind Usage, `path` the pattern) for what fnmatch would read
  // silently as something the user did not mean: an empty pattern, an
  // unterminated `[` or `[:`, an unknown class, a reversed range.
  static Result<GlobPattern> compile(std::string_view pattern);

  bool matches(std::string_view path) const;

  // The pattern as given, for messages and reasons.
  const std::string& text() const { return text_; }

 private:
  // One position of the pattern: the bytes it accepts, and whether it
  // stays put after accepting one (`*`, `**`) or moves on.
  struct Step {
    std::array<std::uint64_t, 4> accepts{};  // a bit per byte value
    bool repeats = false;                    // `*` or `**`: may also be skipped
    bool skips_slash = false;                // `**` between slashes: `/**/` may match `/`
  };

  GlobPattern() = default;

  std::string text_;
  bool last_component_ = false;  // no `/`: matched against the base name
  std::vector<Step> steps_;
  // Steps [0, prefix_) and [steps_.size() - suffix_, end) are single bytes
  // without alternatives, compared directly before the state machine runs
  // on what lies between (most patterns are `/some/dir/**` or `*.ext`).
  std::string prefix_;
  std::string suffix_;
  std::vector<std::size_t> repeating_;  // indices of repeating steps, ascending
};

}  // namespace elfprune
