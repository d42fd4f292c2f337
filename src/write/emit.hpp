// Writing the result of a plan to a fresh pruned tree (--out), or nothing
// (--dry-run); --in-place is in_place.hpp's, and the pipeline picks one.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "tree/inventory.hpp"
#include "tree/root.hpp"
#include "util/result.hpp"
#include "write/output.hpp"

namespace elfprune {

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
// DryRun: touches nothing. InPlace is an error: remove_in_place()
// (in_place.hpp) does that.
Result<EmitStats> emit(const Root& root, const Inventory& inventory, const std::vector<bool>& keep,
                       const EmitOptions& options);

}  // namespace elfprune
