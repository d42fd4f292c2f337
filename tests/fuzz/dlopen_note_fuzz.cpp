// .note.dlopen payloads are JSON written by whoever built the file.
#include <string_view>

#include "elf/dlopen_note.hpp"
#include "fuzz_targets.hpp"

namespace elfprune::fuzz {

void dlopen_note(std::string_view bytes) {
  const auto parsed = parse_dlopen_note(bytes);
  if (!parsed) {
    FUZZ_CHECK(parsed.error().message.starts_with("dlopen note: "));
    return;
  }
  // What the closure relies on: every entry names at least one soname, none
  // empty, with one of the three priorities of the specification.
  for (const auto& dep : *parsed) {
    FUZZ_CHECK(!dep.sonames.empty());
    for (const auto& name : dep.sonames) FUZZ_CHECK(!name.empty());
    FUZZ_CHECK(dep.priority == "required" || dep.priority == "recommended" ||
               dep.priority == "suggested");
  }
}

}  // namespace elfprune::fuzz
