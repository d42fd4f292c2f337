// The result of `elfprune deps` as data, and its two renderings: a tree for
// people and the JSON document of docs/json-contracts.md for machines.
#pragma once

#include <string>
#include <vector>

#include "loader/resolver.hpp"
#include "util/result.hpp"

namespace elfprune {

struct DepsReport {
  std::string root;  // host path of the root
  std::vector<Resolution> objects;
  std::vector<Error> errors;  // files that could not be inspected at all
};

// The `deps --json` document of docs/json-contracts.md, one object per FILE,
// with `realpath`, `interpreter_implied`, `loader`, `warnings`, and per
// missing library `searched` and `reason`.
std::string render_deps_json(const DepsReport& report);

// A tree in load order: each library under the object that loaded it,
// tagged with how it was found (`[runpath]`, `[ld.so.cache]`, ...);
// missing libraries with every place searched.
std::string render_deps_text(const DepsReport& report);

}  // namespace elfprune
