// Byte-level edits: reference rewriting and ELF string patching, on bytes
// written here and on ELF files compiled at test time.
#include "write/reference_rewrite.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "test_support.hpp"

namespace elfprune {
namespace {

namespace fs = std::filesystem;
using test::compile_c;
using test::TempDir;

std::vector<PathRewrite> rules(std::string from, std::string to) {
  return {PathRewrite{std::move(from), std::move(to)}};
}

std::string slurp(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

TEST(ParsePathRewrite, SplitsOnTheFirstEqualsSignAndDropsTrailingSlashes) {
  auto r = parse_path_rewrite("/nix/store/a-full/=/nix/store/b-slim");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->from, "/nix/store/a-full");
  EXPECT_EQ(r->to, "/nix/store/b-slim");
}

TEST(ParsePathRewrite, RejectsWhatIsNotTwoDifferentAbsolutePaths) {
  for (const char* bad : {"/a", "a=/b", "/a=b", "/a=/a", "/=/b", "=/b"}) {
    auto r = parse_path_rewrite(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().kind, ErrorKind::Usage) << bad;
    EXPECT_EQ(r.error().path, "--rewrite-ref");
  }
}

TEST(FindReferences, MatchesWholePathsOnly) {
  const std::string text = "/opt/foo /opt/foobar x/opt/foo /opt/foo/bin:/opt/foo\n";
  auto refs = find_references(text, rules("/opt/foo", "/o/f"));
  std::vector<std::size_t> at;
  for (const auto& r : refs) at.push_back(r.offset);
  // Not /opt/foobar, not the middle of x/opt/foo.
  EXPECT_EQ(at, (std::vector<std::size_t>{0, 31, 44}));
}

TEST(RewrittenPath, OnlyAPrefixOfWholeComponents) {
  const auto r = rules("/opt/old", "/opt/new");
  EXPECT_EQ(rewritten_path("/opt/old/bin/x", r), std::optional<std::string>("/opt/new/bin/x"));
  EXPECT_EQ(rewritten_path("/opt/old", r), std::optional<std::string>("/opt/new"));
  EXPECT_EQ(rewritten_path("/opt/older/x", r), std::nullopt);
  EXPECT_EQ(rewritten_path("/x/opt/old", r), std::nullopt);
}

TEST(RewriteReferences, TextIsRewrittenWhateverTheLengths) {
  const std::string script =
      "#!/nix/store/aaa-node-full/bin/node\nrequire('/nix/store/aaa-node-full/lib')\n";
  auto r = rewrite_references(script, nullptr, rules("/nix/store/aaa-node-full", "/nix/store/b-n"),
                              "/bin/app");
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE(r->has_value());
  EXPECT_EQ((*r)->bytes, "#!/nix/store/b-n/bin/node\nrequire('/nix/store/b-n/lib')\n");
  EXPECT_EQ((*r)->method, RewriteMethod::Text);
  EXPECT_EQ((*r)->references, 2u);
}

TEST(RewriteReferences, NothingToDoIsNullopt) {
  auto r = rewrite_references("nothing here", nullptr, rules("/opt/x", "/opt/y"), "/f");
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->has_value());
}

TEST(RewriteReferences, BinaryContentOnlyWithTheSameLength) {
  const std::string bin = std::string("\0\1/opt/aaa/lib\0", 15) + "tail";
  auto same = rewrite_references(bin, nullptr, rules("/opt/aaa", "/opt/bbb"), "/data.bin");
  ASSERT_TRUE(same.ok());
  ASSERT_TRUE(same->has_value());
  EXPECT_EQ((*same)->bytes, std::string("\0\1/opt/bbb/lib\0", 15) + "tail");
  EXPECT_EQ((*same)->method, RewriteMethod::SameLength);

  auto longer = rewrite_references(bin, nullptr, rules("/opt/aaa", "/opt/longer"), "/data.bin");
  ASSERT_FALSE(longer.ok());
  EXPECT_EQ(longer.error().path, "/data.bin");
  EXPECT_NE(longer.error().message.find("cannot be rewritten"), std::string::npos);
}

class ElfRewriteTest : public ::testing::Test {
 protected:
  // A program with PT_INTERP, a RUNPATH of three elements and a path
  // string in its data.
  fs::path program(const std::string& runpath, const std::string& data_path = "/none") {
    const fs::path p = tmp_.path() / "prog";
    compile_c("#include <stdio.h>\nint main(void) { puts(\"" + data_path + "\"); return 0; }", p,
              "-Wl,--enable-new-dtags,-rpath," + runpath);
    return p;
  }
  ElfInfo info(const fs::path& p) {
    auto i = read_elf(p, p.string());
    EXPECT_TRUE(i.ok()) << i.error().message;
    return *i;
  }
  TempDir tmp_;
};

TEST_F(ElfRewriteTest, ShorterRunpathIsWrittenInItsSlot) {
  const fs::path p = program("/opt/full-node/lib:/opt/other");
  std::string bytes = slurp(p);
  const ElfInfo before = info(p);
  auto r = rewrite_references(bytes, &before, rules("/opt/full-node", "/opt/node"), "/prog");
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_TRUE(r->has_value());
  EXPECT_EQ((*r)->method, RewriteMethod::ElfStrings);
  EXPECT_EQ((*r)->fields, std::vector<std::string>{"RUNPATH"});
  EXPECT_EQ((*r)->bytes.size(), bytes.size());
  test::write_file(p, (*r)->bytes);
  EXPECT_EQ(info(p).runpath, "/opt/node/lib:/opt/other");
  EXPECT_EQ(info(p).interpreter, before.interpreter);
}

TEST_F(ElfRewriteTest, LongerElfStringIsAClearError) {
  const fs::path p = program("/opt/n/lib");
  const std::string bytes = slurp(p);
  const ElfInfo i = info(p);
  auto r = rewrite_references(bytes, &i, rules("/opt/n", "/opt/much-longer-name"), "/prog");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().path, "/prog");
  EXPECT_NE(r.error().message.find("needs"), std::string::npos) << r.error().message;
}

TEST_F(ElfRewriteTest, OtherReferenceOfAnotherLengthIsAClearError) {
  const fs::path p = program("/opt/x", "/opt/full-node/share/data");
  const std::string bytes = slurp(p);
  const ElfInfo i = info(p);
  auto r = rewrite_references(bytes, &i, rules("/opt/full-node", "/opt/node"), "/prog");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("outside PT_INTERP, RPATH and RUNPATH"), std::string::npos)
      << r.error().message;
}

TEST_F(ElfRewriteTest, InterpreterCanBeRewrittenWhenItFits) {
  const fs::path p = program("/opt/x");
  const ElfInfo i = info(p);
  ASSERT_TRUE(i.interpreter_slot.has_value());
  std::string bytes = slurp(p);
  // Same string through another spelling of the same length + fewer bytes.
  auto ok = patch_elf_string(bytes, i, *i.interpreter_slot, "/lib/ld-linux-x86-64.so.2", "/prog");
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  test::write_file(p, bytes);
  EXPECT_EQ(info(p).interpreter, "/lib/ld-linux-x86-64.so.2");
}

TEST(ShrinkSearchList, KeepsUsedElementsOnceInOrder) {
  EXPECT_EQ(shrink_search_list("/a:/b:/c:/b", {"/c", "/b"}), std::optional<std::string>("/b:/c"));
  EXPECT_EQ(shrink_search_list("/a:/b", {"/a", "/b"}), std::nullopt);
  EXPECT_EQ(shrink_search_list("/a:/b", {}), std::optional<std::string>(""));
  EXPECT_EQ(shrink_search_list("$ORIGIN/../lib:/x", {"$ORIGIN/../lib"}),
            std::optional<std::string>("$ORIGIN/../lib"));
}

}  // namespace
}  // namespace elfprune
