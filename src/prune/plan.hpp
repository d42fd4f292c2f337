// A decision for every inventory entry, keep or remove, with its reason.
#pragma once

#include <string>
#include <unordered_map>
#include <vector>

#include "prune/closure.hpp"
#include "prune/rules.hpp"
#include "tree/inventory.hpp"

namespace elfprune {

struct Decision {
  bool keep = true;
  std::string reason;  // "needed by /usr/bin/node", "rule docs", "not reachable from the entries"
  std::string rule;    // the rule that removed it, when one did
};

struct Plan {
  std::vector<Decision> decisions;  // parallel to inventory.entries
  std::vector<std::string> warnings;

  std::vector<bool> keep_mask() const;
};

// Decide every entry:
//  - in the closure and matched by no rule: keep;
//  - matched by a rule: remove, unless it is a loader dependency or
//    interpreter of a kept object: keep, with a warning. Conditional rules
//    (icu-data, python) apply only when no kept object outside them needs
//    ICU or a Python (judged from closure.loader_deps);
//  - not in the closure: remove ("not needed by the entries");
//  - directories: kept when anything below them is kept, or when they were
//    empty to begin with (mount points such as /proc must survive), removed
//    when everything below them goes.
Plan make_plan(const Inventory& inventory, const Closure& closure,
               const std::unordered_map<std::string, RuleMatch>& matches);

}  // namespace elfprune
