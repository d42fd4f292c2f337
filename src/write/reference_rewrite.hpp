// Byte-level edits of kept files: --rewrite-ref FROM=TO replaces references
// to a store path (or any absolute prefix) with another, and --shrink-rpath
// drops RPATH/RUNPATH elements that serve nothing. Pure functions over a
// file's bytes; src/write/kept_file_edits.cpp applies them to a tree and
// verifies the result.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "elf/elf_info.hpp"
#include "util/result.hpp"

namespace elfprune {

struct PathRewrite {
  std::string from;  // absolute, no trailing slash
  std::string to;
};

// "FROM=TO", both absolute paths, different. Errors are usage errors naming
// the option.
Result<PathRewrite> parse_path_rewrite(std::string_view spec);

// Offsets in `bytes` where a FROM of `rewrites` starts a reference: FROM
// followed by `/`, the end, or a byte that cannot continue a path name, so
// /opt/foo does not match /opt/foobar. Sorted, not overlapping.
struct Reference {
  std::size_t offset = 0;
  const PathRewrite* rule = nullptr;
};
std::vector<Reference> find_references(std::string_view bytes,
                                       const std::vector<PathRewrite>& rewrites);

// `path` with a FROM of `rewrites` at its start replaced; nullopt when none
// matches.
std::optional<std::string> rewritten_path(std::string_view path,
                                          const std::vector<PathRewrite>& rewrites);

// How a file's references were rewritten.
enum class RewriteMethod {
  Text,        // no NUL byte in the file: replaced wherever they are
  SameLength,  // FROM and TO of equal length: replaced wherever they are
  ElfStrings,  // an ELF file whose references all lie in PT_INTERP/RPATH/RUNPATH
};
std::string_view rewrite_method_name(RewriteMethod m);

struct RewrittenFile {
  std::string bytes;  // the new contents
  RewriteMethod method = RewriteMethod::Text;
  std::size_t references = 0;
  std::vector<std::string> fields;  // ElfStrings: "PT_INTERP", "RUNPATH", ...
};

// The contents of a file with its references rewritten; nullopt when it has
// none. `elf` is the file's read_elf() value when it is an ELF file. Binary
// content whose length would change is an error naming `display`: it cannot
// be rewritten without knowing what the bytes mean.
Result<std::optional<RewrittenFile>> rewrite_references(std::string_view bytes, const ElfInfo* elf,
                                                        const std::vector<PathRewrite>& rewrites,
                                                        std::string_view display);

// Write `value` over the ELF string in `slot` of `bytes` (the terminating NUL
// included, the rest of the old string zeroed). Errors, naming `display`:
// the value is longer than the slot, or another dynamic string or symbol
// name shares the slot's bytes (linkers merge string tails), so that writing
// it would change that string too.
Result<void> patch_elf_string(std::string& bytes, const ElfInfo& elf, const ElfStringSlot& slot,
                              std::string_view value, std::string_view display);

// An RPATH/RUNPATH keeping only the elements in `used` (as written), first
// occurrence each, in order; nullopt when nothing would change.
std::optional<std::string> shrink_search_list(std::string_view list,
                                              const std::vector<std::string>& used);

}  // namespace elfprune
