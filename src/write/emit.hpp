// Writing the result of a plan: a fresh pruned tree (--out), the same tree
// pruned in place (--in-place), or nothing (--dry-run).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "tree/inventory.hpp"
#include "tree/root.hpp"
#include "util/result.hpp"

namespace elfprune {

enum class EmitMode { Out, InPlace, DryRun };

struct EmitOptions {
  EmitMode mode = EmitMode::DryRun;
  std::string out_dir;  // host path, for EmitMode::Out
  // Called now and then with (entries done, entries total) for a progress
  // line; from one thread at a time, with `done` increasing.
  std::function<void(std::size_t, std::size_t)> progress;
  // Out: threads that copy files; 0 = usable_cores() (never more than jobs).
  std::size_t threads = 0;
};

struct EmitStats {
  std::size_t files_written = 0;  // Out: entries created
  std::size_t removed = 0;        // InPlace: entries removed (already gone counts too)
  std::uint64_t bytes_written = 0;
  std::vector<Error> problems;  // per-path failures; the run carries on
};

// `keep[i]` says whether inventory.entries[i] stays. A kept entry's parent
// directories are kept too (the caller guarantees it).
//
// Out: `out_dir` must not exist or be empty, and must neither lie inside
// nor hold the tree being pruned (the host directory of `inventory.top`:
// with --sysroot / that is ROOT, not "/"). The kept entries are recreated at
// the same inside paths under it: directories, regular files
// (copy_file_range), symlinks as symlinks (same target), hardlinks among kept
// entries as hardlinks, device nodes and FIFOs with mknod; mode, ownership
// (when root), atime/mtime and the security.capability xattr preserved.
// Nothing is written outside out_dir. Files are copied by several threads
// (FICLONE where the file system can, copy_file_range otherwise); problems
// come out in inventory order all the same.
//
// InPlace: removes exactly the entries with keep[i] == false, children
// before parents, never following a symlink (every step is relative to an
// O_NOFOLLOW directory fd), directories only when planned and empty; an entry
// already gone is fine. The removals are journalled first so that a run
// killed half-way is finished by the next one (in_place.hpp).
//
// DryRun: touches nothing.
Result<EmitStats> emit(const Root& root, const Inventory& inventory, const std::vector<bool>& keep,
                       const EmitOptions& options);

}  // namespace elfprune
