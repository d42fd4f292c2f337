#include "elf/dlopen_note.hpp"

#include <gtest/gtest.h>

#include <string>

namespace elfprune {
namespace {

using namespace std::string_literals;

TEST(DlopenNote, ParsesArrayForm) {
  auto deps = parse_dlopen_note(
      R"([{"feature":"bpf","description":"Firewalling with BPF","priority":"suggested",)"
      R"("soname":["libbpf.so.1","libbpf.so.0"]}])");
  ASSERT_TRUE(deps.ok()) << deps.error().message;
  ASSERT_EQ(deps->size(), 1u);
  const DlopenDependency& d = (*deps)[0];
  EXPECT_EQ(d.sonames, (std::vector<std::string>{"libbpf.so.1", "libbpf.so.0"}));
  EXPECT_EQ(d.feature, "bpf");
  EXPECT_EQ(d.description, "Firewalling with BPF");
  EXPECT_EQ(d.priority, "suggested");
}

TEST(DlopenNote, KeepsEveryEntryInOrder) {
  auto deps = parse_dlopen_note(R"([{"soname":["liba.so.1"]},{"soname":["libb.so.2"]}])");
  ASSERT_TRUE(deps.ok()) << deps.error().message;
  ASSERT_EQ(deps->size(), 2u);
  EXPECT_EQ((*deps)[0].sonames[0], "liba.so.1");
  EXPECT_EQ((*deps)[1].sonames[0], "libb.so.2");
}

TEST(DlopenNote, PriorityDefaultsToRecommended) {
  auto deps = parse_dlopen_note(R"([{"soname":["liba.so.1"]}])");
  ASSERT_TRUE(deps.ok());
  EXPECT_EQ((*deps)[0].priority, "recommended");
  EXPECT_EQ((*deps)[0].feature, "");
}

TEST(DlopenNote, AcceptsOldSingleObjectWithStringSoname) {
  auto deps = parse_dlopen_note(R"({"soname":"libfoo.so.3","feature":"foo"})");
  ASSERT_TRUE(deps.ok()) << deps.error().message;
  ASSERT_EQ(deps->size(), 1u);
  EXPECT_EQ((*deps)[0].sonames, std::vector<std::string>{"libfoo.so.3"});
  EXPECT_EQ((*deps)[0].feature, "foo");
}

TEST(DlopenNote, IgnoresUnknownKeys) {
  auto deps = parse_dlopen_note(R"([{"soname":["liba.so.1"],"x-vendor":{"n":[1,2]},"z":null}])");
  ASSERT_TRUE(deps.ok()) << deps.error().message;
  EXPECT_EQ((*deps)[0].sonames[0], "liba.so.1");
}

TEST(DlopenNote, IgnoresTrailingNulPadding) {
  auto deps = parse_dlopen_note(R"([{"soname":["liba.so.1"]}])"s + "\0\0\0"s);
  ASSERT_TRUE(deps.ok()) << deps.error().message;
  EXPECT_EQ(deps->size(), 1u);
}

TEST(DlopenNote, IgnoresBytesAfterTheTerminatingNul) {
  auto deps = parse_dlopen_note(R"([{"soname":["liba.so.1"]}])"s + "\0garbage\xff"s);
  ASSERT_TRUE(deps.ok()) << deps.error().message;
}

TEST(DlopenNote, AcceptsEmptyArray) {
  auto deps = parse_dlopen_note("[]");
  ASSERT_TRUE(deps.ok());
  EXPECT_TRUE(deps->empty());
}

TEST(DlopenNote, MissingSonameIsAnError) {
  auto deps = parse_dlopen_note(R"([{"feature":"bpf"}])");
  ASSERT_FALSE(deps.ok());
  EXPECT_NE(deps.error().message.find("soname"), std::string::npos) << deps.error().message;
}

TEST(DlopenNote, EmptySonameListIsAnError) {
  EXPECT_FALSE(parse_dlopen_note(R"([{"soname":[]}])").ok());
  EXPECT_FALSE(parse_dlopen_note(R"([{"soname":[""]}])").ok());
}

TEST(DlopenNote, NonStringSonameIsAnError) {
  EXPECT_FALSE(parse_dlopen_note(R"([{"soname":[1]}])").ok());
  EXPECT_FALSE(parse_dlopen_note(R"([{"soname":42}])").ok());
  EXPECT_FALSE(parse_dlopen_note(R"([{"soname":{"a":"b"}}])").ok());
}

TEST(DlopenNote, NonStringKnownFieldIsAnError) {
  EXPECT_FALSE(parse_dlopen_note(R"([{"soname":["a.so"],"feature":7}])").ok());
  EXPECT_FALSE(parse_dlopen_note(R"([{"soname":["a.so"],"description":["x"]}])").ok());
  EXPECT_FALSE(parse_dlopen_note(R"([{"soname":["a.so"],"priority":true}])").ok());
}

TEST(DlopenNote, UnknownPriorityIsAnError) {
  EXPECT_FALSE(parse_dlopen_note(R"([{"soname":["a.so"],"priority":"mandatory"}])").ok());
}

TEST(DlopenNote, NonObjectEntryIsAnError) {
  EXPECT_FALSE(parse_dlopen_note(R"(["liba.so.1"])").ok());
  EXPECT_FALSE(parse_dlopen_note(R"([null])").ok());
}

TEST(DlopenNote, NonContainerPayloadIsAnError) {
  EXPECT_FALSE(parse_dlopen_note(R"("liba.so.1")").ok());
  EXPECT_FALSE(parse_dlopen_note("42").ok());
}

TEST(DlopenNote, GarbageIsAnError) {
  EXPECT_FALSE(parse_dlopen_note("not json").ok());
  EXPECT_FALSE(parse_dlopen_note(R"([{"soname":["a.so"])").ok());
  EXPECT_FALSE(parse_dlopen_note("[{\"soname\":[\"\xff\xfe\"]}]").ok());  // invalid UTF-8
  EXPECT_FALSE(parse_dlopen_note(std::string(100000, '[')).ok());
}

TEST(DlopenNote, EmptyIsAnError) {
  EXPECT_FALSE(parse_dlopen_note("").ok());
  EXPECT_FALSE(parse_dlopen_note("\0\0\0\0"s).ok());
  EXPECT_FALSE(parse_dlopen_note("  \n").ok());
}

TEST(DlopenNote, DeepNestingDoesNotCrash) {
  const std::string deep = std::string(50000, '[') + std::string(50000, ']');
  EXPECT_FALSE(parse_dlopen_note(deep).ok());
}

}  // namespace
}  // namespace elfprune
