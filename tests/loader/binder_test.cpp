// Binding emulated (src/loader/binder.cpp): each scenario links a program
// against one build of a library and gives it another at run time, as a
// tree whose library was replaced does. bind_references is checked on
// scopes built by hand, and where the outcome is the loader's to say, the
// program is also run with that library (LD_BIND_NOW=1) and the real
// loader's answer compared. Then the Resolver with ResolveOptions::bind on
// small glibc roots, plugins and their host among them.
#include "loader/binder.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <stdexcept>

#include "loader/resolver.hpp"
#include "test_support.hpp"

namespace elfprune {
namespace {

namespace fs = std::filesystem;
using test::compile_c;
using test::TempDir;
using test::write_file;

// `host` read as the loader would load it under `path`, answering to
// `names` and its SONAME.
ScopeObject load(const fs::path& host, std::string path, std::vector<std::string> names = {},
                 bool executable = false) {
  auto info = read_elf(host, path);
  if (!info) throw std::runtime_error(info.error().message);
  auto syms = read_dynamic_symbols(host, path, *info);
  if (!syms) throw std::runtime_error(syms.error().message);
  ScopeObject o;
  o.path = path;
  o.realpath = path;
  o.names = std::move(names);
  o.names.push_back(path);
  if (info->soname) o.names.push_back(*info->soname);
  o.symbols = std::make_shared<const DynamicSymbols>(std::move(*syms));
  o.executable = executable;
  return o;
}

std::vector<UndefinedSymbol> bind(const std::vector<const ScopeObject*>& from,
                                  const std::vector<const ScopeObject*>& scope) {
  std::vector<UndefinedSymbol> out;
  bind_references(from, scope, out);
  return out;
}

// Where the references `explain` names bound ("defined_by" of each, in
// order), with what is undefined.
std::vector<std::string> defined_by(const std::vector<const ScopeObject*>& from,
                                    const std::vector<const ScopeObject*>& scope,
                                    const std::set<std::pair<std::string, std::string>>& explain,
                                    std::vector<UndefinedSymbol>* undefined = nullptr) {
  std::vector<UndefinedSymbol> out;
  std::vector<SymbolBinding> bound;
  bind_references(from, scope, out, &explain, &bound);
  std::vector<std::string> where;
  for (const auto& b : bound) where.push_back(b.needed_by + " " + b.symbol + " -> " + b.defined_by);
  if (undefined != nullptr) *undefined = out;
  return where;
}

std::string show(const std::vector<UndefinedSymbol>& list) {
  std::string out;
  for (const auto& u : list) out += describe_undefined(u) + "\n";
  return out.empty() ? "(nothing undefined)" : out;
}

// A program linked against build "link" of its libraries, run with build
// "run" (each library in its own directory, found through LD_LIBRARY_PATH).
class BinderTest : public ::testing::Test {
 protected:
  // Library `soname` of build `build` from `source`, with `version_script`
  // when not empty.
  fs::path lib(std::string_view build, const std::string& soname, std::string_view source,
               std::string_view version_script = "") {
    const fs::path out = dir_ / build / soname;
    std::string flags = "-shared -fPIC -Wl,-soname," + soname;
    if (!version_script.empty()) {
      const fs::path map = dir_ / build / (soname + ".map");
      write_file(map, version_script);
      flags += " -Wl,--version-script=" + test::quoted(map);
    }
    compile_c(source, out, flags);
    return out;
  }
  fs::path program(std::string_view source, const std::vector<std::string>& sonames) {
    std::string flags = "-Wl,--no-as-needed";
    for (const auto& s : sonames) flags += " " + test::quoted(dir_ / "link" / s);
    compile_c(source, dir_ / "prog", flags);
    return dir_ / "prog";
  }
  // What the real loader says running the program with build "run".
  test::CommandResult run() const {
    return test::run_command("LD_BIND_NOW=1 LD_LIBRARY_PATH=" + test::quoted(dir_ / "run") + " " +
                             test::quoted(dir_ / "prog"));
  }
  // The program, the run build of `sonames` and the host's libc: the
  // program's global scope, breadth-first as the link order gives it.
  struct Scope {
    std::vector<ScopeObject> objects;
    std::vector<const ScopeObject*> all() const {
      std::vector<const ScopeObject*> out;
      for (const auto& o : objects) out.push_back(&o);
      return out;
    }
    const ScopeObject* prog() const { return &objects.front(); }
  };
  Scope scope(const std::vector<std::string>& sonames) {
    Scope s;
    s.objects.reserve(sonames.size() + 2);
    s.objects.push_back(load(dir_ / "prog", "/usr/bin/prog", {}, /*executable=*/true));
    for (const auto& name : sonames) {
      s.objects.push_back(load(dir_ / "run" / name, "/usr/lib/" + name, {name}));
    }
    s.objects.push_back(load(fs::canonical("/lib/x86_64-linux-gnu/libc.so.6"),
                             "/lib/x86_64-linux-gnu/libc.so.6", {"libc.so.6"}));
    return s;
  }

  TempDir dir_;
};

constexpr std::string_view kCaller = R"(
#include <stdio.h>
int need_me(void); int keep_me(void);
int main(void) { printf("%d\n", need_me() + keep_me()); return 0; }
)";
constexpr std::string_view kBoth =
    "int need_me(void) { return 1; } int keep_me(void) { return 2; }";
constexpr std::string_view kKeepOnly = "int keep_me(void) { return 2; }";
constexpr std::string_view kVer1 = "VER_1 { global: need_me; keep_me; };\n";

TEST(DescribeUndefined, SpeaksAsTheLoader) {
  UndefinedSymbol u{"f", "", "", "/usr/bin/prog", false};
  EXPECT_EQ(describe_undefined(u), "undefined symbol: f (needed by /usr/bin/prog)");
  u.version = "VER_1";
  u.library = "libx.so.1";
  EXPECT_EQ(describe_undefined(u), "undefined symbol: f, version VER_1 (needed by /usr/bin/prog)");
  u.library_unversioned = true;
  EXPECT_EQ(describe_undefined(u),
            "symbol f asks version VER_1 of libx.so.1, which has no version information: the "
            "loader stops (an assertion in dl-lookup.c) (needed by /usr/bin/prog)");
}

TEST_F(BinderTest, SymbolPresentBindsEverything) {
  lib("link", "libneed.so", kBoth);
  lib("run", "libneed.so", kBoth);
  program(kCaller, {"libneed.so"});
  const Scope s = scope({"libneed.so"});
  EXPECT_TRUE(bind({s.prog()}, s.all()).empty()) << show(bind({s.prog()}, s.all()));
  const auto ran = run();
  EXPECT_EQ(ran.status, 0) << ran.output;
}

TEST_F(BinderTest, MissingSymbolIsReportedOnce) {
  lib("link", "libneed.so", kBoth);
  lib("run", "libneed.so", kKeepOnly);
  program(kCaller, {"libneed.so"});
  const Scope s = scope({"libneed.so"});
  const auto out = bind({s.prog()}, s.all());
  ASSERT_EQ(out.size(), 1u) << show(out);
  EXPECT_EQ(out[0].symbol, "need_me");
  EXPECT_EQ(out[0].version, "");
  EXPECT_EQ(out[0].library, "");
  EXPECT_EQ(out[0].needed_by, "/usr/bin/prog");
  EXPECT_FALSE(out[0].library_unversioned);
  const auto ran = run();
  EXPECT_NE(ran.status, 0);
  EXPECT_NE(ran.output.find("undefined symbol: need_me\n"), std::string::npos) << ran.output;
  // Without the program in `from`, nothing is checked.
  EXPECT_TRUE(bind({}, s.all()).empty());
}

// glibc 2.36's do_lookup_x does not stop at the library the version
// names (older ones did: "symbol need_me version VER_1 not defined in file
// libneed.so with link time reference"); _dl_lookup_symbol_x reports
// "undefined symbol: need_me, version VER_1", as the run here shows on the
// host's loader.
TEST_F(BinderTest, MissingVersionedSymbolIsReportedAsTheLoaderDoes) {
  lib("link", "libneed.so", kBoth, kVer1);
  lib("run", "libneed.so", kKeepOnly, kVer1);
  program(kCaller, {"libneed.so"});
  const Scope s = scope({"libneed.so"});
  const auto out = bind({s.prog()}, s.all());
  ASSERT_EQ(out.size(), 1u) << show(out);
  EXPECT_EQ(out[0].symbol, "need_me");
  EXPECT_EQ(out[0].version, "VER_1");
  EXPECT_EQ(out[0].library, "libneed.so");
  EXPECT_EQ(out[0].needed_by, "/usr/bin/prog");
  const auto ran = run();
  EXPECT_NE(ran.status, 0);
  EXPECT_NE(ran.output.find("undefined symbol: need_me, version VER_1\n"), std::string::npos)
      << ran.output;
  EXPECT_FALSE(out[0].library_unversioned);
  EXPECT_EQ(describe_undefined(out[0]),
            "undefined symbol: need_me, version VER_1 (needed by /usr/bin/prog)");
}

// libneed.so lacks need_me@VER_1 and libalt.so, later in the scope,
// defines it: glibc 2.36 binds it there and the program runs.
TEST_F(BinderTest, VersionedLookupGoesOnPastTheVersionsLibrary) {
  lib("link", "libneed.so", kBoth, kVer1);
  lib("link", "libalt.so", "int alt(void) { return 0; }");
  lib("run", "libneed.so", kKeepOnly, kVer1);
  lib("run", "libalt.so", "int alt(void) { return 0; } int need_me(void) { return 40; }",
      "VER_1 { global: need_me; };\n");
  program(R"(
#include <stdio.h>
int need_me(void); int keep_me(void); int alt(void);
int main(void) { printf("%d\n", need_me() + keep_me() + alt()); return 0; }
)",
          {"libneed.so", "libalt.so"});
  const auto ran = run();
  ASSERT_EQ(ran.status, 0) << ran.output;
  EXPECT_EQ(ran.output, "42\n");  // libalt's need_me
  const Scope s = scope({"libneed.so", "libalt.so"});
  std::vector<UndefinedSymbol> undefined;
  EXPECT_EQ(defined_by({s.prog()}, s.all(),
                       {{"/usr/bin/prog", "need_me"}, {"/usr/bin/prog", "keep_me"}}, &undefined),
            (std::vector<std::string>{"/usr/bin/prog need_me -> /usr/lib/libalt.so",
                                      "/usr/bin/prog keep_me -> /usr/lib/libneed.so"}));
  EXPECT_TRUE(undefined.empty()) << show(undefined);
}

// A definition of the version earlier in the scope than the version's
// library wins, before the lookup reaches that library.
TEST_F(BinderTest, VersionedDefinitionEarlierInTheScopeBinds) {
  lib("link", "libalt.so", "int alt(void) { return 0; }");
  lib("link", "libneed.so", kBoth, kVer1);
  lib("run", "libalt.so", "int alt(void) { return 0; } int need_me(void) { return 40; }",
      "VER_1 { global: need_me; };\n");
  lib("run", "libneed.so", kKeepOnly, kVer1);
  program(R"(
#include <stdio.h>
int need_me(void); int keep_me(void); int alt(void);
int main(void) { printf("%d\n", need_me() + keep_me() + alt()); return 0; }
)",
          {"libalt.so", "libneed.so"});
  const Scope s = scope({"libalt.so", "libneed.so"});
  std::vector<UndefinedSymbol> undefined;
  EXPECT_EQ(defined_by({s.prog()}, s.all(), {{"/usr/bin/prog", "need_me"}}, &undefined),
            (std::vector<std::string>{"/usr/bin/prog need_me -> /usr/lib/libalt.so"}));
  EXPECT_TRUE(undefined.empty()) << show(undefined);
  const auto ran = run();
  EXPECT_EQ(ran.status, 0) << ran.output;
  EXPECT_EQ(ran.output, "42\n");
}

// The version's library is not in the scope at all: undefined, with the
// version and its library, and no stop.
TEST_F(BinderTest, VersionedReferenceWithItsLibraryAbsent) {
  lib("link", "libneed.so", kBoth, kVer1);
  program(kCaller, {"libneed.so"});
  const Scope s = scope({});
  const auto out = bind({s.prog()}, s.all());
  ASSERT_EQ(out.size(), 2u) << show(out);
  std::vector<std::string> names{out[0].symbol, out[1].symbol};
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"keep_me", "need_me"}));
  for (const auto& u : out) {
    EXPECT_EQ(u.version, "VER_1");
    EXPECT_EQ(u.library, "libneed.so");
    EXPECT_FALSE(u.library_unversioned);
  }
}

// A versioned reference to a library that has no version information:
// glibc 2.36 accepts a definition from any other object (next test), but
// in the library the version names it fails check_match's assertion
// ("Inconsistency detected by ld.so: dl-lookup.c: ... check_match:
// Assertion `version->filename == NULL || ! _dl_name_match_p
// (version->filename, map)' failed!") and the program does not start.
TEST_F(BinderTest, VersionedReferenceToItsLibraryWithoutVersions) {
  lib("link", "libneed.so", kBoth, kVer1);
  lib("run", "libneed.so", kBoth);
  program(kCaller, {"libneed.so"});
  const auto ran = run();
  EXPECT_NE(ran.status, 0);
  EXPECT_NE(ran.output.find("Assertion"), std::string::npos) << ran.output;
  const Scope s = scope({"libneed.so"});
  const auto out = bind({s.prog()}, s.all());
  ASSERT_EQ(out.size(), 2u) << show(out);  // need_me and keep_me, both VER_1
  for (const auto& u : out) {
    EXPECT_TRUE(u.symbol == "need_me" || u.symbol == "keep_me") << u.symbol;
    EXPECT_EQ(u.version, "VER_1");
    EXPECT_EQ(u.library, "libneed.so");
    EXPECT_EQ(u.needed_by, "/usr/bin/prog");
    EXPECT_TRUE(u.library_unversioned);
  }
  EXPECT_NE(out[0].symbol, out[1].symbol);
}

// The same library without versions, but under another name than the one
// the version names: any definition is taken (glibc's assertion holds).
TEST_F(BinderTest, VersionedReferenceToAnotherLibraryWithoutVersions) {
  lib("link", "libneed.so", kBoth, kVer1);
  lib("run", "libneed.so", kKeepOnly, kVer1);
  lib("run", "libplain.so", kBoth);
  program(kCaller, {"libneed.so"});
  Scope s = scope({"libneed.so"});
  // libplain.so first in the scope, as if preloaded.
  s.objects.insert(s.objects.begin() + 1, load(dir_ / "run/libplain.so", "/usr/lib/libplain.so"));
  EXPECT_TRUE(bind({s.prog()}, s.all()).empty()) << show(bind({s.prog()}, s.all()));
  const auto ran = test::run_command(
      "LD_BIND_NOW=1 LD_PRELOAD=" + test::quoted(dir_ / "run/libplain.so") +
      " LD_LIBRARY_PATH=" + test::quoted(dir_ / "run") + " " + test::quoted(dir_ / "prog"));
  EXPECT_EQ(ran.status, 0) << ran.output;
}

TEST_F(BinderTest, WeakUndefinedReferenceIsNotReported) {
  lib("link", "libneed.so", kBoth);
  lib("run", "libneed.so", kKeepOnly);
  program(R"(
#include <stdio.h>
int need_me(void) __attribute__((weak)); int keep_me(void);
int main(void) { printf("%d\n", (need_me ? need_me() : 0) + keep_me()); return 0; }
)",
          {"libneed.so"});
  const Scope s = scope({"libneed.so"});
  EXPECT_TRUE(bind({s.prog()}, s.all()).empty()) << show(bind({s.prog()}, s.all()));
  const auto ran = run();
  EXPECT_EQ(ran.status, 0) << ran.output;
  EXPECT_EQ(ran.output, "2\n");
}

// The program's copy of shared_data (a copy relocation) is a definition
// in the program, but the copy needs the library's: its lookup passes the
// program by.
TEST_F(BinderTest, CopyRelocationIsNotSatisfiedByTheProgramsOwnCopy) {
  const std::string with_data = std::string(kBoth) + " int shared_data = 7;";
  lib("link", "libneed.so", with_data);
  lib("run", "libneed.so", kBoth);
  program(R"(
extern int shared_data; int need_me(void); int keep_me(void);
int main(void) { return shared_data + need_me() + keep_me() == 10 ? 0 : 1; }
)",
          {"libneed.so"});
  Scope s = scope({"libneed.so"});
  // The program does define it (the copy), and its relocation is a copy.
  EXPECT_TRUE(
      s.prog()
          ->symbols
          ->find("shared_data", gnu_hash_of("shared_data"), elf_hash_of("shared_data"), nullptr)
          .index.has_value());
  bool copy = false;
  for (const auto& r : s.prog()->symbols->strong_references()) {
    if (s.prog()->symbols->symbol(r.index).name == "shared_data") copy = r.copy;
  }
  EXPECT_TRUE(copy);
  auto out = bind({s.prog()}, s.all());
  ASSERT_EQ(out.size(), 1u) << show(out);
  EXPECT_EQ(out[0].symbol, "shared_data");
  EXPECT_EQ(out[0].needed_by, "/usr/bin/prog");
  auto ran = run();
  EXPECT_NE(ran.status, 0);
  EXPECT_NE(ran.output.find("undefined symbol: shared_data"), std::string::npos) << ran.output;

  // With the library's definition, bound.
  lib("run", "libneed.so", with_data);
  s = scope({"libneed.so"});
  EXPECT_TRUE(bind({s.prog()}, s.all()).empty()) << show(bind({s.prog()}, s.all()));
  ran = run();
  EXPECT_EQ(ran.status, 0) << ran.output;
  // A program that is not marked as the executable would satisfy itself.
  ScopeObject not_exe = load(dir_ / "prog", "/usr/bin/prog");
  lib("run", "libneed.so", kBoth);
  s = scope({"libneed.so"});
  std::vector<const ScopeObject*> scope_list = s.all();
  scope_list.front() = &not_exe;
  EXPECT_TRUE(bind({&not_exe}, scope_list).empty());
}

TEST_F(BinderTest, ObjectsWithoutSymbolsAreSkipped) {
  lib("link", "libneed.so", kBoth);
  lib("run", "libneed.so", kBoth);
  program(kCaller, {"libneed.so"});
  Scope s = scope({"libneed.so"});
  ScopeObject unreadable;
  unreadable.path = "/usr/lib/unreadable.so";
  unreadable.names = {"libneed.so"};
  std::vector<const ScopeObject*> with_unreadable = s.all();
  with_unreadable.insert(with_unreadable.begin() + 1, &unreadable);
  EXPECT_TRUE(bind({s.prog(), &unreadable}, with_unreadable).empty());
  // Without the library that defines them, both references are undefined.
  std::vector<const ScopeObject*> without{s.prog(), &unreadable, &s.objects.back()};
  const auto out = bind({s.prog()}, without);
  ASSERT_EQ(out.size(), 2u) << show(out);
  std::vector<std::string> names{out[0].symbol, out[1].symbol};
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"keep_me", "need_me"}));
}

// ---------------------------------------------------------------------------
// The Resolver with ResolveOptions::bind, on a small glibc root.

class BindResolverTest : public ::testing::Test {
 protected:
  void SetUp() override { test::make_glibc_root(tmp_.path()); }

  fs::path host(std::string_view inside) const { return tmp_ / inside; }

  // A library at `inside` in the root (SONAME its file name), from
  // `source`, linked against `deps` (inside paths).
  void lib(std::string_view inside, std::string_view source, std::vector<std::string> deps = {},
           std::string flags = "") {
    const std::string soname = fs::path(inside).filename().string();
    std::string cmd = "-shared -fPIC -Wl,--no-as-needed -Wl,-soname," + soname + " " + flags;
    for (const auto& d : deps) cmd += " " + test::quoted(host(d));
    compile_c(source, host(inside), cmd);
  }
  // A program at `inside`, linked against `deps` (host paths), finding
  // its libraries in /opt/a.
  void exe(std::string_view inside, std::string_view source, std::vector<fs::path> deps = {},
           std::string flags = "") {
    std::string cmd = "-Wl,--no-as-needed -Wl,--enable-new-dtags -Wl,-rpath,/opt/a " + flags;
    for (const auto& d : deps) cmd += " " + test::quoted(d);
    compile_c(source, host(inside), cmd);
  }

  Resolution resolve(const std::string& file, ResolveOptions options = {}) {
    Root root(tmp_.path());
    options.loader.hwcaps = HwcapsLevel::Baseline;
    Resolver resolver(root, options);
    auto res = resolver.resolve(file);
    EXPECT_TRUE(res.ok()) << res.error().path << ": " << res.error().message;
    return res.ok() ? *res : Resolution{};
  }
  Resolution bound(const std::string& file, std::string host_program = "",
                   const std::set<std::pair<std::string, std::string>>* explain = nullptr) {
    ResolveOptions o;
    o.bind = true;
    o.host = std::move(host_program);
    Resolution r;
    if (explain == nullptr) {
      r = resolve(file, o);
    } else {
      // The same through a request (ResolveRequest), which can ask where
      // references bound.
      Root root(tmp_.path());
      o.loader.hwcaps = HwcapsLevel::Baseline;
      Resolver resolver(root, ResolveOptions{"", o.loader, false, ""});
      ResolveRequest request;
      request.bind = true;
      request.host = o.host;
      request.explain = explain;
      auto res = resolver.resolve(file, request);
      EXPECT_TRUE(res.ok()) << res.error().path << ": " << res.error().message;
      if (res.ok()) r = *res;
    }
    EXPECT_TRUE(r.bound);
    for (const auto& w : r.warnings) EXPECT_EQ(w.find("cannot bind"), std::string::npos) << w;
    EXPECT_TRUE(r.missing.empty());
    EXPECT_TRUE(r.missing_versions.empty());
    return r;
  }

  TempDir tmp_;
  TempDir stage_;  // link-time builds, outside the root
};

TEST_F(BindResolverTest, ProgramWhoseLibraryLacksASymbol) {
  compile_c(kBoth, stage_ / "libneed.so", "-shared -fPIC -Wl,-soname,libneed.so");
  lib("/opt/a/libneed.so", kKeepOnly);
  exe("/usr/bin/prog", kCaller, {stage_ / "libneed.so"});
  const Resolution r = bound("/usr/bin/prog");
  ASSERT_EQ(r.undefined.size(), 1u) << show(r.undefined);
  EXPECT_EQ(r.undefined[0].symbol, "need_me");
  EXPECT_EQ(r.undefined[0].version, "");
  EXPECT_EQ(r.undefined[0].library, "");
  EXPECT_EQ(r.undefined[0].needed_by, "/usr/bin/prog");
  EXPECT_FALSE(r.undefined[0].library_unversioned);
  // Without bind, nothing is looked up.
  const Resolution plain = resolve("/usr/bin/prog");
  EXPECT_FALSE(plain.bound);
  EXPECT_TRUE(plain.undefined.empty());
}

TEST_F(BindResolverTest, ProgramWhoseLibraryLacksAVersionedSymbol) {
  write_file(stage_ / "v.map", kVer1);
  compile_c(kBoth, stage_ / "libneed.so",
            "-shared -fPIC -Wl,-soname,libneed.so -Wl,--version-script=" +
                test::quoted(stage_ / "v.map"));
  lib("/opt/a/libneed.so", kKeepOnly, {}, "-Wl,--version-script=" + test::quoted(stage_ / "v.map"));
  exe("/usr/bin/prog", kCaller, {stage_ / "libneed.so"});
  const Resolution r = bound("/usr/bin/prog");
  ASSERT_EQ(r.undefined.size(), 1u) << show(r.undefined);
  EXPECT_EQ(r.undefined[0].symbol, "need_me");
  EXPECT_EQ(r.undefined[0].version, "VER_1");
  EXPECT_EQ(r.undefined[0].library, "libneed.so");
  EXPECT_EQ(r.undefined[0].needed_by, "/usr/bin/prog");
}

// The whole of the host's libc and loader binds, and the program's
// references with them.
TEST_F(BindResolverTest, SymbolPresentNothingUndefined) {
  lib("/opt/a/libneed.so", kBoth);
  exe("/usr/bin/prog", kCaller, {host("/opt/a/libneed.so")});
  const Resolution r = bound("/usr/bin/prog");
  EXPECT_TRUE(r.undefined.empty()) << show(r.undefined);
  EXPECT_TRUE(r.bindings.empty());
  // Asked where two of them bound.
  const std::set<std::pair<std::string, std::string>> explain{
      {"/usr/bin/prog", "need_me"}, {"/usr/bin/prog", "__libc_start_main"}};
  const Resolution e = bound("/usr/bin/prog", "", &explain);
  EXPECT_TRUE(e.undefined.empty()) << show(e.undefined);
  std::set<std::string> where;
  for (const auto& b : e.bindings)
    where.insert(b.needed_by + " " + b.symbol + " -> " + b.defined_by);
  EXPECT_EQ(where, (std::set<std::string>{
                       "/usr/bin/prog need_me -> /opt/a/libneed.so",
                       "/usr/bin/prog __libc_start_main -> /lib/x86_64-linux-gnu/libc.so.6"}));
}

TEST_F(BindResolverTest, WeakUndefinedReferenceIsNotReported) {
  compile_c(kBoth, stage_ / "libneed.so", "-shared -fPIC -Wl,-soname,libneed.so");
  lib("/opt/a/libneed.so", kKeepOnly);
  exe("/usr/bin/prog", R"(
int need_me(void) __attribute__((weak)); int keep_me(void);
int main(void) { return (need_me ? need_me() : 0) + keep_me(); }
)",
      {stage_ / "libneed.so"});
  const Resolution r = bound("/usr/bin/prog");
  EXPECT_TRUE(r.undefined.empty()) << show(r.undefined);
}

// A library's own reference, needed by it as loaded.
TEST_F(BindResolverTest, LibraryWhoseDependencyLacksASymbol) {
  compile_c("int b_fn(void) { return 1; } int b_keep(void) { return 2; }", stage_ / "libb.so",
            "-shared -fPIC -Wl,-soname,libb.so");
  lib("/opt/a/libb.so", "int b_keep(void) { return 2; }");
  compile_c("int b_fn(void); int b_keep(void); int a_fn(void) { return b_fn() + b_keep(); }",
            host("/opt/a/liba.so"),
            "-shared -fPIC -Wl,--no-as-needed -Wl,-soname,liba.so -Wl,--enable-new-dtags "
            "-Wl,-rpath,/opt/a " +
                test::quoted(stage_ / "libb.so"));
  exe("/usr/bin/prog", "int a_fn(void); int main(void) { return a_fn(); }",
      {host("/opt/a/liba.so")}, "-Wl,-rpath-link," + stage_.path().string());
  const Resolution r = bound("/usr/bin/prog");
  ASSERT_EQ(r.undefined.size(), 1u) << show(r.undefined);
  EXPECT_EQ(r.undefined[0].symbol, "b_fn");
  EXPECT_EQ(r.undefined[0].needed_by, "/opt/a/liba.so");
}

// A library dlopen'ed by the program looks in the program's global scope,
// then in its own breadth-first scope: g_fn comes from the former, own_fn
// from its own dependency, lost_fn from nowhere.
TEST_F(BindResolverTest, DlopenedLibraryLooksInTheGlobalScopeThenItsOwn) {
  lib("/opt/a/libg.so", "int g_fn(void) { return 1; }");
  lib("/opt/a/libown.so", "int own_fn(void) { return 2; }");
  compile_c("int lost_fn(void) { return 3; }", stage_ / "liblost.so",
            "-shared -fPIC -Wl,-soname,liblost.so");
  lib("/opt/a/libplug.so",
      "int g_fn(void); int own_fn(void); int lost_fn(void);\n"
      "int plug(void) { return g_fn() + own_fn() + lost_fn(); }",
      {"/opt/a/libown.so"},
      "-Wl,--enable-new-dtags -Wl,-rpath,/opt/a " + test::quoted(stage_ / "liblost.so"));
  exe("/usr/bin/prog", "int g_fn(void); int main(void) { return g_fn(); }",
      {host("/opt/a/libg.so")});
  Root root(tmp_.path());
  ResolveOptions o;
  o.loader.hwcaps = HwcapsLevel::Baseline;
  Resolver resolver(root, o);
  ResolveRequest request;
  request.bind = true;
  request.dlopen_names = {"libplug.so"};
  auto r = resolver.resolve("/usr/bin/prog", request);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(r->bound);
  // liblost.so is needed but not in the root: missing, and its symbol undefined.
  ASSERT_EQ(r->missing.size(), 1u);
  EXPECT_EQ(r->missing[0].name, "liblost.so");
  ASSERT_EQ(r->undefined.size(), 1u) << show(r->undefined);
  EXPECT_EQ(r->undefined[0].symbol, "lost_fn");
  EXPECT_EQ(r->undefined[0].needed_by, "/opt/a/libplug.so");
}

// A plugin refers to host_fn, which only its host program defines (and
// exports, -rdynamic): alone it has host_fn undefined; dlopen'ed by the
// host, nothing. A host that does not export it does not help.
TEST_F(BindResolverTest, PluginBindsAgainstItsHost) {
  lib("/usr/lib/plugins/plugin.so",
      "int host_fn(void); int plugin_entry(void) { return host_fn() + 1; }");
  exe("/usr/bin/host", "int host_fn(void) { return 41; } int main(void) { return 0; }", {},
      "-rdynamic");
  exe("/usr/bin/other", "int host_fn(void) { return 41; } int main(void) { return 0; }");

  const Resolution alone = bound("/usr/lib/plugins/plugin.so");
  ASSERT_EQ(alone.undefined.size(), 1u) << show(alone.undefined);
  EXPECT_EQ(alone.undefined[0].symbol, "host_fn");
  EXPECT_EQ(alone.undefined[0].version, "");
  EXPECT_EQ(alone.undefined[0].library, "");
  EXPECT_EQ(alone.undefined[0].needed_by, "/usr/lib/plugins/plugin.so");

  const Resolution hosted = bound("/usr/lib/plugins/plugin.so", "/usr/bin/host");
  EXPECT_TRUE(hosted.undefined.empty()) << show(hosted.undefined);
  const std::set<std::pair<std::string, std::string>> explain{
      {"/usr/lib/plugins/plugin.so", "host_fn"}};
  const Resolution why = bound("/usr/lib/plugins/plugin.so", "/usr/bin/host", &explain);
  ASSERT_EQ(why.bindings.size(), 1u);
  EXPECT_EQ(why.bindings[0].defined_by, "/usr/bin/host");

  const Resolution other = bound("/usr/lib/plugins/plugin.so", "/usr/bin/other");
  ASSERT_EQ(other.undefined.size(), 1u) << show(other.undefined);
  EXPECT_EQ(other.undefined[0].symbol, "host_fn");
}

}  // namespace
}  // namespace elfprune
