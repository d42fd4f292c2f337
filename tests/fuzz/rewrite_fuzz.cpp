// --rewrite-ref and --shrink-rpath edit the bytes of files from the tree:
// ELF string slots found by the fast reader, section headers read for the
// symbol names an edit must not overwrite, text replaced. None of it may
// read or write outside the bytes, and an edit that succeeds must say what
// the fast reader then reads.
#include <string>

#include "elf/elf_info.hpp"
#include "fuzz_support.hpp"
#include "fuzz_targets.hpp"
#include "write/reference_rewrite.hpp"

namespace elfprune::fuzz {
namespace {

constexpr std::string_view kShown = "/fuzz/input";

// Rules of both kinds: equal lengths (a store path for another) and a
// shorter and a longer replacement.
const std::vector<PathRewrite>& rules() {
  static const std::vector<PathRewrite> r{{"/nix/store/00000000000000000000000000000000-full",
                                           "/nix/store/11111111111111111111111111111111-slim"},
                                          {"/lib64", "/l"},
                                          {"/usr/lib", "/usr/lib/x86_64-linux-gnu"},
                                          {"/opt", "/o"}};
  return r;
}

}  // namespace

void rewrite(std::string_view bytes) {
  static const MemFile file;
  file.replace(bytes);
  auto info = has_elf_magic(bytes) ? read_elf(file.path(), kShown)
                                   : Result<ElfInfo>(make_error(std::string(kShown), "not ELF"));
  const ElfInfo* elf = info ? &*info : nullptr;
  (void)dynsym_name_offsets(bytes);
  // The closure's scan regions: inside the bytes, in order, not overlapping.
  const char* last_end = bytes.data();
  for (const std::string_view region : elf_string_regions(bytes)) {
    FUZZ_CHECK(region.data() >= last_end &&
               region.data() + region.size() <= bytes.data() + bytes.size());
    last_end = region.data() + region.size();
  }

  auto r = rewrite_references(bytes, elf, rules(), kShown);
  if (!r) {
    FUZZ_CHECK(r.error().path == kShown && !r.error().message.empty());
  } else if (*r) {
    const RewrittenFile& f = **r;
    FUZZ_CHECK(f.references > 0);
    // Binary edits never move bytes.
    if (f.method != RewriteMethod::Text) FUZZ_CHECK(f.bytes.size() == bytes.size());
  }

  // Shrinking the RUNPATH (or RPATH) to its first element, as
  // --shrink-rpath might: the fast reader then reads exactly that.
  if (!elf) return;
  const bool runpath = elf->runpath.has_value();
  const auto& list = runpath ? elf->runpath : elf->rpath;
  const auto& slot = runpath ? elf->runpath_slot : elf->rpath_slot;
  if (!list || !slot) return;
  const std::string first = list->substr(0, list->find(':'));
  auto shrunk = shrink_search_list(*list, {first});
  if (!shrunk) return;
  std::string edited(bytes);
  if (!patch_elf_string(edited, *elf, *slot, *shrunk, kShown)) return;
  FUZZ_CHECK(edited.size() == bytes.size());
  file.replace(edited);
  auto again = read_elf(file.path(), kShown);
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK((runpath ? again->runpath : again->rpath) == *shrunk);
}

}  // namespace elfprune::fuzz
