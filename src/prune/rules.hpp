// The catalogue of build-only artefacts: named rules that remove files even
// inside the closure (the plan keeps loader dependencies and interpreters of
// kept objects anyway, with a warning).
#pragma once

#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "facts/npm.hpp"
#include "tree/inventory.hpp"
#include "tree/root.hpp"
#include "util/glob.hpp"

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
  // python-build-tools: nothing kept imports the tool (RuleMatch::tool) at
  // run time (Closure::python_tools_in_use).
  PythonToolUnused,
};

struct RuleMatch {
  std::string rule;    // id from the catalogue, or "drop" for --drop GLOB
  std::string detail;  // why it matched, e.g. "under node_modules/node-gyp"
  RuleCondition condition = RuleCondition::Always;
  // PythonToolUnused: the build tool matched ("pip", "setuptools", "wheel").
  // Initialised, so that RuleMatch{rule, detail, condition} stays warning-free.
  std::string tool{};
};

struct RuleInputs {
  std::vector<std::string> keep_locales;  // --keep-locale LANG ("de", "pt_BR", "fr_FR.UTF-8")
  std::vector<GlobPattern> drop_globs;    // --drop GLOB (fnmatch on the inside path)
  const NpmTree* npm = nullptr;           // build-only npm packages, when any
};

// Classify every inventory entry: path -> the first rule that matches it, in
// catalogue order (`drop` first, the conditional icu-data and python last).
// Entries no rule matches are absent, and so is the inventory's top.
//
// Never matched by the catalogue: licence and copyright files (LICENSE*,
// COPYING*, NOTICE*, */share/doc/*/copyright...), the dpkg database under
// /var/lib/dpkg (image scanners read it), C/C.UTF-8/POSIX locales, and
// built addons (*.node). A --drop GLOB is the user's word and may match them.
//
// Directories: a directory is matched when its rule covers it as a whole
// (/usr/share/man, a build-only npm package, build/ of a node-gyp package);
// what lies under it is matched entry by entry, and some of it may still be
// kept (a licence, a *.node, a --keep). So the plan removes a matched
// directory only once nothing under it is kept. Directories a rule empties
// without naming stay: /var/cache, /var/lib/apt/lists and their
// subdirectories (daemons expect /var/cache/nginx to exist), /usr/share/locale.
//
// Symlinks: a link no rule names, whose target (resolved inside the root) a
// rule matches, gets the target's rule and condition, so no kept link dangles
// (node_modules/.bin/node-gyp, /usr/bin/pdb3.11, /etc/alternatives/*.1.gz).
// A link to a directory only when everything under that directory matched.
std::unordered_map<std::string, RuleMatch> classify(const Root& root, const Inventory& inventory,
                                                    const RuleInputs& inputs);

}  // namespace elfprune
