#include "prune/verify.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <map>
#include <optional>
#include <set>

#include "elf/elf_info.hpp"
#include "facts/plugin_host.hpp"
#include "facts/shebang.hpp"

namespace elfprune {
namespace {

std::set<std::string> realpaths(const Resolution& r) {
  std::set<std::string> out;
  for (const auto& l : r.libraries) out.insert(l.realpath);
  return out;
}

// The objects a resolution loads, in order, as the binding sees them.
std::vector<std::string> loaded(const Resolution& r) {
  std::vector<std::string> out{r.realpath, r.interpreter_realpath};
  for (const auto& l : r.libraries) out.push_back(l.realpath);
  return out;
}

// Binding in the result: every strong reference of the objects `path`
// loads (a plugin's against its host, as dlopen binds it). Binding is a
// function of the bytes of the objects loaded and of their order: where
// the result loads the same files in the same order (and a plugin has the
// same host) as the root did, it binds as the root did, and nothing is
// looked up again; pruning only removes files, so that is the usual case.
// Otherwise (another library found, --rewrite-ref) every reference is
// bound in the result: one that bound before and does not now is a
// problem naming what defined it before; one unbound before too is a note.
void check_binding(const Root& before, const Root& after, Resolver& was, Resolver& now,
                   const std::string& path, const Resolution& old_res, const Resolution& new_res,
                   VerifyResult& result) {
  ResolveRequest now_request;
  now_request.bind = true;
  if (auto host = plugin_host(after, path)) now_request.host = *host;
  const auto old_host = plugin_host(before, path);
  if (loaded(old_res) == loaded(new_res) && old_host.value_or("") == now_request.host) return;
  ++result.bindings_checked;
  ResolveRequest was_request;
  was_request.host = old_host.value_or("");
  auto change = compare_bindings(was, was_request, now, now_request, path);
  if (!change) return;  // a resolution error is reported by the caller
  for (const auto& l : change->lost) {
    result.problems.push_back(
        {path,
         fmt::format("{}{}", describe_undefined(l.undefined),
                     l.defined_by.empty() ? std::string()
                                          : fmt::format("; {} defined it before", l.defined_by))});
  }
  const std::size_t already = change->unbound_before;
  if (already > 0) {
    result.notes.push_back(
        fmt::format("{}: {} symbol reference{} did not bind before either{}", path, already,
                    already == 1 ? "" : "s",
                    now_request.host.empty() ? "" : fmt::format(" (host {})", now_request.host)));
  }
}

}  // namespace

VerifyResult verify(const Root& before, const Root& after, const Inventory& inventory,
                    const Plan& plan, const LoaderOptions& loader, Resolver* before_resolver,
                    const std::set<std::string>* scripts_as_data) {
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
      // (An object that lost a library or a version does not load: its
      // symbols are beside the point.)
      if (old_res && new_res->missing.size() <= old_res->missing.size() &&
          new_res->missing_versions.size() <= old_res->missing_versions.size()) {
        check_binding(before, after, was, now, e.path, *old_res, *new_res, result);
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
    } else if (auto sb = parse_shebang(head);
               sb && !is_package_state(e.path) &&
               (scripts_as_data == nullptr || scripts_as_data->count(e.path) == 0)) {
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
