#include "elf/elf_info.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

#include "test_support.hpp"

namespace elfprune {
namespace {

using test::compile_c;
using test::TempDir;
using test::write_file;

std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST(ElfHeader, ParsesHostLibrary) {
  auto h = read_elf_header("/lib/x86_64-linux-gnu/libc.so.6", "/libc.so.6");
  ASSERT_TRUE(h.ok()) << h.error().message;
  EXPECT_EQ(h->elf_class, elfconst::kClass64);
  EXPECT_EQ(h->data, elfconst::kDataLsb);
  EXPECT_EQ(h->machine, elfconst::kMachineX86_64);
  EXPECT_EQ(h->type, elfconst::kTypeDyn);
  EXPECT_EQ(h->phentsize, 56);
  EXPECT_TRUE(h->ident_padding_zero);
}

TEST(ElfHeader, RejectsTextAndShortInput) {
  EXPECT_EQ(parse_elf_header("#!/bin/sh\n").error().message, "not an ELF file");
  EXPECT_EQ(parse_elf_header(std::string_view("\x7f"
                                              "ELF\x02\x01",
                                              6))
                .error()
                .message,
            "truncated ELF header");
  EXPECT_EQ(parse_elf_header(std::string("\x7f"
                                         "ELF\x07\x01\x01",
                                         7) +
                             std::string(60, '\0'))
                .error()
                .message,
            "invalid ELF class 7");
}

TEST(ReadElf, DynamicFieldsOfACompiledLibrary) {
  TempDir dir;
  compile_c("int f(void) { return 1; }", dir / "libdep.so",
            "-shared -fPIC -Wl,-soname,libdep.so.1");
  compile_c("int f(void); int g(void) { return f(); }", dir / "libx.so",
            "-shared -fPIC -Wl,-soname,libx.so.2 -Wl,--enable-new-dtags "
            "-Wl,-rpath,'$ORIGIN/../lib:/opt/x' -Wl,-z,nodefaultlib -L" +
                (dir.path()).string() + " -ldep");
  auto info = read_elf(dir / "libx.so", "/libx.so");
  ASSERT_TRUE(info.ok()) << info.error().message;
  EXPECT_TRUE(info->dynamic);
  EXPECT_EQ(info->soname, "libx.so.2");
  EXPECT_EQ(info->runpath, "$ORIGIN/../lib:/opt/x");
  EXPECT_FALSE(info->rpath.has_value());
  EXPECT_TRUE(info->nodeflib());
  ASSERT_FALSE(info->needed.empty());
  EXPECT_EQ(info->needed.front(), "libdep.so.1");
  EXPECT_FALSE(info->interpreter.has_value());
}

TEST(ReadElf, OldStyleRpathAndInterpreter) {
  TempDir dir;
  compile_c("int main(void) { return 0; }", dir / "prog",
            "-Wl,--disable-new-dtags -Wl,-rpath,/opt/lib");
  auto info = read_elf(dir / "prog", "/prog");
  ASSERT_TRUE(info.ok()) << info.error().message;
  EXPECT_EQ(info->rpath, "/opt/lib");
  EXPECT_FALSE(info->runpath.has_value());
  EXPECT_EQ(info->interpreter, "/lib64/ld-linux-x86-64.so.2");
  EXPECT_EQ(info->header.type == elfconst::kTypeDyn || info->header.type == elfconst::kTypeExec,
            true);
}

TEST(ReadElf, StaticExecutableHasNoDynamicSegment) {
  TempDir dir;
  compile_c("int main(void) { return 0; }", dir / "static", "-static");
  auto info = read_elf(dir / "static", "/static");
  ASSERT_TRUE(info.ok()) << info.error().message;
  EXPECT_FALSE(info->dynamic);
  EXPECT_TRUE(info->needed.empty());
}

TEST(ReadElf, DlopenNoteIsRead) {
  TempDir dir;
  // An FDO .note.dlopen note laid out by hand: namesz, descsz, type, "FDO\0",
  // then the JSON payload padded to 4 bytes.
  compile_c(R"(
#define JSON "[{\"soname\":[\"libplug.so.1\",\"libplug.so.0\"],\"feature\":\"plug\",\"priority\":\"suggested\"}]"
struct note { unsigned namesz, descsz, type; char name[4]; char desc[(sizeof(JSON) + 3) & ~3]; };
__attribute__((used, section(".note.dlopen"), aligned(4)))
static const struct note n = { 4, sizeof(JSON), 0x407c0c0a, "FDO", JSON };
int f(void) { return 0; }
)",
            dir / "libnote.so", "-shared -fPIC");
  auto info = read_elf(dir / "libnote.so", "/libnote.so");
  ASSERT_TRUE(info.ok()) << info.error().message;
  ASSERT_EQ(info->dlopen.size(), 1u);
  EXPECT_EQ(info->dlopen[0].sonames, (std::vector<std::string>{"libplug.so.1", "libplug.so.0"}));
  EXPECT_EQ(info->dlopen[0].feature, "plug");
  EXPECT_EQ(info->dlopen[0].priority, "suggested");
}

TEST(ReadElf, NotElfNamesTheFile) {
  TempDir dir;
  write_file(dir / "script", "#!/bin/sh\necho hi\n");
  auto info = read_elf(dir / "script", "/usr/bin/script");
  ASSERT_FALSE(info.ok());
  EXPECT_EQ(info.error().path, "/usr/bin/script");
  EXPECT_EQ(info.error().message, "not an ELF file");
}

TEST(ReadElf, DirectoryAndFifoAreRefused) {
  TempDir dir;
  std::filesystem::create_directories(dir / "d");
  ASSERT_EQ(::mkfifo((dir / "fifo").c_str(), 0644), 0);
  EXPECT_EQ(read_elf(dir / "d", "/d").error().message, "is a directory");
  EXPECT_EQ(read_elf(dir / "fifo", "/fifo").error().message, "not a regular file");
}

TEST(ReadElf, TruncatedCopiesNeverCrash) {
  TempDir dir;
  compile_c("int g(void) { return 2; }", dir / "libt.so", "-shared -fPIC -Wl,-soname,libt.so");
  const std::string image = slurp(dir / "libt.so");
  // Every prefix length up to the end of the headers, then coarser steps.
  for (std::size_t len = 0; len < image.size(); len += (len < 4096 ? 7 : 997)) {
    write_file(dir / "cut.so", std::string_view(image).substr(0, len));
    auto info = read_elf(dir / "cut.so", "/cut.so");
    if (!info.ok()) {
      EXPECT_EQ(info.error().path, "/cut.so");
    }
  }
}

TEST(ReadElf, HostileProgramHeaderTableIsRejected) {
  TempDir dir;
  compile_c("int g(void) { return 2; }", dir / "libt.so", "-shared -fPIC");
  std::string image = slurp(dir / "libt.so");
  // e_phoff far beyond the end of the file.
  for (int i = 0; i < 8; ++i) image[32 + i] = static_cast<char>(0x7f);
  write_file(dir / "bad.so", image);
  auto info = read_elf(dir / "bad.so", "/bad.so");
  ASSERT_FALSE(info.ok());
  EXPECT_EQ(info.error().message, "program headers lie outside the file");
}

// Little-endian ELF64 fields of a compiled image, for the tests that break
// one of its tables.
std::uint64_t u64_at(const std::string& image, std::size_t off) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < 8; ++i) {
    v |= static_cast<std::uint64_t>(static_cast<unsigned char>(image[off + i])) << (8 * i);
  }
  return v;
}
void put_u64(std::string& image, std::size_t off, std::uint64_t v) {
  for (std::size_t i = 0; i < 8; ++i) image[off + i] = static_cast<char>(v >> (8 * i));
}

// LIEF 0.9 zero-fills offset + size of every section and segment before
// reading it: a size past the end of the file made it allocate gigabytes
// (found by fuzzing, fixtures/fuzz-regressions/elf/). The adapter refuses
// such a file; the fast reader, which reads neither, still reads it.
TEST(ReadElfWithLief, SectionOrSegmentBeyondTheFileIsRefused) {
  TempDir dir;
  compile_c("int g(void) { return 2; }", dir / "libt.so", "-shared -fPIC -Wl,-soname,libt.so");
  const std::string image = slurp(dir / "libt.so");
  const std::size_t shoff = u64_at(image, 40);
  const std::size_t phoff = u64_at(image, 32);
  ASSERT_TRUE(read_elf_with_lief(dir / "libt.so", "/libt.so").ok());

  std::string bad_section = image;
  put_u64(bad_section, shoff + 64 + 32, std::uint64_t{1} << 40);  // section 1's sh_size
  write_file(dir / "section.so", bad_section);
  auto refused = read_elf_with_lief(dir / "section.so", "/section.so");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().path, "/section.so");
  EXPECT_EQ(refused.error().message, "section 1 lies outside the file");
  EXPECT_TRUE(read_elf(dir / "section.so", "/section.so").ok());

  std::string bad_segment = image;
  put_u64(bad_segment, phoff + 56 + 8, image.size() + 1);  // segment 1's p_offset
  write_file(dir / "segment.so", bad_segment);
  refused = read_elf_with_lief(dir / "segment.so", "/segment.so");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().message, "segment 1 lies outside the file");
}

TEST(ReadElf, FastReaderAgreesWithLief) {
  TempDir dir;
  compile_c("int f(void) { return 1; }", dir / "libdep.so",
            "-shared -fPIC -Wl,-soname,libdep.so.1");
  compile_c("int f(void); int main(void) { return f(); }", dir / "prog",
            "-Wl,--no-as-needed -Wl,--disable-new-dtags -Wl,-rpath,/opt/a:/opt/b -Wl,-z,now '" +
                (dir / "libdep.so").string() + "'");
  for (const auto& p : {dir / "libdep.so", dir / "prog",
                        std::filesystem::path("/lib/x86_64-linux-gnu/libc.so.6")}) {
    auto fast = read_elf(p, p.string());
    auto lief = read_elf_with_lief(p, p.string());
    ASSERT_TRUE(fast.ok()) << fast.error().message;
    ASSERT_TRUE(lief.ok()) << lief.error().message;
    EXPECT_EQ(fast->interpreter, lief->interpreter) << p;
    EXPECT_EQ(fast->needed, lief->needed) << p;
    EXPECT_EQ(fast->rpath, lief->rpath) << p;
    EXPECT_EQ(fast->runpath, lief->runpath) << p;
    EXPECT_EQ(fast->soname, lief->soname) << p;
    EXPECT_EQ(fast->flags, lief->flags) << p;
    EXPECT_EQ(fast->flags_1, lief->flags_1) << p;
    EXPECT_EQ(fast->dynamic, lief->dynamic) << p;
  }
}

// The closure looks for path strings only where a program's data lies.
TEST(ElfStringRegions, LoadedDataButNotCodeOrUnloadedSections) {
  TempDir dir;
  compile_c(R"(
const char conf[] = "/etc/in-rodata.conf";
char state[] = "/var/in-data.state";
__asm__(".section .notloaded,\"\",@progbits\n.string \"/etc/not-loaded.conf\"\n.previous");
__asm__(".text\n.string \"/etc/in-code.conf\"\n");
int main(void) { return conf[0] + state[0]; }
)",
            dir / "prog");
  std::string image = slurp(dir / "prog");
  auto joined = [](const std::vector<std::string_view>& regions) {
    std::string all;
    for (auto r : regions) all.append(r).push_back('\0');
    return all;
  };
  const std::string seen = joined(elf_string_regions(image));
  EXPECT_NE(seen.find("/etc/in-rodata.conf"), std::string::npos);
  EXPECT_NE(seen.find("/var/in-data.state"), std::string::npos);
  EXPECT_NE(seen.find("/lib64/ld-linux-x86-64.so.2"), std::string::npos);  // .interp
  EXPECT_EQ(seen.find("/etc/not-loaded.conf"), std::string::npos);
  EXPECT_EQ(seen.find("/etc/in-code.conf"), std::string::npos);
  ASSERT_NE(image.find("/etc/not-loaded.conf"), std::string::npos);
  ASSERT_NE(image.find("/etc/in-code.conf"), std::string::npos);

  // No section table (e_shoff and e_shnum zero), or one past the end of the
  // file: nothing tells code from data, so the whole file.
  std::string stripped = image;
  put_u64(stripped, 40, 0);
  stripped[60] = stripped[61] = '\0';
  auto regions = elf_string_regions(stripped);
  ASSERT_EQ(regions.size(), 1u);
  EXPECT_EQ(regions[0].size(), stripped.size());
  std::string beyond = image;
  put_u64(beyond, 40, image.size() + 8);
  regions = elf_string_regions(beyond);
  ASSERT_EQ(regions.size(), 1u);
  EXPECT_EQ(regions[0].size(), beyond.size());
  EXPECT_EQ(elf_string_regions("#!/bin/sh\n/etc/x").size(), 1u);  // not ELF: all of it
}

TEST(MachineName, KnownAndUnknown) {
  EXPECT_EQ(machine_name(elfconst::kMachineX86_64), "x86-64");
  EXPECT_EQ(machine_name(9999), "machine 9999");
}

}  // namespace
}  // namespace elfprune
