// Crash-safe --in-place removal. Before the first deletion the planned
// removals are written to a journal inside the pruned directory; the journal
// goes after the last deletion. A run killed in between is finished from the
// journal by the next run, instead of being planned again on a half-pruned
// tree (an npm package whose package.json went first is no longer recognised
// as a package, so its remaining files would be classified differently).
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tree/inventory.hpp"
#include "tree/root.hpp"
#include "util/fd.hpp"
#include "util/result.hpp"
#include "write/output.hpp"

namespace elfprune {

// Names directly inside the pruned directory. They are never tree content:
// the inventory skips them, so they are never planned, copied or reported.
inline constexpr std::string_view kJournalName = ".elfprune-in-place";
inline constexpr std::string_view kJournalTempName = ".elfprune-in-place.tmp";

struct JournalEntry {
  std::string path;  // relative to the pruned directory: no leading '/', no "", ".", ".."
  bool directory = false;
  bool operator==(const JournalEntry&) const = default;
};

// The journal's bytes: a header, the entry count, one record per entry
// (type byte, path, NUL: any name byte but NUL and '/' is allowed, newlines
// and invalid UTF-8 included), and a checksum of everything before it.
std::string encode_journal(const std::vector<JournalEntry>& entries);
// Errors (ErrorKind::Input, naming `name`) for anything encode_journal
// could not have written: bad header, count, record, path or checksum.
Result<std::vector<JournalEntry>> decode_journal(std::string_view bytes, const std::string& name);

// --in-place: removes exactly the entries with keep[i] == false, children
// before parents, never following a symlink, directories only when empty.
// With anything to remove, the journal is written (temp name, fsync, rename,
// directory fsync) first and removed last; without, nothing is written.
// Per-path failures are problems and the run goes on; the journal is removed
// once every listed entry was tried, whatever the outcome (a failure the user
// must fix would otherwise block every later run). Error: the journal cannot
// be written (nothing removed).
Result<EmitStats> remove_in_place(const Root& root, const Inventory& inventory,
                                  const std::vector<bool>& keep, const EmitOptions& options);

struct FinishedRun {
  bool found = false;      // a journal was there
  std::size_t listed = 0;  // entries it listed
  EmitStats stats;         // their removal (already gone counts as removed)
};

// Run before an --in-place run plans anything: deletes a stale temp journal
// (killed while writing it, so nothing was removed yet), and finishes the
// removals a journal in `top` (the pruned directory, inside `root`) lists,
// then removes it. Errors: a journal that is not one elfprune wrote
// (corrupt, not a regular file): nothing is removed.
Result<FinishedRun> finish_interrupted(const Root& root, const std::string& top,
                                       const EmitOptions& options);

// Whether `top` holds a journal: an interrupted --in-place run left the
// tree half-pruned.
bool has_journal(const Root& root, const std::string& top);

// An flock on the pruned directory, held for a whole run: exclusive for
// --in-place, shared for the runs that only read the tree. So an --in-place
// run never starts while another run reads or prunes the same tree (two
// would write one journal and plan a tree the other is removing from), and
// no run starts reading a tree an --in-place run is pruning. Advisory: only
// elfprune runs take it. Released when destroyed.
class TreeLock {
 public:
  TreeLock() = default;
  // Closing the last fd of the open file releases the flock.
  explicit TreeLock(Fd fd) : fd_(std::move(fd)) {}
  bool held() const { return fd_.ok(); }

 private:
  Fd fd_;
};

// Error (ErrorKind::Failed, naming `top`) when another run holds a lock
// that conflicts; nothing is waited for. A directory that cannot be opened,
// or a file system without flock, gives no lock and no error: the passes
// after it report what is wrong with the tree, and the lock is a courtesy.
Result<TreeLock> lock_tree(const Root& root, const std::string& top, bool exclusive);

}  // namespace elfprune
