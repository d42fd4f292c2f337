#include "facts/shebang.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <string>

#include "test_support.hpp"

namespace elfprune {
namespace {

using test::make_symlink;
using test::TempDir;
using test::write_file;

// Parses and fails the test when the kernel would not run the line.
Shebang parse(std::string_view head) {
  auto sb = parse_shebang(head);
  EXPECT_TRUE(sb.has_value()) << head;
  return sb.value_or(Shebang{});
}

TEST(Shebang, Plain) {
  Shebang sb = parse("#!/bin/sh\necho hi\n");
  EXPECT_EQ(sb.interpreter, "/bin/sh");
  EXPECT_EQ(sb.argument, "");
  EXPECT_EQ(sb.env_program, "");
}

TEST(Shebang, WithArgument) {
  Shebang sb = parse("#!/usr/bin/perl -w\n");
  EXPECT_EQ(sb.interpreter, "/usr/bin/perl");
  EXPECT_EQ(sb.argument, "-w");
}

TEST(Shebang, ArgumentIsOneTrimmedWord) {
  Shebang sb = parse("#! \t/usr/bin/python3 \t -E  -s \t \nimport sys\n");
  EXPECT_EQ(sb.interpreter, "/usr/bin/python3");
  EXPECT_EQ(sb.argument, "-E  -s");
}

TEST(Shebang, CrLfStaysInInterpreter) {
  Shebang sb = parse("#!/bin/sh\r\necho hi\r\n");
  EXPECT_EQ(sb.interpreter, "/bin/sh\r");
  EXPECT_EQ(sb.argument, "");
}

TEST(Shebang, CrLfStaysInArgument) {
  Shebang sb = parse("#!/bin/sh -e\r\n");
  EXPECT_EQ(sb.interpreter, "/bin/sh");
  EXPECT_EQ(sb.argument, "-e\r");
}

TEST(Shebang, NoNewline) {
  Shebang sb = parse("#!/bin/sh -x");
  EXPECT_EQ(sb.interpreter, "/bin/sh");
  EXPECT_EQ(sb.argument, "-x");
}

TEST(Shebang, NulEndsTheLine) {
  Shebang sb = parse(std::string("#!/bin/sh -x\0junk\n", 18));
  EXPECT_EQ(sb.interpreter, "/bin/sh");
  EXPECT_EQ(sb.argument, "-x");
}

TEST(Shebang, TruncatedInterpreterIsRejected) {
  EXPECT_FALSE(parse_shebang("#!/" + std::string(300, 'x') + "\n"));
}

TEST(Shebang, InterpreterFillingTheBufferIsRejected) {
  // 256 bytes without a blank, NUL or newline: the path may go on.
  EXPECT_FALSE(parse_shebang("#!/" + std::string(253, 'x')));
}

TEST(Shebang, InterpreterEndingJustBeforeTheLimitIsAccepted) {
  // 255 bytes and end of file: the NUL padding ends the path.
  Shebang sb = parse("#!/" + std::string(252, 'x'));
  EXPECT_EQ(sb.interpreter.size(), 253u);
}

TEST(Shebang, LongArgumentIsTruncated) {
  Shebang sb = parse("#!/bin/sh " + std::string(300, 'a') + "\n");
  EXPECT_EQ(sb.interpreter, "/bin/sh");
  // Bytes 10..254 of the 256-byte buffer: the last byte is the kernel's NUL.
  EXPECT_EQ(sb.argument, std::string(245, 'a'));
}

TEST(Shebang, NotAScript) {
  EXPECT_FALSE(
      parse_shebang("\x7f"
                    "ELF\x02\x01\x01"));
  EXPECT_FALSE(parse_shebang("echo hi\n"));
  EXPECT_FALSE(parse_shebang(" #!/bin/sh\n"));
  EXPECT_FALSE(parse_shebang(""));
  EXPECT_FALSE(parse_shebang("#"));
}

TEST(Shebang, EmptyInterpreter) {
  EXPECT_FALSE(parse_shebang("#!\n"));
  EXPECT_FALSE(parse_shebang("#!   \t\nexit\n"));
  EXPECT_FALSE(parse_shebang("#!"));
  EXPECT_FALSE(parse_shebang(std::string("#!\0/bin/sh\n", 11)));
}

TEST(Shebang, EnvProgram) {
  Shebang sb = parse("#!/usr/bin/env python3\n");
  EXPECT_EQ(sb.interpreter, "/usr/bin/env");
  EXPECT_EQ(sb.argument, "python3");
  EXPECT_EQ(sb.env_program, "python3");
}

TEST(Shebang, EnvProgramIsTheFirstWord) {
  EXPECT_EQ(parse("#!/usr/bin/env node --harmony\n").env_program, "node");
}

TEST(Shebang, EnvSplitStringWithOptionsAndAssignments) {
  Shebang sb = parse("#!/usr/bin/env -S -i PYTHONPATH=/opt/lib LANG=C python3 -u\n");
  EXPECT_EQ(sb.argument, "-S -i PYTHONPATH=/opt/lib LANG=C python3 -u");
  EXPECT_EQ(sb.env_program, "python3");
}

TEST(Shebang, EnvOptionsWithValues) {
  EXPECT_EQ(parse("#!/usr/bin/env -S -u HOME -C /tmp ruby -w\n").env_program, "ruby");
  EXPECT_EQ(parse("#!/usr/bin/env -S --unset=HOME --chdir /tmp ruby\n").env_program, "ruby");
  EXPECT_EQ(parse("#!/usr/bin/env -uHOME ruby\n").env_program, "ruby");
}

TEST(Shebang, EnvSplitStringAttachedForms) {
  EXPECT_EQ(parse("#!/usr/bin/env -Snode --flag\n").env_program, "node");
  EXPECT_EQ(parse("#!/usr/bin/env --split-string=node --flag\n").env_program, "node");
  EXPECT_EQ(parse("#!/usr/bin/env -iS node\n").env_program, "node");
}

TEST(Shebang, EnvLoneDashAndDoubleDash) {
  EXPECT_EQ(parse("#!/usr/bin/env - A=1 perl\n").env_program, "perl");
  EXPECT_EQ(parse("#!/usr/bin/env -S -- perl -T\n").env_program, "perl");
}

TEST(Shebang, EnvWithoutProgram) {
  EXPECT_EQ(parse("#!/usr/bin/env\n").env_program, "");
  EXPECT_EQ(parse("#!/usr/bin/env -i A=1\n").env_program, "");
}

TEST(Shebang, EnvOnlyByBasename) {
  EXPECT_EQ(parse("#!/bin/env bash\n").env_program, "bash");
  EXPECT_EQ(parse("#!/usr/bin/myenv bash\n").env_program, "");
}

// find_on_path

class FindOnPath : public ::testing::Test {
 protected:
  void SetUp() override { make_symlink(dir_ / "bin", "usr/bin"); }
  void executable(std::string_view inside) {
    write_file(dir_ / inside, "#!/bin/sh\n");
    std::filesystem::permissions(dir_ / inside, std::filesystem::perms(0755));
  }
  TempDir dir_;
};

TEST_F(FindOnPath, FindsThroughSymlinkedBin) {
  executable("usr/bin/python3");
  Root root(dir_.path());
  EXPECT_EQ(find_on_path(root, "python3", "/bin"), "/bin/python3");
  EXPECT_EQ(find_on_path(root, "python3"), "/usr/bin/python3");
}

TEST_F(FindOnPath, FirstDirectoryWins) {
  executable("usr/local/bin/node");
  executable("usr/bin/node");
  Root root(dir_.path());
  EXPECT_EQ(find_on_path(root, "node"), "/usr/local/bin/node");
  EXPECT_EQ(find_on_path(root, "node", "/usr/bin:/usr/local/bin"), "/usr/bin/node");
}

TEST_F(FindOnPath, NotExecutableIsSkipped) {
  write_file(dir_ / "usr/local/bin/node", "data");
  std::filesystem::permissions(dir_ / "usr/local/bin/node", std::filesystem::perms(0644));
  executable("usr/bin/node");
  Root root(dir_.path());
  EXPECT_EQ(find_on_path(root, "node"), "/usr/bin/node");
}

TEST_F(FindOnPath, DirectoryIsSkipped) {
  std::filesystem::create_directories(dir_ / "usr/local/bin/node");
  executable("usr/bin/node");
  Root root(dir_.path());
  EXPECT_EQ(find_on_path(root, "node"), "/usr/bin/node");
}

TEST_F(FindOnPath, SymlinkToExecutableIsFound) {
  executable("usr/bin/python3.11");
  make_symlink(dir_ / "usr/bin/python3", "python3.11");
  Root root(dir_.path());
  EXPECT_EQ(find_on_path(root, "python3"), "/usr/bin/python3");
}

TEST_F(FindOnPath, MissingIsNullopt) {
  Root root(dir_.path());
  EXPECT_EQ(find_on_path(root, "ruby"), std::nullopt);
  EXPECT_EQ(find_on_path(root, ""), std::nullopt);
}

TEST_F(FindOnPath, EmptyAndRelativeEntriesAreSkipped) {
  executable("tool");
  executable("usr/bin/tool");
  Root root(dir_.path());
  EXPECT_EQ(find_on_path(root, "tool", ":.:usr/bin"), std::nullopt);
  EXPECT_EQ(find_on_path(root, "tool", "::/usr/bin/"), "/usr/bin/tool");
}

TEST_F(FindOnPath, NameWithSlashIsNotSearched) {
  executable("opt/x/bin/python3");
  Root root(dir_.path());
  EXPECT_EQ(find_on_path(root, "/opt/x/bin/python3"), "/opt/x/bin/python3");
  EXPECT_EQ(find_on_path(root, "bin/python3", "/opt/x"), std::nullopt);
}

}  // namespace
}  // namespace elfprune
