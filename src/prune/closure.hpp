// What the entries need: everything reachable from them through loader
// edges, script interpreters, path and store references, package metadata,
// declared dlopen dependencies and --keep rules (docs/design.md, "Closure").
#pragma once

#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "facts/dpkg.hpp"
#include "facts/npm.hpp"
#include "loader/resolver.hpp"
#include "prune/report.hpp"
#include "trace/trace_file.hpp"
#include "tree/inventory.hpp"
#include "tree/root.hpp"
#include "util/glob.hpp"
#include "write/reference_rewrite.hpp"

namespace elfprune {

enum class EdgeKind {
  Entry,          // named with --entry
  Keep,           // matched a --keep glob
  Everything,     // no entries: every file is a root
  Symlink,        // a symlink followed on the way to a kept path
  Interpreter,    // PT_INTERP
  Needed,         // DT_NEEDED, resolved as the loader would
  Dlopen,         // a .note.dlopen dependency or --dlopen name
  Shebang,        // a script's #! interpreter (or env's program)
  PathRef,        // an absolute path string inside a kept ELF file or script
  StoreRef,       // a /nix/store/<hash>-name string
  Package,        // dpkg: the package owning a kept program, or one it depends on
  Contains,       // inside a directory kept whole
  LinkTarget,     // what a kept symlink points at
  NpmProject,     // a file of the npm project an entry belongs to
  NpmDependency,  // a file of a package an npm project needs at run time
  PythonPath,     // a Python's site directories and .pth paths, pyvenv.cfg, base interpreter
  Trace,          // a path a --trace shows existing (detail: "FILE:LINE CALL RESULT")
};

std::string_view edge_name(EdgeKind kind);

// Why a path is in the closure: the first edge that reached it.
struct Reason {
  EdgeKind kind = EdgeKind::Entry;
  std::string from;    // the kept path the edge starts at ("" for roots)
  std::string detail;  // the DT_NEEDED name, the path string, the package...
};

// "libz.so.1 needed by /usr/lib/x86_64-linux-gnu/libnode.so.108", "entry", ...
std::string describe(const Reason& reason);

struct ClosureInputs {
  std::vector<std::string> entries;       // inside paths
  std::vector<GlobPattern> keep_globs;    // --keep
  std::vector<std::string> dlopen_names;  // --dlopen, requested by every entry
  std::string store_dir = "/nix/store";
  bool use_dpkg = true;
  unsigned jobs = 0;  // threads, this one included, to inspect files; 0: usable_cores()
  // The npm graph: an entry inside an npm project brings the project's own
  // files and its run-time packages (facts/npm.hpp).
  const NpmTree* npm = nullptr;
  // --rewrite-ref: a reference to FROM/x in a kept file will name TO/x, so
  // TO/x is reached too (FROM/x stays reached: the tree as it is needs it
  // until the edit is written).
  std::vector<PathRewrite> rewrites;
  // --trace: every path the traces show existing is a root, and they
  // replace the static heuristics: no package edges, no path strings, no
  // Python module directories kept whole but a venv's (docs/design.md,
  // "Traces").
  const std::vector<TraceFile>* traces = nullptr;
};

// A directory kept with everything below it, and why.
struct WholeDirectory {
  std::string path;
  Reason reason;
  // True when a library (not a program) named it, or when the package
  // manager's state holds it: the programs inside are kept only where
  // something else runs them (a library that names a directory does not run
  // what is in it; maintainer scripts never run in the pruned tree).
  bool programs_as_data = false;
};

struct Closure {
  bool everything = false;                          // no entries were given
  std::unordered_map<std::string, Reason> reached;  // canonical or symlink path -> reason
  // Loader dependencies of each kept ELF object: its interpreter, the
  // libraries it loads, and the symlinks on the way; a script's
  // interpreter; a symlink's target. A rule never removes these while the
  // object is kept.
  std::unordered_map<std::string, std::vector<std::string>> loader_deps;
  std::vector<std::string> warnings;
  std::vector<WholeDirectory> whole_directories;  // in the order they were reached
  // Programs a directory kept whole or a package brought, left out because
  // nothing runs them (their interpreter is not needed otherwise), and the
  // symlinks to them: path -> why, for the plan's reason.
  std::unordered_map<std::string, std::string> left_out;
  // Interpreters that became entries because an entry has no #! line (a
  // .js file runs under node, a .py file under python3): program -> why.
  std::vector<std::pair<std::string, std::string>> implied_entries;
  // Python build tools (pip, setuptools, wheel) that a kept module or
  // script imports at run time: rule python-build-tools leaves them.
  std::set<std::string> python_tools_in_use;
  TraceSummary trace;  // with --trace
  // Scripts a trace shows read but not run (a module with a #! line): data,
  // whose interpreter is not kept for them nor checked by verify.
  std::set<std::string> scripts_as_data;

  bool contains(const std::string& path) const { return everything || reached.count(path) != 0; }
  // The chain of reasons from `path` back to a root of the closure.
  std::vector<std::pair<std::string, Reason>> chain(const std::string& path) const;
};

// The package manager's state (/var/lib/dpkg, /var/lib/apt, /var/cache, ...):
// kept as data when reached, never scanned: maintainer scripts do not run
// in a pruned tree, and what they name is not needed by it.
bool is_package_state(const std::string& path);

// Directories never kept whole because a path string names them: they are
// shared by everything (/usr/bin, /usr/lib, /usr/lib/<triplet>, /etc, ...).
bool is_shared_hierarchy(const std::string& dir);

// Walk the closure inside `root`. Only `inventory` (the tree being pruned)
// is expanded; paths outside it (a --sysroot's files) are recorded when
// reached but not followed further.
Closure compute_closure(const Root& root, const Inventory& inventory, Resolver& resolver,
                        const DpkgDb& dpkg, const ClosureInputs& inputs);

// Loader dependencies of the ELF files in `paths` (each resolved as a
// program would be), the interpreters of the scripts, and what the symlinks
// point at, for the plan's protection rule when there are no entries.
// Fills closure.loader_deps, and closure.python_tools_in_use from the
// Python files among `paths`.
void add_loader_deps(const Root& root, Resolver& resolver, const std::vector<std::string>& paths,
                     Closure& closure);

}  // namespace elfprune
