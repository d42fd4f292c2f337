// elf_readers_agree ROOT < paths: for every inside path on standard input,
// compare the fast reader (read_elf) with the full LIEF parse
// (read_elf_with_lief) field by field. Prints each disagreement and a
// summary; exit status 1 when any file disagrees.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <iostream>
#include <string>

#include "elf/elf_info.hpp"
#include "tree/root.hpp"

namespace {

std::string show(const std::optional<std::string>& s) {
  return s ? "'" + *s + "'" : "none";
}

std::vector<std::string> differences(const elfprune::ElfInfo& a, const elfprune::ElfInfo& b) {
  std::vector<std::string> out;
  auto check = [&out](bool same, std::string_view what, std::string fast, std::string lief) {
    if (!same) out.push_back(fmt::format("{}: fast {} / lief {}", what, fast, lief));
  };
  check(a.dynamic == b.dynamic, "dynamic", fmt::to_string(a.dynamic), fmt::to_string(b.dynamic));
  check(a.interpreter == b.interpreter, "interpreter", show(a.interpreter), show(b.interpreter));
  check(a.needed == b.needed, "needed", fmt::format("{}", a.needed), fmt::format("{}", b.needed));
  check(a.rpath == b.rpath, "rpath", show(a.rpath), show(b.rpath));
  check(a.runpath == b.runpath, "runpath", show(a.runpath), show(b.runpath));
  check(a.soname == b.soname, "soname", show(a.soname), show(b.soname));
  check(a.flags == b.flags, "flags", fmt::to_string(a.flags), fmt::to_string(b.flags));
  check(a.flags_1 == b.flags_1, "flags_1", fmt::to_string(a.flags_1), fmt::to_string(b.flags_1));
  auto needs = [](const elfprune::ElfInfo& i) {
    std::vector<std::string> out;
    for (const auto& vn : i.version_needs) {
      for (const auto& v : vn.versions) out.push_back(fmt::format("{}:{}{}", vn.file, v.name, v.weak ? " (weak)" : ""));
    }
    return out;
  };
  check(needs(a) == needs(b), "version needs", fmt::format("{}", needs(a)), fmt::format("{}", needs(b)));
  check(a.version_defs == b.version_defs, "version definitions", fmt::format("{}", a.version_defs),
        fmt::format("{}", b.version_defs));
  check(a.dlopen.size() == b.dlopen.size(), "dlopen notes", fmt::to_string(a.dlopen.size()),
        fmt::to_string(b.dlopen.size()));
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: elf_readers_agree ROOT < inside-paths\n";
    return 2;
  }
  elfprune::Root root(argv[1]);
  std::size_t files = 0, agree = 0, both_refuse = 0, disagree = 0;
  std::string path;
  while (std::getline(std::cin, path)) {
    if (path.empty()) continue;
    ++files;
    auto host = root.host(path);
    auto fast = elfprune::read_elf(host, path);
    auto lief = elfprune::read_elf_with_lief(host, path);
    if (!fast.ok() || !lief.ok()) {
      if (!fast.ok() && !lief.ok()) {
        ++both_refuse;
        continue;
      }
      ++disagree;
      fmt::print("DISAGREE {}: fast {} / lief {}\n", path, fast.ok() ? "ok" : fast.error().message,
                 lief.ok() ? "ok" : lief.error().message);
      continue;
    }
    auto diffs = differences(*fast, *lief);
    if (diffs.empty()) {
      ++agree;
    } else {
      ++disagree;
      for (const auto& d : diffs) fmt::print("DISAGREE {}: {}\n", path, d);
    }
  }
  fmt::print("elf readers: {} files, {} agree, {} refused by both, {} disagree\n", files, agree,
             both_refuse, disagree);
  return disagree == 0 && files > 0 ? 0 : 1;
}
