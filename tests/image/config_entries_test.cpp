#include "image/config_entries.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <initializer_list>
#include <string>
#include <vector>

#include "test_support.hpp"

namespace fs = std::filesystem;

namespace elfprune {
namespace {

using test::TempDir;
using test::write_file;

// A staging root as an image's layers would leave it.
class ConfigEntriesTest : public testing::Test {
 protected:
  void SetUp() override {
    executable("usr/bin/node");
    write_file(dir_ / "app/index.js", "require('./lib')");
    write_file(dir_ / "var/task/index.js", "exports.handler = async () => {}");
  }
  void executable(const std::string& path) {
    write_file(dir_ / path, "#!/bin/true\n");
    fs::permissions(dir_ / path, fs::perms(0755));
  }
  ConfigEntries collect(const ImageRunConfig& run) const {
    return entries_from_config(run, Root(dir_.path()));
  }

  TempDir dir_;
};

ImageRunConfig config(std::vector<std::string> entrypoint, std::vector<std::string> cmd,
                      std::vector<std::string> env = {"PATH=/usr/local/bin:/usr/bin:/bin"},
                      std::string working_dir = "") {
  ImageRunConfig run;
  run.entrypoint = std::move(entrypoint);
  run.cmd = std::move(cmd);
  run.env = std::move(env);
  run.working_dir = std::move(working_dir);
  return run;
}

std::string listing(const ConfigEntries& c) {
  std::string out;
  for (const auto& e : c.entries) out += e.path + " <- " + e.from + "\n";
  for (const auto& n : c.notes) out += "note: " + n + "\n";
  return out;
}

bool has_entry(const ConfigEntries& c, const std::string& path, const std::string& from = "") {
  return std::any_of(c.entries.begin(), c.entries.end(), [&](const ConfigEntry& e) {
    return e.path == path && (from.empty() || e.from == from);
  });
}

bool has_entry_from(const ConfigEntries& c, const std::string& from) {
  return std::any_of(c.entries.begin(), c.entries.end(),
                     [&](const ConfigEntry& e) { return e.from == from; });
}

bool has_note(const ConfigEntries& c, std::initializer_list<std::string> words) {
  return std::any_of(c.notes.begin(), c.notes.end(), [&](const std::string& n) {
    return std::all_of(words.begin(), words.end(),
                       [&](const std::string& w) { return n.find(w) != std::string::npos; });
  });
}

TEST_F(ConfigEntriesTest, EntrypointIsLookedUpOnTheConfigsPath) {
  ConfigEntries c = collect(config({"node"}, {}));
  EXPECT_TRUE(has_entry(c, "/usr/bin/node", "Entrypoint[0]")) << listing(c);
  EXPECT_EQ(c.entries.size(), 1u) << listing(c);
  EXPECT_TRUE(c.notes.empty()) << listing(c);
}

TEST_F(ConfigEntriesTest, WithoutPathInEnvTheDefaultPathIsSearched) {
  ConfigEntries c = collect(config({"node"}, {}, {}));
  EXPECT_TRUE(has_entry(c, "/usr/bin/node", "Entrypoint[0]")) << listing(c);
}

TEST_F(ConfigEntriesTest, APathThatLacksTheProgramGivesANote) {
  ConfigEntries c = collect(config({"node"}, {}, {"PATH=/opt/bin"}));
  EXPECT_TRUE(c.entries.empty()) << listing(c);
  EXPECT_TRUE(has_note(c, {"Entrypoint[0]", "node", "/opt/bin"})) << listing(c);
}

TEST_F(ConfigEntriesTest, CmdNamingAFileIsAnEntry) {
  ConfigEntries c = collect(config({}, {"/app/index.js"}));
  EXPECT_TRUE(has_entry(c, "/app/index.js", "Cmd[0]")) << listing(c);
}

TEST_F(ConfigEntriesTest, CmdArgumentsAfterTheEntrypointNamingFilesAreEntries) {
  ConfigEntries c = collect(config({"node"}, {"/app/index.js", "--port=80", "-v"}));
  EXPECT_TRUE(has_entry(c, "/usr/bin/node", "Entrypoint[0]")) << listing(c);
  EXPECT_TRUE(has_entry(c, "/app/index.js", "Cmd[0]")) << listing(c);
  EXPECT_EQ(c.entries.size(), 2u) << listing(c);
}

TEST_F(ConfigEntriesTest, RelativeArgumentsAreRelativeToTheWorkingDir) {
  ConfigEntries c = collect(config({"node"}, {"index.js"}, {}, "/app"));
  EXPECT_TRUE(has_entry(c, "/app/index.js", "Cmd[0]")) << listing(c);
}

TEST_F(ConfigEntriesTest, ShellFormGivesTheShellTheProgramAndItsFiles) {
  executable("bin/sh");
  ConfigEntries c = collect(config({}, {"/bin/sh", "-c", "exec node /app/index.js"}));
  EXPECT_TRUE(has_entry(c, "/bin/sh", "Cmd[0]")) << listing(c);
  EXPECT_TRUE(has_entry(c, "/usr/bin/node")) << listing(c);
  EXPECT_TRUE(has_entry(c, "/app/index.js")) << listing(c);
  EXPECT_EQ(c.entries.size(), 3u) << listing(c);
}

TEST_F(ConfigEntriesTest, ShellFormWithoutAShellStillGivesTheCommand) {
  ConfigEntries c = collect(config({"/bin/sh", "-c"}, {"NODE_ENV=production node /app/index.js"}));
  EXPECT_FALSE(has_entry(c, "/bin/sh")) << listing(c);
  EXPECT_TRUE(has_note(c, {"/bin/sh"})) << listing(c);
  EXPECT_TRUE(has_entry(c, "/usr/bin/node")) << listing(c);
  EXPECT_TRUE(has_entry(c, "/app/index.js")) << listing(c);
}

// The AWS Lambda base images: their entrypoint script, the handler in Cmd.
TEST_F(ConfigEntriesTest, ALambdaHandlerAfterTheEntrypointNamesItsModule) {
  executable("lambda-entrypoint.sh");
  ConfigEntries c = collect(config({"/lambda-entrypoint.sh"}, {"index.handler"},
                                   {"LAMBDA_TASK_ROOT=/var/task", "PATH=/usr/bin"}));
  EXPECT_TRUE(has_entry(c, "/lambda-entrypoint.sh", "Entrypoint[0]")) << listing(c);
  EXPECT_TRUE(has_entry(c, "/var/task/index.js")) << listing(c);
  EXPECT_TRUE(has_note(c, {"index.handler", "/var/task/index.js"})) << listing(c);
  EXPECT_TRUE(has_entry(c, "/var/task", "Env LAMBDA_TASK_ROOT")) << listing(c);
}

// A handler as the only word of Cmd (the entrypoint given elsewhere, as a
// Lambda function's ImageConfig may): still a handler, not a program.
TEST_F(ConfigEntriesTest, ALambdaHandlerAloneInCmdNamesItsModule) {
  ConfigEntries c = collect(config({}, {"index.handler"}, {"LAMBDA_TASK_ROOT=/var/task"}));
  EXPECT_TRUE(has_entry(c, "/var/task/index.js")) << listing(c);
  EXPECT_TRUE(has_note(c, {"index.handler"})) << listing(c);
}

TEST_F(ConfigEntriesTest, AHandlerWithoutAModuleIsANote) {
  executable("lambda-entrypoint.sh");
  ConfigEntries c = collect(
      config({"/lambda-entrypoint.sh"}, {"missing.handler"}, {"LAMBDA_TASK_ROOT=/var/task"}));
  EXPECT_TRUE(has_note(c, {"missing.handler"})) << listing(c);
  EXPECT_FALSE(has_entry(c, "/var/task/missing.js")) << listing(c);
}

TEST_F(ConfigEntriesTest, WorkingDirRootGivesNoEntry) {
  ConfigEntries c = collect(config({"node"}, {}, {}, "/"));
  EXPECT_FALSE(has_entry_from(c, "WorkingDir")) << listing(c);
  EXPECT_FALSE(has_entry(c, "/")) << listing(c);
}

TEST_F(ConfigEntriesTest, WorkingDirOfTheApplicationIsAnEntry) {
  ConfigEntries c = collect(config({"node"}, {}, {}, "/app"));
  EXPECT_TRUE(has_entry(c, "/app", "WorkingDir")) << listing(c);
}

TEST_F(ConfigEntriesTest, AWorkingDirThatIsNotADirectoryIsANote) {
  ConfigEntries c = collect(config({"node"}, {}, {}, "/nowhere"));
  EXPECT_FALSE(has_entry_from(c, "WorkingDir")) << listing(c);
  EXPECT_TRUE(has_note(c, {"WorkingDir", "/nowhere"})) << listing(c);
}

TEST_F(ConfigEntriesTest, AMissingProgramIsANote) {
  ConfigEntries c = collect(config({"python3"}, {"/app/index.js"}));
  EXPECT_FALSE(has_entry_from(c, "Entrypoint[0]")) << listing(c);
  EXPECT_TRUE(has_note(c, {"Entrypoint[0]", "python3"})) << listing(c);
  EXPECT_TRUE(has_entry(c, "/app/index.js", "Cmd[0]")) << listing(c);
}

TEST_F(ConfigEntriesTest, PathListVariablesGiveTheirApplicationDirectories) {
  fs::create_directories(dir_ / "opt/node_modules");
  ConfigEntries c =
      collect(config({"node"}, {}, {"NODE_PATH=/opt/node_modules:/usr:/missing", "PYTHONPATH="}));
  EXPECT_TRUE(has_entry(c, "/opt/node_modules", "Env NODE_PATH")) << listing(c);
  EXPECT_FALSE(has_entry(c, "/usr")) << listing(c);
  EXPECT_TRUE(has_note(c, {"/missing"})) << listing(c);
}

TEST_F(ConfigEntriesTest, AnEntryIsListedOnce) {
  ConfigEntries c =
      collect(config({"/usr/bin/node"}, {"/usr/bin/node", "/app/index.js", "/app/index.js"}));
  EXPECT_EQ(std::count_if(c.entries.begin(), c.entries.end(),
                          [](const ConfigEntry& e) { return e.path == "/usr/bin/node"; }),
            1)
      << listing(c);
  EXPECT_EQ(c.entries.size(), 2u) << listing(c);
}

TEST_F(ConfigEntriesTest, NoEntrypointNoCmdGivesNothing) {
  ConfigEntries c = collect(config({}, {}));
  EXPECT_TRUE(c.entries.empty()) << listing(c);
  EXPECT_TRUE(c.notes.empty()) << listing(c);
}

}  // namespace
}  // namespace elfprune
