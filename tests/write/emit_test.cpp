#include "write/emit.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <linux/capability.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <iterator>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "test_support.hpp"
#include "util/worker_pool.hpp"
#include "write/in_place.hpp"

namespace fs = std::filesystem;

namespace elfprune {
namespace {

using test::make_symlink;
using test::TempDir;
using test::write_file;

bool is_root() {
  return ::geteuid() == 0;
}

Inventory inventory_of(const fs::path& dir) {
  auto inv = take_inventory(Root(dir));
  if (!inv) ADD_FAILURE() << inv.error().path << ": " << inv.error().message;
  return inv ? std::move(*inv) : Inventory{};
}

// Keep everything but the named paths and what lies below them.
std::vector<bool> keep_except(const Inventory& inv, std::initializer_list<std::string> removed) {
  std::vector<bool> keep(inv.entries.size(), true);
  for (std::size_t i = 0; i < inv.entries.size(); ++i) {
    for (const auto& r : removed) {
      const std::string& p = inv.entries[i].path;
      if (p == r || p.rfind(r + "/", 0) == 0) keep[i] = false;
    }
  }
  return keep;
}

EmitStats emit_ok(const fs::path& root, const Inventory& inv, const std::vector<bool>& keep,
                  EmitMode mode, const fs::path& out = {}, std::size_t threads = 0) {
  EmitOptions options;
  options.mode = mode;
  options.out_dir = out.string();
  options.threads = threads;
  // The pipeline's choice: --in-place removes, the other modes emit.
  auto stats = mode == EmitMode::InPlace ? remove_in_place(Root(root), inv, keep, options)
                                         : emit(Root(root), inv, keep, options);
  if (!stats) ADD_FAILURE() << stats.error().path << ": " << stats.error().message;
  return stats ? std::move(*stats) : EmitStats{};
}

// Prune all of `root` into a fresh `out` (which does not exist yet).
EmitStats emit_out(const fs::path& root, const fs::path& out) {
  Inventory inv = inventory_of(root);
  return emit_ok(root, inv, std::vector<bool>(inv.entries.size(), true), EmitMode::Out, out);
}

struct stat lstat_of(const fs::path& p) {
  struct stat st {};
  if (::lstat(p.c_str(), &st) != 0) ADD_FAILURE() << "lstat " << p << ": " << std::strerror(errno);
  return st;
}

std::string read_all(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Everything about a tree that a prune may change: one line per entry with
// type, mode, owner, size, mtime and the contents or the link target.
std::string listing(const fs::path& dir) {
  std::vector<std::string> lines;
  for (auto it = fs::recursive_directory_iterator(dir); it != fs::recursive_directory_iterator();
       ++it) {
    const struct stat st = lstat_of(it->path());
    std::ostringstream line;
    line << it->path().lexically_relative(dir).string() << " mode=" << std::oct << st.st_mode
         << std::dec << " owner=" << st.st_uid << ":" << st.st_gid << " size=" << st.st_size
         << " mtime=" << st.st_mtim.tv_sec << "." << st.st_mtim.tv_nsec;
    if (S_ISLNK(st.st_mode)) line << " -> " << fs::read_symlink(it->path()).string();
    if (S_ISREG(st.st_mode)) line << " data=" << read_all(it->path());
    lines.push_back(line.str());
  }
  std::sort(lines.begin(), lines.end());
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

bool has_problem(const EmitStats& stats, const std::string& path, const std::string& words) {
  return std::any_of(stats.problems.begin(), stats.problems.end(), [&](const Error& e) {
    return e.path == path && e.message.find(words) != std::string::npos;
  });
}

std::string problems_of(const EmitStats& stats) {
  std::string out;
  for (const auto& e : stats.problems) out += e.path + ": " + e.message + "\n";
  return out;
}

// ---------------------------------------------------------------------------
// --out

TEST(EmitOut, MirrorsTheRootAtInsidePaths) {
  TempDir src, dst;
  write_file(src / "usr/bin/node", "node");
  write_file(src / "etc/os-release", "debian");
  EmitStats stats = emit_out(src.path(), dst / "out");
  EXPECT_EQ(read_all(dst / "out/usr/bin/node"), "node");
  EXPECT_EQ(read_all(dst / "out/etc/os-release"), "debian");
  EXPECT_EQ(stats.files_written, 2u);
  EXPECT_EQ(stats.bytes_written, 10u);
  EXPECT_TRUE(stats.problems.empty()) << problems_of(stats);
}

TEST(EmitOut, SymlinkStaysASymlinkWithTheSameTarget) {
  TempDir src, dst;
  write_file(src / "usr/lib/libc.so.6", "elf");
  make_symlink(src / "lib", "usr/lib");
  emit_out(src.path(), dst / "out");
  EXPECT_TRUE(fs::is_symlink(dst / "out/lib"));
  EXPECT_EQ(fs::read_symlink(dst / "out/lib"), "usr/lib");
}

TEST(EmitOut, DanglingSymlinkIsCopiedAsIs) {
  TempDir src, dst;
  make_symlink(src / "etc/localtime", "/usr/share/zoneinfo/Nowhere");
  EmitStats stats = emit_out(src.path(), dst / "out");
  EXPECT_EQ(fs::read_symlink(dst / "out/etc/localtime"), "/usr/share/zoneinfo/Nowhere");
  EXPECT_TRUE(stats.problems.empty()) << problems_of(stats);
}

TEST(EmitOut, HardlinksStayHardlinks) {
  TempDir src, dst;
  write_file(src / "usr/bin/perl", "interpreter");
  fs::create_directories(src / "usr/bin2");
  fs::create_hard_link(src / "usr/bin/perl", src / "usr/bin2/perl5.36");
  EmitStats stats = emit_out(src.path(), dst / "out");
  const struct stat a = lstat_of(dst / "out/usr/bin/perl");
  const struct stat b = lstat_of(dst / "out/usr/bin2/perl5.36");
  EXPECT_EQ(a.st_ino, b.st_ino);
  EXPECT_EQ(a.st_nlink, 2u);
  EXPECT_EQ(stats.files_written, 2u);
  EXPECT_EQ(stats.bytes_written, 11u);  // the data once
}

TEST(EmitOut, SetuidModeSurvives) {
  TempDir src, dst;
  write_file(src / "usr/bin/su", "su");
  ASSERT_EQ(::chmod((src / "usr/bin/su").c_str(), 04755), 0);
  emit_out(src.path(), dst / "out");
  EXPECT_EQ(lstat_of(dst / "out/usr/bin/su").st_mode & 07777, 04755u);
}

TEST(EmitOut, DirectoryModesSurviveIncludingStickyAndReadOnly) {
  TempDir src, dst;
  write_file(src / "ro/file", "x");
  fs::create_directories(src / "tmp");
  ASSERT_EQ(::chmod((src / "tmp").c_str(), 01777), 0);
  ASSERT_EQ(::chmod((src / "ro").c_str(), 0555), 0);
  EmitStats stats = emit_out(src.path(), dst / "out");
  EXPECT_EQ(lstat_of(dst / "out/tmp").st_mode & 07777, 01777u);
  EXPECT_EQ(lstat_of(dst / "out/ro").st_mode & 07777, 0555u);
  EXPECT_EQ(read_all(dst / "out/ro/file"), "x");  // filled before it became read-only
  EXPECT_TRUE(stats.problems.empty()) << problems_of(stats);
}

TEST(EmitOut, FileTimesSurviveToTheNanosecond) {
  TempDir src, dst;
  write_file(src / "f", "x");
  const timespec times[2] = {{1000000000, 123456789}, {1200000000, 987654321}};
  ASSERT_EQ(::utimensat(AT_FDCWD, (src / "f").c_str(), times, 0), 0);
  emit_out(src.path(), dst / "out");
  const struct stat st = lstat_of(dst / "out/f");
  EXPECT_EQ(st.st_atim.tv_sec, 1000000000);
  EXPECT_EQ(st.st_atim.tv_nsec, 123456789);
  EXPECT_EQ(st.st_mtim.tv_sec, 1200000000);
  EXPECT_EQ(st.st_mtim.tv_nsec, 987654321);
}

TEST(EmitOut, DirectoryTimesAreSetAfterTheirChildren) {
  TempDir src, dst;
  write_file(src / "d/a", "");
  write_file(src / "d/b", "");
  make_symlink(src / "d/c", "a");
  const timespec times[2] = {{1000000000, 1}, {1100000000, 2}};
  ASSERT_EQ(::utimensat(AT_FDCWD, (src / "d").c_str(), times, 0), 0);
  ASSERT_EQ(::utimensat(AT_FDCWD, (src / "d/c").c_str(), times, AT_SYMLINK_NOFOLLOW), 0);
  emit_out(src.path(), dst / "out");
  EXPECT_EQ(lstat_of(dst / "out/d").st_mtim.tv_sec, 1100000000);
  EXPECT_EQ(lstat_of(dst / "out/d").st_mtim.tv_nsec, 2);
  EXPECT_EQ(lstat_of(dst / "out/d/c").st_mtim.tv_sec, 1100000000);  // the symlink itself
}

TEST(EmitOut, OwnerSurvives) {
  if (!is_root()) GTEST_SKIP() << "needs root to give files away";
  TempDir src, dst;
  write_file(src / "home/user/file", "x");
  make_symlink(src / "home/user/link", "file");
  for (const char* p : {"home/user", "home/user/file"}) {
    ASSERT_EQ(::chown((src / p).c_str(), 1234, 5678), 0);
  }
  ASSERT_EQ(::lchown((src / "home/user/link").c_str(), 1234, 5678), 0);
  emit_out(src.path(), dst / "out");
  for (const char* p : {"out/home/user", "out/home/user/file", "out/home/user/link"}) {
    const struct stat st = lstat_of(dst / p);
    EXPECT_EQ(st.st_uid, 1234u) << p;
    EXPECT_EQ(st.st_gid, 5678u) << p;
  }
}

TEST(EmitOut, CapabilitySurvivesTheChangeOfOwner) {
  if (!is_root()) GTEST_SKIP() << "needs root (CAP_SETFCAP) to set file capabilities";
  TempDir src, dst;
  write_file(src / "usr/bin/ping", "ping");
  // Owned by someone else: chown clears security.capability, so this also
  // checks that the xattr is written after the owner.
  ASSERT_EQ(::chown((src / "usr/bin/ping").c_str(), 1234, 1234), 0);
  // cap_net_raw+ep as setcap(8) writes it: a little-endian vfs_cap_data, v2.
  vfs_cap_data cap{};
  cap.magic_etc = VFS_CAP_REVISION_2 | VFS_CAP_FLAGS_EFFECTIVE;
  cap.data[0].permitted = 1u << CAP_NET_RAW;
  ASSERT_EQ(
      ::lsetxattr((src / "usr/bin/ping").c_str(), "security.capability", &cap, XATTR_CAPS_SZ_2, 0),
      0)
      << std::strerror(errno);
  EmitStats stats = emit_out(src.path(), dst / "out");
  vfs_cap_data got{};
  ASSERT_EQ(
      ::lgetxattr((dst / "out/usr/bin/ping").c_str(), "security.capability", &got, sizeof got),
      XATTR_CAPS_SZ_2)
      << std::strerror(errno);
  EXPECT_EQ(std::memcmp(&got, &cap, XATTR_CAPS_SZ_2), 0);
  EXPECT_TRUE(stats.problems.empty()) << problems_of(stats);
}

TEST(EmitOut, FifoIsRecreated) {
  TempDir src, dst;
  fs::create_directories(src / "run");
  ASSERT_EQ(::mkfifo((src / "run/initctl").c_str(), 0600), 0);
  EmitStats stats = emit_out(src.path(), dst / "out");
  const struct stat st = lstat_of(dst / "out/run/initctl");
  EXPECT_TRUE(S_ISFIFO(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  EXPECT_EQ(stats.files_written, 1u);
}

TEST(EmitOut, CharacterDeviceIsRecreated) {
  if (!is_root()) GTEST_SKIP() << "needs root to make device nodes";
  TempDir src, dst;
  fs::create_directories(src / "dev");
  if (::mknod((src / "dev/null").c_str(), S_IFCHR | 0666, makedev(1, 3)) != 0) {
    GTEST_SKIP() << "cannot make device nodes here: " << std::strerror(errno);
  }
  ASSERT_EQ(::chmod((src / "dev/null").c_str(), 0666), 0);
  EmitStats stats = emit_out(src.path(), dst / "out");
  const struct stat st = lstat_of(dst / "out/dev/null");
  EXPECT_TRUE(S_ISCHR(st.st_mode));
  EXPECT_EQ(st.st_rdev, makedev(1, 3));
  EXPECT_EQ(st.st_mode & 07777, 0666u);
  EXPECT_TRUE(stats.problems.empty()) << problems_of(stats);
}

TEST(EmitOut, SocketIsReportedAndTheRestCopied) {
  TempDir src, dst;
  write_file(src / "etc/hosts", "x");
  fs::create_directories(src / "run");
  const int sock = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  const std::string path = (src / "run/s").string();
  ASSERT_LT(path.size(), sizeof addr.sun_path);
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  ASSERT_EQ(::bind(sock, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ::close(sock);
  EmitStats stats = emit_out(src.path(), dst / "out");
  EXPECT_TRUE(has_problem(stats, "/run/s", "socket")) << problems_of(stats);
  EXPECT_FALSE(fs::exists(fs::symlink_status(dst / "out/run/s")));
  EXPECT_EQ(read_all(dst / "out/etc/hosts"), "x");
}

TEST(EmitOut, NonEmptyOutDirIsAnError) {
  TempDir src, dst;
  write_file(src / "f", "x");
  write_file(dst / "out/precious", "keep me");
  Inventory inv = inventory_of(src.path());
  EmitOptions options{EmitMode::Out, (dst / "out").string(), {}};
  auto stats = emit(Root(src.path()), inv, std::vector<bool>(inv.entries.size(), true), options);
  ASSERT_FALSE(stats.ok());
  EXPECT_EQ(stats.error().message, "exists and is not empty");
  EXPECT_EQ(stats.error().kind, ErrorKind::Usage);
  EXPECT_FALSE(fs::exists(dst / "out/f"));
}

TEST(EmitOut, ExistingEmptyOutDirIsUsed) {
  TempDir src, dst;
  write_file(src / "f", "x");
  fs::create_directories(dst / "out");
  emit_out(src.path(), dst / "out");
  EXPECT_EQ(read_all(dst / "out/f"), "x");
}

TEST(EmitOut, OutDirInsideTheRootIsAnErrorUnlessLeftOut) {
  TempDir src;
  write_file(src / "f", "x");
  fs::create_directories(src / "a");
  fs::create_directories(src / "out");  // inventoried: it would be copied into itself
  make_symlink(src / "elsewhere", src.path().string());  // the same place, spelled otherwise
  Inventory inv = inventory_of(src.path());
  for (const fs::path& out : {src / "out", src / "a/../out", src / "elsewhere/out"}) {
    EmitOptions options{EmitMode::Out, out.string(), {}};
    auto stats = emit(Root(src.path()), inv, std::vector<bool>(inv.entries.size(), true), options);
    ASSERT_FALSE(stats.ok()) << out;
    EXPECT_NE(stats.error().message.find("inside the root"), std::string::npos);
    EXPECT_TRUE(fs::is_empty(src / "out")) << out;
  }
  // Left out of the inventory (as the pipeline does with --out): written.
  fs::remove(src / "out");
  inv = inventory_of(src.path());
  EmitOptions options{EmitMode::Out, (src / "slim").string(), {}};
  auto stats = emit(Root(src.path()), inv, std::vector<bool>(inv.entries.size(), true), options);
  ASSERT_TRUE(stats.ok()) << stats.error().message;
  EXPECT_TRUE(fs::exists(src / "slim/f"));
  EXPECT_FALSE(fs::exists(src / "slim/slim"));
}

TEST(EmitOut, OutDirBesideThePrunedTreeInsideASysrootIsAllowed) {
  // --sysroot S with ROOT S/proj: only S/proj is read, so OUT may be S/out
  // (with --sysroot / every OUT is inside the sysroot).
  TempDir sysroot;
  write_file(sysroot / "proj/bin/tool", "tool");
  auto inv = take_inventory(Root(sysroot.path()), "/proj");
  ASSERT_TRUE(inv.ok());
  EmitStats stats = emit_ok(sysroot.path(), *inv, std::vector<bool>(inv->entries.size(), true),
                            EmitMode::Out, sysroot / "out");
  EXPECT_EQ(read_all(sysroot / "out/proj/bin/tool"), "tool");
  EXPECT_TRUE(stats.problems.empty()) << problems_of(stats);
}

TEST(EmitOut, RemovedEntriesAreAbsent) {
  TempDir src, dst;
  write_file(src / "usr/bin/node", "node");
  write_file(src / "usr/include/node/v8.h", "header");
  write_file(src / "usr/share/man/man1/node.1", "man");
  Inventory inv = inventory_of(src.path());
  emit_ok(src.path(), inv, keep_except(inv, {"/usr/include", "/usr/share/man/man1/node.1"}),
          EmitMode::Out, dst / "out");
  EXPECT_TRUE(fs::exists(dst / "out/usr/bin/node"));
  EXPECT_FALSE(fs::exists(dst / "out/usr/include"));
  EXPECT_FALSE(fs::exists(dst / "out/usr/share/man/man1/node.1"));
  EXPECT_TRUE(fs::is_directory(dst / "out/usr/share/man/man1"));  // kept by the plan
}

TEST(EmitOut, MissingParentIsMadeWithTheSourceMetadata) {
  TempDir src, dst;
  write_file(src / "d/f", "x");
  ASSERT_EQ(::chmod((src / "d").c_str(), 0750), 0);
  const timespec times[2] = {{1000000000, 0}, {1000000000, 5}};
  ASSERT_EQ(::utimensat(AT_FDCWD, (src / "d").c_str(), times, 0), 0);
  Inventory inv = inventory_of(src.path());
  std::vector<bool> keep(inv.entries.size(), true);
  keep[inv.index.at("/d")] = false;  // a plan that forgot a parent
  EmitStats stats = emit_ok(src.path(), inv, keep, EmitMode::Out, dst / "out");
  EXPECT_EQ(read_all(dst / "out/d/f"), "x");
  EXPECT_EQ(lstat_of(dst / "out/d").st_mode & 07777, 0750u);
  EXPECT_EQ(lstat_of(dst / "out/d").st_mtim.tv_nsec, 5);
  EXPECT_TRUE(stats.problems.empty()) << problems_of(stats);
}

TEST(EmitOut, KeptSymlinkDoesNotRedirectLaterWrites) {
  // An inventory cannot list a path below a symlink, but the write side must
  // not rely on it: whichever of /lib (a symlink) and /lib/y is written
  // first, /lib/y must not land in OUT/usr/lib/y through the symlink, and the
  // clash is a problem. (Symlinks are made after the directories, so here
  // /lib/y's directory wins and the symlink is refused.)
  TempDir src, dst;
  write_file(src / "lib/y", "y");
  fs::create_directories(src / "usr/lib");
  Inventory inv = inventory_of(src.path());
  InventoryEntry& lib = inv.entries[inv.index.at("/lib")];
  lib.type = FileType::Symlink;
  lib.mode = S_IFLNK | 0777;
  lib.link_target = "usr/lib";
  EmitStats stats = emit_ok(src.path(), inv, std::vector<bool>(inv.entries.size(), true),
                            EmitMode::Out, dst / "out");
  EXPECT_FALSE(fs::exists(dst / "out/usr/lib/y"));
  EXPECT_FALSE(fs::is_symlink(dst / "out/lib"));
  EXPECT_EQ(read_all(dst / "out/lib/y"), "y");
  EXPECT_TRUE(has_problem(stats, "/lib", "cannot create symlink: file exists"))
      << problems_of(stats);
}

TEST(EmitOut, FileSwappedForASymlinkIsNotFollowed) {
  TempDir src, dst, outside;
  write_file(src / "etc/shadow", "root:*:");
  write_file(outside / "secret", "SECRET");
  Inventory inv = inventory_of(src.path());
  fs::remove(src / "etc/shadow");
  make_symlink(src / "etc/shadow", (outside / "secret").string());
  EmitStats stats = emit_ok(src.path(), inv, std::vector<bool>(inv.entries.size(), true),
                            EmitMode::Out, dst / "out");
  EXPECT_FALSE(fs::exists(fs::symlink_status(dst / "out/etc/shadow")));
  EXPECT_EQ(stats.problems.size(), 1u) << problems_of(stats);
  EXPECT_EQ(listing(dst / "out").find("SECRET"), std::string::npos);
}

// Which entries share an inode: each group of names of one file, sorted.
std::set<std::vector<std::string>> link_groups(const fs::path& dir) {
  std::map<ino_t, std::vector<std::string>> by_inode;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    const struct stat st = lstat_of(entry.path());
    if (!S_ISDIR(st.st_mode)) {
      by_inode[st.st_ino].push_back(entry.path().lexically_relative(dir).string());
    }
  }
  std::set<std::vector<std::string>> groups;
  for (auto& [ino, names] : by_inode) {
    std::sort(names.begin(), names.end());
    groups.insert(names);
  }
  return groups;
}

// Many files of several sizes and modes, symlinks, and hardlinks within and
// across directories, copied by four workers.
TEST(EmitOut, ParallelCopyWritesExactlyTheSourceTree) {
  TempDir src, dst;
  for (int d = 0; d < 8; ++d) {
    const fs::path dir = src / fmt::format("d{}", d);
    for (int f = 0; f < 60; ++f) {
      const fs::path p = dir / fmt::format("f{}", f);
      write_file(
          p, std::string(static_cast<std::size_t>(f * 97 + d), static_cast<char>('a' + f % 26)));
      ASSERT_EQ(::chmod(p.c_str(), f % 3 == 0 ? 0755 : f % 3 == 1 ? 0640 : 04711), 0);
    }
    make_symlink(dir / "link", "f1");
    fs::create_hard_link(dir / "f2", dir / "hard");
  }
  // A flat directory bigger than one job: cut into several, copied by several workers.
  for (int f = 0; f < 300; ++f) write_file(src / "flat" / fmt::format("f{}", f), "flat");
  fs::create_hard_link(src / "d0/f3", src / "d7/also-f3");
  make_symlink(src / "d7/hard-symlink", "../d0");
  fs::create_hard_link(src / "d7/hard-symlink", src / "d6/hard-symlink");
  write_file(src / "big", std::string(std::size_t{3} << 20, 'x'));  // copied first
  Inventory inv = inventory_of(src.path());
  const EmitStats stats = emit_ok(src.path(), inv, std::vector<bool>(inv.entries.size(), true),
                                  EmitMode::Out, dst / "out", 4);
  EXPECT_TRUE(stats.problems.empty()) << problems_of(stats);
  EXPECT_EQ(listing(dst / "out"), listing(src.path()));
  EXPECT_EQ(link_groups(dst / "out"), link_groups(src.path()));
  EXPECT_EQ(stats.files_written, inv.file_count());
  // 8 x (0 + 97 + ... + 59 * 97) + (0 + 1 + ... + 7) x 60 bytes, the flat files, the big file.
  EXPECT_EQ(stats.bytes_written, 8u * 97u * (59u * 60u / 2u) + 28u * 60u + 300u * 4u + (3u << 20));
}

// Problems come in inventory order whichever worker met them (workers take
// a directory at a time, so the files are spread over several).
TEST(EmitOut, ParallelCopyReportsProblemsInInventoryOrder) {
  TempDir src, dst;
  const auto name = [](int f) { return fmt::format("d{}/f{}", f % 5, 1000 + f); };
  for (int f = 0; f < 200; ++f) write_file(src / name(f), "data");
  Inventory inv = inventory_of(src.path());
  std::vector<std::string> expected;
  for (int f = 0; f < 200; f += 7) {  // no longer the file the inventory saw
    const fs::path p = src / name(f);
    const fs::path fresh = fmt::format("{}.new", p.string());
    write_file(fresh, "new");  // a new inode while the old one still exists
    fs::rename(fresh, p);
    expected.push_back(std::string("/").append(name(f)));  // not "/" + : GCC 12 -Wrestrict
  }
  std::sort(expected.begin(), expected.end());  // names of one width: the inventory's order
  const EmitStats stats = emit_ok(src.path(), inv, std::vector<bool>(inv.entries.size(), true),
                                  EmitMode::Out, dst / "out", 4);
  std::vector<std::string> paths;
  for (const auto& p : stats.problems) paths.push_back(p.path);
  EXPECT_EQ(paths, expected) << problems_of(stats);
  EXPECT_EQ(stats.files_written, 200u - expected.size());
}

TEST(EmitOut, ReportsProgressNowAndThenAndAtTheEnd) {
  TempDir src, dst;
  for (int i = 0; i < 2500; ++i) write_file(src / ("f/" + std::to_string(i)), "");
  Inventory inv = inventory_of(src.path());
  std::vector<std::pair<std::size_t, std::size_t>> calls;
  EmitOptions options{
      EmitMode::Out, (dst / "out").string(),
      [&](std::size_t done, std::size_t total) { calls.emplace_back(done, total); }};
  ASSERT_TRUE(emit(Root(src.path()), inv, std::vector<bool>(inv.entries.size(), true), options));
  const std::size_t total = inv.entries.size();  // 2502: "/", "/f" and the files
  EXPECT_EQ(calls, (std::vector<std::pair<std::size_t, std::size_t>>{
                       {1000, total}, {2000, total}, {total, total}}));
}

// ---------------------------------------------------------------------------
// --in-place

// A small tree with something to remove in several shapes.
void make_tree(const TempDir& dir) {
  write_file(dir / "usr/bin/node", "node");
  write_file(dir / "usr/include/node/v8.h", "header");
  write_file(dir / "usr/include/node/uv.h", "header");
  write_file(dir / "usr/share/doc/node/README", "doc");
  write_file(dir / "usr/share/doc/node/copyright", "MIT");
  make_symlink(dir / "usr/lib/libnode.so", "libnode.so.108");
  write_file(dir / "usr/lib/libnode.so.108", "elf");
}

const std::initializer_list<std::string> kPlannedRemovals = {
    "/usr/include", "/usr/share/doc/node/README", "/usr/lib/libnode.so"};

TEST(EmitInPlace, RemovesExactlyThePlannedEntries) {
  TempDir dir;
  make_tree(dir);
  Inventory inv = inventory_of(dir.path());
  const std::vector<bool> keep = keep_except(inv, kPlannedRemovals);
  const std::string before = listing(dir.path());
  EmitStats stats = emit_ok(dir.path(), inv, keep, EmitMode::InPlace);
  EXPECT_EQ(stats.removed, static_cast<std::size_t>(std::count(keep.begin(), keep.end(), false)));
  EXPECT_TRUE(stats.problems.empty()) << problems_of(stats);
  // What is left is what was there, byte for byte, minus the removed lines
  // (and the mtime of the directories that lost entries).
  std::string expected;
  std::istringstream lines(before);
  for (std::string line; std::getline(lines, line);) {
    const std::string path = std::string("/").append(line.substr(0, line.find(' ')));
    if (keep[inv.index.at(path)] && path != "/usr" && path != "/usr/lib" &&
        path != "/usr/share/doc/node") {
      expected += line + "\n";
    }
  }
  std::string after;
  std::istringstream now(listing(dir.path()));
  for (std::string line; std::getline(now, line);) {
    const std::string path = std::string("/").append(line.substr(0, line.find(' ')));
    if (path != "/usr" && path != "/usr/lib" && path != "/usr/share/doc/node") after += line + "\n";
  }
  EXPECT_EQ(after, expected);
  EXPECT_FALSE(fs::exists(fs::symlink_status(dir / "usr/lib/libnode.so")));
  EXPECT_TRUE(fs::exists(dir / "usr/lib/libnode.so.108"));  // the link went, not its target
}

TEST(EmitInPlace, SecondRunHasNothingLeftToDo) {
  TempDir dir;
  make_tree(dir);
  Inventory inv = inventory_of(dir.path());
  const std::vector<bool> keep = keep_except(inv, kPlannedRemovals);
  EmitStats first = emit_ok(dir.path(), inv, keep, EmitMode::InPlace);
  const std::string after_first = listing(dir.path());
  EmitStats second = emit_ok(dir.path(), inv, keep, EmitMode::InPlace);
  EXPECT_TRUE(second.problems.empty()) << problems_of(second);
  EXPECT_EQ(second.removed, first.removed);  // already gone counts as removed
  EXPECT_EQ(listing(dir.path()), after_first);
}

TEST(EmitInPlace, FinishesAnInterruptedRun) {
  TempDir dir;
  make_tree(dir);
  Inventory inv = inventory_of(dir.path());
  const std::vector<bool> keep = keep_except(inv, kPlannedRemovals);
  // What an interrupted run leaves: half the files gone, a directory emptied
  // but still there.
  fs::remove(dir / "usr/include/node/v8.h");
  fs::remove(dir / "usr/include/node/uv.h");
  fs::remove(dir / "usr/share/doc/node/README");
  EmitStats stats = emit_ok(dir.path(), inv, keep, EmitMode::InPlace);
  EXPECT_TRUE(stats.problems.empty()) << problems_of(stats);
  EXPECT_FALSE(fs::exists(dir / "usr/include"));
  EXPECT_FALSE(fs::exists(fs::symlink_status(dir / "usr/lib/libnode.so")));
  EXPECT_TRUE(fs::exists(dir / "usr/share/doc/node/copyright"));
}

TEST(EmitInPlace, PlantedSymlinkInPlaceOfADirectoryIsNotFollowed) {
  TempDir dir, outside;
  write_file(dir / "a/secret.txt", "inside");
  write_file(dir / "a/keep", "");
  write_file(outside / "secret.txt", "outside");
  Inventory inv = inventory_of(dir.path());
  const std::vector<bool> keep = keep_except(inv, {"/a/secret.txt"});
  fs::remove_all(dir / "a");
  make_symlink(dir / "a", outside.path().string());
  EmitStats stats = emit_ok(dir.path(), inv, keep, EmitMode::InPlace);
  EXPECT_EQ(read_all(outside / "secret.txt"), "outside");
  EXPECT_TRUE(fs::is_symlink(dir / "a"));
  EXPECT_TRUE(has_problem(stats, "/a", "refusing to follow")) << problems_of(stats);
  EXPECT_EQ(stats.removed, 0u);
}

TEST(EmitInPlace, PlannedDirectoryThatIsNotEmptyIsAProblem) {
  TempDir dir;
  write_file(dir / "d/old", "");
  write_file(dir / "e/old", "");
  Inventory inv = inventory_of(dir.path());
  const std::vector<bool> keep = keep_except(inv, {"/d", "/e"});
  write_file(dir / "d/new", "");  // arrived after the inventory
  EmitStats stats = emit_ok(dir.path(), inv, keep, EmitMode::InPlace);
  EXPECT_TRUE(has_problem(stats, "/d", "not empty")) << problems_of(stats);
  EXPECT_TRUE(fs::exists(dir / "d/new"));
  EXPECT_FALSE(fs::exists(dir / "d/old"));
  EXPECT_FALSE(fs::exists(dir / "e"));
  EXPECT_EQ(stats.removed, 3u);  // d/old, e/old, e
}

TEST(EmitInPlace, UnremovableFileIsAProblemAndTheRunGoesOn) {
  TempDir dir;
  write_file(dir / "a/locked", "");
  write_file(dir / "b/free", "");
  const fs::path locked = dir / "a/locked";
  const int fd = ::open(locked.c_str(), O_RDONLY);
  int flags = FS_IMMUTABLE_FL;
  if (fd < 0 || ::ioctl(fd, FS_IOC_SETFLAGS, &flags) != 0) {
    if (fd >= 0) ::close(fd);
    GTEST_SKIP() << "cannot make a file immutable here: " << std::strerror(errno);
  }
  Inventory inv = inventory_of(dir.path());
  EmitStats stats =
      emit_ok(dir.path(), inv, keep_except(inv, {"/a/locked", "/b/free"}), EmitMode::InPlace);
  flags = 0;
  ::ioctl(fd, FS_IOC_SETFLAGS, &flags);  // or TempDir cannot clean up
  ::close(fd);
  EXPECT_TRUE(has_problem(stats, "/a/locked", "cannot remove")) << problems_of(stats);
  EXPECT_TRUE(fs::exists(locked));
  EXPECT_FALSE(fs::exists(dir / "b/free"));
}

TEST(EmitInPlace, NeverRemovesThePrunedDirectoryItself) {
  TempDir dir;
  write_file(dir / "f", "");
  Inventory inv = inventory_of(dir.path());
  EmitStats stats =
      emit_ok(dir.path(), inv, std::vector<bool>(inv.entries.size(), false), EmitMode::InPlace);
  EXPECT_TRUE(fs::is_directory(dir.path()));
  EXPECT_FALSE(fs::exists(dir / "f"));
  EXPECT_TRUE(has_problem(stats, "/", "pruned directory itself")) << problems_of(stats);
}

// ---------------------------------------------------------------------------
// --dry-run and argument checks

TEST(EmitDryRun, TouchesNothing) {
  TempDir dir, dst;
  make_tree(dir);
  Inventory inv = inventory_of(dir.path());
  const std::string before = listing(dir.path());
  EmitOptions options{EmitMode::DryRun, (dst / "out").string(), {}};
  auto stats = emit(Root(dir.path()), inv, keep_except(inv, kPlannedRemovals), options);
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(listing(dir.path()), before);
  EXPECT_FALSE(fs::exists(dst / "out"));
  EXPECT_EQ(stats->removed, 0u);
  EXPECT_EQ(stats->files_written, 0u);
  EXPECT_EQ(stats->bytes_written, 0u);
}

TEST(Emit, PlanOfTheWrongSizeIsAnError) {
  TempDir dir;
  write_file(dir / "f", "");
  Inventory inv = inventory_of(dir.path());
  EmitOptions options{EmitMode::InPlace, {}, {}};
  EXPECT_FALSE(emit(Root(dir.path()), inv, std::vector<bool>(1, false), options).ok());
  EXPECT_TRUE(fs::exists(dir / "f"));
}

// Threads of this process right now, as the kernel counts them.
std::size_t threads_now() {
  const std::filesystem::directory_iterator tasks("/proc/self/task");
  return static_cast<std::size_t>(std::distance(tasks, std::filesystem::directory_iterator()));
}

// --jobs 1: every copy is made on the calling thread and no thread is
// started; the progress line, reported by whichever thread copies, says so.
TEST(EmitOut, OneThreadCopiesOnTheCallingThreadAlone) {
  TempDir src, dst;
  for (int i = 0; i < 2500; ++i) write_file(src / fmt::format("d{}/{}", i % 3, i), "x");
  Inventory inv = inventory_of(src.path());
  const auto caller = std::this_thread::get_id();
  for (std::size_t threads : {1u, 4u}) {
    const std::size_t before = threads_now();
    const std::uint64_t started = WorkerPool::threads_started();
    std::set<std::size_t> counts;
    std::set<std::thread::id> ids;
    EmitOptions options;
    options.mode = EmitMode::Out;
    options.out_dir = (dst / fmt::format("out{}", threads)).string();
    options.threads = threads;
    // Called from one thread at a time.
    options.progress = [&](std::size_t, std::size_t) {
      counts.insert(threads_now());
      ids.insert(std::this_thread::get_id());
    };
    auto stats = emit(Root(src.path()), inv, std::vector<bool>(inv.entries.size(), true), options);
    ASSERT_TRUE(stats);
    EXPECT_EQ(stats->files_written, 2500u);
    if (threads == 1) {
      EXPECT_EQ(counts, std::set<std::size_t>{before});
      EXPECT_EQ(ids, std::set<std::thread::id>{caller});
      EXPECT_EQ(WorkerPool::threads_started(), started);
    } else {
      // Reported while the copies run: the three threads are there.
      EXPECT_EQ(counts, std::set<std::size_t>{before + 3});
      EXPECT_EQ(WorkerPool::threads_started(), started + 3);
    }
    EXPECT_EQ(threads_now(), before);
  }
}

}  // namespace
}  // namespace elfprune
