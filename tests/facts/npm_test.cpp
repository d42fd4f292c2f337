#include "facts/npm.hpp"

#include <gtest/gtest.h>

#include <algorithm>

#include "test_support.hpp"

namespace elfprune {
namespace {

using test::make_symlink;
using test::TempDir;
using test::write_file;

class NpmTest : public ::testing::Test {
 protected:
  void package(std::string_view dir, std::string_view json) {
    write_file(dir_ / (std::string(dir) + "/package.json"), json);
  }
  void file(std::string_view path, std::string_view content) { write_file(dir_ / path, content); }

  NpmTree read() {
    Root root(dir_.path());
    auto inv = take_inventory(root);
    EXPECT_TRUE(inv.ok());
    return read_npm_tree(root, *inv);
  }

  static bool build_only(const NpmTree& t, const std::string& dir) {
    return t.build_only.count(dir) != 0;
  }
  static const NpmPackage* find(const NpmTree& t, const std::string& dir) {
    auto it = std::find_if(t.packages.begin(), t.packages.end(),
                           [&](const NpmPackage& p) { return p.dir == dir; });
    return it == t.packages.end() ? nullptr : &*it;
  }

  TempDir dir_;
};

// aws-lambda-ric as `npm install --omit=dev` leaves it: the native client
// depends on node-gyp and node-addon-api at run time on paper; node-gyp's own
// dependencies are hoisted next to it; another runtime package shares glob.
class NpmLambdaTest : public NpmTest {
 protected:
  void SetUp() override {
    package("/var/task", R"({"name":"fn","dependencies":{"aws-lambda-ric":"2","lru":"1"},
                            "devDependencies":{"typescript":"5"}})");
    package(nm + "aws-lambda-ric",
            R"({"name":"aws-lambda-ric","version":"2.0.0",
                "dependencies":{"node-addon-api":"3.2.1","node-gyp":"8.1.0"}})");
    package(nm + "node-addon-api", R"({"name":"node-addon-api","version":"3.2.1"})");
    package(nm + "node-gyp", R"({"name":"node-gyp","version":"8.1.0",
                "dependencies":{"which":"2","glob":"7","tar":"6","env-paths":"2"}})");
    package(nm + "which", R"({"name":"which","dependencies":{"isexe":"2"}})");
    package(nm + "isexe", R"({"name":"isexe"})");
    package(nm + "glob", R"({"name":"glob","dependencies":{"minimatch":"3"}})");
    package(nm + "minimatch", R"({"name":"minimatch"})");
    package(nm + "tar", R"({"name":"tar","dependencies":{"minipass":"3"}})");
    package(nm + "minipass", R"({"name":"minipass"})");
    package(nm + "node-gyp/node_modules/env-paths", R"({"name":"env-paths"})");
    package(nm + "lru", R"({"name":"lru","dependencies":{"glob":"7"}})");
    package(nm + "typescript", R"({"name":"typescript"})");
  }
  const std::string nm = "/var/task/node_modules/";
};

TEST_F(NpmLambdaTest, ReadsEveryPackageButNotTheProject) {
  const NpmTree t = read();
  EXPECT_EQ(t.packages.size(), 12u);
  EXPECT_EQ(find(t, "/var/task"), nullptr);
  const NpmPackage* ric = find(t, nm + "aws-lambda-ric");
  ASSERT_NE(ric, nullptr);
  EXPECT_EQ(ric->name, "aws-lambda-ric");
  EXPECT_EQ(ric->version, "2.0.0");
  EXPECT_EQ(ric->dependencies, (std::vector<std::string>{"node-addon-api", "node-gyp"}));
  EXPECT_FALSE(ric->build_tool);
  EXPECT_TRUE(find(t, nm + "node-gyp")->build_tool);
  EXPECT_TRUE(t.warnings.empty());
}

TEST_F(NpmLambdaTest, BuildToolsAreBuildOnlyThoughARuntimePackageDependsOnThem) {
  const NpmTree t = read();
  EXPECT_TRUE(build_only(t, nm + "node-gyp"));
  EXPECT_TRUE(build_only(t, nm + "node-addon-api"));
  EXPECT_FALSE(build_only(t, nm + "aws-lambda-ric"));
}

TEST_F(NpmLambdaTest, DependenciesOnlyBuildToolsNeedAreBuildOnly) {
  const NpmTree t = read();
  for (const char* p : {"which", "isexe", "tar", "minipass", "node-gyp/node_modules/env-paths"}) {
    EXPECT_TRUE(build_only(t, nm + p)) << p;
  }
}

TEST_F(NpmLambdaTest, DependencySharedWithARuntimePackageIsRuntime) {
  const NpmTree t = read();
  EXPECT_FALSE(build_only(t, nm + "glob"));
  EXPECT_FALSE(build_only(t, nm + "minimatch"));
  EXPECT_FALSE(build_only(t, nm + "lru"));
}

TEST_F(NpmLambdaTest, UnreachedPackagesAreNotBuildOnly) {
  // typescript is only a devDependency: not a runtime edge, but nothing says
  // it is build tooling either.
  const NpmTree t = read();
  EXPECT_FALSE(build_only(t, nm + "typescript"));
}

TEST(NpmBuildTools, KnownNamesOnly) {
  for (const char* n : {"node-gyp", "node-addon-api", "nan", "node-pre-gyp", "@mapbox/node-pre-gyp",
                        "prebuild-install", "cmake-js"}) {
    EXPECT_TRUE(is_npm_build_tool(n)) << n;
  }
  for (const char* n : {"bindings", "node-gyp-build", "glob", "node-gyp-x", "gyp"}) {
    EXPECT_FALSE(is_npm_build_tool(n)) << n;
  }
}

TEST_F(NpmTest, NearestNodeModulesWins) {
  package("/app", R"({"dependencies":{"a":"1","node-gyp":"9"}})");
  package("/app/node_modules/a", R"({"name":"a","dependencies":{"x":"2"}})");
  package("/app/node_modules/a/node_modules/x", R"({"name":"x","version":"2.0.0"})");
  package("/app/node_modules/x", R"({"name":"x","version":"1.0.0"})");
  package("/app/node_modules/node-gyp", R"({"name":"node-gyp","dependencies":{"x":"1"}})");
  const NpmTree t = read();
  EXPECT_TRUE(build_only(t, "/app/node_modules/x"));
  EXPECT_FALSE(build_only(t, "/app/node_modules/a/node_modules/x"));
}

TEST_F(NpmTest, ScopedPackagesByTheirFullName) {
  package("/app", R"({"dependencies":{"native":"1"}})");
  package("/app/node_modules/native",
          R"({"name":"native","dependencies":{"@mapbox/node-pre-gyp":"1"}})");
  package("/app/node_modules/@mapbox/node-pre-gyp",
          R"({"name":"@mapbox/node-pre-gyp","dependencies":{"@npmcli/fs":"1"}})");
  package("/app/node_modules/@npmcli/fs", R"({"name":"@npmcli/fs"})");
  const NpmTree t = read();
  EXPECT_TRUE(find(t, "/app/node_modules/@mapbox/node-pre-gyp")->build_tool);
  EXPECT_TRUE(build_only(t, "/app/node_modules/@mapbox/node-pre-gyp"));
  EXPECT_TRUE(build_only(t, "/app/node_modules/@npmcli/fs"));
  EXPECT_EQ(find(t, "/app/node_modules/@mapbox"), nullptr);
}

TEST_F(NpmTest, BuildToolRequiredAtRunTimeIsKept) {
  // bcrypt finds its addon with node-pre-gyp at run time.
  package("/app", R"({"dependencies":{"bcrypt":"5"}})");
  package("/app/node_modules/bcrypt",
          R"({"name":"bcrypt","scripts":{"install":"node-pre-gyp install --fallback-to-build"},
              "dependencies":{"@mapbox/node-pre-gyp":"1"}})");
  file("/app/node_modules/bcrypt/bcrypt.js",
       "const nodePreGyp = require('@mapbox/node-pre-gyp');\n");
  package("/app/node_modules/@mapbox/node-pre-gyp",
          R"({"name":"@mapbox/node-pre-gyp","dependencies":{"semver":"7"}})");
  package("/app/node_modules/semver", R"({"name":"semver"})");
  const NpmTree t = read();
  EXPECT_FALSE(build_only(t, "/app/node_modules/@mapbox/node-pre-gyp"));
  EXPECT_FALSE(build_only(t, "/app/node_modules/semver"));
  ASSERT_EQ(t.warnings.size(), 1u);
  EXPECT_NE(t.warnings[0].find("bcrypt.js requires it at run time"), std::string::npos);
}

TEST_F(NpmTest, RequireInAnInstallScriptIsNotRunTime) {
  package("/app", R"({"dependencies":{"sqlite":"5"}})");
  package("/app/node_modules/sqlite",
          R"({"name":"sqlite","scripts":{"install":"node scripts/install.js"},
              "dependencies":{"prebuild-install":"7"}})");
  file("/app/node_modules/sqlite/scripts/install.js", "require(\"prebuild-install\")\n");
  file("/app/node_modules/sqlite/index.js", "require('prebuild-install-extra')\n");
  package("/app/node_modules/prebuild-install", R"({"name":"prebuild-install"})");
  const NpmTree t = read();
  EXPECT_TRUE(build_only(t, "/app/node_modules/prebuild-install"));
}

TEST_F(NpmTest, BrokenOrMissingPackageJsonIsAWarning) {
  package("/app", R"({"dependencies":{"good":"1","bad":"1"}})");
  package("/app/node_modules/good", R"({"name":"good"})");
  package("/app/node_modules/bad", "{not json");
  package("/app/node_modules/array", "[1,2]");
  package("/app/node_modules/typed", R"({"name":7,"dependencies":["x"]})");
  file("/app/node_modules/bare/index.js", "");
  const NpmTree t = read();
  EXPECT_EQ(t.packages.size(), 5u);
  EXPECT_EQ(t.warnings.size(), 3u);
  EXPECT_EQ(find(t, "/app/node_modules/bad")->name, "bad");
  EXPECT_EQ(find(t, "/app/node_modules/typed")->name, "typed");
  EXPECT_TRUE(find(t, "/app/node_modules/typed")->dependencies.empty());
  EXPECT_EQ(find(t, "/app/node_modules/bare")->name, "bare");
}

TEST_F(NpmTest, CyclesTerminate) {
  package("/app", R"({"dependencies":{"r1":"1","node-gyp":"1"}})");
  package("/app/node_modules/r1", R"({"name":"r1","dependencies":{"r2":"1"}})");
  package("/app/node_modules/r2", R"({"name":"r2","dependencies":{"r1":"1"}})");
  package("/app/node_modules/node-gyp", R"({"name":"node-gyp","dependencies":{"b1":"1"}})");
  package("/app/node_modules/b1", R"({"name":"b1","dependencies":{"b2":"1"}})");
  package("/app/node_modules/b2", R"({"name":"b2","dependencies":{"b1":"1","node-gyp":"1"}})");
  const NpmTree t = read();
  EXPECT_FALSE(build_only(t, "/app/node_modules/r1"));
  EXPECT_FALSE(build_only(t, "/app/node_modules/r2"));
  EXPECT_TRUE(build_only(t, "/app/node_modules/b1"));
  EXPECT_TRUE(build_only(t, "/app/node_modules/b2"));
}

TEST_F(NpmTest, SymlinkedPackageStandsForItsTarget) {
  // pnpm's layout: node_modules/NAME links into node_modules/.pnpm.
  const std::string store = "/app/node_modules/.pnpm/";
  package("/app", R"({"dependencies":{"node-gyp":"9","a":"1"}})");
  package(store + "node-gyp@9/node_modules/node-gyp",
          R"({"name":"node-gyp","dependencies":{"which":"2"}})");
  package(store + "which@2/node_modules/which", R"({"name":"which"})");
  make_symlink(dir_ / (store + "node-gyp@9/node_modules/which"),
               "../../which@2/node_modules/which");
  make_symlink(dir_ / "app/node_modules/node-gyp", ".pnpm/node-gyp@9/node_modules/node-gyp");
  package(store + "a@1/node_modules/a", R"({"name":"a"})");
  make_symlink(dir_ / "app/node_modules/a", ".pnpm/a@1/node_modules/a");
  const NpmTree t = read();
  EXPECT_TRUE(build_only(t, store + "node-gyp@9/node_modules/node-gyp"));
  EXPECT_TRUE(build_only(t, store + "which@2/node_modules/which"));
  EXPECT_FALSE(build_only(t, store + "a@1/node_modules/a"));
  EXPECT_TRUE(t.warnings.empty());
}

TEST_F(NpmTest, SymlinkOutOfTheTreeIsSkippedWithAWarning) {
  TempDir outside;
  write_file(outside / "pkg/package.json", R"({"name":"linked"})");
  package("/app", R"({"dependencies":{"linked":"1"}})");
  make_symlink(dir_ / "app/node_modules/linked", (outside.path() / "pkg").string());
  make_symlink(dir_ / "app/node_modules/dangling", "../nowhere");
  const NpmTree t = read();
  EXPECT_TRUE(t.packages.empty());
  // Both links skipped, and the project's dependency is then not installed.
  ASSERT_EQ(t.warnings.size(), 3u);
  EXPECT_NE(t.warnings[2].find("/app/package.json: dependency linked is not installed"),
            std::string::npos)
      << t.warnings[2];
}

TEST_F(NpmTest, WithoutAProjectTopLevelPackagesAreRoots) {
  // A global install: /usr/lib/node_modules holds what the user installed.
  package("/usr/lib/node_modules/tool", R"({"name":"tool","dependencies":{"node-gyp":"9"}})");
  package("/usr/lib/node_modules/tool/node_modules/node-gyp",
          R"({"name":"node-gyp","dependencies":{"which":"2"}})");
  package("/usr/lib/node_modules/tool/node_modules/which", R"({"name":"which"})");
  package("/usr/lib/node_modules/glob", R"({"name":"glob"})");
  const NpmTree t = read();
  EXPECT_FALSE(build_only(t, "/usr/lib/node_modules/tool"));
  EXPECT_TRUE(build_only(t, "/usr/lib/node_modules/tool/node_modules/node-gyp"));
  EXPECT_TRUE(build_only(t, "/usr/lib/node_modules/tool/node_modules/which"));
  EXPECT_FALSE(build_only(t, "/usr/lib/node_modules/glob"));
}

TEST_F(NpmTest, PackageJsonDeeperInAPackageIsNeitherPackageNorProject) {
  package("/app", R"({"dependencies":{"esm":"1"}})");
  package("/app/node_modules/esm", R"({"name":"esm"})");
  package("/app/node_modules/esm/dist/esm", R"({"type":"module","dependencies":{"node-gyp":"1"}})");
  package("/app/node_modules/node-gyp", R"({"name":"node-gyp"})");
  const NpmTree t = read();
  EXPECT_EQ(t.packages.size(), 2u);
  EXPECT_TRUE(build_only(t, "/app/node_modules/node-gyp"));
}

TEST_F(NpmTest, OptionalAndPeerDependenciesCountDevDependenciesDoNot) {
  package("/app", R"({"dependencies":{"a":"1"}})");
  package("/app/node_modules/a", R"({"name":"a","optionalDependencies":{"o":"1"},
                                     "peerDependencies":{"p":"1"},"devDependencies":{"d":"1"}})");
  const NpmTree t = read();
  EXPECT_EQ(find(t, "/app/node_modules/a")->dependencies, (std::vector<std::string>{"o", "p"}));
}

}  // namespace

// -------------------------------------------------- dev dependencies, run time

// A project with run-time and dev dependencies: hoisted and nested packages,
// a scoped one, one reached both ways, and what only a dev tool needs.
class NpmDevTest : public NpmTest {
 protected:
  void SetUp() override {
    package("/app", R"({"name":"orders","dependencies":{"lodash":"4","@scope/util":"1"},
                        "devDependencies":{"typescript":"5","eslint":"8","shared":"1"}})");
    package(nm + "lodash", R"({"name":"lodash"})");
    package(nm + "@scope/util", R"({"name":"@scope/util","dependencies":{"shared":"1"}})");
    package(nm + "shared", R"({"name":"shared"})");
    package(nm + "typescript", R"({"name":"typescript"})");
    package(nm + "eslint", R"({"name":"eslint","dependencies":{"chalk":"4"}})");
    // eslint's own copy, nested, and the hoisted one nothing run-time needs.
    package(nm + "eslint/node_modules/chalk", R"({"name":"chalk","version":"4"})");
    package(nm + "chalk", R"({"name":"chalk","version":"5"})");
    file("/app/index.js", "const _ = require('lodash');\nimport('@scope/util/x.js');\n");
  }
  const std::string nm = "/app/node_modules/";

  static std::vector<std::string> runtime_dirs(const NpmTree& t, const std::string& project) {
    std::vector<std::string> dirs;
    for (const auto& p : t.runtime.at(project)) dirs.push_back(p.dir);
    std::sort(dirs.begin(), dirs.end());
    return dirs;
  }
};

TEST_F(NpmDevTest, OnlyWhatDevDependenciesReachIsDevOnly) {
  const NpmTree t = read();
  EXPECT_EQ(t.dev_only.count(nm + "typescript"), 1u);
  EXPECT_EQ(t.dev_only.at(nm + "typescript"), "devDependency of orders only");
  EXPECT_EQ(t.dev_only.at(nm + "eslint/node_modules/chalk"),
            "needed only by eslint, a devDependency of orders");
  // Reached both ways: a devDependency that a run-time package needs stays.
  EXPECT_EQ(t.dev_only.count(nm + "shared"), 0u);
  EXPECT_EQ(t.dev_only.count(nm + "lodash"), 0u);
  // Nothing reaches the hoisted chalk: without a lock file nothing says what it is.
  EXPECT_EQ(t.dev_only.count(nm + "chalk"), 0u);
  EXPECT_TRUE(t.warnings.empty()) << t.warnings.front();
}

TEST_F(NpmDevTest, RuntimeClosureAsNodeResolvesIt) {
  const NpmTree t = read();
  EXPECT_EQ(runtime_dirs(t, "/app"),
            (std::vector<std::string>{nm + "@scope/util", nm + "lodash", nm + "shared"}));
  const auto& first = t.runtime.at("/app").front();
  EXPECT_EQ(first.from, "/app");
  EXPECT_EQ(t.project_of("/app/src/handler.js"), "/app");
  EXPECT_EQ(t.project_of("/app"), "/app");
  EXPECT_EQ(t.project_of(nm + "lodash/index.js"), "");  // a package's, not the project's
  EXPECT_EQ(t.project_of("/elsewhere/x.js"), "");
}

TEST_F(NpmDevTest, RequiringADevDependencyKeepsItWithAWarning) {
  // A mis-declared dependency: the project's code requires typescript.
  file("/app/lib/compile.js", "const ts = require(\"typescript\");\n");
  const NpmTree t = read();
  EXPECT_EQ(t.dev_only.count(nm + "typescript"), 0u);
  ASSERT_EQ(t.warnings.size(), 1u);
  EXPECT_NE(t.warnings[0].find("/app/lib/compile.js requires it at run time"), std::string::npos)
      << t.warnings[0];
  EXPECT_NE(std::find_if(t.runtime.at("/app").begin(), t.runtime.at("/app").end(),
                         [&](const NpmRuntimePackage& p) { return p.dir == nm + "typescript"; }),
            t.runtime.at("/app").end());
}

TEST_F(NpmDevTest, RequiresInCommentsOfOtherNamesAndRelativePathsAreNotPackages) {
  file("/app/lib/a.js", "require('./typescript');\nrequire('node:fs');\nrequire('/x/eslint');\n");
  const NpmTree t = read();
  EXPECT_EQ(t.dev_only.count(nm + "typescript"), 1u);
  EXPECT_EQ(t.dev_only.count(nm + "eslint"), 1u);
}

TEST_F(NpmDevTest, LockFileMarksAndCrossChecks) {
  // The hidden lock file: the hoisted chalk is dev; eslint is not (a lock
  // file that disagrees with the graph keeps the package, with a warning).
  file("/app/node_modules/.package-lock.json", R"({"lockfileVersion":3,"packages":{
        "node_modules/lodash":{},"node_modules/typescript":{"dev":true},
        "node_modules/eslint":{},"node_modules/chalk":{"dev":true}}})");
  const NpmTree t = read();
  EXPECT_EQ(t.dev_only.count(nm + "typescript"), 1u);
  EXPECT_EQ(t.dev_only.count(nm + "eslint"), 0u);
  EXPECT_EQ(t.dev_only.count(nm + "chalk"), 1u);
  EXPECT_EQ(t.dev_only.at(nm + "chalk"),
            "marked dev in the lock file, and no run-time dependency reaches it");
  ASSERT_EQ(t.warnings.size(), 1u);
  EXPECT_NE(t.warnings[0].find(nm + "eslint: kept: only devDependencies reach it"),
            std::string::npos)
      << t.warnings[0];
}

TEST_F(NpmDevTest, ABrokenLockFileIsAWarningAndTheGraphDecides) {
  file("/app/package-lock.json", "{\"lockfileVersion\":1,\"dependencies\":{}}");
  const NpmTree t = read();
  EXPECT_EQ(t.dev_only.count(nm + "typescript"), 1u);
  ASSERT_EQ(t.warnings.size(), 1u);
  EXPECT_NE(t.warnings[0].find("/app/package-lock.json: no \"packages\" map"), std::string::npos);
}

TEST_F(NpmDevTest, WorkspacesAreLinksToRealPathsAndCyclesEnd) {
  // npm workspaces: node_modules/@scope/util is a link to packages/util,
  // which depends back on the project's lodash; a cycle lodash <-> shared.
  std::filesystem::remove_all(dir_ / "app/node_modules/@scope/util");
  package("/app/packages/util", R"({"name":"@scope/util","dependencies":{"lodash":"4"}})");
  make_symlink(dir_ / "app/node_modules/@scope/util", "../../packages/util");
  package(nm + "lodash", R"({"name":"lodash","dependencies":{"shared":"1"}})");
  package(nm + "shared", R"({"name":"shared","dependencies":{"lodash":"4"}})");
  const NpmTree t = read();
  const auto& rt = t.runtime.at("/app");
  auto util = std::find_if(rt.begin(), rt.end(), [](const NpmRuntimePackage& p) {
    return p.dir == "/app/packages/util";
  });
  ASSERT_NE(util, rt.end());
  EXPECT_EQ(util->links, std::vector<std::string>{nm + "@scope/util"});
  EXPECT_EQ(t.dev_only.count(nm + "shared"), 0u);
  EXPECT_EQ(runtime_dirs(t, "/app"),
            (std::vector<std::string>{nm + "lodash", nm + "shared", "/app/packages/util"}));
}

}  // namespace elfprune
