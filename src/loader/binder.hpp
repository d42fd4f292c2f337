// Symbol binding, emulated (docs/loader-resolution.md, "Binding"): every
// strong undefined symbol of the objects a program loads looked up in its
// scope as glibc's _dl_lookup_symbol_x does, executing nothing.
#pragma once

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "elf/dynamic_symbols.hpp"

namespace elfprune {

// A reference no object of its scope satisfies: with LD_BIND_NOW the
// loader refuses the program ("symbol lookup error: undefined symbol"),
// lazily it fails when the function is first called.
struct UndefinedSymbol {
  std::string symbol;
  std::string version;    // the version asked for; empty for an unversioned reference
  std::string library;    // the library that version belongs to (vn_file); empty if none
  std::string needed_by;  // the object holding the reference, as loaded
  // The version's library defines the symbol but has no version
  // information at all: glibc 2.36 stops the process there (check_match's
  // assertion "version->filename == NULL || ! _dl_name_match_p").
  bool library_unversioned = false;
};

// As the loader says it: "undefined symbol: S, version V (needed by F)".
std::string describe_undefined(const UndefinedSymbol& u);

// One object of a lookup scope.
struct ScopeObject {
  std::string path;                // as loaded
  std::string realpath;            // canonical inside the root
  std::vector<std::string> names;  // every name it answers to (its SONAME among them)
  std::shared_ptr<const DynamicSymbols> symbols;  // null: unreadable, defines nothing
  bool executable = false;                        // the main program: copy relocations look past it
};

// Where a reference bound: for messages about a definition that went away.
struct SymbolBinding {
  std::string symbol;
  std::string needed_by;
  std::string defined_by;  // the defining object, as loaded
};

// The strong undefined references of each object of `from`, looked up in
// `scope` (in order: the first definition wins, and a versioned lookup
// aborts at the library its version names when that library has no
// version information). Appends to `out`; the
// definitions of the references (needed_by, symbol) in `explain` to `bound`.
void bind_references(const std::vector<const ScopeObject*>& from,
                     const std::vector<const ScopeObject*>& scope,
                     std::vector<UndefinedSymbol>& out,
                     const std::set<std::pair<std::string, std::string>>* explain = nullptr,
                     std::vector<SymbolBinding>* bound = nullptr);

}  // namespace elfprune
