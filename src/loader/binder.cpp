#include "loader/binder.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace elfprune {
namespace {

bool answers_to(const ScopeObject& o, const std::string& name) {
  return std::find(o.names.begin(), o.names.end(), name) != o.names.end();
}

}  // namespace

std::string describe_undefined(const UndefinedSymbol& u) {
  if (u.library_unversioned) {
    return fmt::format(
        "symbol {} asks version {} of {}, which has no version information: the loader stops "
        "(an assertion in dl-lookup.c) (needed by {})",
        u.symbol, u.version, u.library, u.needed_by);
  }
  if (u.version.empty())
    return fmt::format("undefined symbol: {} (needed by {})", u.symbol, u.needed_by);
  return fmt::format("undefined symbol: {}, version {} (needed by {})", u.symbol, u.version,
                     u.needed_by);
}

void bind_references(const std::vector<const ScopeObject*>& from,
                     const std::vector<const ScopeObject*>& scope,
                     std::vector<UndefinedSymbol>& out,
                     const std::set<std::pair<std::string, std::string>>* explain,
                     std::vector<SymbolBinding>* bound) {
  for (const ScopeObject* ref : from) {
    if (!ref->symbols) continue;
    const DynamicSymbols& syms = *ref->symbols;
    for (const DynamicSymbols::Reference& r : syms.strong_references()) {
      const DynamicSymbol s = syms.symbol(r.index);
      const VersionSlot* version = syms.wanted_version(r.index);
      const std::uint32_t gnu = gnu_hash_of(s.name);
      const std::uint32_t elf = elf_hash_of(s.name);
      bool found = false, aborted = false;
      for (const ScopeObject* def : scope) {
        if (!def->symbols || (r.copy && def->executable)) continue;
        const SymbolLookup hit = def->symbols->find(s.name, gnu, elf, version);
        if (hit.index) {
          // The library a version names must have version information:
          // finding the symbol there without it is glibc's assertion.
          if (version != nullptr && !version->file.empty() && !def->symbols->has_versym() &&
              answers_to(*def, version->file)) {
            aborted = true;
            break;
          }
          found = true;
          if (explain != nullptr && bound != nullptr &&
              explain->count({ref->path, std::string(s.name)}) != 0) {
            bound->push_back({std::string(s.name), ref->path, def->path});
          }
          break;
        }
      }
      if (found) continue;
      UndefinedSymbol u;
      u.symbol = std::string(s.name);
      if (version != nullptr) {
        u.version = version->name;
        u.library = version->file;
      }
      u.needed_by = ref->path;
      u.library_unversioned = aborted;
      out.push_back(std::move(u));
    }
  }
}

}  // namespace elfprune
