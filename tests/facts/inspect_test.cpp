#include "facts/inspect.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <iterator>

#include "test_support.hpp"
#include "util/worker_pool.hpp"

namespace elfprune {
namespace {

using test::compile_c;
using test::TempDir;
using test::write_file;

bool has(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

TEST(InspectFile, ElfScriptDataAndMissing) {
  TempDir dir;
  compile_c(R"(
const char conf[] = "/etc/app.conf";
__asm__(".text\n.string \"/etc/in-code.conf\"\n");
int main(void) { return conf[0]; }
)",
            dir / "usr/bin/app");
  write_file(dir / "usr/bin/tool",
             "#!/bin/sh -e\nexec /usr/bin/app /nix/store/" + std::string(32, 'a') + "-data/x\n");
  write_file(dir / "usr/share/data.txt", "/etc/not-a-program-reference\n");
  const Root root(dir.path());

  const FileInspection elf = inspect_file(root, "/usr/bin/app", "/nix/store");
  EXPECT_TRUE(elf.elf);
  EXPECT_FALSE(elf.shebang);
  EXPECT_TRUE(has(elf.paths, "/etc/app.conf"));
  EXPECT_TRUE(has(elf.paths, "/lib64/ld-linux-x86-64.so.2"));  // .interp is data too
  EXPECT_FALSE(has(elf.paths, "/etc/in-code.conf"));

  const FileInspection script = inspect_file(root, "/usr/bin/tool", "/nix/store");
  EXPECT_FALSE(script.elf);
  ASSERT_TRUE(script.shebang);
  EXPECT_EQ(script.shebang->interpreter, "/bin/sh");
  EXPECT_TRUE(has(script.paths, "/usr/bin/app"));
  ASSERT_EQ(script.store_paths.size(), 1u);
  EXPECT_EQ(script.store_paths[0], "/nix/store/" + std::string(32, 'a') + "-data");

  // Data files are not programs: what they name is not followed.
  const FileInspection data = inspect_file(root, "/usr/share/data.txt", "/nix/store");
  EXPECT_FALSE(data.elf);
  EXPECT_FALSE(data.shebang);
  EXPECT_TRUE(data.paths.empty());

  const FileInspection missing = inspect_file(root, "/usr/bin/none", "/nix/store");
  EXPECT_FALSE(missing.elf);
  EXPECT_FALSE(missing.shebang);
  EXPECT_TRUE(missing.paths.empty());
}

// Files are read a megabyte at a time: a string across the edge of one
// read is still found whole.
TEST(InspectFile, StringsAcrossTheReadBufferAreWhole) {
  TempDir dir;
  constexpr std::size_t kBuffer = std::size_t{1} << 20;
  const std::string path = "/etc/across/the/edge.conf";
  std::string script = "#!/bin/sh\n";
  while (script.size() < kBuffer - 10) script += "echo xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n";
  script.resize(kBuffer - 10, 'y');  // no newline near the edge
  script += " " + path + "\n";
  script += std::string(3 * kBuffer, '\n') + "cat /etc/at-the-end\n";
  write_file(dir / "bin/big", script);
  const FileInspection f = inspect_file(Root(dir.path()), "/bin/big", "/nix/store");
  EXPECT_EQ(f.paths, (std::vector<std::string>{"/bin/sh", path, "/etc/at-the-end"}));
}

// Whatever the threads do, take() answers what inspect_file answers: in the
// order asked, in reverse, for paths never asked, and with no threads.
TEST(Inspector, AnswersAsInspectFileWhateverTheTiming) {
  TempDir dir;
  constexpr int kFiles = 300;
  std::vector<std::string> paths;
  for (int i = 0; i < kFiles; ++i) {
    paths.push_back(fmt::format("/bin/s{}", i));
    write_file(dir / paths.back().substr(1),
               fmt::format("#!/bin/sh\ncat /etc/conf{} /etc/shared\n", i));
  }
  const Root root(dir.path());
  auto check = [&](const FileInspection& got, int i) {
    ASSERT_TRUE(got.shebang) << paths[i];
    EXPECT_EQ(got.paths,
              (std::vector<std::string>{"/bin/sh", fmt::format("/etc/conf{}", i), "/etc/shared"}))
        << paths[i];
  };
  for (unsigned threads : {0u, 1u, 3u}) {
    Inspector forward(root, "/nix/store", threads);
    for (const auto& p : paths) forward.ask(p);
    forward.ask(paths[0]);  // asked twice: one answer
    for (int i = 0; i < kFiles; ++i) check(forward.take(paths[i]), i);

    Inspector backward(root, "/nix/store", threads);
    for (const auto& p : paths) backward.ask(p);
    for (int i = kFiles - 1; i >= 0; --i) check(backward.take(paths[i]), i);

    Inspector unasked(root, "/nix/store", threads);
    check(unasked.take(paths[7]), 7);

    // Asked and never taken: destroyed without waiting forever.
    Inspector abandoned(root, "/nix/store", threads);
    for (const auto& p : paths) abandoned.ask(p);
  }
}

// Threads of this process right now, as the kernel counts them.
std::size_t threads_now() {
  const std::filesystem::directory_iterator tasks("/proc/self/task");
  return static_cast<std::size_t>(std::distance(tasks, std::filesystem::directory_iterator()));
}

// --jobs 1: no thread inspects ahead; take() inspects each file itself.
TEST(Inspector, OneJobStartsNoThread) {
  TempDir dir;
  write_file(dir / "bin/s", "#!/bin/sh\ncat /etc/conf\n");
  const Root root(dir.path());
  const std::size_t before = threads_now();
  const std::uint64_t started = WorkerPool::threads_started();
  {
    Inspector inspector(root, "/nix/store", Inspector::threads_for(1));
    inspector.ask("/bin/s");
    EXPECT_EQ(threads_now(), before);
    EXPECT_EQ(inspector.take("/bin/s").paths, (std::vector<std::string>{"/bin/sh", "/etc/conf"}));
  }
  EXPECT_EQ(WorkerPool::threads_started(), started);
  {
    // With --jobs 4, three threads work ahead while the closure goes on.
    Inspector inspector(root, "/nix/store", Inspector::threads_for(4));
    EXPECT_EQ(threads_now(), before + 3);
    inspector.ask("/bin/s");
    EXPECT_EQ(inspector.take("/bin/s").paths, (std::vector<std::string>{"/bin/sh", "/etc/conf"}));
  }
  EXPECT_EQ(threads_now(), before);
}

}  // namespace
}  // namespace elfprune
