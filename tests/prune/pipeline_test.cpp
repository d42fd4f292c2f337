// The whole pipeline on small roots built at test time.
#include "prune/pipeline.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <mutex>
#include <set>
#include <thread>

#include "test_support.hpp"
#include "util/worker_pool.hpp"

namespace elfprune {
namespace {

namespace fs = std::filesystem;
using test::compile_c;

// The journal's path inside the root ("/" + name trips GCC 12's -Wrestrict).
std::string journal_path() {
  return std::string("/").append(kJournalName);
}
using test::make_symlink;
using test::TempDir;
using test::write_file;

class PipelineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = tmp_.path() / "root";
    test::make_glibc_root(root_);
    compile_c("#include <stdio.h>\nint main(void) { puts(\"hello from prog\"); return 0; }",
              root_ / "usr/bin/prog", "");
    write_file(root_ / "usr/share/doc/prog/README", "docs");
    write_file(root_ / "usr/share/doc/prog/copyright", "licence");
    write_file(root_ / "usr/include/prog.h", "int x;");
    write_file(root_ / "opt/unrelated/data", std::string(1000, 'u'));
  }

  PruneOptions options(EmitMode mode) {
    PruneOptions o;
    o.root = root_.string();
    o.entries = {"/usr/bin/prog"};
    o.mode = mode;
    o.loader.hwcaps = HwcapsLevel::Baseline;
    if (mode == EmitMode::Out) o.out_dir = (tmp_.path() / "out").string();
    return o;
  }

  TempDir tmp_;
  fs::path root_;
};

TEST_F(PipelineTest, OutTreeRunsAndHoldsOnlyWhatIsNeeded) {
  auto ctx = prune(options(EmitMode::Out));
  ASSERT_TRUE(ctx.ok()) << ctx.error().message;
  const PruneReport& r = (*ctx)->report;
  EXPECT_TRUE(r.problems.empty());
  const fs::path out = tmp_.path() / "out";
  EXPECT_TRUE(fs::exists(out / "usr/bin/prog"));
  EXPECT_TRUE(fs::is_symlink(out / "lib64/ld-linux-x86-64.so.2"));
  EXPECT_FALSE(fs::exists(out / "opt/unrelated/data"));
  EXPECT_FALSE(fs::exists(out / "usr/include/prog.h"));
  EXPECT_LT(r.after.bytes, r.before.bytes);
  // The pruned tree really runs, chrooted (we are root in CI).
  auto run = test::run_command("env -i PATH=/usr/bin:/bin /usr/sbin/chroot '" + out.string() +
                               "' /usr/bin/prog");
  EXPECT_EQ(run.status, 0) << run.output;
  EXPECT_EQ(run.output, "hello from prog\n");
}

TEST_F(PipelineTest, DryRunWritesNothingAndPlansTheSame) {
  auto dry = prune(options(EmitMode::DryRun));
  ASSERT_TRUE(dry.ok());
  EXPECT_TRUE(fs::exists(root_ / "opt/unrelated/data"));
  auto out = prune(options(EmitMode::Out));
  ASSERT_TRUE(out.ok());
  std::vector<std::string> a, b;
  for (const auto& i : (*dry)->report.removed) a.emplace_back(i.path);
  for (const auto& i : (*out)->report.removed) b.emplace_back(i.path);
  EXPECT_EQ(a, b);
}

std::size_t threads_now() {
  std::size_t n = 0;
  for ([[maybe_unused]] const auto& task : fs::directory_iterator("/proc/self/task")) ++n;
  return n;
}

// --jobs changes how many threads work, never the result; with one, no
// other thread is ever started (checked whenever a pass reports progress).
TEST_F(PipelineTest, JobsChangeTheThreadsNotTheResult) {
  for (int i = 0; i < 40; ++i) {
    write_file(root_ / fmt::format("usr/lib/many/d{}/f{}", i % 4, i), std::string(i, 'x'));
  }
  // Threads before the run: the test's own, and a sanitizer's if any.
  const std::size_t before = threads_now();
  const auto caller = std::this_thread::get_id();
  std::string first;
  for (unsigned jobs : {1u, 2u, 5u}) {
    const std::uint64_t started = WorkerPool::threads_started();
    std::set<std::thread::id> ids;
    PruneOptions o = options(EmitMode::Out);
    o.entries.clear();  // every file a root of the closure: all of them inspected and copied
    o.out_dir = (tmp_.path() / fmt::format("out{}", jobs)).string();
    o.jobs = jobs;
    std::mutex mutex;
    std::size_t most = 0;
    o.progress = [&](std::string_view, std::size_t, std::size_t) {
      std::lock_guard lock(mutex);
      most = std::max(most, threads_now());
      ids.insert(std::this_thread::get_id());
    };
    auto ctx = prune(std::move(o));
    ASSERT_TRUE(ctx.ok()) << ctx.error().message;
    EXPECT_TRUE((*ctx)->report.problems.empty());
    EXPECT_TRUE(fs::exists(tmp_.path() / fmt::format("out{}", jobs) / "usr/lib/many/d3/f39"));
    if (jobs == 1) {
      EXPECT_EQ(most, before);
      EXPECT_EQ(ids, std::set<std::thread::id>{caller});
      EXPECT_EQ(WorkerPool::threads_started(), started);
    } else {
      // The check above can fail: the rules are read beside the closure.
      EXPECT_GT(most, before);
      EXPECT_GT(WorkerPool::threads_started(), started);
    }
    EXPECT_EQ(threads_now(), before);
    PruneReport r = (*ctx)->report;
    r.out_dir.clear();
    const std::string json = render_report_json(r);
    if (first.empty()) {
      first = json;
    } else {
      EXPECT_EQ(json, first) << "--jobs " << jobs;
    }
  }
}

TEST_F(PipelineTest, InPlaceRemovesThePlannedFilesAndIsIdempotent) {
  auto first = prune(options(EmitMode::InPlace));
  ASSERT_TRUE(first.ok());
  EXPECT_TRUE((*first)->report.problems.empty());
  EXPECT_FALSE(fs::exists(root_ / "opt/unrelated/data"));
  EXPECT_FALSE(fs::exists(root_ / "usr/share/doc/prog/README"));
  EXPECT_TRUE(fs::exists(root_ / "usr/bin/prog"));
  auto second = prune(options(EmitMode::InPlace));
  ASSERT_TRUE(second.ok());
  EXPECT_TRUE((*second)->report.removed.empty() ||
              (*second)->report.after.bytes == (*first)->report.after.bytes);
}

TEST_F(PipelineTest, InPlaceFinishesAnInterruptedRunBeforePlanning) {
  // What a run killed after its first removal leaves: the journal, and a
  // tree in which the plan of the whole tree is no longer visible.
  write_file(root_ / std::string(kJournalName), encode_journal({{"usr/include/prog.h", false},
                                                                {"opt/unrelated/data", false},
                                                                {"opt/unrelated", true}}));
  fs::remove(root_ / "usr/include/prog.h");
  auto ctx = prune(options(EmitMode::InPlace));
  ASSERT_TRUE(ctx.ok()) << ctx.error().message;
  const PruneReport& r = (*ctx)->report;
  EXPECT_TRUE(r.problems.empty());
  EXPECT_FALSE(fs::exists(root_ / "opt/unrelated"));
  EXPECT_FALSE(fs::exists(root_ / std::string(kJournalName)));
  EXPECT_TRUE(fs::exists(root_ / "usr/bin/prog"));
  // The journal is not tree content: neither planned nor reported.
  for (const auto& item : r.removed) EXPECT_EQ(item.path.find(kJournalName), std::string::npos);
  const std::string warning = journal_path() +
                              ": finished the interrupted --in-place run it records first: 3 of "
                              "3 entries removed";
  EXPECT_NE(std::find(r.warnings.begin(), r.warnings.end(), warning), r.warnings.end());
}

TEST_F(PipelineTest, DryRunAndOutRefuseAHalfPrunedTree) {
  write_file(root_ / std::string(kJournalName), encode_journal({{"opt/unrelated/data", false}}));
  for (EmitMode mode : {EmitMode::DryRun, EmitMode::Out}) {
    auto ctx = prune(options(mode));
    ASSERT_FALSE(ctx.ok());
    EXPECT_EQ(ctx.error().path, journal_path());
    EXPECT_EQ(ctx.error().kind, ErrorKind::Usage);
    EXPECT_NE(ctx.error().message.find("--in-place again"), std::string::npos);
  }
  EXPECT_FALSE(fs::exists(tmp_.path() / "out"));
  EXPECT_TRUE(fs::exists(root_ / "opt/unrelated/data"));
}

// Two runs on one tree: --in-place waits for no one and changes nothing
// while another run holds the tree; a reading run does not start while an
// --in-place run holds it.
TEST_F(PipelineTest, RunsThatWouldConflictOnOneTreeStopBeforeAnything) {
  {
    auto reading = lock_tree(Root(root_), "/", /*exclusive=*/false);
    ASSERT_TRUE(reading.ok() && reading->held());
    auto ctx = prune(options(EmitMode::InPlace));
    ASSERT_FALSE(ctx.ok());
    EXPECT_EQ(ctx.error().kind, ErrorKind::Failed);
    EXPECT_NE(ctx.error().message.find("another elfprune run"), std::string::npos);
    EXPECT_TRUE(fs::exists(root_ / "opt/unrelated/data"));
    EXPECT_TRUE(prune(options(EmitMode::DryRun)).ok());  // readers side by side
  }
  {
    auto pruning = lock_tree(Root(root_), "/", /*exclusive=*/true);
    ASSERT_TRUE(pruning.ok() && pruning->held());
    for (EmitMode mode : {EmitMode::DryRun, EmitMode::Out}) {
      auto ctx = prune(options(mode));
      ASSERT_FALSE(ctx.ok());
      EXPECT_NE(ctx.error().message.find("--in-place run is pruning"), std::string::npos);
    }
    EXPECT_FALSE(fs::exists(tmp_.path() / "out"));
  }
  auto ctx = prune(options(EmitMode::InPlace));  // the locks are gone with their runs
  ASSERT_TRUE(ctx.ok()) << ctx.error().message;
  EXPECT_FALSE(fs::exists(root_ / "opt/unrelated/data"));
}

TEST_F(PipelineTest, CorruptJournalStopsAnInPlaceRunBeforeAnythingIsRemoved) {
  write_file(root_ / std::string(kJournalName), "elfprune in-place journal 1\nentries 1\n");
  auto ctx = prune(options(EmitMode::InPlace));
  ASSERT_FALSE(ctx.ok());
  EXPECT_EQ(ctx.error().path, journal_path());
  EXPECT_EQ(ctx.error().kind, ErrorKind::Input);
  EXPECT_TRUE(fs::exists(root_ / "opt/unrelated/data"));
  EXPECT_TRUE(fs::exists(root_ / "usr/include/prog.h"));
}

TEST_F(PipelineTest, WithoutEntriesOnlyRulesRemove) {
  PruneOptions o = options(EmitMode::DryRun);
  o.entries.clear();
  auto ctx = prune(o);
  ASSERT_TRUE(ctx.ok());
  std::vector<std::string> removed;
  for (const auto& i : (*ctx)->report.removed) removed.emplace_back(i.path);
  EXPECT_NE(std::find(removed.begin(), removed.end(), "/usr/include/prog.h"), removed.end());
  EXPECT_NE(std::find(removed.begin(), removed.end(), "/usr/share/doc/prog/README"), removed.end());
  EXPECT_EQ(std::find(removed.begin(), removed.end(), "/opt/unrelated/data"), removed.end());
  // Licences stay.
  EXPECT_EQ(std::find(removed.begin(), removed.end(), "/usr/share/doc/prog/copyright"),
            removed.end());
}

TEST_F(PipelineTest, OptionsAreCheckedBeforeAnythingIsWritten) {
  PruneOptions o = options(EmitMode::Out);
  o.out_dir = root_.string();
  auto ctx = prune(o);
  ASSERT_FALSE(ctx.ok());
  EXPECT_EQ(ctx.error().message, "--out must not be or contain the root");
  EXPECT_EQ(ctx.error().kind, ErrorKind::Usage);
  o.out_dir = tmp_.path().string();
  EXPECT_FALSE(prune(o).ok());

  write_file(tmp_.path() / "busy/file", "x");
  o.out_dir = (tmp_.path() / "busy").string();
  EXPECT_FALSE(prune(o).ok());

  PruneOptions e = options(EmitMode::DryRun);
  e.entries = {"/usr/bin/nothing"};
  auto missing = prune(e);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().path, "/usr/bin/nothing");
}

TEST_F(PipelineTest, AnOutDirectoryInsideTheRootIsLeftOut) {
  // `prune / --out /slim` in a container build stage.
  PruneOptions o = options(EmitMode::Out);
  o.out_dir = (root_ / "slim").string();
  auto ctx = prune(o);
  ASSERT_TRUE(ctx.ok()) << ctx.error().message;
  EXPECT_TRUE((*ctx)->report.problems.empty());
  EXPECT_TRUE(fs::exists(root_ / "slim/usr/bin/prog"));
  EXPECT_FALSE(fs::exists(root_ / "slim/slim"));
  EXPECT_EQ((*ctx)->inventory.find("/slim"), nullptr);
  EXPECT_TRUE(fs::exists(root_ / "usr/include/prog.h"));  // ROOT itself untouched
}

TEST_F(PipelineTest, ExcludedPathsAreNeitherKeptNorRemoved) {
  write_file(root_ / "var/build-cache/objects/a.o", "o");
  PruneOptions o = options(EmitMode::InPlace);
  o.excludes = {"/var/build-cache", "/opt/unrelated"};
  auto ctx = prune(o);
  ASSERT_TRUE(ctx.ok()) << ctx.error().message;
  EXPECT_TRUE((*ctx)->report.problems.empty());
  EXPECT_EQ((*ctx)->inventory.find("/var/build-cache"), nullptr);
  EXPECT_EQ((*ctx)->inventory.find("/opt/unrelated/data"), nullptr);
  EXPECT_TRUE(fs::exists(root_ / "var/build-cache/objects/a.o"));  // left alone
  EXPECT_TRUE(fs::exists(root_ / "opt/unrelated/data"));
  EXPECT_FALSE(fs::exists(root_ / "usr/include/prog.h"));  // the rest is pruned

  PruneOptions bad = options(EmitMode::DryRun);
  bad.excludes = {"/"};
  EXPECT_EQ(check_options(bad).error().kind, ErrorKind::Usage);
}

TEST_F(PipelineTest, InPlaceOnTheLiveRootIsRefusedWithoutTheFlag) {
  // Only the options are checked here: nothing is read or written.
  PruneOptions o;
  o.root = "/";
  o.mode = EmitMode::InPlace;
  auto refused = check_options(o);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().kind, ErrorKind::Usage);
  EXPECT_NE(refused.error().message.find("--allow-live-root"), std::string::npos);
  o.allow_live_root = true;
  EXPECT_TRUE(check_options(o).ok());
  o.allow_live_root = false;
  o.mode = EmitMode::DryRun;
  EXPECT_TRUE(check_options(o).ok());
}

TEST_F(PipelineTest, TheCaStoreSurvivesAndAnOldDanglingLinkIsAWarning) {
  // libcrypto names /usr/lib/ssl, kept whole; its links lead through
  // /etc/ssl/certs to /usr/share/ca-certificates, which nothing names.
  write_file(root_ / "usr/share/ca-certificates/mozilla/Root_CA.crt", "cert");
  write_file(root_ / "usr/share/doc/ca-certificates/README", "docs");
  make_symlink(root_ / "etc/ssl/certs/Root_CA.pem",
               "/usr/share/ca-certificates/mozilla/Root_CA.crt");
  make_symlink(root_ / "etc/ssl/certs/0a1b2c3d.0", "Root_CA.pem");
  make_symlink(root_ / "etc/ssl/certs/gone.pem", "/usr/share/ca-certificates/gone.crt");
  make_symlink(root_ / "usr/lib/ssl/certs", "/etc/ssl/certs");
  compile_c("#include <stdio.h>\nint main(void) { puts(\"/usr/lib/ssl\"); return 0; }",
            root_ / "usr/bin/tls", "");
  PruneOptions o = options(EmitMode::Out);
  o.entries = {"/usr/bin/tls"};
  auto ctx = prune(o);
  ASSERT_TRUE(ctx.ok()) << ctx.error().message;
  const PruneReport& r = (*ctx)->report;
  EXPECT_TRUE(r.problems.empty()) << fmt::format("{}", fmt::join(r.problems, "\n"));
  const fs::path out = tmp_.path() / "out";
  EXPECT_TRUE(Root(out).resolve("/usr/lib/ssl/certs/0a1b2c3d.0").ok());  // inside OUT
  EXPECT_TRUE(fs::exists(out / "usr/share/ca-certificates/mozilla/Root_CA.crt"));
  EXPECT_FALSE(fs::exists(out / "usr/share/doc/ca-certificates/README"));
  EXPECT_TRUE(std::any_of(r.warnings.begin(), r.warnings.end(), [](const std::string& w) {
    return w.find("/etc/ssl/certs/gone.pem") != std::string::npos &&
           w.find("dangled already") != std::string::npos;
  })) << fmt::format("{}", fmt::join(r.warnings, "\n"));
  EXPECT_TRUE(std::any_of(r.kept_whole.begin(), r.kept_whole.end(),
                          [](const KeptWhole& k) { return k.path == "/usr/lib/ssl"; }));
}

TEST_F(PipelineTest, SysrootPrunesOnlyTheDirectoryInside) {
  write_file(root_ / "srv/app/lib/helper.h", "int y;");
  write_file(root_ / "srv/app/bin/run", "#!/bin/sh\necho run\n");
  PruneOptions o;
  o.root = (root_ / "srv/app").string();
  o.sysroot = root_.string();
  o.mode = EmitMode::InPlace;
  auto ctx = prune(o);
  ASSERT_TRUE(ctx.ok()) << ctx.error().message;
  EXPECT_EQ((*ctx)->top, "/srv/app");
  EXPECT_FALSE(fs::exists(root_ / "srv/app/lib/helper.h"));
  EXPECT_TRUE(fs::exists(root_ / "srv/app/bin/run"));
  EXPECT_TRUE(fs::exists(root_ / "usr/include/prog.h"));  // outside ROOT: untouched
}

}  // namespace
}  // namespace elfprune
