#include "prune/rules.hpp"

#include <gtest/gtest.h>

#include <filesystem>

#include "test_support.hpp"

namespace elfprune {
namespace {

using test::make_symlink;
using test::TempDir;
using test::write_file;

using Matches = std::unordered_map<std::string, RuleMatch>;

// Each test lays out a small tree, classifies it, and asks which rule (if
// any) names a path.
class RulesTest : public ::testing::Test {
 protected:
  void file(std::string_view path, std::string_view content = "x") {
    write_file(dir_ / path, content);
  }
  void link(std::string_view path, std::string_view target) { make_symlink(dir_ / path, target); }
  void mkdir(std::string_view path) { std::filesystem::create_directories(dir_ / path); }

  Matches run(RuleInputs inputs = {}) {
    Root root(dir_.path());
    auto inv = take_inventory(root);
    EXPECT_TRUE(inv.ok());
    npm_ = read_npm_tree(root, *inv);
    if (inputs.npm == nullptr) inputs.npm = &npm_;
    return classify(root, *inv, inputs);
  }

  static std::string rule(const Matches& m, const std::string& path) {
    auto it = m.find(path);
    return it == m.end() ? "" : it->second.rule;
  }
  static RuleCondition condition(const Matches& m, const std::string& path) {
    auto it = m.find(path);
    return it == m.end() ? RuleCondition::Always : it->second.condition;
  }

  // A package directory with a package.json.
  void package(std::string_view dir, std::string_view json) {
    file(std::string(dir) + "/package.json", json);
  }

  TempDir dir_;
  NpmTree npm_;
};

TEST(RulesCatalogue, ListsEveryRuleOnceWithDropFirstAndConditionalLast) {
  std::vector<std::string> ids;
  for (const auto& r : rule_catalogue()) {
    ids.emplace_back(r.id);
    EXPECT_FALSE(r.description.empty()) << r.id;
    EXPECT_FALSE(r.matches.empty()) << r.id;
  }
  const std::vector<std::string> want = {"drop",
                                         "node-build",
                                         "npm-dev-dependencies",
                                         "node-package-managers",
                                         "source-trees",
                                         "python-sources",
                                         "headers",
                                         "typescript-declarations",
                                         "static-libs",
                                         "pkgconfig",
                                         "cmake",
                                         "debug",
                                         "docs",
                                         "man",
                                         "info",
                                         "locales",
                                         "i18n-sources",
                                         "completions",
                                         "caches",
                                         "python-build-tools",
                                         "icu-data",
                                         "python"};
  EXPECT_EQ(ids, want);
}

TEST_F(RulesTest, TypescriptDeclarationsAreBuildOnly) {
  file("/usr/share/nodejs/@types/node/fs.d.ts");
  file("/app/node_modules/lib/index.d.ts");
  file("/app/node_modules/lib/index.d.mts");
  file("/app/node_modules/lib/index.js");
  file("/app/tsconfig.tsbuildinfo");
  const auto m = run();
  EXPECT_EQ(rule(m, "/usr/share/nodejs/@types/node/fs.d.ts"), "typescript-declarations");
  EXPECT_EQ(rule(m, "/app/node_modules/lib/index.d.ts"), "typescript-declarations");
  EXPECT_EQ(rule(m, "/app/node_modules/lib/index.d.mts"), "typescript-declarations");
  EXPECT_EQ(rule(m, "/app/tsconfig.tsbuildinfo"), "typescript-declarations");
  EXPECT_EQ(rule(m, "/app/node_modules/lib/index.js"), "");
}

TEST_F(RulesTest, HeadersUnderPrefixIncludeAndLooseHeaders) {
  file("/usr/include/stdio.h");
  file("/usr/include/c++/12/vector");
  file("/usr/local/include/node/node.h");
  file("/usr/lib/x86_64-linux-gnu/perl/5.36.0/CORE/perl.h");
  file("/usr/include/c++/12/bits/stl_algo.tcc");
  const auto m = run();
  EXPECT_EQ(rule(m, "/usr/include"), "headers");
  EXPECT_EQ(rule(m, "/usr/include/stdio.h"), "headers");
  EXPECT_EQ(rule(m, "/usr/include/c++/12/vector"), "headers");
  EXPECT_EQ(rule(m, "/usr/local/include/node/node.h"), "headers");
  EXPECT_EQ(rule(m, "/usr/lib/x86_64-linux-gnu/perl/5.36.0/CORE/perl.h"), "headers");
}

TEST_F(RulesTest, HeadersLeaveAnApplicationsIncludeDirectory) {
  file("/var/www/app/include/config.php");
  file("/var/www/app/include/db.inc");
  const auto m = run();
  EXPECT_EQ(rule(m, "/var/www/app/include"), "");
  EXPECT_EQ(rule(m, "/var/www/app/include/config.php"), "");
  EXPECT_EQ(rule(m, "/var/www/app/include/db.inc"), "");
}

TEST_F(RulesTest, StaticLibsObjectsAndLibtoolFiles) {
  file("/usr/lib/libz.a");
  file("/opt/x/foo.o");
  file("/usr/lib/libz.la");
  file("/opt/x/foo.lo");
  file("/usr/lib/libz.so.1");
  const auto m = run();
  EXPECT_EQ(rule(m, "/usr/lib/libz.a"), "static-libs");
  EXPECT_EQ(rule(m, "/opt/x/foo.o"), "static-libs");
  EXPECT_EQ(rule(m, "/usr/lib/libz.la"), "static-libs");
  EXPECT_EQ(rule(m, "/opt/x/foo.lo"), "static-libs");
  EXPECT_EQ(rule(m, "/usr/lib/libz.so.1"), "");
}

TEST_F(RulesTest, ObjFileOnlyWhenItIsACoffObject) {
  file("/opt/x/main.obj", std::string("\x64\x86\x03\x00", 4));
  file("/srv/models/teapot.obj", "v 0.0 1.0 2.0\n");
  const auto m = run();
  EXPECT_EQ(rule(m, "/opt/x/main.obj"), "static-libs");
  EXPECT_EQ(rule(m, "/srv/models/teapot.obj"), "");
}

TEST_F(RulesTest, PkgconfigFilesAndDirectories) {
  file("/usr/lib/x86_64-linux-gnu/pkgconfig/zlib.pc");
  file("/usr/share/pkgconfig/shared-mime-info.pc");
  file("/usr/bin/pkg-config");
  const auto m = run();
  EXPECT_EQ(rule(m, "/usr/lib/x86_64-linux-gnu/pkgconfig"), "pkgconfig");
  EXPECT_EQ(rule(m, "/usr/lib/x86_64-linux-gnu/pkgconfig/zlib.pc"), "pkgconfig");
  EXPECT_EQ(rule(m, "/usr/share/pkgconfig/shared-mime-info.pc"), "pkgconfig");
  EXPECT_EQ(rule(m, "/usr/bin/pkg-config"), "");
}

TEST_F(RulesTest, CmakePackageFilesButNotCMakeLists) {
  file("/usr/lib/cmake/Foo/FooConfig.cmake");
  file("/usr/lib/cmake/Foo/FooTargets-release.txt");
  file("/usr/share/cmake-3.25/Modules/FindZLIB.cmake");
  file("/opt/bar/foo-config.cmake");
  file("/usr/share/foo/CMakeLists.txt");
  const auto m = run();
  EXPECT_EQ(rule(m, "/usr/lib/cmake"), "cmake");
  EXPECT_EQ(rule(m, "/usr/lib/cmake/Foo/FooTargets-release.txt"), "cmake");
  EXPECT_EQ(rule(m, "/usr/share/cmake-3.25/Modules/FindZLIB.cmake"), "cmake");
  EXPECT_EQ(rule(m, "/opt/bar/foo-config.cmake"), "cmake");
  EXPECT_EQ(rule(m, "/usr/share/foo/CMakeLists.txt"), "");
}

TEST_F(RulesTest, DocsUnderShareDocButCopyrightKept) {
  file("/usr/share/doc/libc6/changelog.Debian.gz");
  file("/usr/share/doc/libc6/copyright");
  const auto m = run();
  EXPECT_EQ(rule(m, "/usr/share/doc"), "docs");
  EXPECT_EQ(rule(m, "/usr/share/doc/libc6"), "docs");
  EXPECT_EQ(rule(m, "/usr/share/doc/libc6/changelog.Debian.gz"), "docs");
  EXPECT_EQ(rule(m, "/usr/share/doc/libc6/copyright"), "");
}

TEST_F(RulesTest, DocsInNpmPackagesButLicencesKept) {
  package("/app/node_modules/lru", R"({"name":"lru"})");
  file("/app/node_modules/lru/README.md");
  file("/app/node_modules/lru/History.md");
  file("/app/node_modules/lru/docs/api.html");
  file("/app/node_modules/lru/docs/LICENSE-MIT");
  file("/app/node_modules/lru/guide.md");
  file("/app/node_modules/lru/LICENSE");
  file("/app/node_modules/lru/index.js");
  const auto m = run();
  EXPECT_EQ(rule(m, "/app/node_modules/lru/README.md"), "docs");
  EXPECT_EQ(rule(m, "/app/node_modules/lru/History.md"), "docs");
  EXPECT_EQ(rule(m, "/app/node_modules/lru/docs"), "docs");
  EXPECT_EQ(rule(m, "/app/node_modules/lru/docs/api.html"), "docs");
  EXPECT_EQ(rule(m, "/app/node_modules/lru/guide.md"), "docs");
  EXPECT_EQ(rule(m, "/app/node_modules/lru/docs/LICENSE-MIT"), "");
  EXPECT_EQ(rule(m, "/app/node_modules/lru/LICENSE"), "");
  EXPECT_EQ(rule(m, "/app/node_modules/lru/index.js"), "");
}

TEST_F(RulesTest, DocsLeaveCodeAndContentNamedLikeDocs) {
  file("/usr/share/perl/5.36.0/CPAN/Meta/History.pm");
  file("/usr/share/perl/5.36.0/Encode/README.e2x");
  file("/srv/blog/posts/hello.md");
  file("/usr/share/perl/5.36.0/unicore/Blocks.txt");
  const auto m = run();
  EXPECT_EQ(rule(m, "/usr/share/perl/5.36.0/CPAN/Meta/History.pm"), "");
  EXPECT_EQ(rule(m, "/usr/share/perl/5.36.0/Encode/README.e2x"), "");
  EXPECT_EQ(rule(m, "/srv/blog/posts/hello.md"), "");
  EXPECT_EQ(rule(m, "/usr/share/perl/5.36.0/unicore/Blocks.txt"), "");
}

TEST_F(RulesTest, LocalisedManPagesAreManNotLocales) {
  file("/usr/share/man/man1/ls.1.gz");
  file("/usr/share/man/de/man1/ls.1.gz");
  file("/usr/share/info/coreutils.info.gz");
  const auto m = run();
  EXPECT_EQ(rule(m, "/usr/share/man"), "man");
  EXPECT_EQ(rule(m, "/usr/share/man/man1/ls.1.gz"), "man");
  EXPECT_EQ(rule(m, "/usr/share/man/de/man1/ls.1.gz"), "man");
  EXPECT_EQ(rule(m, "/usr/share/info/coreutils.info.gz"), "info");
}

TEST_F(RulesTest, LocalesTranslationsAndCompiledButNotCOrAlias) {
  file("/usr/share/locale/de/LC_MESSAGES/coreutils.mo");
  file("/usr/share/locale/locale.alias");
  file("/usr/lib/locale/de_DE.utf8/LC_CTYPE");
  file("/usr/lib/locale/C.utf8/LC_CTYPE");
  file("/usr/lib/locale/C.UTF-8/LC_CTYPE");
  file("/usr/lib/locale/POSIX/LC_CTYPE");
  file("/usr/lib/locale/locale-archive");
  const auto m = run();
  EXPECT_EQ(rule(m, "/usr/share/locale/de"), "locales");
  EXPECT_EQ(rule(m, "/usr/share/locale/de/LC_MESSAGES/coreutils.mo"), "locales");
  EXPECT_EQ(rule(m, "/usr/lib/locale/de_DE.utf8/LC_CTYPE"), "locales");
  EXPECT_EQ(rule(m, "/usr/share/locale"), "");
  EXPECT_EQ(rule(m, "/usr/share/locale/locale.alias"), "");
  EXPECT_EQ(rule(m, "/usr/lib/locale/C.utf8"), "");
  EXPECT_EQ(rule(m, "/usr/lib/locale/C.utf8/LC_CTYPE"), "");
  EXPECT_EQ(rule(m, "/usr/lib/locale/C.UTF-8/LC_CTYPE"), "");
  EXPECT_EQ(rule(m, "/usr/lib/locale/POSIX/LC_CTYPE"), "");
  EXPECT_EQ(rule(m, "/usr/lib/locale/locale-archive"), "");
}

TEST_F(RulesTest, LocalesLeaveX11AndJavaScriptLocaleDirectories) {
  file("/usr/share/X11/locale/en_US.UTF-8/Compose");
  package("/app/node_modules/element-ui", R"({"name":"element-ui"})");
  file("/app/node_modules/element-ui/lib/locale/lang/de.js");
  const auto m = run();
  EXPECT_EQ(rule(m, "/usr/share/X11/locale/en_US.UTF-8/Compose"), "");
  EXPECT_EQ(rule(m, "/app/node_modules/element-ui/lib/locale/lang/de.js"), "");
}

TEST_F(RulesTest, KeepLocaleLanguageKeepsEveryTerritory) {
  file("/usr/lib/locale/de_DE.utf8/LC_CTYPE");
  file("/usr/lib/locale/de_AT.utf8/LC_CTYPE");
  file("/usr/share/locale/de/LC_MESSAGES/x.mo");
  file("/usr/lib/locale/fr_FR.utf8/LC_CTYPE");
  RuleInputs in;
  in.keep_locales = {"de"};
  const auto m = run(in);
  EXPECT_EQ(rule(m, "/usr/lib/locale/de_DE.utf8/LC_CTYPE"), "");
  EXPECT_EQ(rule(m, "/usr/lib/locale/de_AT.utf8/LC_CTYPE"), "");
  EXPECT_EQ(rule(m, "/usr/share/locale/de/LC_MESSAGES/x.mo"), "");
  EXPECT_EQ(rule(m, "/usr/lib/locale/fr_FR.utf8/LC_CTYPE"), "locales");
}

TEST_F(RulesTest, KeepLocaleTerritoryKeepsItsCodesetsAndLanguageFallback) {
  file("/usr/lib/locale/pt_BR.utf8/LC_CTYPE");
  file("/usr/lib/locale/pt_BR/LC_CTYPE");
  file("/usr/share/locale/pt/LC_MESSAGES/x.mo");
  file("/usr/lib/locale/pt_PT.utf8/LC_CTYPE");
  file("/usr/lib/locale/fr_FR.utf8/LC_CTYPE");
  RuleInputs in;
  in.keep_locales = {"pt_BR.UTF-8", "fr_FR.ISO-8859-1"};
  const auto m = run(in);
  EXPECT_EQ(rule(m, "/usr/lib/locale/pt_BR.utf8/LC_CTYPE"), "");
  EXPECT_EQ(rule(m, "/usr/share/locale/pt/LC_MESSAGES/x.mo"), "");
  EXPECT_EQ(rule(m, "/usr/lib/locale/pt_BR/LC_CTYPE"), "");
  EXPECT_EQ(rule(m, "/usr/lib/locale/pt_PT.utf8/LC_CTYPE"), "locales");
  EXPECT_EQ(rule(m, "/usr/lib/locale/fr_FR.utf8/LC_CTYPE"), "locales");  // other codeset
}

TEST_F(RulesTest, I18nSourcesAreTheirOwnRule) {
  file("/usr/share/i18n/locales/de_DE");
  file("/usr/share/i18n/charmaps/UTF-8.gz");
  const auto m = run();
  EXPECT_EQ(rule(m, "/usr/share/i18n"), "i18n-sources");
  EXPECT_EQ(rule(m, "/usr/share/i18n/locales/de_DE"), "i18n-sources");
  EXPECT_EQ(rule(m, "/usr/share/i18n/charmaps/UTF-8.gz"), "i18n-sources");
}

TEST_F(RulesTest, IcuDataIsConditional) {
  file("/usr/lib/x86_64-linux-gnu/libicudata.so.72.1");
  link("/usr/lib/x86_64-linux-gnu/libicudata.so.72", "libicudata.so.72.1");
  file("/usr/share/icu/72.1/icudt72l.dat");
  file("/usr/lib/x86_64-linux-gnu/libicuuc.so.72");
  const auto m = run();
  EXPECT_EQ(rule(m, "/usr/lib/x86_64-linux-gnu/libicudata.so.72"), "icu-data");
  EXPECT_EQ(condition(m, "/usr/lib/x86_64-linux-gnu/libicudata.so.72"), RuleCondition::IcuUnused);
  EXPECT_EQ(condition(m, "/usr/lib/x86_64-linux-gnu/libicudata.so.72.1"), RuleCondition::IcuUnused);
  EXPECT_EQ(condition(m, "/usr/share/icu/72.1/icudt72l.dat"), RuleCondition::IcuUnused);
  EXPECT_EQ(rule(m, "/usr/lib/x86_64-linux-gnu/libicuuc.so.72"), "");
}

TEST_F(RulesTest, FullIcuDataForNodeIsNotIcuData) {
  package("/app/node_modules/full-icu", R"({"name":"full-icu"})");
  file("/app/node_modules/full-icu/icudt72l.dat");
  const auto m = run();
  EXPECT_EQ(rule(m, "/app/node_modules/full-icu/icudt72l.dat"), "");
}

TEST_F(RulesTest, PythonIsConditional) {
  file("/usr/bin/python3.11");
  link("/usr/bin/python3", "python3.11");
  file("/usr/lib/python3.11/os.py");
  file("/usr/lib/python3.11/__pycache__/os.cpython-311.pyc");
  file("/usr/lib/x86_64-linux-gnu/libpython3.11.so.1.0");
  file("/usr/share/gcc/python/libstdcxx/v6/printers.py");
  const auto m = run();
  for (const char* p :
       {"/usr/bin/python3.11", "/usr/bin/python3", "/usr/lib/python3.11",
        "/usr/lib/python3.11/os.py", "/usr/lib/python3.11/__pycache__/os.cpython-311.pyc",
        "/usr/lib/x86_64-linux-gnu/libpython3.11.so.1.0",
        "/usr/share/gcc/python/libstdcxx/v6/printers.py"}) {
    EXPECT_EQ(rule(m, p), "python") << p;
    EXPECT_EQ(condition(m, p), RuleCondition::PythonUnused) << p;
  }
}

TEST_F(RulesTest, PythonLicenceKept) {
  file("/usr/lib/python3.11/LICENSE.txt");
  const auto m = run();
  EXPECT_EQ(rule(m, "/usr/lib/python3.11/LICENSE.txt"), "");
}

TEST_F(RulesTest, PythonBuildToolsAreConditionalOnTheirImports) {
  const std::string site = "/app/venv/lib/python3.11/site-packages";
  file("/app/venv/pyvenv.cfg", "home = /usr/bin\n");
  for (const char* p :
       {"/pip/__init__.py", "/pip-23.0.1.dist-info/METADATA", "/pip-23.0.1.dist-info/LICENSE.txt",
        "/setuptools/__init__.py", "/pkg_resources/__init__.py", "/_distutils_hack/__init__.py",
        "/distutils-precedence.pth", "/setuptools-66.1.1.egg-info/PKG-INFO", "/wheel/__init__.py",
        "/wheel-0.38.4.dist-info/RECORD", "/flask/__init__.py",
        "/flask-2.2.2.dist-info/LICENSE.rst"}) {
    file(site + p);
  }
  file("/app/venv/bin/pip3.11", "#!/app/venv/bin/python\n");
  file("/app/venv/bin/wheel", "#!/app/venv/bin/python\n");
  file("/app/venv/bin/flask", "#!/app/venv/bin/python\n");
  file("/usr/bin/pip3", "#!/usr/bin/python3\n");  // a package's own launcher: not this rule
  file("/usr/lib/python3/dist-packages/pip/__init__.py");
  const auto m = run();
  const auto tool = [&](const std::string& path) {
    auto it = m.find(path);
    return it == m.end() ? std::string("-") : it->second.tool;
  };
  for (const auto& [path, want] : std::vector<std::pair<std::string, std::string>>{
           {site + "/pip", "pip"},
           {site + "/pip/__init__.py", "pip"},
           {site + "/pip-23.0.1.dist-info", "pip"},
           {site + "/setuptools/__init__.py", "setuptools"},
           {site + "/pkg_resources", "setuptools"},
           {site + "/_distutils_hack/__init__.py", "setuptools"},
           {site + "/distutils-precedence.pth", "setuptools"},
           {site + "/setuptools-66.1.1.egg-info/PKG-INFO", "setuptools"},
           {site + "/wheel-0.38.4.dist-info/RECORD", "wheel"},
           {"/app/venv/bin/pip3.11", "pip"},
           {"/app/venv/bin/wheel", "wheel"},
           {"/usr/lib/python3/dist-packages/pip/__init__.py", "pip"}}) {
    EXPECT_EQ(rule(m, path), "python-build-tools") << path;
    EXPECT_EQ(condition(m, path), RuleCondition::PythonToolUnused) << path;
    EXPECT_EQ(tool(path), want) << path;
  }
  // The tool's licence goes with its distribution record; other licences stay.
  EXPECT_EQ(rule(m, site + "/pip-23.0.1.dist-info/LICENSE.txt"), "python-build-tools");
  EXPECT_EQ(rule(m, site + "/flask-2.2.2.dist-info/LICENSE.rst"), "");
  EXPECT_EQ(rule(m, "/app/venv/bin/flask"), "");
  EXPECT_EQ(rule(m, "/usr/bin/pip3"), "");
}

TEST_F(RulesTest, PythonSourcesInSiteDirectoriesAreBuildOnly) {
  const std::string site = "/app/venv/lib/python3.11/site-packages";
  file(site + "/markupsafe/_speedups.c");
  file(site + "/markupsafe/_speedups.cpython-311-x86_64-linux-gnu.so");
  file(site + "/markupsafe/_speedups.pyi");
  file(site + "/lxml/etree.pyx");
  file(site + "/lxml/includes/tree.pxd");
  file(site + "/numpy/core/include/numpy/ndarrayobject.h");
  file("/usr/lib/python3/dist-packages/yaml/_yaml.pyx");
  file("/app/src/module.c");  // not in a site directory
  const auto m = run();
  for (const auto& p :
       {site + "/markupsafe/_speedups.c", site + "/lxml/etree.pyx",
        site + "/lxml/includes/tree.pxd", site + "/numpy/core/include/numpy/ndarrayobject.h",
        std::string("/usr/lib/python3/dist-packages/yaml/_yaml.pyx")}) {
    EXPECT_EQ(rule(m, p), "python-sources") << p;
  }
  EXPECT_EQ(rule(m, site + "/markupsafe/_speedups.cpython-311-x86_64-linux-gnu.so"), "python");
  EXPECT_EQ(rule(m, "/app/src/module.c"), "");
}

TEST_F(RulesTest, SymlinkToARemovedFileGoesWithIt) {
  file("/usr/lib/python3.11/pdb.py");
  link("/usr/bin/pdb3.11", "../lib/python3.11/pdb.py");
  file("/usr/share/man/man1/mawk.1.gz");
  link("/etc/alternatives/awk.1.gz", "/usr/share/man/man1/mawk.1.gz");
  file("/usr/bin/mawk");
  link("/etc/alternatives/awk", "/usr/bin/mawk");
  const auto m = run();
  EXPECT_EQ(rule(m, "/usr/bin/pdb3.11"), "python");
  EXPECT_EQ(condition(m, "/usr/bin/pdb3.11"), RuleCondition::PythonUnused);
  EXPECT_EQ(rule(m, "/etc/alternatives/awk.1.gz"), "man");
  EXPECT_EQ(rule(m, "/etc/alternatives/awk"), "");
}

TEST_F(RulesTest, SymlinkToADirectoryOnlyWhenAllOfItGoes) {
  file("/usr/local/share/man/man1/x.1");
  link("/usr/local/man", "share/man");
  package("/app/node_modules/addon", R"({"name":"addon"})");
  file("/app/node_modules/addon/binding.gyp");
  file("/app/node_modules/addon/build/Release/addon.node");
  link("/app/release", "node_modules/addon/build/Release");
  const auto m = run();
  EXPECT_EQ(rule(m, "/usr/local/man"), "man");
  EXPECT_EQ(rule(m, "/app/release"), "");
}

// A native package as node-gyp leaves it.
class RulesNodeGypTest : public RulesTest {
 protected:
  void SetUp() override {
    package("/var/task", R"({"dependencies":{"aws-lambda-ric":"2"}})");
    package(ric,
            R"({"name":"aws-lambda-ric","dependencies":{"node-addon-api":"3","node-gyp":"8"}})");
    file(ric + "/binding.gyp");
    file(ric + "/lib/index.js");
    file(ric + "/src/rapid-client.cc");
    file(ric + "/build/Makefile");
    file(ric + "/build/config.gypi");
    file(ric + "/build/rapid-client.target.mk");
    file(ric + "/build/Release/obj.target/rapid-client/src/rapid-client.o");
    file(ric + "/build/Release/.deps/Release/rapid-client.node.d");
    file(ric + "/build/Release/rapid-client.node");
    file(ric + "/build/Release/obj.target/rapid-client.node");
    file(ric + "/node-addon-api/nothing.target.mk");
    file(ric + "/node-addon-api/node_api.Makefile");
    link(ric + "/build/node_gyp_bins/python3", "/usr/bin/python3");
    package("/var/task/node_modules/node-gyp", R"({"name":"node-gyp"})");
    file("/var/task/node_modules/node-gyp/gyp/gyp_main.py");
    file("/var/task/node_modules/node-gyp/LICENSE");
    link("/var/task/node_modules/.bin/node-gyp", "../node-gyp/bin/node-gyp.js");
    file("/var/task/node_modules/node-gyp/bin/node-gyp.js");
    package("/var/task/node_modules/node-addon-api", R"({"name":"node-addon-api"})");
    file("/var/task/node_modules/.package-lock.json", "{}");
  }
  const std::string ric = "/var/task/node_modules/aws-lambda-ric";
};

TEST_F(RulesNodeGypTest, BuildLeftoversAreNodeBuild) {
  const auto m = run();
  for (const std::string rel :
       {"/binding.gyp", "/src/rapid-client.cc", "/build", "/build/Makefile", "/build/config.gypi",
        "/build/rapid-client.target.mk",
        "/build/Release/obj.target/rapid-client/src/rapid-client.o",
        "/build/Release/.deps/Release/rapid-client.node.d", "/build/node_gyp_bins/python3",
        "/node-addon-api/nothing.target.mk", "/node-addon-api/node_api.Makefile"}) {
    EXPECT_EQ(rule(m, ric + rel), "node-build") << rel;
  }
}

TEST_F(RulesNodeGypTest, BuiltAddonAndRuntimeCodeKept) {
  const auto m = run();
  EXPECT_EQ(rule(m, ric + "/build/Release/rapid-client.node"), "");
  EXPECT_EQ(rule(m, ric + "/build/Release/obj.target/rapid-client.node"), "");
  EXPECT_EQ(rule(m, ric + "/lib/index.js"), "");
  EXPECT_EQ(rule(m, ric + "/package.json"), "");
  EXPECT_EQ(rule(m, ric), "");
}

TEST_F(RulesNodeGypTest, BuildToolPackagesAreNodeBuildEvenTheirPython) {
  const auto m = run();
  EXPECT_EQ(rule(m, "/var/task/node_modules/node-gyp"), "node-build");
  EXPECT_EQ(rule(m, "/var/task/node_modules/node-gyp/gyp/gyp_main.py"), "node-build");
  EXPECT_EQ(condition(m, "/var/task/node_modules/node-gyp/gyp/gyp_main.py"), RuleCondition::Always);
  EXPECT_EQ(rule(m, "/var/task/node_modules/node-addon-api/package.json"), "node-build");
  // A package removed goes whole: a licence is kept for what is shipped.
  EXPECT_EQ(rule(m, "/var/task/node_modules/node-gyp/LICENSE"), "node-build");
}

TEST_F(RulesNodeGypTest, BinLinksToRemovedToolsGoButNpmMetadataStays) {
  const auto m = run();
  EXPECT_EQ(rule(m, "/var/task/node_modules/.bin/node-gyp"), "node-build");
  EXPECT_EQ(rule(m, "/var/task/node_modules/.package-lock.json"), "");
}

TEST_F(RulesTest, ScriptsInANativePackagesBuildDirectoryKept) {
  package("/app/node_modules/ts-addon", R"({"name":"ts-addon"})");
  file("/app/node_modules/ts-addon/binding.gyp");
  file("/app/node_modules/ts-addon/build/index.js");
  package("/app/node_modules/plain", R"({"name":"plain"})");
  file("/app/node_modules/plain/build/Makefile");
  const auto m = run();
  EXPECT_EQ(rule(m, "/app/node_modules/ts-addon/build/index.js"), "");
  EXPECT_EQ(rule(m, "/app/node_modules/plain/build/Makefile"), "");  // no binding.gyp
}

TEST_F(RulesTest, SourceArchivesAndUnpackedSourcesInDeps) {
  const std::string ric = "/var/task/node_modules/aws-lambda-ric";
  package(ric, R"({"name":"aws-lambda-ric"})");
  file(ric + "/deps/curl-8.tar.gz");
  file(ric + "/deps/aws-lambda-cpp-0.2.6.tar.gz");
  file(ric + "/deps/curl-7.78.0/configure");
  file(ric + "/deps/curl-7.78.0/lib/.libs/libcurl.a");
  file(ric + "/deps/curl-7.78.0/src/tool_main.c");
  file(ric + "/deps/curl-7.78.0/COPYING");
  const auto m = run();
  EXPECT_EQ(rule(m, ric + "/deps/curl-8.tar.gz"), "source-trees");
  EXPECT_EQ(rule(m, ric + "/deps/aws-lambda-cpp-0.2.6.tar.gz"), "source-trees");
  EXPECT_EQ(rule(m, ric + "/deps/curl-7.78.0"), "source-trees");
  EXPECT_EQ(rule(m, ric + "/deps/curl-7.78.0/configure"), "source-trees");
  EXPECT_EQ(rule(m, ric + "/deps/curl-7.78.0/lib/.libs/libcurl.a"), "source-trees");
  EXPECT_EQ(rule(m, ric + "/deps/curl-7.78.0/src/tool_main.c"), "source-trees");
  EXPECT_EQ(rule(m, ric + "/deps/curl-7.78.0/COPYING"), "");
}

TEST_F(RulesTest, NativePackagesDepsDirectoryIsBuildInput) {
  const std::string pkg = "/app/node_modules/native";
  package(pkg, R"({"name":"native"})");
  file(pkg + "/binding.gyp");
  file(pkg + "/deps/artifacts/bin/curl-config");
  file(pkg + "/deps/artifacts/lib/libcurl.a");
  file(pkg + "/deps/curl/configure");
  file(pkg + "/deps/curl/Makefile");
  file(pkg + "/deps/curl/lib/url.c");
  file(pkg + "/vendor/zlib/CMakeLists.txt");
  file(pkg + "/vendor/zlib/Makefile");
  const auto m = run();
  EXPECT_EQ(rule(m, pkg + "/deps/artifacts/bin/curl-config"), "source-trees");
  EXPECT_EQ(rule(m, pkg + "/deps/artifacts/lib/libcurl.a"), "source-trees");
  // Not node-build, though gyp packages' own makefiles and sources are.
  EXPECT_EQ(rule(m, pkg + "/deps/curl/Makefile"), "source-trees");
  EXPECT_EQ(rule(m, pkg + "/deps/curl/lib/url.c"), "source-trees");
  EXPECT_EQ(rule(m, pkg + "/vendor/zlib/Makefile"), "source-trees");
}

TEST_F(RulesTest, SourceTreesSparePackagesBuiltWithCmakeAndTheirAddonsAndScripts) {
  package("/app/node_modules/cm", R"({"name":"cm"})");
  file("/app/node_modules/cm/CMakeLists.txt");
  file("/app/node_modules/cm/index.js");
  file("/app/node_modules/cm/vendor/lib/CMakeLists.txt");
  file("/app/node_modules/cm/vendor/lib/out/cm.node");
  file("/app/node_modules/cm/vendor/lib/wrapper.js");
  file("/app/node_modules/cm/vendor/lib/lib.c");
  const auto m = run();
  EXPECT_EQ(rule(m, "/app/node_modules/cm"), "");
  EXPECT_EQ(rule(m, "/app/node_modules/cm/index.js"), "");
  EXPECT_EQ(rule(m, "/app/node_modules/cm/vendor/lib/lib.c"), "source-trees");
  EXPECT_EQ(rule(m, "/app/node_modules/cm/vendor/lib/out/cm.node"), "");
  EXPECT_EQ(rule(m, "/app/node_modules/cm/vendor/lib/wrapper.js"), "");
}

TEST_F(RulesTest, SourceTreesLeaveSystemDirectoriesAndProjects) {
  file("/usr/share/zoneinfo/Europe/Berlin");
  file("/app/CMakeLists.txt");
  file("/app/native/CMakeLists.txt");
  file("/app/native/build/libnative.so");
  file("/srv/data/backup.tar.gz");
  const auto m = run();
  EXPECT_EQ(rule(m, "/usr/share/zoneinfo/Europe/Berlin"), "");
  EXPECT_EQ(rule(m, "/app/native/build/libnative.so"), "");
  EXPECT_EQ(rule(m, "/srv/data/backup.tar.gz"), "");
}

TEST_F(RulesTest, DebugInformation) {
  file("/usr/lib/debug/.build-id/ab/cdef.debug");
  file("/opt/x/foo.pdb");
  package("/app/node_modules/logger", R"({"name":"logger"})");
  file("/app/node_modules/logger/lib/debug/index.js");
  const auto m = run();
  EXPECT_EQ(rule(m, "/usr/lib/debug"), "debug");
  EXPECT_EQ(rule(m, "/usr/lib/debug/.build-id/ab/cdef.debug"), "debug");
  EXPECT_EQ(rule(m, "/opt/x/foo.pdb"), "debug");
  EXPECT_EQ(rule(m, "/app/node_modules/logger/lib/debug/index.js"), "");
}

TEST_F(RulesTest, CachesKeepTheirDirectories) {
  file("/var/cache/apt/archives/bash_5.2_amd64.deb");
  file("/var/cache/debconf/templates.dat");
  file("/var/lib/apt/lists/mirror.example_debian_dists_bookworm_InRelease");
  file("/root/.npm/_cacache/index-v5/ab/cd");
  file("/root/.cache/pip/x");
  const auto m = run();
  EXPECT_EQ(rule(m, "/var/cache/apt/archives/bash_5.2_amd64.deb"), "caches");
  EXPECT_EQ(rule(m, "/var/cache/debconf/templates.dat"), "caches");
  EXPECT_EQ(rule(m, "/var/lib/apt/lists/mirror.example_debian_dists_bookworm_InRelease"), "caches");
  EXPECT_EQ(rule(m, "/root/.npm/_cacache"), "caches");
  EXPECT_EQ(rule(m, "/root/.cache/pip/x"), "caches");
  EXPECT_EQ(rule(m, "/var/cache"), "");
  EXPECT_EQ(rule(m, "/var/cache/apt/archives"), "");
  EXPECT_EQ(rule(m, "/var/lib/apt/lists"), "");
}

TEST_F(RulesTest, DpkgDatabaseNeverMatched) {
  file("/var/lib/dpkg/status");
  file("/var/lib/dpkg/info/python3.11.list");
  file("/var/lib/dpkg/info/README");
  file("/var/lib/dpkg/info/hook.py");
  file("/var/lib/dpkg/info/libfoo-dev.h");
  const auto m = run();
  for (const char* p : {"/var/lib/dpkg", "/var/lib/dpkg/status", "/var/lib/dpkg/info/README",
                        "/var/lib/dpkg/info/hook.py", "/var/lib/dpkg/info/libfoo-dev.h"}) {
    EXPECT_EQ(rule(m, p), "") << p;
  }
}

TEST_F(RulesTest, Completions) {
  file("/usr/share/bash-completion/completions/node");
  file("/etc/bash_completion.d/git-prompt");
  file("/usr/share/zsh/vendor-completions/_docker");
  file("/usr/share/zsh/site-functions/_foo");
  file("/usr/share/zsh/site-functions/prompt_pure_setup");
  file("/usr/share/fish/vendor_completions.d/foo.fish");
  const auto m = run();
  EXPECT_EQ(rule(m, "/usr/share/bash-completion/completions/node"), "completions");
  EXPECT_EQ(rule(m, "/etc/bash_completion.d/git-prompt"), "completions");
  EXPECT_EQ(rule(m, "/usr/share/zsh/vendor-completions/_docker"), "completions");
  EXPECT_EQ(rule(m, "/usr/share/zsh/site-functions/_foo"), "completions");
  EXPECT_EQ(rule(m, "/usr/share/fish/vendor_completions.d/foo.fish"), "completions");
  EXPECT_EQ(rule(m, "/usr/share/zsh/site-functions/prompt_pure_setup"), "");
}

TEST_F(RulesTest, NodePackageManagersAndTheirLinks) {
  package("/usr/local/lib/node_modules/npm", R"({"name":"npm"})");
  file("/usr/local/lib/node_modules/npm/bin/npm-cli.js");
  package("/usr/local/lib/node_modules/corepack", R"({"name":"corepack"})");
  file("/usr/local/lib/node_modules/corepack/dist/yarn.js");
  link("/usr/local/bin/npm", "../lib/node_modules/npm/bin/npm-cli.js");
  link("/usr/local/bin/yarn", "../lib/node_modules/corepack/dist/yarn.js");
  file("/usr/local/bin/node");
  const auto m = run();
  EXPECT_EQ(rule(m, "/usr/local/lib/node_modules/npm"), "node-package-managers");
  EXPECT_EQ(rule(m, "/usr/local/lib/node_modules/npm/bin/npm-cli.js"), "node-package-managers");
  EXPECT_EQ(rule(m, "/usr/local/lib/node_modules/corepack/dist/yarn.js"), "node-package-managers");
  EXPECT_EQ(rule(m, "/usr/local/bin/npm"), "node-package-managers");
  EXPECT_EQ(rule(m, "/usr/local/bin/yarn"), "node-package-managers");
  EXPECT_EQ(rule(m, "/usr/local/bin/node"), "");
}

TEST_F(RulesTest, DropIsCheckedFirstAndMayTakeLicences) {
  file("/usr/share/man/man1/ls.1.gz");
  file("/usr/share/doc/foo/copyright");
  file("/opt/app/data.bin");
  RuleInputs in;
  in.drop_globs = {GlobPattern::compile("/usr/share/man/**").value(),
                   GlobPattern::compile("/usr/share/doc/*/copyright").value()};
  const auto m = run(in);
  EXPECT_EQ(rule(m, "/usr/share/man/man1/ls.1.gz"), "drop");
  EXPECT_EQ(m.at("/usr/share/man/man1/ls.1.gz").detail, "--drop /usr/share/man/**");
  EXPECT_EQ(rule(m, "/usr/share/man"), "man");  // `**` below the directory, not it
  EXPECT_EQ(rule(m, "/usr/share/doc/foo/copyright"), "drop");
  EXPECT_EQ(rule(m, "/opt/app/data.bin"), "");
}

TEST_F(RulesTest, AddonsNeverMatchedButGoWithTheirWholePackage) {
  file("/usr/lib/debug/foo.node");
  package("/app/node_modules/bindings-user", R"({"name":"bindings-user"})");
  file("/app/node_modules/bindings-user/build/Release/x.node");
  package("/app/node_modules/node-gyp", R"({"name":"node-gyp"})");
  file("/app/node_modules/node-gyp/prebuilt/x.node");
  const auto m = run();
  EXPECT_EQ(rule(m, "/usr/lib/debug/foo.node"), "");
  EXPECT_EQ(rule(m, "/app/node_modules/bindings-user/build/Release/x.node"), "");
  // A build-only package goes whole: nothing of it runs.
  EXPECT_EQ(rule(m, "/app/node_modules/node-gyp/prebuilt/x.node"), "node-build");
}

TEST_F(RulesTest, TopOfTheTreeNeverMatched) {
  file("/share/man/man1/x.1");
  Root root(dir_.path());
  auto inv = take_inventory(root, "/share/man");
  ASSERT_TRUE(inv.ok());
  const auto m = classify(root, *inv, RuleInputs{});
  EXPECT_EQ(rule(m, "/share/man"), "");
  EXPECT_EQ(rule(m, "/share/man/man1/x.1"), "man");
}

}  // namespace
}  // namespace elfprune
