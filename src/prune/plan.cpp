#include "prune/plan.hpp"

#include <fmt/format.h>

#include <map>

#include "util/path.hpp"

namespace elfprune {
namespace {

bool names_icu(const std::string& path) {
  return path_base(path).starts_with("libicu");
}

bool names_python(const std::string& path) {
  const std::string_view base = path_base(path);
  return base.starts_with("python") || base.starts_with("libpython");
}

bool is_skeleton(const std::string& dir) {
  static const char* const kSkeleton[] = {
      "/tmp",  "/var/tmp", "/run",   "/var/run", "/var/lock", "/proc", "/sys", "/dev", "/home",
      "/root", "/mnt",     "/media", "/srv",     "/opt",      "/var",  "/etc", "/usr", "/var/log"};
  for (const char* s : kSkeleton) {
    if (dir == s) return true;
  }
  return false;
}

// Rules that take whole programs (a package manager, a Python) rather
// than build-only files inside a program's package.
bool removes_programs(const std::string& rule) {
  return rule == "node-package-managers" || rule == "python" || rule == "node-build";
}

// How far a path in the closure is shielded from the rules.
enum class Shield {
  None,      // reached otherwise: the rules apply
  Programs,  // brought by an entry's package: rules that take programs do not apply
  All,       // what an entry runs: its program, loader, interpreters and links
};

// Walks the chain of reasons back to a root: only run edges all the way to
// an entry shield from every rule; a package edge on the way shields from
// the rules that take programs.
Shield shield_of(const Closure& closure, const std::string& path, int depth = 0) {
  bool package = false;
  for (const auto& [p, why] : closure.chain(path)) {
    switch (why.kind) {
      case EdgeKind::Entry:
      case EdgeKind::Trace:  // the workload used it: evidence beats a rule's guess
        return package ? Shield::Programs : Shield::All;
      case EdgeKind::Symlink: {
        // A link on the way to a path is shielded as that path is.
        if (why.detail == p || depth > 40) return Shield::None;
        const Shield s = shield_of(closure, why.detail, depth + 1);
        return package && s == Shield::All ? Shield::Programs : s;
      }
      case EdgeKind::LinkTarget:
      case EdgeKind::Interpreter:
      case EdgeKind::Needed:
      case EdgeKind::Dlopen:
      case EdgeKind::Shebang:
        continue;
      case EdgeKind::Package:
        package = true;
        continue;
      default:
        return Shield::None;
    }
  }
  return Shield::None;
}

}  // namespace

std::vector<bool> Plan::keep_mask() const {
  std::vector<bool> mask;
  mask.reserve(decisions.size());
  for (const auto& d : decisions) mask.push_back(d.keep);
  return mask;
}

Plan make_plan(const Inventory& inventory, const Closure& closure,
               const std::unordered_map<std::string, RuleMatch>& matches) {
  Plan plan;
  const auto& entries = inventory.entries;
  plan.decisions.resize(entries.size());

  auto is_entry = [&](const std::string& path) {
    auto it = closure.reached.find(path);
    return it != closure.reached.end() && it->second.kind == EdgeKind::Entry;
  };
  auto match_of = [&](const std::string& path) -> const RuleMatch* {
    auto it = matches.find(path);
    return it == matches.end() ? nullptr : &it->second;
  };

  // Conditional rules hold when nothing kept outside them needs what they
  // remove; entries named on the command line always count as needing.
  bool icu_needed = false;
  bool python_needed = false;
  for (const auto& e : entries) {
    if (!closure.contains(e.path)) continue;
    const RuleMatch* m = match_of(e.path);
    if (m != nullptr && !is_entry(e.path)) continue;
    auto deps = closure.loader_deps.find(e.path);
    if (is_entry(e.path)) {
      icu_needed |= names_icu(e.path);
      python_needed |= names_python(e.path);
    }
    if (deps == closure.loader_deps.end()) continue;
    for (const auto& d : deps->second) {
      icu_needed |= names_icu(d);
      python_needed |= names_python(d);
    }
  }
  // What a trace shows used counts as an entry does.
  for (const auto& [path, why] : closure.reached) {
    if (why.kind != EdgeKind::Trace) continue;
    icu_needed |= names_icu(path);
    python_needed |= names_python(path);
  }
  auto rule_applies = [&](const RuleMatch& m) {
    switch (m.condition) {
      case RuleCondition::Always:
        return true;
      case RuleCondition::IcuUnused:
        return !icu_needed;
      case RuleCondition::PythonUnused:
        return !python_needed;
      case RuleCondition::PythonToolUnused:
        return closure.python_tools_in_use.count(m.tool) == 0;
    }
    return true;
  };

  // Files of an entry's own package that a rule removes, by rule and
  // package: one warning each.
  std::map<std::pair<std::string, std::string>, std::size_t> own_package_removals;

  // First pass: closure and rules.
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const auto& e = entries[i];
    Decision& d = plan.decisions[i];
    if (e.type == FileType::Directory) continue;  // decided below from their contents
    if (!closure.contains(e.path)) {
      d.keep = false;
      auto left = closure.left_out.find(e.path);
      d.reason = left != closure.left_out.end() ? left->second : "not needed by the entries";
      continue;
    }
    auto it = closure.reached.find(e.path);
    d.reason = it != closure.reached.end() ? describe(it->second)
                                           : describe(Reason{EdgeKind::Everything, "", ""});
    const RuleMatch* m = match_of(e.path);
    if (m != nullptr && rule_applies(*m)) {
      if (is_entry(e.path)) {
        plan.warnings.push_back(
            fmt::format("{}: kept although rule {} matches it: it is an entry", e.path, m->rule));
        continue;
      }
      // What an entry runs is never removed by a rule (only --drop, the
      // user's own word), nor a program its package brings.
      const Shield shield = closure.everything ? Shield::None : shield_of(closure, e.path);
      if (m->rule != "drop" &&
          (shield == Shield::All || (shield == Shield::Programs && removes_programs(m->rule)))) {
        plan.warnings.push_back(
            fmt::format("{}: kept although rule {} matches it: {}", e.path, m->rule, d.reason));
        continue;
      }
      if (shield == Shield::Programs && it != closure.reached.end() &&
          it->second.kind == EdgeKind::Package && it->second.detail.rfind("package ", 0) == 0) {
        ++own_package_removals[{m->rule, it->second.detail}];
      }
      d.keep = false;
      d.rule = m->rule;
      d.reason = m->detail.empty() ? fmt::format("rule {}", m->rule)
                                   : fmt::format("rule {}: {}", m->rule, m->detail);
    }
  }

  for (const auto& [key, count] : own_package_removals) {
    plan.warnings.push_back(fmt::format("rule {} removes {} file{} of an entry's own package ({})",
                                        key.first, count, count == 1 ? "" : "s", key.second));
  }

  // Protection: a loader dependency or interpreter of a kept object stays,
  // even when a rule matched it, until nothing more changes.
  for (bool changed = true; changed;) {
    changed = false;
    for (std::size_t i = 0; i < entries.size(); ++i) {
      if (!plan.decisions[i].keep) continue;
      auto deps = closure.loader_deps.find(entries[i].path);
      if (deps == closure.loader_deps.end()) continue;
      for (const auto& dep : deps->second) {
        auto at = inventory.index.find(dep);
        if (at == inventory.index.end()) continue;
        Decision& dd = plan.decisions[at->second];
        if (dd.keep || dd.rule.empty()) continue;
        plan.warnings.push_back(fmt::format("{}: kept although rule {} matches it: needed by {}",
                                            dep, dd.rule, entries[i].path));
        dd.keep = true;
        dd.reason = fmt::format("needed by {} (rule {} overridden)", entries[i].path, dd.rule);
        dd.rule.clear();
        changed = true;
      }
    }
  }

  // Directories, deepest first: kept when something below is kept, when the
  // closure holds them (kept whole, or an entry), or when they were empty.
  std::vector<bool> has_kept_child(entries.size(), false);
  std::vector<bool> has_child(entries.size(), false);
  auto parent_index = [&](const std::string& path) -> std::optional<std::size_t> {
    if (path == inventory.top) return std::nullopt;
    auto it = inventory.index.find(path_parent(path));
    if (it == inventory.index.end()) return std::nullopt;
    return it->second;
  };
  // A directory holding a path left out of the inventory (--exclude) stays:
  // in place, what is left out is left alone.
  std::vector<bool> holds_excluded(entries.size(), false);
  for (const auto& x : inventory.excluded) {
    if (auto p = parent_index(x)) holds_excluded[*p] = true;
  }
  for (std::size_t k = entries.size(); k-- > 0;) {
    const auto& e = entries[k];
    Decision& d = plan.decisions[k];
    if (e.type == FileType::Directory) {
      if (e.path == inventory.top) {
        d.keep = true;
        d.reason = "the pruned directory itself";
      } else if (holds_excluded[k]) {
        d.keep = true;
        d.reason = "holds a path left out with --exclude";
      } else if (has_kept_child[k]) {
        d.keep = true;
        d.reason = "holds kept files";
      } else if (!has_child[k]) {
        d.keep = true;
        d.reason = "empty to begin with";
      } else if (inventory.top == "/" && is_skeleton(e.path)) {
        // Programs expect /tmp and friends to exist, even emptied.
        d.keep = true;
        d.reason = "part of the root filesystem's skeleton";
      } else if (const RuleMatch* m = match_of(e.path); m != nullptr && rule_applies(*m)) {
        d.keep = false;
        d.rule = m->rule;
        d.reason = m->detail.empty() ? fmt::format("rule {}", m->rule)
                                     : fmt::format("rule {}: {}", m->rule, m->detail);
      } else {
        d.keep = false;
        d.reason = "everything inside is removed";
      }
    }
    if (auto p = parent_index(e.path)) {
      has_child[*p] = true;
      if (d.keep) has_kept_child[*p] = true;
    }
  }
  return plan;
}

}  // namespace elfprune
