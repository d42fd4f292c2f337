#include "prune/closure.hpp"

#include <gtest/gtest.h>

#include <functional>

#include "test_support.hpp"

namespace elfprune {
namespace {

namespace fs = std::filesystem;
using test::compile_c;
using test::make_symlink;
using test::TempDir;
using test::write_file;

class ClosureTest : public ::testing::Test {
 protected:
  void SetUp() override { test::make_glibc_root(tmp_.path()); }

  fs::path host(std::string_view inside) const { return tmp_ / inside; }

  // A program whose .rodata holds `strings` (path references to scan).
  void program(std::string_view inside, const std::vector<std::string>& strings,
               const std::string& flags = "") {
    std::string src = "#include <stdio.h>\n";
    for (std::size_t i = 0; i < strings.size(); ++i) {
      src += "const char* s" + std::to_string(i) + " = \"" + strings[i] + "\";\n";
    }
    src += "int main(void) { return 0; }\n";
    compile_c(src, host(inside), "-Wl,--no-as-needed " + flags);
  }

  Closure close(std::vector<std::string> entries, DpkgDb dpkg = {}, std::string_view trace = {}) {
    root_.emplace(tmp_.path());
    auto inv = take_inventory(*root_, "/");
    EXPECT_TRUE(inv.ok());
    inventory_ = std::move(*inv);
    resolver_ = std::make_unique<Resolver>(*root_, ResolveOptions{});
    dpkg_ = std::move(dpkg);
    ClosureInputs in;
    in.entries = std::move(entries);
    npm_ = read_npm_tree(*root_, inventory_);
    in.npm = &npm_;
    traces_.clear();
    if (!trace.empty()) {
      auto parsed = parse_trace(trace, "t.trace");
      EXPECT_TRUE(parsed.ok()) << (parsed ? "" : parsed.error().message);
      if (parsed) traces_.push_back(std::move(*parsed));
    }
    in.traces = &traces_;
    return compute_closure(*root_, inventory_, *resolver_, dpkg_, in);
  }

  std::vector<TraceFile> traces_;

  TempDir tmp_;
  std::optional<Root> root_;
  Inventory inventory_;
  std::unique_ptr<Resolver> resolver_;
  NpmTree npm_;
  DpkgDb dpkg_;
};

TEST_F(ClosureTest, EntryKeepsInterpreterLibrariesAndSymlinksOnTheWay) {
  compile_c("int foo(void) { return 1; }", host("/usr/lib/x86_64-linux-gnu/libfoo.so.1.0"),
            "-shared -fPIC -Wl,-soname,libfoo.so.1");
  make_symlink(host("/usr/lib/x86_64-linux-gnu/libfoo.so.1"), "libfoo.so.1.0");
  program("/usr/bin/prog", {}, test::quoted(host("/usr/lib/x86_64-linux-gnu/libfoo.so.1.0")));
  Closure c = close({"/usr/bin/prog"});
  EXPECT_EQ(c.reached.at("/usr/bin/prog").kind, EdgeKind::Entry);
  EXPECT_EQ(c.reached.at("/usr/lib/x86_64-linux-gnu/libfoo.so.1.0").kind, EdgeKind::Needed);
  EXPECT_EQ(c.reached.at("/usr/lib/x86_64-linux-gnu/libfoo.so.1").kind, EdgeKind::Symlink);
  EXPECT_EQ(c.reached.at("/lib").kind, EdgeKind::Symlink);  // /lib -> usr/lib on the way
  EXPECT_EQ(c.reached.at("/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2").kind,
            EdgeKind::Interpreter);
  EXPECT_EQ(c.reached.at("/lib64/ld-linux-x86-64.so.2").kind, EdgeKind::Symlink);
  EXPECT_TRUE(c.contains("/usr/lib/x86_64-linux-gnu/libc.so.6"));
  // The protection list of the program names its libraries and the links to them.
  const auto& deps = c.loader_deps.at("/usr/bin/prog");
  EXPECT_NE(std::find(deps.begin(), deps.end(), "/usr/lib/x86_64-linux-gnu/libfoo.so.1"),
            deps.end());
  EXPECT_NE(std::find(deps.begin(), deps.end(), "/usr/lib/x86_64-linux-gnu/libfoo.so.1.0"),
            deps.end());
}

TEST_F(ClosureTest, PathStringsKeepFilesAndSpecificDirectoriesWhole) {
  write_file(host("/etc/app.conf"), "setting=1\n");
  write_file(host("/usr/share/app/data/a.dat"), "a");
  write_file(host("/usr/share/app/b.dat"), "b");
  write_file(host("/usr/share/other/c.dat"), "c");
  program("/usr/bin/prog", {"/etc/app.conf", "/usr/share/app", "/usr/share", "/no/such/file"});
  Closure c = close({"/usr/bin/prog"});
  EXPECT_EQ(c.reached.at("/etc/app.conf").kind, EdgeKind::PathRef);
  EXPECT_EQ(c.reached.at("/etc/app.conf").from, "/usr/bin/prog");
  EXPECT_EQ(c.reached.at("/usr/share/app").kind, EdgeKind::PathRef);
  EXPECT_EQ(c.reached.at("/usr/share/app/data/a.dat").kind, EdgeKind::Contains);
  EXPECT_TRUE(c.contains("/usr/share/app/b.dat"));
  // /usr/share is shared by everything: naming it keeps nothing below it.
  EXPECT_FALSE(c.contains("/usr/share/other/c.dat"));
}

TEST_F(ClosureTest, DataFilesAreNotScanned) {
  write_file(host("/etc/app.conf"), "include=/etc/other.conf\n");
  write_file(host("/etc/other.conf"), "");
  program("/usr/bin/prog", {"/etc/app.conf"});
  Closure c = close({"/usr/bin/prog"});
  EXPECT_TRUE(c.contains("/etc/app.conf"));
  EXPECT_FALSE(c.contains("/etc/other.conf"));
}

TEST_F(ClosureTest, ScriptsKeepTheirInterpreterAndEnvsProgram) {
  program("/usr/bin/env", {});
  program("/usr/bin/tool", {});
  write_file(host("/usr/bin/run"), "#!/usr/bin/env tool\nsay /etc/motd\n");
  write_file(host("/etc/motd"), "hi");
  fs::permissions(host("/usr/bin/tool"), fs::perms::owner_exec, fs::perm_options::add);
  Closure c = close({"/usr/bin/run"});
  EXPECT_EQ(c.reached.at("/usr/bin/env").kind, EdgeKind::Interpreter);
  EXPECT_EQ(c.reached.at("/usr/bin/tool").kind, EdgeKind::Shebang);
  EXPECT_EQ(c.reached.at("/etc/motd").kind, EdgeKind::PathRef);  // scripts are scanned
  const auto& deps = c.loader_deps.at("/usr/bin/run");
  EXPECT_NE(std::find(deps.begin(), deps.end(), "/usr/bin/tool"), deps.end());
}

TEST_F(ClosureTest, StorePathsAreKeptWhole) {
  const std::string store = "/nix/store/0123456789abcdfghijklmnpqrsvwxyz-dep";
  write_file(host(store + "/share/x"), "x");
  write_file(host(store + "/lib/y"), "y");
  write_file(host("/usr/bin/wrapper"), "#!/bin/sh\nexec " + store + "/bin/thing \"$@\"\n");
  compile_c("int main(void) { return 0; }", host("/usr/bin/dash"), "");
  make_symlink(host("/bin"), "usr/bin");
  make_symlink(host("/usr/bin/sh"), "dash");
  Closure c = close({"/usr/bin/wrapper"});
  EXPECT_EQ(c.reached.at(store).kind, EdgeKind::StoreRef);
  EXPECT_TRUE(c.contains(store + "/share/x"));
  EXPECT_TRUE(c.contains(store + "/lib/y"));
}

TEST_F(ClosureTest, PackagesOfProgramsAreExpandedButNotLibraryPackages) {
  program("/usr/bin/tool", {});
  write_file(host("/usr/share/tool/module.dat"), "m");
  write_file(host("/usr/share/tool-data/x"), "x");
  write_file(host("/usr/lib/libx/extra.dat"), "e");
  DpkgDb db;
  db.present = true;
  auto add = [&db](std::string name, std::string section, std::vector<std::string> files,
                   std::vector<std::vector<std::string>> depends = {}) {
    DpkgPackage p;
    p.name = name;
    p.section = std::move(section);
    p.source = name;
    p.files = files;
    p.depends = std::move(depends);
    for (const auto& f : files) db.owner[f] = name;
    db.packages[name] = std::move(p);
  };
  add("tool", "utils", {"/usr/bin/tool", "/usr/share/tool/module.dat"},
      {{"tool-data"}, {"libx1"}, {"dpkg"}});
  add("tool-data", "misc", {"/usr/share/tool-data/x"});
  add("libx1", "libs", {"/usr/lib/libx/extra.dat"});
  Closure c = close({"/usr/bin/tool"}, std::move(db));
  EXPECT_EQ(c.reached.at("/usr/share/tool/module.dat").kind, EdgeKind::Package);
  EXPECT_EQ(c.reached.at("/usr/share/tool-data/x").detail, "tool depends on tool-data");
  EXPECT_FALSE(c.contains("/usr/lib/libx/extra.dat"));  // the loader decides for libraries
}

TEST_F(ClosureTest, TracedPathsAreRootsWithTheSymlinksOnTheWay) {
  compile_c("int foo(void) { return 1; }", host("/usr/lib/x86_64-linux-gnu/libfoo.so.1"),
            "-shared -fPIC -Wl,-soname,libfoo.so.1");
  program("/usr/bin/prog", {}, test::quoted(host("/usr/lib/x86_64-linux-gnu/libfoo.so.1")));
  write_file(host("/etc/app/real.conf"), "x");
  make_symlink(host("/etc/app/current.conf"), "real.conf");
  write_file(host("/etc/app/unused.conf"), "y");
  Closure c = close({}, {},
                    "# elfprune trace 1\n"
                    "2 execve ok /usr/bin/prog\n"
                    "2 openat ok /etc/app/current.conf\n"
                    "2 newfstatat ENOENT /etc/app/missing.conf\n"
                    "2 openat EACCES /etc/app/unused.conf\n"
                    "2 openat ok /tmp/made-by-the-run\n"
                    "2 openat ok /proc/self/status\n");
  EXPECT_FALSE(c.everything);  // a trace without entries is not "every file"
  EXPECT_EQ(c.reached.at("/usr/bin/prog").kind, EdgeKind::Trace);
  EXPECT_EQ(c.reached.at("/usr/bin/prog").detail, "t.trace:2 execve ok /usr/bin/prog");
  EXPECT_EQ(c.reached.at("/usr/lib/x86_64-linux-gnu/libfoo.so.1").kind, EdgeKind::Needed);
  EXPECT_EQ(c.reached.at("/etc/app/current.conf").kind, EdgeKind::Symlink);
  EXPECT_EQ(c.reached.at("/etc/app/real.conf").kind, EdgeKind::Trace);
  EXPECT_TRUE(c.contains("/etc/app/unused.conf"));  // EACCES: it exists
  EXPECT_FALSE(c.contains("/etc/app/missing.conf"));
  EXPECT_EQ(c.trace.events, 6u);
  EXPECT_EQ(c.trace.search_paths, (std::set<std::string>{"/etc/app/missing.conf"}));
  EXPECT_EQ(c.trace.not_in_root,
            (std::set<std::string>{"/proc/self/status", "/tmp/made-by-the-run"}));
}

TEST_F(ClosureTest, WithATraceNoPackageOrPathStringEdgesAreFollowed) {
  write_file(host("/etc/app.conf"), "setting=1\n");
  program("/usr/bin/tool", {"/etc/app.conf"});
  write_file(host("/usr/share/tool/module.dat"), "m");
  DpkgDb db;
  db.present = true;
  DpkgPackage p;
  p.name = p.source = "tool";
  p.section = "utils";
  p.files = {"/usr/bin/tool", "/usr/share/tool/module.dat"};
  for (const auto& f : p.files) db.owner[f] = "tool";
  db.packages["tool"] = p;
  write_file(host("/usr/share/doc/tool/copyright"), "c");
  Closure c = close({"/usr/bin/tool"}, std::move(db), "1 execve ok /usr/bin/tool\n");
  EXPECT_TRUE(c.contains("/usr/bin/tool"));
  EXPECT_FALSE(c.contains("/etc/app.conf"));               // a path string: not followed
  EXPECT_FALSE(c.contains("/usr/share/tool/module.dat"));  // the package: not expanded
  EXPECT_FALSE(c.contains("/usr/share/doc/tool/copyright"));
}

TEST_F(ClosureTest, ATracedScriptOnlyReadDoesNotBringItsInterpreter) {
  program("/usr/bin/tool", {});
  fs::permissions(host("/usr/bin/tool"), fs::perms::owner_exec, fs::perm_options::add);
  write_file(host("/usr/lib/app/module.py"), "#!/usr/bin/tool\nx = 1\n");
  write_file(host("/usr/lib/app/run"), "#!/usr/bin/tool\nrun\n");
  Closure read = close({}, {}, "1 openat ok /usr/lib/app/module.py\n");
  EXPECT_TRUE(read.contains("/usr/lib/app/module.py"));
  EXPECT_FALSE(read.contains("/usr/bin/tool"));
  EXPECT_EQ(read.scripts_as_data, (std::set<std::string>{"/usr/lib/app/module.py"}));
  // Stat'ed first (a PATH lookup), executed next: run.
  Closure looked_up = close({}, {},
                            "1 newfstatat ok /usr/lib/app/run\n"
                            "1 execve ok /usr/lib/app/run\n");
  EXPECT_TRUE(looked_up.contains("/usr/bin/tool"));
  Closure ran = close({}, {}, "1 execve ok /usr/lib/app/run\n");
  EXPECT_EQ(ran.reached.at("/usr/bin/tool").kind, EdgeKind::Shebang);
}

TEST_F(ClosureTest, DotDotAfterALinkKeepsWhatTheLinkPointsAt) {
  write_file(host("/usr/lib/sub/x"), "x");
  write_file(host("/usr/lib/file.dat"), "d");
  make_symlink(host("/lnk"), "usr/lib/sub");
  Closure c = close({}, {}, "1 openat ok /lnk/../file.dat\n");
  EXPECT_TRUE(c.contains("/usr/lib/file.dat"));
  EXPECT_TRUE(c.contains("/lnk"));
  EXPECT_TRUE(c.contains("/usr/lib/sub"));  // or /lnk would dangle
  EXPECT_FALSE(c.contains("/usr/lib/sub/x"));
}

TEST_F(ClosureTest, NoEntriesMeansEverything) {
  Closure c = close({});
  EXPECT_TRUE(c.everything);
  EXPECT_TRUE(c.contains("/anything/at/all"));
}

TEST_F(ClosureTest, MissingEntryIsAWarning) {
  Closure c = close({"/usr/bin/nothing"});
  ASSERT_FALSE(c.warnings.empty());
  EXPECT_EQ(c.warnings.front(), "/usr/bin/nothing: entry does not exist");
}

TEST_F(ClosureTest, DeclaredDlopenDependencyIsKept) {
  compile_c("int p(void) { return 0; }", host("/usr/lib/x86_64-linux-gnu/libplug.so.1"),
            "-shared -fPIC -Wl,-soname,libplug.so.1");
  compile_c(R"(
#define JSON "[{\"soname\":[\"libplug.so.1\"],\"priority\":\"recommended\"}]"
struct note { unsigned namesz, descsz, type; char name[4]; char desc[(sizeof(JSON) + 3) & ~3]; };
__attribute__((used, section(".note.dlopen"), aligned(4)))
static const struct note n = { 4, sizeof(JSON), 0x407c0c0a, "FDO", JSON };
int main(void) { return 0; }
)",
            host("/usr/bin/prog"), "");
  Closure c = close({"/usr/bin/prog"});
  ASSERT_TRUE(c.contains("/usr/lib/x86_64-linux-gnu/libplug.so.1"));
  EXPECT_EQ(c.reached.at("/usr/lib/x86_64-linux-gnu/libplug.so.1").kind, EdgeKind::Dlopen);
}

TEST_F(ClosureTest, GlibcKeepsTheLibgccItLoadsWhenAThreadExits) {
  fs::copy_file("/usr/lib/x86_64-linux-gnu/libgcc_s.so.1",
                host("/usr/lib/x86_64-linux-gnu/libgcc_s.so.1"));
  program("/usr/bin/prog", {});
  Closure c = close({"/usr/bin/prog"});
  ASSERT_TRUE(c.contains("/usr/lib/x86_64-linux-gnu/libgcc_s.so.1"));
  EXPECT_EQ(c.reached.at("/usr/lib/x86_64-linux-gnu/libgcc_s.so.1").from,
            "/usr/lib/x86_64-linux-gnu/libc.so.6");
}

TEST_F(ClosureTest, DlopenNamesServeAnEntryNamedThroughALink) {
  compile_c("int p(void) { return 0; }", host("/usr/lib/x86_64-linux-gnu/libplug.so.1"),
            "-shared -fPIC -Wl,-soname,libplug.so.1");
  program("/usr/bin/prog.real", {});
  make_symlink(host("/usr/bin/prog"), "prog.real");
  root_.emplace(tmp_.path());
  inventory_ = std::move(*take_inventory(*root_, "/"));
  resolver_ = std::make_unique<Resolver>(*root_, ResolveOptions{});
  ClosureInputs in;
  in.entries = {"/usr/bin/prog"};
  in.dlopen_names = {"libplug.so.1"};
  Closure c = compute_closure(*root_, inventory_, *resolver_, dpkg_, in);
  EXPECT_TRUE(c.contains("/usr/lib/x86_64-linux-gnu/libplug.so.1"));
}

TEST_F(ClosureTest, ChainLeadsBackToTheEntry) {
  compile_c("int foo(void) { return 1; }", host("/usr/lib/x86_64-linux-gnu/libfoo.so.1"),
            "-shared -fPIC -Wl,-soname,libfoo.so.1");
  program("/usr/bin/prog", {}, test::quoted(host("/usr/lib/x86_64-linux-gnu/libfoo.so.1")));
  Closure c = close({"/usr/bin/prog"});
  auto chain = c.chain("/usr/lib/x86_64-linux-gnu/libfoo.so.1");
  ASSERT_EQ(chain.size(), 2u);
  EXPECT_EQ(chain[0].second.kind, EdgeKind::Needed);
  EXPECT_EQ(chain[1].first, "/usr/bin/prog");
  EXPECT_EQ(chain[1].second.kind, EdgeKind::Entry);
}

// /etc/ssl/certs as ca-certificates lays it out: hash links to .pem links
// to the CA files under /usr/share, and /usr/lib/ssl/certs a link to it.
void lay_out_ca_store(const std::function<fs::path(std::string_view)>& host) {
  write_file(host("/usr/share/ca-certificates/mozilla/Root_CA.crt"), "-----BEGIN CERTIFICATE-----");
  write_file(host("/usr/share/ca-certificates/mozilla/Other.crt"), "-----BEGIN CERTIFICATE-----");
  write_file(host("/usr/share/ca-certificates/unused.crt"), "x");
  make_symlink(host("/etc/ssl/certs/Root_CA.pem"),
               "/usr/share/ca-certificates/mozilla/Root_CA.crt");
  make_symlink(host("/etc/ssl/certs/0a1b2c3d.0"), "Root_CA.pem");
  make_symlink(host("/etc/ssl/certs/Other.pem"),
               "../../../usr/share/ca-certificates/mozilla/Other.crt");
  make_symlink(host("/etc/ssl/certs/gone.pem"), "/usr/share/ca-certificates/removed-long-ago.crt");
  write_file(host("/usr/lib/ssl/openssl.cnf.dist"), "x");
  make_symlink(host("/usr/lib/ssl/certs"), "/etc/ssl/certs");
}

TEST_F(ClosureTest, LinksInsideAKeptDirectoryBringTheirTargets) {
  lay_out_ca_store([this](std::string_view p) { return host(p); });
  program("/usr/bin/prog", {"/usr/lib/ssl"});
  Closure c = close({"/usr/bin/prog"});
  EXPECT_EQ(c.reached.at("/usr/lib/ssl/certs").kind, EdgeKind::Contains);
  // The link to a directory keeps that directory whole, through links.
  EXPECT_TRUE(c.contains("/etc/ssl/certs/0a1b2c3d.0"));
  EXPECT_TRUE(c.contains("/etc/ssl/certs/Root_CA.pem"));
  EXPECT_TRUE(c.contains("/usr/share/ca-certificates/mozilla/Root_CA.crt"));
  EXPECT_EQ(c.reached.at("/usr/share/ca-certificates/mozilla/Other.crt").kind,
            EdgeKind::LinkTarget);
  EXPECT_FALSE(c.contains("/usr/share/ca-certificates/unused.crt"));
  // No rule may take a link's target while the link stays.
  const auto& deps = c.loader_deps.at("/etc/ssl/certs/Root_CA.pem");
  EXPECT_NE(std::find(deps.begin(), deps.end(), "/usr/share/ca-certificates/mozilla/Root_CA.crt"),
            deps.end());
}

TEST_F(ClosureTest, AKeptLinkMatchedByKeepBringsItsTarget) {
  lay_out_ca_store([this](std::string_view p) { return host(p); });
  program("/usr/bin/prog", {});
  root_.emplace(tmp_.path());
  auto inv = take_inventory(*root_, "/");
  ASSERT_TRUE(inv.ok());
  inventory_ = std::move(*inv);
  resolver_ = std::make_unique<Resolver>(*root_, ResolveOptions{});
  ClosureInputs in;
  in.entries = {"/usr/bin/prog"};
  in.keep_globs = {GlobPattern::compile("/etc/ssl/certs/*.0").value()};
  Closure c = compute_closure(*root_, inventory_, *resolver_, dpkg_, in);
  EXPECT_TRUE(c.contains("/etc/ssl/certs/0a1b2c3d.0"));
  EXPECT_TRUE(c.contains("/etc/ssl/certs/Root_CA.pem"));  // on the way
  EXPECT_TRUE(c.contains("/usr/share/ca-certificates/mozilla/Root_CA.crt"));
  EXPECT_FALSE(c.contains("/usr/share/ca-certificates/mozilla/Other.crt"));
}

// A library naming a directory: the library that libcrypto is to /usr/lib/ssl.
class KeptDirectoryPrograms : public ClosureTest {
 protected:
  void SetUp() override {
    ClosureTest::SetUp();
    compile_c("const char* dir = \"/usr/lib/ssl\"; const char* where(void) { return dir; }",
              host("/usr/lib/x86_64-linux-gnu/libnames.so.1"),
              "-shared -fPIC -Wl,-soname,libnames.so.1");
    program("/usr/bin/perl", {});
    program("/usr/bin/prog", {}, test::quoted(host("/usr/lib/x86_64-linux-gnu/libnames.so.1")));
    program("/usr/lib/ssl/misc/helper", {});
    write_file(host("/usr/lib/ssl/misc/CA.pl"), "#!/usr/bin/perl\nprint '/usr/share/perl-data';\n");
    write_file(host("/usr/share/perl-data/x"), "x");
    write_file(host("/usr/lib/ssl/misc/by-prog"), "#!/usr/bin/prog\nrun /usr/share/prog-data\n");
    write_file(host("/usr/share/prog-data/x"), "x");
    make_symlink(host("/usr/lib/ssl/CA.pl"), "misc/CA.pl");
    write_file(host("/usr/lib/ssl/openssl.cnf"), "[ ca ]\n");
  }
};

TEST_F(KeptDirectoryPrograms, ALibraryThatNamesADirectoryDoesNotRunItsPrograms) {
  Closure c = close({"/usr/bin/prog"});
  EXPECT_EQ(c.reached.at("/usr/lib/ssl").kind, EdgeKind::PathRef);
  EXPECT_TRUE(c.contains("/usr/lib/ssl/openssl.cnf"));
  // The perl script and the ELF helper are programs nothing runs: left out,
  // with the link to one; perl does not come.
  EXPECT_FALSE(c.contains("/usr/lib/ssl/misc/CA.pl"));
  EXPECT_FALSE(c.contains("/usr/lib/ssl/CA.pl"));
  EXPECT_FALSE(c.contains("/usr/lib/ssl/misc/helper"));
  EXPECT_FALSE(c.contains("/usr/bin/perl"));
  EXPECT_FALSE(c.contains("/usr/share/perl-data/x"));
  EXPECT_NE(c.left_out.at("/usr/lib/ssl/misc/CA.pl").find("/usr/bin/perl"), std::string::npos);
  EXPECT_EQ(c.left_out.count("/usr/lib/ssl/CA.pl"), 1u);
  // A script whose interpreter is kept anyway stays, as a file: not followed.
  EXPECT_TRUE(c.contains("/usr/lib/ssl/misc/by-prog"));
  EXPECT_FALSE(c.contains("/usr/share/prog-data/x"));
  // The report's list of directories kept whole says which, and how.
  auto whole = std::find_if(c.whole_directories.begin(), c.whole_directories.end(),
                            [](const WholeDirectory& w) { return w.path == "/usr/lib/ssl"; });
  ASSERT_NE(whole, c.whole_directories.end());
  EXPECT_TRUE(whole->programs_as_data);
  EXPECT_EQ(whole->reason.from, "/usr/lib/x86_64-linux-gnu/libnames.so.1");
}

TEST_F(KeptDirectoryPrograms, AProgramThatNamesADirectoryMayRunWhatIsInIt) {
  program("/usr/bin/runner", {"/usr/lib/ssl"});
  Closure c = close({"/usr/bin/runner"});
  EXPECT_TRUE(c.contains("/usr/lib/ssl/misc/CA.pl"));
  EXPECT_TRUE(c.contains("/usr/lib/ssl/misc/helper"));
  EXPECT_TRUE(c.contains("/usr/bin/perl"));
}

TEST_F(KeptDirectoryPrograms, AProgramSomethingRunsIsKeptAndFollowed) {
  write_file(host("/usr/bin/wrapper"), "#!/usr/lib/ssl/misc/CA.pl\n");
  Closure c = close({"/usr/bin/prog", "/usr/bin/wrapper"});
  EXPECT_TRUE(c.contains("/usr/lib/ssl/misc/CA.pl"));
  EXPECT_TRUE(c.contains("/usr/bin/perl"));
  EXPECT_NE(c.reached.at("/usr/lib/ssl/misc/CA.pl").kind, EdgeKind::Contains);
}

TEST_F(ClosureTest, APackagesOtherProgramsComeOnlyWhenSomethingRunsThem) {
  program("/usr/bin/tool", {});
  program("/usr/bin/perl", {});
  program("/usr/bin/tool-helper", {});
  write_file(host("/usr/bin/c_rehash"), "#!/usr/bin/perl\n");
  write_file(host("/usr/bin/tool-wrapper"), "#!/usr/bin/tool\n");
  write_file(host("/usr/share/tool/module.dat"), "m");
  program("/usr/bin/env", {});
  write_file(host("/usr/share/tool/module.tl"), "#!/usr/bin/env tool\n");
  // Interpreters the root does not have: nothing to drag in, and a module
  // with such a line (Python's cgi.py) is imported, not run.
  write_file(host("/usr/share/tool/cgi.tl"), "#! /usr/local/bin/tool\n");
  write_file(host("/usr/share/tool/old.tl"), "#!/usr/bin/env tool2\n");
  DpkgDb db;
  db.present = true;
  auto add = [&db](std::string name, std::vector<std::string> files,
                   std::vector<std::vector<std::string>> depends = {}) {
    DpkgPackage p;
    p.name = name;
    p.section = "utils";
    p.source = name;
    p.files = files;
    p.depends = std::move(depends);
    for (const auto& f : files) db.owner[f] = name;
    db.packages[name] = std::move(p);
  };
  add("tool",
      {"/usr/bin/tool", "/usr/bin/tool-helper", "/usr/bin/c_rehash", "/usr/bin/tool-wrapper",
       "/usr/share/tool/module.dat", "/usr/share/tool/module.tl", "/usr/share/tool/cgi.tl",
       "/usr/share/tool/old.tl"},
      {{"perl"}});
  add("perl", {"/usr/bin/perl"});
  Closure c = close({"/usr/bin/tool"}, std::move(db));
  EXPECT_TRUE(c.contains("/usr/share/tool/module.dat"));
  EXPECT_TRUE(c.contains("/usr/bin/tool-wrapper"));      // its interpreter is kept anyway
  EXPECT_TRUE(c.contains("/usr/share/tool/module.tl"));  // and env, its launcher, with it
  EXPECT_EQ(c.reached.at("/usr/bin/env").kind, EdgeKind::Interpreter);
  EXPECT_TRUE(c.contains("/usr/share/tool/cgi.tl"));
  EXPECT_TRUE(c.contains("/usr/share/tool/old.tl"));
  EXPECT_TRUE(c.contains("/usr/share/tool/cgi.tl"));
  EXPECT_TRUE(c.contains("/usr/share/tool/old.tl"));
  EXPECT_FALSE(c.contains("/usr/bin/c_rehash"));  // perl only through the package
  EXPECT_FALSE(c.contains("/usr/bin/perl"));
  EXPECT_FALSE(c.contains("/usr/bin/tool-helper"));
}

TEST_F(ClosureTest, PackageManagerStateIsKeptAsDataNeverScanned) {
  program("/usr/bin/perl", {});
  write_file(host("/var/lib/dpkg/info/foo.postinst"),
             "#!/usr/bin/perl\nsystem('/usr/share/maven/bin/mvn');\n");
  write_file(host("/usr/share/maven/bin/mvn"), "#!/bin/sh\n");
  program("/usr/bin/prog", {"/var/lib/dpkg"});
  Closure c = close({"/usr/bin/prog"});
  EXPECT_TRUE(c.contains("/var/lib/dpkg/info/foo.postinst"));
  EXPECT_FALSE(c.contains("/usr/bin/perl"));
  EXPECT_FALSE(c.contains("/usr/share/maven/bin/mvn"));
  EXPECT_TRUE(is_package_state("/var/lib/dpkg/info/foo.postinst"));
  EXPECT_TRUE(is_package_state("/var/cache"));
  EXPECT_FALSE(is_package_state("/var/lib/dpkgx"));
}

TEST_F(ClosureTest, KernelInterfacesAreNoEdges) {
  write_file(host("/proc/self/exe"), "x");  // a root's /proc is never the tree's content
  write_file(host("/sys/kernel/x"), "x");
  program("/usr/bin/prog", {"/proc/self/exe", "/sys/kernel"});
  Closure c = close({"/usr/bin/prog"});
  EXPECT_FALSE(c.contains("/proc/self/exe"));
  EXPECT_FALSE(c.contains("/sys/kernel/x"));
}

// A venv as `python3 -m venv /app/venv` makes it (bin/python a link to the
// system's python3.11), with a C extension whose library the loader must
// find, a .pth file, a module with a perl #! line, and pip.
class PythonVenv : public ClosureTest {
 protected:
  void SetUp() override {
    ClosureTest::SetUp();
    program("/usr/bin/python3.11", {});
    make_symlink(host("/usr/bin/python3"), "python3.11");
    write_file(host("/usr/lib/python3.11/os.py"), "");
    write_file(host("/usr/lib/python3.11/site.py"), "# dist-packages\n");
    program("/usr/bin/perl", {});
    write_file(host("/app/venv/pyvenv.cfg"),
               "home = /usr/bin\ninclude-system-site-packages = false\nversion = 3.11.2\n");
    make_symlink(host("/app/venv/bin/python3"), "/usr/bin/python3");
    make_symlink(host("/app/venv/bin/python"), "python3");
    write_file(host("/app/venv/bin/pip"),
               "#!/app/venv/bin/python\nfrom pip._internal import main\n");
    compile_c("int ext(void) { return 1; }", host("/usr/lib/x86_64-linux-gnu/libext.so.1"),
              "-shared -fPIC -Wl,-soname,libext.so.1");
    compile_c("int ext(void); int speedups(void) { return ext(); }",
              host(site_ + "/fast/_speedups.so"),
              "-shared -fPIC -Wl,--no-as-needed " +
                  test::quoted(host("/usr/lib/x86_64-linux-gnu/libext.so.1")));
    write_file(host(site_ + "/fast/__init__.py"), "from ._speedups import speedups\n");
    write_file(host(site_ + "/fast/tool.py"), "#!/usr/bin/perl\nprint 1;\n");
    write_file(host(site_ + "/fast-1.0.dist-info/METADATA"), "Name: fast\n");
    write_file(host(site_ + "/extra.pth"), "/srv/lib\nimport os\n");
    write_file(host("/srv/lib/helper.py"), "");
    write_file(host(site_ + "/pip/__init__.py"), "");
    write_file(host(site_ + "/pkg_resources/__init__.py"), "import pip\n");  // its own: no count
    write_file(host("/usr/lib/python3/dist-packages/system.py"), "");
  }

  const std::string site_ = "/app/venv/lib/python3.11/site-packages";
};

TEST_F(PythonVenv, AScriptRunByAVenvPythonKeepsTheVenv) {
  write_file(host("/app/main.py"), "#!/app/venv/bin/python\nimport fast\n");
  Closure c = close({"/app/main.py"});
  const Reason& site = c.reached.at(site_);
  EXPECT_EQ(site.kind, EdgeKind::PythonPath);
  EXPECT_EQ(edge_name(site.kind), "python-path");
  EXPECT_EQ(describe(site), "on the sys.path of /app/venv/bin/python");
  EXPECT_EQ(describe(c.reached.at("/app/venv/pyvenv.cfg")),
            "the venv configuration of /app/venv/bin/python");
  EXPECT_EQ(c.reached.at(site_ + "/fast-1.0.dist-info/METADATA").kind, EdgeKind::Contains);
  EXPECT_TRUE(c.contains(site_ + "/fast/__init__.py"));
  // The extension brings its library, as the loader would find it.
  EXPECT_EQ(c.reached.at("/usr/lib/x86_64-linux-gnu/libext.so.1").kind, EdgeKind::Needed);
  // What the .pth file adds; the interpreter; no perl for a module's #! line.
  EXPECT_EQ(describe(c.reached.at("/srv/lib")),
            "added by " + site_ + "/extra.pth to the sys.path of /app/venv/bin/python");
  EXPECT_TRUE(c.contains("/srv/lib/helper.py"));
  EXPECT_TRUE(c.contains("/usr/bin/python3.11"));
  EXPECT_FALSE(c.contains("/usr/bin/perl"));
  EXPECT_FALSE(c.contains(site_ + "/fast/tool.py"));
  EXPECT_EQ(c.left_out.count(site_ + "/fast/tool.py"), 1u);
  // No package brings this Python's standard library: its directory does.
  EXPECT_EQ(describe(c.reached.at("/usr/lib/python3.11")),
            "the standard library of /app/venv/bin/python");
  EXPECT_TRUE(c.contains("/usr/lib/python3.11/os.py"));
  // include-system-site-packages = false; nothing kept imports a build tool
  // (pkg_resources importing pip is setuptools' own business).
  EXPECT_FALSE(c.contains("/usr/lib/python3/dist-packages/system.py"));
  EXPECT_TRUE(c.python_tools_in_use.empty());
  EXPECT_FALSE(c.contains("/app/venv/bin/pip"));
}

TEST_F(PythonVenv, TheScriptsDirectoryIsOnItsSysPathButNotTheVenvInIt) {
  write_file(host("/app/main.py"), "#!/app/venv/bin/python\nimport helpers\n");
  write_file(host("/app/helpers.py"), "X = 1\n");
  write_file(host("/app/templates/index.html"), "<p>\n");
  Closure c = close({"/app/main.py"});
  EXPECT_EQ(describe(c.reached.at("/app")),
            "the directory (first on the sys.path) of /app/main.py");
  EXPECT_TRUE(c.contains("/app/helpers.py"));
  EXPECT_TRUE(c.contains("/app/templates/index.html"));
  EXPECT_FALSE(c.contains("/app/venv/bin/pip"));  // the venv is kept as its sys.path says
  // A script in a directory shared by everything: that directory is not kept.
  write_file(host("/usr/bin/tool"), "#!/app/venv/bin/python\nimport fast\n");
  ::chmod(host("/usr/bin/tool").c_str(), 0755);
  Closure t = close({"/usr/bin/tool"});
  EXPECT_FALSE(t.contains("/usr/bin/perl"));
}

TEST_F(PythonVenv, TheVenvPythonAsAnEntryKeepsTheVenvToo) {
  Closure c = close({"/app/venv/bin/python"});
  EXPECT_EQ(c.reached.at(site_).kind, EdgeKind::PythonPath);
  EXPECT_TRUE(c.contains(site_ + "/fast/_speedups.so"));
  EXPECT_TRUE(c.contains("/usr/lib/x86_64-linux-gnu/libext.so.1"));
}

TEST_F(PythonVenv, ARunTimeImportOfABuildToolIsNoted) {
  write_file(host(site_ + "/fast/plugins.py"), "from pkg_resources import iter_entry_points\n");
  Closure c = close({"/app/venv/bin/pip"});
  EXPECT_EQ(c.python_tools_in_use, (std::set<std::string>{"pip", "setuptools"}));
  EXPECT_TRUE(std::any_of(c.warnings.begin(), c.warnings.end(), [&](const std::string& w) {
    return w == site_ +
                    "/fast/plugins.py: line 1 imports pkg_resources: Python build tool "
                    "setuptools kept (rule python-build-tools)";
  })) << ::testing::PrintToString(c.warnings);
}

// ... but the tools' own files and launchers, which the rule takes with them, do not count.
TEST_F(PythonVenv, WithoutEntriesEveryPythonFileIsScanned) {
  write_file(host(site_ + "/fast/plugins.py"), "import setuptools\n");
  Root root(tmp_.path());
  Resolver resolver(root, ResolveOptions{});
  Closure c;
  add_loader_deps(
      root, resolver,
      {site_ + "/fast/plugins.py", site_ + "/pkg_resources/__init__.py", "/app/venv/bin/pip"}, c);
  EXPECT_EQ(c.python_tools_in_use, std::set<std::string>{"setuptools"});
}

TEST(SharedHierarchy, GenericDirectoriesAreShared) {
  EXPECT_TRUE(is_shared_hierarchy("/usr/lib"));
  EXPECT_TRUE(is_shared_hierarchy("/usr/lib/x86_64-linux-gnu"));
  EXPECT_TRUE(is_shared_hierarchy("/etc"));
  EXPECT_FALSE(is_shared_hierarchy("/usr/lib/x86_64-linux-gnu/gconv"));
  EXPECT_FALSE(is_shared_hierarchy("/usr/share/zoneinfo"));
}

}  // namespace

// An entry inside an npm project brings the project and its run-time
// packages as Node resolves them; devDependencies stay out; a .js entry
// without a #! line brings node from the PATH.
TEST_F(ClosureTest, NpmProjectEntryBringsItsRunTimePackages) {
  program("/usr/bin/node", {});
  write_file(host("/app/package.json"),
             R"({"name":"orders","dependencies":{"lodash":"4"},"devDependencies":{"eslint":"8"}})");
  write_file(host("/app/index.js"), "require('lodash');\n");
  write_file(host("/app/lib/util.js"), "module.exports = 1;\n");
  write_file(host("/app/node_modules/lodash/package.json"), R"({"name":"lodash"})");
  write_file(host("/app/node_modules/lodash/lodash.js"), "");
  write_file(host("/app/node_modules/eslint/package.json"), R"({"name":"eslint"})");
  write_file(host("/app/node_modules/eslint/bin/eslint.js"), "");
  write_file(host("/app/node_modules/.package-lock.json"), "{}");
  Closure c = close({"/app/index.js"});
  EXPECT_EQ(c.reached.at("/app/index.js").kind, EdgeKind::Entry);
  EXPECT_EQ(c.reached.at("/app").kind, EdgeKind::NpmProject);
  EXPECT_TRUE(c.contains("/app/lib/util.js"));
  EXPECT_TRUE(c.contains("/app/package.json"));
  EXPECT_EQ(c.reached.at("/app/node_modules/lodash").kind, EdgeKind::NpmDependency);
  EXPECT_EQ(describe(c.reached.at("/app/node_modules/lodash")),
            "lodash is a run-time dependency of /app");
  EXPECT_TRUE(c.contains("/app/node_modules/lodash/lodash.js"));
  EXPECT_FALSE(c.contains("/app/node_modules/eslint/bin/eslint.js"));
  EXPECT_FALSE(c.contains("/app/node_modules/.package-lock.json"));
  // node runs it: the interpreter the root's PATH finds becomes an entry.
  EXPECT_EQ(c.reached.at("/usr/bin/node").kind, EdgeKind::Shebang);
  ASSERT_EQ(c.implied_entries.size(), 1u);
  EXPECT_EQ(c.implied_entries[0].first, "/usr/bin/node");
  const auto chain = c.chain("/app/node_modules/lodash/lodash.js");
  ASSERT_GE(chain.size(), 3u);
  EXPECT_EQ(chain[2].first, "/app");
}

// What `main`, `exports` and `bin` name lies inside the package, which is
// kept whole but for its nested node_modules; a nested dependency is found
// there before the hoisted one of the same name.
TEST_F(ClosureTest, NpmPackagesKeepWhatExportsNameAndNestedBeatsHoisted) {
  write_file(host("/app/package.json"), R"({"name":"app","dependencies":{"lib":"1"}})");
  write_file(host("/app/index.js"), "require('lib');\n");
  write_file(host("/app/node_modules/lib/package.json"),
             R"({"name":"lib","exports":{".":{"require":"./dist/index.cjs","import":"./esm/x.mjs"}},
                "bin":{"lib":"bin/cli.js"},"dependencies":{"dep":"2"}})");
  write_file(host("/app/node_modules/lib/dist/index.cjs"), "");
  write_file(host("/app/node_modules/lib/esm/x.mjs"), "");
  write_file(host("/app/node_modules/lib/bin/cli.js"), "");
  write_file(host("/app/node_modules/lib/node_modules/dep/package.json"), R"({"name":"dep"})");
  write_file(host("/app/node_modules/dep/package.json"), R"({"name":"dep","version":"1"})");
  Closure c = close({"/app/index.js"});
  EXPECT_TRUE(c.contains("/app/node_modules/lib/dist/index.cjs"));
  EXPECT_TRUE(c.contains("/app/node_modules/lib/esm/x.mjs"));
  EXPECT_TRUE(c.contains("/app/node_modules/lib/bin/cli.js"));
  EXPECT_EQ(c.reached.at("/app/node_modules/lib/node_modules/dep").kind, EdgeKind::NpmDependency);
  EXPECT_FALSE(c.contains("/app/node_modules/dep/package.json"));
}

TEST_F(ClosureTest, NpmProjectDirectoryAsEntryIsNotKeptWhole) {
  write_file(host("/app/package.json"), R"({"name":"orders","devDependencies":{"eslint":"8"}})");
  write_file(host("/app/handler.mjs"), "export default 1;\n");
  write_file(host("/app/node_modules/eslint/package.json"), R"({"name":"eslint"})");
  Closure c = close({"/app"});
  EXPECT_TRUE(c.contains("/app/handler.mjs"));
  EXPECT_FALSE(c.contains("/app/node_modules/eslint/package.json"));
  EXPECT_TRUE(c.implied_entries.empty());  // a directory runs under nothing
}

TEST_F(ClosureTest, ScriptWithoutShebangAndNoInterpreterIsAWarning) {
  write_file(host("/srv/job.py"), "print(1)\n");
  Closure c = close({"/srv/job.py"});
  EXPECT_TRUE(c.contains("/srv/job.py"));
  ASSERT_EQ(c.warnings.size(), 1u);
  EXPECT_NE(c.warnings[0].find("runs under python3, which is not on the root's PATH"),
            std::string::npos)
      << c.warnings[0];
}

}  // namespace elfprune
