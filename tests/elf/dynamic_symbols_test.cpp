// The loader's symbol tables (src/elf/dynamic_symbols.cpp): read from
// objects compiled at test time with each hash style, checked against LIEF
// and against the names compiled in; glibc's per-object lookup (do_lookup_x,
// check_match) on versioned and unversioned references, checked once
// against the real loader; and copies of a compiled library with one table
// broken, each refused with the file's name and the table's, never a crash.
#include "elf/dynamic_symbols.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <stdexcept>
#include <tuple>

#include "test_support.hpp"

namespace elfprune {
namespace {

namespace fs = std::filesystem;
using test::compile_c;
using test::TempDir;
using test::write_file;

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Dynamic tags the tests look up or break.
constexpr std::int64_t kDtPltrelsz = 2, kDtSyment = 11, kDtRela = 7, kDtRelasz = 8, kDtJmprel = 23,
                       kDtGnuHash = 0x6ffffef5, kDtVersym = 0x6ffffff0;
constexpr std::int64_t kDtDebug = 21;  // harmless: what a retagged entry becomes

// A little-endian ELF64 image (the host's), for the tests that break one of
// its tables.
struct Image {
  std::string bytes;

  explicit Image(const fs::path& p) : bytes(slurp(p)) {}

  std::uint64_t u(std::uint64_t off, int size) const {
    std::uint64_t v = 0;
    std::memcpy(&v, bytes.data() + off, static_cast<std::size_t>(size));
    return v;
  }
  void put(std::uint64_t off, std::uint64_t v, int size) {
    std::memcpy(bytes.data() + off, &v, static_cast<std::size_t>(size));
  }
  void save(const fs::path& p) const { write_file(p, bytes); }

  struct Phdr {
    std::uint64_t at = 0;  // where the header itself lies
    std::uint32_t type = 0;
    std::uint64_t offset = 0, vaddr = 0, filesz = 0, memsz = 0;
  };
  std::vector<Phdr> phdrs() const {
    std::vector<Phdr> out;
    const std::uint64_t phoff = u(32, 8);
    for (std::uint64_t i = 0; i < u(56, 2); ++i) {
      Phdr p;
      p.at = phoff + i * 56;
      p.type = static_cast<std::uint32_t>(u(p.at, 4));
      p.offset = u(p.at + 8, 8);
      p.vaddr = u(p.at + 16, 8);
      p.filesz = u(p.at + 32, 8);
      p.memsz = u(p.at + 40, 8);
      out.push_back(p);
    }
    return out;
  }
  // The file offset of the value of the dynamic entry tagged `tag`.
  std::uint64_t dyn_value_at(std::int64_t tag) const {
    for (const Phdr& p : phdrs()) {
      if (p.type != 2) continue;  // PT_DYNAMIC
      for (std::uint64_t o = p.offset; o + 16 <= p.offset + p.filesz; o += 16) {
        if (static_cast<std::int64_t>(u(o, 8)) == tag) return o + 8;
      }
    }
    throw std::runtime_error("no dynamic entry tagged " + std::to_string(tag));
  }
  std::uint64_t dyn(std::int64_t tag) const { return u(dyn_value_at(tag), 8); }
  void set_dyn(std::int64_t tag, std::uint64_t v) { put(dyn_value_at(tag), v, 8); }
  void retag(std::int64_t from, std::int64_t to) {
    put(dyn_value_at(from) - 8, static_cast<std::uint64_t>(to), 8);
  }
  std::uint64_t offset_of(std::uint64_t vaddr) const {
    for (const Phdr& p : phdrs()) {
      if (p.type == 1 && vaddr >= p.vaddr && vaddr - p.vaddr < p.filesz) {
        return p.offset + (vaddr - p.vaddr);
      }
    }
    throw std::runtime_error("address in no loaded segment");
  }
  // Appends `blob` at the end of the file (8-aligned) and stretches the last
  // PT_LOAD over it: a table the dynamic section can point at that ends
  // exactly where the file does. Returns the blob's address.
  std::uint64_t append_loaded(const std::string& blob) {
    while (bytes.size() % 8 != 0) bytes.push_back('\0');
    const std::uint64_t at = bytes.size();
    bytes += blob;
    Phdr last;
    for (const Phdr& p : phdrs()) {
      if (p.type == 1) last = p;
    }
    const std::uint64_t filesz = bytes.size() - last.offset;
    put(last.at + 32, filesz, 8);
    put(last.at + 40, std::max(filesz, last.memsz), 8);
    return last.vaddr + (at - last.offset);
  }
};

// The lookup of `name` in `syms` as the binder makes it.
SymbolLookup find(const DynamicSymbols& syms, std::string_view name,
                  const VersionSlot* version = nullptr) {
  return syms.find(name, gnu_hash_of(name), elf_hash_of(name), version);
}

// A version as a reference asks for it: vna_hash is the ELF hash of the name.
VersionSlot wanted(std::string name, std::string file = "", bool hidden = false) {
  const std::uint32_t hash = elf_hash_of(name);
  return VersionSlot{std::move(name), hash, std::move(file), hidden};
}

struct Read {
  ElfInfo info;
  DynamicSymbols symbols;
};

Read read_both(const fs::path& path, std::string_view display) {
  auto info = read_elf(path, display);
  if (!info) throw std::runtime_error(info.error().message);
  auto syms = read_dynamic_symbols(path, display, *info);
  if (!syms) throw std::runtime_error(syms.error().path + ": " + syms.error().message);
  return Read{std::move(*info), std::move(*syms)};
}

// The .gnu.version index a library gives its version `name` (vd_ndx).
std::uint16_t def_index(const ElfInfo& info, std::string_view name) {
  for (const auto& d : info.version_defs) {
    if (d.name == name) return d.index;
  }
  return 0;
}

// Every table index of a symbol named `name`.
std::vector<std::size_t> indices_of(const DynamicSymbols& syms, std::string_view name) {
  std::vector<std::size_t> out;
  for (std::size_t i = 0; i < syms.size(); ++i) {
    if (syms.symbol(i).name == name) out.push_back(i);
  }
  return out;
}

// ---------------------------------------------------------------------------
// Plain and versioned libraries, with each hash style.

// A library without version script: exported code and data, a TLS
// variable, hidden and static functions (never in .dynsym), an undefined
// strong and an undefined weak reference.
constexpr std::string_view kPlainLib = R"(
int exported_fn(void) { return 1; }
int exported_data = 2;
__thread int tls_var;
int weak_def(void) __attribute__((weak));
int weak_def(void) { return 3; }
__attribute__((visibility("hidden"))) int hidden_fn(void) { return 4; }
static int static_fn(void) { return 5; }
extern int strong_undef(void);
extern int weak_undef(void) __attribute__((weak));
int use(void) {
  return strong_undef() + (weak_undef ? weak_undef() : 0) + hidden_fn() + static_fn() + tls_var;
}
)";

// The versioned library: f at VER_1 (hidden, index 2) and VER_2 (default);
// g only at VER_2, hidden; h at VER_2 (hidden, index 3) and VER_3
// (default); only1 at VER_1, only2 at VER_2; base_sym in no version node
// (the base definition, index 1).
constexpr std::string_view kVersionedLib = R"(
int f_old(void) { return 1; }
__asm__(".symver f_old,f@VER_1");
int f_new(void) { return 2; }
__asm__(".symver f_new,f@@VER_2");
int g_mid(void) { return 3; }
__asm__(".symver g_mid,g@VER_2");
int h_mid(void) { return 4; }
__asm__(".symver h_mid,h@VER_2");
int h_new(void) { return 5; }
__asm__(".symver h_new,h@@VER_3");
int only1(void) { return 6; }
int only2(void) { return 7; }
int base_sym(void) { return 8; }
)";
constexpr std::string_view kVersionScript =
    "VER_1 { global: only1; local: f_old; f_new; g_mid; h_mid; h_new; };\n"
    "VER_2 { global: only2; } VER_1;\n"
    "VER_3 { } VER_2;\n";

class HashStyle : public ::testing::TestWithParam<std::string> {
 protected:
  fs::path plain() {
    const fs::path out = dir_ / "libplain.so";
    compile_c(kPlainLib, out,
              "-shared -fPIC -Wl,-soname,libplain.so -Wl,--hash-style=" + GetParam());
    return out;
  }
  fs::path versioned() {
    write_file(dir_ / "ver.map", kVersionScript);
    const fs::path out = dir_ / "libver.so.1";
    compile_c(kVersionedLib, out,
              "-shared -fPIC -Wl,-soname,libver.so.1 -Wl,--version-script=" +
                  (dir_ / "ver.map").string() + " -Wl,--hash-style=" + GetParam());
    return out;
  }
  // The tables the style asked for are the ones the reader uses.
  void expect_style(const ElfInfo& info) {
    const std::string& style = GetParam();
    EXPECT_EQ(info.symbol_tables.gnu_hash.has_value(), style != "sysv");
    EXPECT_EQ(info.symbol_tables.hash.has_value(), style != "gnu");
  }
  TempDir dir_;
};

TEST_P(HashStyle, SymbolsReadAreLiefsAndTheNamesCompiledIn) {
  for (const fs::path& lib : {plain(), versioned()}) {
    const Read r = read_both(lib, "/usr/lib/" + lib.filename().string());
    expect_style(r.info);
    auto lief = read_symbol_rows_with_lief(lib, lib.string());
    ASSERT_TRUE(lief.ok()) << lief.error().message;
    // The hash table reaches the whole of .dynsym in what ld writes.
    EXPECT_EQ(r.symbols.size(), lief->size()) << lib;
    EXPECT_EQ(symbol_rows(r.symbols), *lief) << lib;
    EXPECT_TRUE(r.symbols.warnings.empty());
    if (lib.filename() == "libver.so.1") {
      EXPECT_TRUE(r.symbols.has_versym());
    }
  }
  const Read p = read_both(dir_ / "libplain.so", "/usr/lib/libplain.so");
  std::set<std::string> names;
  for (std::size_t i = 0; i < p.symbols.size(); ++i) names.emplace(p.symbols.symbol(i).name);
  for (const char* n : {"exported_fn", "exported_data", "tls_var", "weak_def", "use",
                        "strong_undef", "weak_undef"}) {
    EXPECT_EQ(names.count(n), 1u) << n;
  }
  EXPECT_EQ(names.count("hidden_fn"), 0u);
  EXPECT_EQ(names.count("static_fn"), 0u);
  const DynamicSymbol data = p.symbols.symbol(indices_of(p.symbols, "exported_data").at(0));
  EXPECT_EQ(data.type, 1);  // STT_OBJECT
  EXPECT_EQ(data.bind, symconst::kBindGlobal);
  EXPECT_FALSE(data.undefined());
  const DynamicSymbol weak = p.symbols.symbol(indices_of(p.symbols, "weak_undef").at(0));
  EXPECT_TRUE(weak.undefined());
  EXPECT_EQ(weak.bind, symconst::kBindWeak);
}

TEST_P(HashStyle, FindTakesExportedDefinitionsOnly) {
  const Read r = read_both(plain(), "/usr/lib/libplain.so");
  const DynamicSymbols& s = r.symbols;
  for (const char* name : {"exported_fn", "exported_data", "weak_def", "use", "tls_var"}) {
    const SymbolLookup hit = find(s, name);
    ASSERT_TRUE(hit.index.has_value()) << name;
    EXPECT_EQ(s.symbol(*hit.index).name, name);
    EXPECT_FALSE(s.symbol(*hit.index).undefined()) << name;
  }
  // tls_var is the first TLS variable: value 0, still a definition.
  EXPECT_EQ(s.symbol(*find(s, "tls_var").index).value, 0u);
  // Undefined entries (strong or weak), names not exported, names absent.
  for (const char* name : {"strong_undef", "weak_undef", "hidden_fn", "static_fn", "absent", "",
                           "exported_fn2", "exported_f"}) {
    EXPECT_FALSE(find(s, name).index.has_value()) << name;
  }
  // The lookup hashes are the name's, not any: a wrong hash finds nothing.
  const std::uint32_t gnu = gnu_hash_of("exported_fn"), elf = elf_hash_of("exported_fn");
  EXPECT_FALSE(s.find("exported_fn", gnu ^ 0x10, elf ^ 0x10, nullptr).index.has_value());
  // A version asked of a library without version information: any
  // definition binds (the library is not the version's file here).
  const VersionSlot v = wanted("VER_9", "libother.so");
  EXPECT_TRUE(find(s, "exported_fn", &v).index.has_value());
}

TEST_P(HashStyle, StrongReferencesAreTheUndefinedNonWeakOnes) {
  const Read r = read_both(plain(), "/usr/lib/libplain.so");
  std::vector<std::string> refs;
  for (const auto& ref : r.symbols.strong_references()) {
    refs.emplace_back(r.symbols.symbol(ref.index).name);
    EXPECT_FALSE(ref.copy);
    EXPECT_LT(ref.index, r.symbols.size());
  }
  // Not weak_undef, nor the weak __cxa_finalize / __gmon_start__ / _ITM_*;
  // __tls_get_addr is the TLS access to tls_var (general dynamic model).
  std::sort(refs.begin(), refs.end());
  EXPECT_EQ(refs, (std::vector<std::string>{"__tls_get_addr", "strong_undef"}));
}

TEST_P(HashStyle, VersionedReferenceTakesItsVersionOrTheBaseDefinition) {
  const Read r = read_both(versioned(), "/usr/lib/libver.so.1");
  expect_style(r.info);
  const DynamicSymbols& s = r.symbols;
  const std::uint16_t ver1 = def_index(r.info, "VER_1"), ver2 = def_index(r.info, "VER_2"),
                      ver3 = def_index(r.info, "VER_3");
  ASSERT_EQ(ver1, 2);
  ASSERT_EQ(ver2, 3);
  ASSERT_EQ(ver3, 4);
  const VersionSlot v1 = wanted("VER_1", "libver.so.1"), v2 = wanted("VER_2", "libver.so.1"),
                    v3 = wanted("VER_3", "libver.so.1");
  auto versym_of = [&](const SymbolLookup& hit) {
    return hit.index ? s.symbol(*hit.index).versym : std::uint16_t{0xffff};
  };
  // f@@VER_2 for VER_2, the hidden f@VER_1 for VER_1 (asked by name, a
  // hidden definition is fine).
  EXPECT_EQ(versym_of(find(s, "f", &v2)), ver2);
  EXPECT_EQ(versym_of(find(s, "f", &v1)), ver1 | symconst::kVersymHidden);
  // Not at VER_3: f has no such version and its definitions are versioned.
  EXPECT_FALSE(find(s, "f", &v3).index.has_value());
  // only1 is at VER_1 alone: VER_2 does not take it; only2 at VER_2.
  EXPECT_FALSE(find(s, "only1", &v2).index.has_value());
  EXPECT_EQ(versym_of(find(s, "only1", &v1)), ver1);
  EXPECT_EQ(versym_of(find(s, "only2", &v2)), ver2);
  EXPECT_FALSE(find(s, "only2", &v1).index.has_value());
  // g@VER_2 (hidden) for VER_2 only.
  EXPECT_EQ(versym_of(find(s, "g", &v2)), ver2 | symconst::kVersymHidden);
  EXPECT_FALSE(find(s, "g", &v3).index.has_value());
  // The base definition (index 1) satisfies any version asked of it...
  const SymbolLookup base = find(s, "base_sym", &v2);
  ASSERT_TRUE(base.index.has_value());
  EXPECT_EQ(s.symbol(*base.index).versym, 1);
  // ...unless the reference's version is hidden (vna_other bit 15).
  const VersionSlot v2_hidden = wanted("VER_2", "libver.so.1", /*hidden=*/true);
  EXPECT_FALSE(find(s, "base_sym", &v2_hidden).index.has_value());
  EXPECT_EQ(versym_of(find(s, "only2", &v2_hidden)), ver2);
  // glibc compares vna_hash as written, and the name: either wrong, no match.
  VersionSlot bad_hash = v2;
  bad_hash.hash ^= 1;
  EXPECT_FALSE(find(s, "only2", &bad_hash).index.has_value());
  const VersionSlot other_name{"VER_X", v2.hash, "libver.so.1", false};
  EXPECT_FALSE(find(s, "only2", &other_name).index.has_value());
}

TEST_P(HashStyle, UnversionedReferenceTakesTheOldestOrTheOnlyVisibleVersion) {
  const Read r = read_both(versioned(), "/usr/lib/libver.so.1");
  const DynamicSymbols& s = r.symbols;
  auto versym_of = [&](std::string_view name) {
    const SymbolLookup hit = find(s, name);
    return hit.index ? s.symbol(*hit.index).versym : std::uint16_t{0xffff};
  };
  // check_match takes index 2 (the first version defined) as the base,
  // hidden or not: an old unversioned binary gets the oldest f (glibc
  // binds f to f@VER_1, see RealLoaderAgrees below).
  EXPECT_EQ(versym_of("f"), 2 | symconst::kVersymHidden);
  // h@VER_2 is hidden at index 3: not taken; h@@VER_3 is the one visible.
  EXPECT_EQ(versym_of("h"), 4);
  // g exists only as a hidden non-base version: nothing.
  EXPECT_EQ(versym_of("g"), 0xffff);
  // only2@@VER_2 is the only version of it.
  EXPECT_EQ(versym_of("only2"), 3);
  EXPECT_EQ(versym_of("only1"), 2);
  EXPECT_EQ(versym_of("base_sym"), 1);
  // The version definitions' own symbols (ABS, value 0) are definitions.
  EXPECT_TRUE(find(s, "VER_2").index.has_value());
}

INSTANTIATE_TEST_SUITE_P(DynamicSymbols, HashStyle, ::testing::Values("gnu", "sysv", "both"),
                         [](const auto& param_info) { return param_info.param; });

// The rules above, against the real loader: a program linked against an
// unversioned build of libver.so.1 (so its references carry no version),
// run with the versioned build.
TEST(DynamicSymbolsRealLoader, UnversionedReferencesBindWhereTheLoaderBindsThem) {
  TempDir dir;
  compile_c("int f(void) { return 0; } int h(void) { return 0; } int only2(void) { return 0; }",
            dir / "stub/libver.so.1", "-shared -fPIC -Wl,-soname,libver.so.1");
  write_file(dir / "ver.map", kVersionScript);
  compile_c(
      kVersionedLib, dir / "run/libver.so.1",
      "-shared -fPIC -Wl,-soname,libver.so.1 -Wl,--version-script=" + (dir / "ver.map").string());
  compile_c(R"(#include <stdio.h>
int f(void); int h(void); int only2(void);
int main(void) { printf("%d %d %d\n", f(), h(), only2()); return 0; }
)",
            dir / "prog", "'" + (dir / "stub/libver.so.1").string() + "'");
  const auto run = test::run_command("LD_BIND_NOW=1 LD_LIBRARY_PATH=" + test::quoted(dir / "run") +
                                     " " + test::quoted(dir / "prog"));
  ASSERT_EQ(run.status, 0) << run.output;
  // f_old, h_new, only2 (kVersionedLib's return values).
  EXPECT_EQ(run.output, "1 5 7\n");

  const Read prog = read_both(dir / "prog", "/prog");
  const Read lib = read_both(dir / "run/libver.so.1", "/libver.so.1");
  std::map<std::string, std::uint16_t> bound;
  for (const auto& ref : prog.symbols.strong_references()) {
    const DynamicSymbol s = prog.symbols.symbol(ref.index);
    if (s.name != "f" && s.name != "h" && s.name != "only2") continue;
    EXPECT_EQ(prog.symbols.wanted_version(ref.index), nullptr) << s.name;
    const SymbolLookup hit = find(lib.symbols, s.name, prog.symbols.wanted_version(ref.index));
    ASSERT_TRUE(hit.index.has_value()) << s.name;
    bound[std::string(s.name)] = lib.symbols.symbol(*hit.index).versym;
  }
  const std::map<std::string, std::uint16_t> expected{
      {"f", 2 | symconst::kVersymHidden}, {"h", 4}, {"only2", 3}};
  EXPECT_EQ(bound, expected);
}

// A program linked against libver.so.1: its references carry the version
// they were linked at (the default one) and the library it belongs to; its
// hash table holds no symbol, the relocations name them; data it reads is
// a copy relocation.
TEST(DynamicSymbols, ProgramReferencesCarryTheirVersionAndCopyRelocations) {
  TempDir dir;
  write_file(dir / "ver.map",
             std::string(kVersionScript) + "VER_D { global: shared_data; } VER_3;\n");
  compile_c(
      std::string(kVersionedLib) + "int shared_data = 9;\n", dir / "libver.so.1",
      "-shared -fPIC -Wl,-soname,libver.so.1 -Wl,--version-script=" + (dir / "ver.map").string());
  compile_c(R"(
int f(void); int only1(void); int base_sym(void); extern int shared_data;
int main(void) { return f() + only1() + base_sym() + shared_data; }
)",
            dir / "prog", "-Wl,--hash-style=gnu '" + (dir / "libver.so.1").string() + "'");
  const Read p = read_both(dir / "prog", "/usr/bin/prog");
  ASSERT_TRUE(p.info.symbol_tables.gnu_hash.has_value());
  auto lief = read_symbol_rows_with_lief(dir / "prog", "/usr/bin/prog");
  ASSERT_TRUE(lief.ok());
  EXPECT_EQ(symbol_rows(p.symbols), *lief);

  std::map<std::string, std::pair<std::string, bool>> refs;  // name -> (version@file, copy)
  for (const auto& ref : p.symbols.strong_references()) {
    const DynamicSymbol s = p.symbols.symbol(ref.index);
    const VersionSlot* v = p.symbols.wanted_version(ref.index);
    refs[std::string(s.name)] = {v ? v->name + "@" + v->file : "", ref.copy};
  }
  EXPECT_EQ(refs["f"], (std::pair<std::string, bool>{"VER_2@libver.so.1", false}));
  EXPECT_EQ(refs["only1"], (std::pair<std::string, bool>{"VER_1@libver.so.1", false}));
  EXPECT_EQ(refs["base_sym"], (std::pair<std::string, bool>{"", false}));
  EXPECT_EQ(refs["shared_data"], (std::pair<std::string, bool>{"VER_D@libver.so.1", true}));
  ASSERT_EQ(refs.count("__libc_start_main"), 1u);
  EXPECT_EQ(refs["__libc_start_main"].first.substr(0, 6), "GLIBC_");
  EXPECT_NE(refs["__libc_start_main"].first.find("@libc.so.6"), std::string::npos);
  EXPECT_EQ(refs.count("__gmon_start__"), 0u);  // weak

  // What the copy relocation looks up: the library's definition.
  const Read lib = read_both(dir / "libver.so.1", "/libver.so.1");
  const VersionSlot vd = wanted("VER_D", "libver.so.1");
  EXPECT_TRUE(find(lib.symbols, "shared_data", &vd).index.has_value());
}

// An object whose hash tables are gone (DT_GNU_HASH retagged): its
// relocations are still read, nothing can bind to it, and it says so.
TEST(DynamicSymbols, NoHashTableBindsNothingButStillReferences) {
  TempDir dir;
  compile_c(kPlainLib, dir / "libplain.so", "-shared -fPIC -Wl,--hash-style=gnu");
  Image img(dir / "libplain.so");
  img.retag(kDtGnuHash, kDtDebug);
  img.save(dir / "nohash.so");
  const Read r = read_both(dir / "nohash.so", "/nohash.so");
  ASSERT_EQ(r.symbols.warnings.size(), 1u);
  EXPECT_NE(r.symbols.warnings[0].find("no hash table"), std::string::npos);
  EXPECT_FALSE(find(r.symbols, "exported_fn").index.has_value());
  std::set<std::string> refs;
  for (const auto& ref : r.symbols.strong_references())
    refs.emplace(r.symbols.symbol(ref.index).name);
  EXPECT_EQ(refs, (std::set<std::string>{"__tls_get_addr", "strong_undef"}));
}

// Hidden and internal visibility, and local binding, in .dynsym (ld never
// writes them there; a hand-made object may): skipped as do_lookup_x skips
// them.
TEST(DynamicSymbols, HiddenOrLocalEntriesInDynsymAreNotDefinitions) {
  TempDir dir;
  compile_c(kPlainLib, dir / "libplain.so", "-shared -fPIC -Wl,--hash-style=both");
  const Read r = read_both(dir / "libplain.so", "/libplain.so");
  const std::size_t fn = indices_of(r.symbols, "exported_fn").at(0);
  const std::uint64_t entry = *r.info.symbol_tables.symtab + fn * 24;
  for (int style = 0; style < 2; ++style) {
    for (auto [what, at, value] : {std::tuple{"hidden", 5, 2}, std::tuple{"internal", 5, 1},
                                   std::tuple{"local", 4, 0x02 /* STB_LOCAL, STT_FUNC */}}) {
      Image img(dir / "libplain.so");
      img.put(entry + static_cast<std::uint64_t>(at), static_cast<std::uint64_t>(value), 1);
      if (style == 1) img.retag(kDtGnuHash, kDtDebug);  // the DT_HASH path
      img.save(dir / "patched.so");
      const Read p = read_both(dir / "patched.so", "/patched.so");
      EXPECT_FALSE(find(p.symbols, "exported_fn").index.has_value()) << what << " style " << style;
      EXPECT_TRUE(find(p.symbols, "exported_data").index.has_value()) << what;
    }
  }
}

// A symbol whose type is no code or data (STT_SECTION) is no definition.
TEST(DynamicSymbols, OnlyCodeAndDataTypesAreDefinitions) {
  TempDir dir;
  compile_c(kPlainLib, dir / "libplain.so", "-shared -fPIC");
  const Read r = read_both(dir / "libplain.so", "/libplain.so");
  const std::size_t fn = indices_of(r.symbols, "exported_fn").at(0);
  Image img(dir / "libplain.so");
  img.put(*r.info.symbol_tables.symtab + fn * 24 + 4, 0x13, 1);  // GLOBAL, STT_SECTION
  img.save(dir / "patched.so");
  EXPECT_FALSE(find(read_both(dir / "patched.so", "/p.so").symbols, "exported_fn").index);
  img.put(*r.info.symbol_tables.symtab + fn * 24 + 4, 0x1a, 1);  // GLOBAL, STT_GNU_IFUNC
  img.save(dir / "patched.so");
  EXPECT_TRUE(find(read_both(dir / "patched.so", "/p.so").symbols, "exported_fn").index);
}

TEST(DynamicSymbols, HashFunctionsAreGlibcs) {
  EXPECT_EQ(gnu_hash_of(""), 5381u);
  EXPECT_EQ(gnu_hash_of("printf"), 0x156b2bb8u);
  EXPECT_EQ(elf_hash_of(""), 0u);
  EXPECT_EQ(elf_hash_of("printf"), 0x077905a6u);
  EXPECT_EQ(elf_hash_of("GLIBC_2.2.5"), 0x09691a75u);  // vna_hash of libc's first version
}

// ---------------------------------------------------------------------------
// Hostile tables: a compiled library with one table broken.

class HostileTables : public ::testing::Test {
 protected:
  static constexpr std::string_view kShown = "/usr/lib/x86_64-linux-gnu/libhostile.so.1";

  void SetUp() override {
    // puts: a versioned reference (GLIBC_2.2.5), so there is a .gnu.version.
    compile_c(R"(
#include <stdio.h>
extern int undef_a(void); extern int undef_b(void);
int one(void) { return 1; } int two(void) { return 2; } int three(void) { return 3; }
int call(void) { puts("call"); return undef_a() + undef_b(); }
)",
              dir_ / "gnu.so", "-shared -fPIC -Wl,-soname,libhostile.so.1 -Wl,--hash-style=gnu");
    compile_c("extern int undef_a(void); int one(void) { return undef_a(); }", dir_ / "sysv.so",
              "-shared -fPIC -Wl,-soname,libhostile.so.1 -Wl,--hash-style=sysv");
    auto info = read_elf(dir_ / "gnu.so", kShown);
    ASSERT_TRUE(info.ok());
    gnu_ = *info;
    ASSERT_TRUE(read_dynamic_symbols(dir_ / "gnu.so", kShown, gnu_).ok());
    ASSERT_TRUE(gnu_.symbol_tables.gnu_hash && gnu_.symbol_tables.symtab &&
                gnu_.symbol_tables.versym);
  }

  // The error of reading `img` (saved as a copy), read_elf on the same
  // bytes, or with `info` when given (the tables as read before the bytes
  // changed).
  Error error_of(const Image& img, const ElfInfo* info = nullptr) {
    const fs::path copy = dir_ / ("broken" + std::to_string(n_++) + ".so");
    img.save(copy);
    ElfInfo parsed;
    if (info == nullptr) {
      auto fresh = read_elf(copy, kShown);
      if (!fresh) {
        ADD_FAILURE() << "read_elf refused the copy: " << fresh.error().message;
        return {};
      }
      parsed = *fresh;
      info = &parsed;
    }
    auto res = read_dynamic_symbols(copy, kShown, *info);
    if (res.ok()) {
      ADD_FAILURE() << "a broken table was read";
      return {};
    }
    EXPECT_EQ(res.error().path, kShown);
    return res.error();
  }

  std::uint64_t gnu_hash() const { return *gnu_.symbol_tables.gnu_hash; }
  std::uint64_t nbuckets(const Image& img) const { return img.u(gnu_hash(), 4); }
  std::uint64_t buckets_at(const Image& img) const {
    return gnu_hash() + 16 + img.u(gnu_hash() + 8, 4) * 8;
  }

  TempDir dir_;
  ElfInfo gnu_;
  int n_ = 0;
};

TEST_F(HostileTables, GnuHashBucketPastTheSymbolTable) {
  Image img(dir_ / "gnu.so");
  img.put(buckets_at(img), 0x00ffffff, 4);
  const Error e = error_of(img);
  EXPECT_NE(e.message.find("DT_GNU_HASH"), std::string::npos) << e.message;
}

TEST_F(HostileTables, GnuHashBucketBelowItsFirstSymbol) {
  Image img(dir_ / "gnu.so");
  const std::uint64_t symoffset = img.u(gnu_hash() + 4, 4);
  ASSERT_GT(symoffset, 1u);
  img.put(buckets_at(img) + 4 * (nbuckets(img) - 1), symoffset - 1, 4);
  const Error e = error_of(img);
  EXPECT_NE(e.message.find("DT_GNU_HASH"), std::string::npos) << e.message;
}

TEST_F(HostileTables, GnuHashHeaderOutsideTheFileOrEmpty) {
  for (std::uint64_t nb : {std::uint64_t{0x40000000}, std::uint64_t{0}}) {
    Image img(dir_ / "gnu.so");
    img.put(gnu_hash(), nb, 4);
    const Error e = error_of(img);
    EXPECT_NE(e.message.find("DT_GNU_HASH"), std::string::npos) << nb << ": " << e.message;
  }
  Image img(dir_ / "gnu.so");
  img.put(gnu_hash() + 8, 0x10000000, 4);  // a Bloom filter of 2 GB
  EXPECT_NE(error_of(img).message.find("DT_GNU_HASH"), std::string::npos);
}

// A DT_GNU_HASH whose Bloom filter has 3 words: glibc's _dl_setup_hash
// asserts the count is a power of two, and the real loader refuses the
// object ("Inconsistency detected by ld.so: dl-setup_hash.c: 36:
// _dl_setup_hash: Assertion `(bitmask_nwords & (bitmask_nwords - 1)) == 0'
// failed!"), as the run below shows; the reader refuses it too, naming the
// table. The table is otherwise sound: one bucket, one chain over the
// library's hashed symbols, every Bloom bit set (with 4 words it is read
// and finds them, and the loader takes it).
TEST_F(HostileTables, GnuHashBloomSizeNotAPowerOfTwo) {
  const Read before = read_both(dir_ / "gnu.so", kShown);
  Image original(dir_ / "gnu.so");
  const std::uint32_t symoffset = static_cast<std::uint32_t>(original.u(gnu_hash() + 4, 4));
  auto table = [&](std::uint32_t nbloom) {
    std::string t;
    auto add32 = [&](std::uint32_t v) { t.append(reinterpret_cast<const char*>(&v), 4); };
    add32(1);
    add32(symoffset);
    add32(nbloom);
    add32(6);
    t += std::string(8 * nbloom, '\xff');
    add32(symoffset);
    for (std::size_t i = symoffset; i < before.symbols.size(); ++i) {
      const std::uint32_t h = gnu_hash_of(before.symbols.symbol(i).name) & ~1u;
      add32(i + 1 == before.symbols.size() ? h | 1 : h);
    }
    return t;
  };
  for (const std::uint32_t nbloom : {4u, 3u}) {
    Image img(dir_ / "gnu.so");
    img.set_dyn(kDtGnuHash, img.append_loaded(table(nbloom)));
    const fs::path copy = dir_ / ("bloom" + std::to_string(nbloom) + ".so");
    img.save(copy);
    const auto ran = test::run_command("LD_PRELOAD=" + test::quoted(copy) + " /bin/true");
    auto info = read_elf(copy, kShown);
    ASSERT_TRUE(info.ok());
    auto res = read_dynamic_symbols(copy, kShown, *info);
    if (nbloom == 4) {
      EXPECT_EQ(ran.output.find("bitmask_nwords"), std::string::npos) << ran.output;
      ASSERT_TRUE(res.ok()) << res.error().message;
      EXPECT_TRUE(find(*res, "two").index.has_value());
      EXPECT_TRUE(find(*res, "call").index.has_value());
    } else {
      EXPECT_NE(ran.status, 0);
      EXPECT_NE(ran.output.find("bitmask_nwords"), std::string::npos) << ran.output;
      ASSERT_FALSE(res.ok()) << "a Bloom filter of 3 words was read";
      EXPECT_EQ(res.error().path, kShown);
      EXPECT_NE(res.error().message.find("DT_GNU_HASH"), std::string::npos) << res.error().message;
    }
  }
}

// A hash table at the very end of the file whose one chain has no end bit:
// the walk reaches the end of the file.
TEST_F(HostileTables, GnuHashChainThatNeverEnds) {
  Image img(dir_ / "gnu.so");
  const std::uint32_t symoffset = 1;
  std::string table(16, '\0');
  auto put32 = [&](std::size_t at, std::uint32_t v) { std::memcpy(table.data() + at, &v, 4); };
  put32(0, 1);                                                         // nbuckets
  put32(4, symoffset);                                                 // symoffset
  put32(8, 1);                                                         // Bloom words
  put32(12, 6);                                                        // shift
  table += std::string(8, '\xff');                                     // Bloom: all set
  table += std::string("\x01\0\0\0", 4);                               // bucket 0 -> symbol 1
  for (int i = 0; i < 16; ++i) table += std::string("\x02\0\0\0", 4);  // chain, no end bit
  img.set_dyn(kDtGnuHash, img.append_loaded(table));
  const Error e = error_of(img);
  EXPECT_NE(e.message.find("DT_GNU_HASH"), std::string::npos) << e.message;
  EXPECT_NE(e.message.find("chain"), std::string::npos) << e.message;
}

// The same in place: every end bit from the chains on cleared, up to the
// end of the file (the rest of the file is then no longer an ELF file one
// can read, so the tables as read before are used).
TEST_F(HostileTables, GnuHashChainsWithoutEndBitsInPlace) {
  Image img(dir_ / "gnu.so");
  const std::uint64_t chains = buckets_at(img) + 4 * nbuckets(img);
  for (std::uint64_t o = chains; o < img.bytes.size(); o += 4) {
    img.bytes[o] = static_cast<char>(img.bytes[o] & ~1);
  }
  const Error e = error_of(img, &gnu_);
  EXPECT_NE(e.message.find("DT_GNU_HASH"), std::string::npos) << e.message;
  EXPECT_NE(e.message.find("chain"), std::string::npos) << e.message;
}

TEST_F(HostileTables, SysvHashChainNamingNoSymbol) {
  auto info = read_elf(dir_ / "sysv.so", kShown);
  ASSERT_TRUE(info.ok());
  ASSERT_TRUE(info->symbol_tables.hash.has_value());
  ASSERT_FALSE(info->symbol_tables.gnu_hash.has_value());
  const std::uint64_t at = *info->symbol_tables.hash;
  for (const bool in_bucket : {true, false}) {
    Image img(dir_ / "sysv.so");
    const std::uint64_t nbucket = img.u(at, 4), nchain = img.u(at + 4, 4);
    img.put(at + 8 + (in_bucket ? 0 : nbucket * 4 + 4), nchain, 4);
    const Error e = error_of(img);
    EXPECT_NE(e.message.find("DT_HASH"), std::string::npos) << e.message;
  }
  Image img(dir_ / "sysv.so");
  img.put(at + 4, 0x10000000, 4);  // nchain past the file
  EXPECT_NE(error_of(img).message.find("DT_HASH"), std::string::npos);
}

// A cycle in a DT_HASH chain is no error (every index is in range), but a
// lookup through it must end.
TEST_F(HostileTables, SysvHashChainCycleEnds) {
  auto info = read_elf(dir_ / "sysv.so", kShown);
  ASSERT_TRUE(info.ok());
  const std::uint64_t at = *info->symbol_tables.hash;
  Image img(dir_ / "sysv.so");
  const std::uint64_t nbucket = img.u(at, 4), nchain = img.u(at + 4, 4);
  ASSERT_GT(nchain, 2u);
  for (std::uint64_t b = 0; b < nbucket; ++b) img.put(at + 8 + 4 * b, 1, 4);
  img.put(at + 8 + 4 * nbucket + 4 * 1, 2, 4);  // 1 -> 2
  img.put(at + 8 + 4 * nbucket + 4 * 2, 1, 4);  // 2 -> 1
  img.save(dir_ / "cycle.so");
  const Read r = read_both(dir_ / "cycle.so", kShown);
  EXPECT_FALSE(find(r.symbols, "no_such_symbol").index.has_value());
}

// .gnu.version at the end of the file, shorter than .dynsym.
TEST_F(HostileTables, VersymTruncatedAtTheEndOfTheFile) {
  Image img(dir_ / "gnu.so");
  img.set_dyn(kDtVersym, img.append_loaded(std::string("\x01\0\x01\0", 4)));
  const Error e = error_of(img);
  EXPECT_NE(e.message.find(".gnu.version"), std::string::npos) << e.message;
  EXPECT_NE(e.message.find("DT_VERSYM"), std::string::npos) << e.message;
}

TEST_F(HostileTables, VersionIndexOutOfRange) {
  for (const std::uint64_t index : {std::uint64_t{0x7ff0}, std::uint64_t{0x8000 | 0x40}}) {
    Image img(dir_ / "gnu.so");
    img.put(*gnu_.symbol_tables.versym + 2 * 1, index, 2);
    const Error e = error_of(img);
    EXPECT_NE(e.message.find(".gnu.version"), std::string::npos) << e.message;
    EXPECT_NE(e.message.find("symbol 1 "), std::string::npos) << e.message;
  }
}

TEST_F(HostileTables, SymbolNameOutsideTheStringTable) {
  const std::uint64_t strsz = gnu_.symbol_tables.strsz;
  ASSERT_GT(strsz, 0u);
  for (const std::uint64_t name : {strsz, strsz + 1, std::uint64_t{0xfffffff0}}) {
    Image img(dir_ / "gnu.so");
    img.put(*gnu_.symbol_tables.symtab + 24 * 2, name, 4);  // symbol 2's st_name
    const Error e = error_of(img);
    EXPECT_NE(e.message.find("DT_STRTAB"), std::string::npos) << name << ": " << e.message;
    EXPECT_NE(e.message.find("symbol 2 "), std::string::npos) << e.message;
  }
  // A name that starts inside the table but whose NUL lies past DT_STRSZ:
  // the table's last byte (its last string's NUL) overwritten, and a name
  // starting just before it. The tables lie where they did.
  Image img(dir_ / "gnu.so");
  img.put(*gnu_.symbol_tables.symtab + 24 * 1, strsz - 2, 4);
  ASSERT_EQ(img.bytes[gnu_.dynstr_offset + strsz - 1], '\0');
  img.bytes[gnu_.dynstr_offset + strsz - 1] = 'x';
  const Error e = error_of(img, &gnu_);
  EXPECT_NE(e.message.find("DT_STRTAB"), std::string::npos) << e.message;
  EXPECT_NE(e.message.find("symbol 1 "), std::string::npos) << e.message;
}

TEST_F(HostileTables, RelocationTableOutsideTheFile) {
  {  // DT_RELASZ far past the end of the file
    Image img(dir_ / "gnu.so");
    img.set_dyn(kDtRelasz, std::uint64_t{24} << 32);
    const Error e = error_of(img);
    EXPECT_NE(e.message.find("DT_RELA"), std::string::npos) << e.message;
  }
  {  // so large that offset + size wraps
    Image img(dir_ / "gnu.so");
    img.set_dyn(kDtRelasz, ~std::uint64_t{0} - 23);
    const Error e = error_of(img);
    EXPECT_NE(e.message.find("DT_RELA"), std::string::npos) << e.message;
  }
  {  // DT_RELA at an address no segment loads
    Image img(dir_ / "gnu.so");
    img.set_dyn(kDtRela, std::uint64_t{1} << 40);
    const Error e = error_of(img);
    EXPECT_NE(e.message.find("DT_RELA"), std::string::npos) << e.message;
  }
}

// The PLT relocations (DT_JMPREL/DT_PLTRELSZ) outside the file: the
// message names DT_JMPREL, not the kind of its entries (DT_RELA).
TEST_F(HostileTables, PltRelocationTableOutsideTheFileIsNamed) {
  Image img(dir_ / "gnu.so");
  ASSERT_GT(img.dyn(kDtPltrelsz), 0u);
  img.set_dyn(kDtJmprel, std::uint64_t{1} << 40);
  const Error e = error_of(img);
  EXPECT_NE(e.message.find("DT_JMPREL"), std::string::npos) << e.message;
}

// A relocation naming a symbol far past .dynsym: the symbol table it
// implies does not fit in the file.
TEST_F(HostileTables, RelocationNamingASymbolPastTheTable) {
  Image img(dir_ / "gnu.so");
  const std::uint64_t jmprel = img.offset_of(img.dyn(kDtJmprel));
  const std::uint64_t r_info = img.u(jmprel + 8, 8);
  img.put(jmprel + 8, (std::uint64_t{0x00ffffff} << 32) | (r_info & 0xffffffffu), 8);
  const Error e = error_of(img);
  EXPECT_NE(e.message.find("DT_SYMTAB"), std::string::npos) << e.message;
}

TEST_F(HostileTables, WrongSymbolEntrySize) {
  for (const std::uint64_t syment : {std::uint64_t{16}, std::uint64_t{25}}) {
    Image img(dir_ / "gnu.so");
    img.set_dyn(kDtSyment, syment);
    const Error e = error_of(img);
    EXPECT_NE(e.message.find("DT_SYMENT"), std::string::npos) << e.message;
  }
}

// A GNU hash table whose Bloom shift is 32 or more. glibc computes the
// second Bloom bit with a 64-bit hash (uint_fast32_t on x86-64), so
// `hash >> 40` is 0 and bit 0 is tested; shifting a 32-bit value by 40
// would be undefined (x86 masks the count to 8, another bit, and the
// symbol is missed; UBSan reports the shift).
TEST_F(HostileTables, BloomShiftOfThirtyTwoOrMoreIsGlibcs) {
  const std::uint64_t h = gnu_hash_of("two");  // 64 bits wide, as glibc's
  // Every Bloom word holds exactly the two bits glibc tests for "two" with
  // this shift, and nothing else.
  auto with_shift = [&](std::uint32_t shift) {
    Image img(dir_ / "gnu.so");
    const std::uint64_t nbloom = img.u(gnu_hash() + 8, 4);
    img.put(gnu_hash() + 12, shift, 4);
    const std::uint64_t word =
        (std::uint64_t{1} << (h & 63)) | (std::uint64_t{1} << ((h >> shift) & 63));
    for (std::uint64_t i = 0; i < nbloom; ++i) img.put(gnu_hash() + 16 + 8 * i, word, 8);
    const fs::path copy = dir_ / ("shift" + std::to_string(shift) + ".so");
    img.save(copy);
    const Read r = read_both(copy, kShown);
    // Another name's bits are (almost surely) not both set: the filter
    // really is what is tested.
    EXPECT_FALSE(find(r.symbols, "three").index.has_value()) << shift;
    return find(r.symbols, "two").index.has_value();
  };
  EXPECT_TRUE(with_shift(6));  // what ld writes for a small table
  EXPECT_TRUE(with_shift(31));
  EXPECT_TRUE(with_shift(40));  // glibc: (h >> 40) & 63 == 0
}

// Every prefix of the file with the tables as read from the whole file,
// and random bytes in the tables: read or refused, never a crash, and
// every lookup stays inside (ASan, in the sanitized build).
TEST_F(HostileTables, TruncatedOrScribbledNeverCrash) {
  const std::string whole = slurp(dir_ / "gnu.so");
  const std::vector<std::string> names{"one", "two", "three", "call", "undef_a", "missing"};
  auto exercise = [&](const fs::path& p, const ElfInfo& info) {
    auto res = read_dynamic_symbols(p, kShown, info);
    if (!res) {
      EXPECT_EQ(res.error().path, kShown);
      EXPECT_FALSE(res.error().message.empty());
      return;
    }
    for (const auto& n : names) {
      const SymbolLookup hit = find(*res, n);
      if (hit.index) {
        EXPECT_LT(*hit.index, res->size());
      }
    }
    for (const auto& ref : res->strong_references()) {
      ASSERT_LT(ref.index, res->size());
      const DynamicSymbol s = res->symbol(ref.index);
      (void)find(*res, s.name, res->wanted_version(ref.index));
    }
  };
  const fs::path copy = dir_ / "scribbled.so";
  for (std::size_t len = 0; len < whole.size(); len += 61) {
    write_file(copy, std::string_view(whole).substr(0, len));
    exercise(copy, gnu_);
  }
  // Scribbles over the hash table, .dynsym, .dynstr and .gnu.version.
  const std::uint64_t from = gnu_hash();
  const std::uint64_t to = *gnu_.symbol_tables.versym + 64;
  std::mt19937 rng(12345);
  for (int round = 0; round < 300; ++round) {
    std::string bytes = whole;
    for (int k = 0; k < 4; ++k) {
      const std::uint64_t at = from + rng() % (to - from);
      bytes[at] = static_cast<char>(rng() % 3 == 0 ? 0xff : rng());
    }
    write_file(copy, bytes);
    auto info = read_elf(copy, kShown);
    if (info) exercise(copy, *info);
  }
}

}  // namespace
}  // namespace elfprune
