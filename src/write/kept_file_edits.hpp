// --rewrite-ref and --shrink-rpath applied to the kept files of a pruned
// tree, written only where something changes, then verified.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "loader/loader_config.hpp"
#include "tree/inventory.hpp"
#include "tree/root.hpp"
#include "util/result.hpp"
#include "write/reference_rewrite.hpp"

namespace elfprune {

struct EditOptions {
  std::vector<PathRewrite> rewrites;
  bool shrink_rpath = false;
  // Sonames a kept program may dlopen (--dlopen): directories serving them
  // survive --shrink-rpath, like those serving its .note.dlopen sonames.
  std::vector<std::string> dlopen_names;
  LoaderOptions loader;
  // Host directory the kept files are written under (OUT, or ROOT's root
  // in place). Empty: nothing is written (a dry run, or the check made
  // before anything is removed).
  std::filesystem::path write_dir;
};

struct FileEdit {
  std::string path;
  std::string what;  // "2 references (text)", "RUNPATH /a:/b -> /b", ...
};

struct EditResult {
  std::vector<FileEdit> edits;
  std::vector<Error> problems;        // a file that cannot be edited, or a failed check
  std::vector<std::string> warnings;  // files left as they are, and why
  bool verified = false;              // the written result was re-resolved
};

bool wants_edits(const EditOptions& options);

// Edit the kept regular files of `inventory` (per `keep`). `tree` is the
// tree the files are read and resolved in: the written result where it is
// complete (OUT without --sysroot, ROOT after in-place removal), otherwise
// the root without the removed paths. When `write_dir` is set, edited files
// are replaced (a temporary file renamed over them, mode and owner kept)
// and every kept ELF object is resolved again: --shrink-rpath must not change
// what any of them loads, and after --rewrite-ref nothing that was found may
// go missing.
EditResult apply_edits(const Root& tree, const Inventory& inventory, const std::vector<bool>& keep,
                       const EditOptions& options);

}  // namespace elfprune
