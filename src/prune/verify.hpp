// After emit (or, for a dry run, on a view of the root without the removed
// paths): every kept ELF object still resolves to the same libraries, no
// kept symlink dangles, every kept script's interpreter is there.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "loader/resolver.hpp"
#include "prune/plan.hpp"
#include "tree/inventory.hpp"
#include "tree/root.hpp"

namespace elfprune {

struct VerifyProblem {
  std::string path;
  std::string message;
};

struct VerifyResult {
  std::size_t elf_checked = 0;
  std::size_t symlinks_checked = 0;
  std::size_t scripts_checked = 0;
  std::size_t bindings_checked = 0;     // objects bound again: what they load changed
  std::vector<VerifyProblem> problems;  // the result is broken: exit status 1
  std::vector<std::string> notes;       // already broken before pruning: not our doing
};

// `before` is the root as it was; `after` the result (a Root on --out, the
// same root after --in-place, or before.without(removed) for a dry run).
// Only kept entries of `inventory` are checked.
// `before_resolver`, when given, is a resolver over `before` that already
// parsed the files (the pipeline's): their dependencies are not worked out
// a second time.
// `scripts_as_data`: kept scripts nothing runs (closure.scripts_as_data):
// their interpreters are not checked.
VerifyResult verify(const Root& before, const Root& after, const Inventory& inventory,
                    const Plan& plan, const LoaderOptions& loader,
                    Resolver* before_resolver = nullptr,
                    const std::set<std::string>* scripts_as_data = nullptr);

}  // namespace elfprune
