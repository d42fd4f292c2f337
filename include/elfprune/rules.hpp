// The catalogue of build-only artefacts: named rules that remove files even
// inside the closure (the plan keeps loader dependencies and interpreters of
// kept objects anyway, with a warning).
#pragma once

#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "elfprune/inventory.hpp"
#include "elfprune/npm.hpp"
#include "elfprune/root.hpp"

namespace elfprune {

struct RuleInfo {
  std::string_view id;           // "headers", "static-libs", ...
  std::string_view description;  // one sentence
  std::string_view matches;      // what it matches, for `elfprune rules`
};

// Every rule, in the order `elfprune rules` lists them.
const std::vector<RuleInfo>& rule_catalogue();

// Some rules apply only when nothing kept needs what they remove; the plan
// decides once it knows what is kept.
enum class RuleCondition {
  Always,
  IcuUnused,     // icu-data: no kept object loads libicu*
  PythonUnused,  // python: no kept object or script needs a Python
};

struct RuleMatch {
  std::string rule;    // id from the catalogue, or "drop" for --drop GLOB
  std::string detail;  // why it matched, e.g. "under node_modules/node-gyp"
  RuleCondition condition = RuleCondition::Always;
};

struct RuleInputs {
  std::vector<std::string> keep_locales;  // --keep-locale LANG ("de", "pt_BR", "fr_FR.UTF-8")
  std::vector<std::string> drop_globs;    // --drop GLOB (fnmatch on the inside path)
  const NpmTree* npm = nullptr;           // build-only npm packages, when any
};

// Classify every inventory entry: path -> the first rule that matches it.
// Entries no rule matches are absent. Licence and copyright files, the
// dpkg database (image scanners read it), and C/C.UTF-8/POSIX locales are
// never matched.
std::unordered_map<std::string, RuleMatch> classify(const Root& root, const Inventory& inventory,
                                                    const RuleInputs& inputs);

// fnmatch(3)-style glob on a whole inside path, where `*` does not cross
// `/`, `**` does, and a pattern without `/` matches the last component.
bool glob_match(std::string_view pattern, std::string_view path);

}  // namespace elfprune
