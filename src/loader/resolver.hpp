// Static emulation of the dynamic loader's search (docs/loader-resolution.md):
// breadth-first over DT_NEEDED, with glibc's or musl's rules, inside a root.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "elf/elf_info.hpp"
#include "loader/binder.hpp"
#include "loader/loader_config.hpp"
#include "tree/root.hpp"

namespace elfprune {

enum class Via { Rpath, Runpath, LdLibraryPath, Cache, Default, Direct, Loaded, MuslLibc };

// The JSON spelling of docs/json-contracts.md: rpath, runpath, ld_library_path,
// ld.so.cache, default, direct, loaded.
std::string_view via_name(Via via);

struct LoadedLibrary {
  std::string name;       // the DT_NEEDED string as written
  std::string path;       // the path the loader opened it under
  std::string realpath;   // canonical path inside the root
  std::string needed_by;  // path of the object whose DT_NEEDED loaded it
  Via via = Via::Default;
  bool dlopen = false;  // brought in by a dlopen request, not by DT_NEEDED
  // Via::Rpath / Via::Runpath: the object whose list held it (canonical; an
  // RPATH may be inherited) and the element of that list, as written.
  std::string list_owner{};
  std::string list_entry{};
};

struct MissingLibrary {
  std::string name;
  std::string needed_by;
  std::vector<std::string> searched;  // every path tried, in order
  std::string reason;                 // "not found", or why the search stopped
  bool dlopen = false;
};

// A version an object needs (DT_VERNEED) that the library it names, as
// loaded, does not define (DT_VERDEF): glibc refuses to load the object
// ("version `GLIBC_2.38' not found (required by ...)").
struct MissingVersion {
  std::string version;
  std::string library;    // the vn_file name, as the needing object writes it
  std::string needed_by;  // the needing object, as loaded
  std::string found_at;   // the library's path as loaded
};

struct Resolution {
  std::string file;                        // as given, absolute inside the root
  std::string realpath;                    // canonical
  std::optional<std::string> interpreter;  // PT_INTERP, or the implied loader
  bool interpreter_implied = false;        // no PT_INTERP: the root's loader is assumed
  std::string interpreter_realpath;
  LoaderFlavor flavor = LoaderFlavor::Glibc;
  // One entry per DT_NEEDED edge, in breadth-first order: the first edge to
  // an object says how it was found; later edges to it say Via::Loaded.
  // Edges to the file itself and to the interpreter are left out.
  std::vector<LoadedLibrary> libraries;
  std::vector<MissingLibrary> missing;
  std::vector<MissingVersion> missing_versions;  // glibc only: musl does not check versions
  // With ResolveOptions::bind: the strong undefined references that no
  // object of their scope defines, in scope order.
  std::vector<UndefinedSymbol> undefined;
  bool bound = false;                   // binding was checked (glibc rules; not for musl)
  std::vector<SymbolBinding> bindings;  // the definitions ResolveRequest::explain asked for
  std::vector<std::string> warnings;
};

struct ResolveOptions {
  std::string ld_library_path;  // as LD_LIBRARY_PATH would be given
  LoaderOptions loader;
  // Bind every loaded object's undefined symbols (`deps --bind`).
  bool bind = false;
  // With bind: the file is a plugin that `host` (an inside path of a
  // program) dlopens. Its references look in the host's global scope
  // first, then in its own; the host's own references are not checked.
  std::string host;
};

// One resolution's questions (the options give the defaults of the calls
// that do not say).
struct ResolveRequest {
  std::vector<std::string> dlopen_names;  // as for resolve(file, dlopen_names)
  bool bind = false;                      // as ResolveOptions::bind
  std::string host;                       // as ResolveOptions::host, with bind
  // With bind: references (needed_by path, symbol) whose definition is to
  // be recorded in Resolution::bindings (what defined them, for messages).
  const std::set<std::pair<std::string, std::string>>* explain = nullptr;
};

// Parses each file at most once and remembers loader configurations, so a
// resolver shared across many files costs little per file.
class Resolver {
 public:
  Resolver(const Root& root, ResolveOptions options);
  ~Resolver();
  Resolver(const Resolver&) = delete;
  Resolver& operator=(const Resolver&) = delete;

  // Resolve the dependencies of `file` (inside path). Errors: the file does
  // not exist, is not ELF, or is not dynamically linked. Missing libraries
  // are not errors: they are listed in the result.
  Result<Resolution> resolve(const std::string& file);

  // With what a call asks beyond the options: dlopen names, binding, a host.
  Result<Resolution> resolve(const std::string& file, const ResolveRequest& request);

  // The same, then `dlopen_names` requested by `file` after start-up, as a
  // dlopen() call from it would search (its RPATH/RUNPATH apply). Libraries
  // they bring in are marked `dlopen`; ones not found are in `missing` with
  // `dlopen` set.
  Result<Resolution> resolve(const std::string& file, const std::vector<std::string>& dlopen_names);

  // The parsed ELF information of a canonical inside path (memoised).
  Result<std::shared_ptr<const ElfInfo>> elf_info(const std::string& canonical);

  struct Impl;  // defined in resolver.cpp

 private:
  std::unique_ptr<Impl> impl_;
};

// References of `path` that bind in one tree and not in another: what
// prune's verify and the --rewrite-ref check both ask.
struct LostBinding {
  UndefinedSymbol undefined;  // as unbound in `now`
  std::string defined_by;     // what bound it in `was` (empty if not found out)
};
struct BindingChange {
  std::vector<LostBinding> lost;   // unbound now, bound before
  std::size_t unbound_before = 0;  // unbound now and before: not the change's doing
};

// Binds `path` with `now_request` in `now`; only when something stays
// unbound there is it bound with `was_request` in `was` as well (asking
// what defined those references). Both requests get bind set. Errors: the
// resolution in `now` failed.
Result<BindingChange> compare_bindings(Resolver& was, ResolveRequest was_request, Resolver& now,
                                       ResolveRequest now_request, const std::string& path);

}  // namespace elfprune
