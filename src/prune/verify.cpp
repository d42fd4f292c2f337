#include "prune/verify.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <optional>
#include <set>

#include "elf/elf_info.hpp"
#include "facts/shebang.hpp"

namespace elfprune {
namespace {

std::set<std::string> realpaths(const Resolution& r) {
  std::set<std::string> out;
  for (const auto& l : r.libraries) out.insert(l.realpath);
  return out;
}

}  // namespace

VerifyResult verify(const Root& before, const Root& after, const Inventory& inventory,
                    const Plan& plan, const LoaderOptions& loader, Resolver* before_resolver) {
  VerifyResult result;
  ResolveOptions ropts;
  ropts.loader = loader;
  std::optional<Resolver> own;
  if (before_resolver == nullptr) before_resolver = &own.emplace(before, ropts);
  Resolver& was = *before_resolver;
  Resolver now(after, ropts);
  for (std::size_t i = 0; i < inventory.entries.size(); ++i) {
    if (!plan.decisions[i].keep) continue;
    const InventoryEntry& e = inventory.entries[i];
    if (e.type == FileType::Symlink) {
      ++result.symlinks_checked;
      if (after.resolve(e.path)) continue;
      if (before.resolve(e.path)) {
        result.problems.push_back({e.path, fmt::format("symlink to {} dangles", e.link_target)});
      } else {
        result.notes.push_back(
            fmt::format("{}: symlink to {} dangled already", e.path, e.link_target));
      }
      continue;
    }
    if (e.type != FileType::Regular) continue;
    const std::string head = before.read_head(e.path, 256);
    if (has_elf_magic(head)) {
      auto info = was.elf_info(e.path);
      if (!info || !(*info)->dynamic) continue;
      ++result.elf_checked;
      auto old_res = was.resolve(e.path);
      auto new_res = now.resolve(e.path);
      if (!new_res) {
        result.problems.push_back({e.path, new_res.error().message});
        continue;
      }
      std::set<std::string> already_missing;
      if (old_res) {
        for (const auto& m : old_res->missing) already_missing.insert(m.name);
      }
      for (const auto& m : new_res->missing) {
        if (already_missing.count(m.name) != 0) {
          result.notes.push_back(fmt::format("{}: {} was missing already", e.path, m.name));
        } else {
          result.problems.push_back(
              {e.path, fmt::format("{} not found (needed by {})", m.name, m.needed_by)});
        }
      }
      // A version the result no longer provides (a library replaced by an
      // older one, a --rewrite-ref to a build without it): the loader
      // refuses the object.
      std::set<std::string> versions_before;
      if (old_res) {
        for (const auto& v : old_res->missing_versions)
          versions_before.insert(v.library + " " + v.version);
      }
      for (const auto& v : new_res->missing_versions) {
        if (versions_before.count(v.library + " " + v.version) != 0) {
          result.notes.push_back(fmt::format("{}: version {} of {} was missing already", e.path,
                                             v.version, v.library));
        } else {
          result.problems.push_back(
              {e.path, fmt::format("version `{}' not found in {} ({}), required by {}", v.version,
                                   v.library, v.found_at, v.needed_by)});
        }
      }
      // Removing a library can make the loader find another one later in
      // its search path: that is a change, not a pass.
      if (old_res && new_res->missing.size() == old_res->missing.size()) {
        auto a = realpaths(*old_res);
        auto b = realpaths(*new_res);
        for (const auto& p : b) {
          if (a.count(p) == 0) {
            result.problems.push_back(
                {e.path, fmt::format("now loads {}, which it did not load before", p)});
          }
        }
      }
    } else if (auto sb = parse_shebang(head); sb && !is_package_state(e.path)) {
      // (Maintainer scripts in the package manager's state are data: they
      // never run in the pruned tree.)
      ++result.scripts_checked;
      if (!after.resolve(sb->interpreter)) {
        if (before.resolve(sb->interpreter)) {
          result.problems.push_back(
              {e.path, fmt::format("interpreter {} is gone", sb->interpreter)});
        } else {
          result.notes.push_back(
              fmt::format("{}: interpreter {} was missing already", e.path, sb->interpreter));
        }
      } else if (!sb->env_program.empty() && !find_on_path(after, sb->env_program) &&
                 find_on_path(before, sb->env_program)) {
        result.problems.push_back(
            {e.path, fmt::format("{} (run through env) is no longer on PATH", sb->env_program)});
      }
    }
  }
  return result;
}

}  // namespace elfprune
