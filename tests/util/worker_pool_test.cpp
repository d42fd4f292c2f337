#include "util/worker_pool.hpp"

#include <grp.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

namespace fs = std::filesystem;

namespace elfprune {
namespace {

// Threads of this process right now, as the kernel counts them: what a
// pool really started, whatever it believes it did.
std::size_t threads_now() {
  return static_cast<std::size_t>(
      std::distance(fs::directory_iterator("/proc/self/task"), fs::directory_iterator()));
}

TEST(UsableCores, CountsTheAffinityMaskNotTheMachine) {
  cpu_set_t before;
  CPU_ZERO(&before);
  ASSERT_EQ(::sched_getaffinity(0, sizeof before, &before), 0);
  EXPECT_EQ(usable_cores(), static_cast<unsigned>(CPU_COUNT(&before)));
  EXPECT_LE(usable_cores(), std::thread::hardware_concurrency());
  // Pinned to the first CPU it may use, as `taskset -c N` would: one.
  int first = 0;
  while (!CPU_ISSET(first, &before)) ++first;
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(first, &one);
  ASSERT_EQ(::sched_setaffinity(0, sizeof one, &one), 0);
  EXPECT_EQ(usable_cores(), 1u);
  ASSERT_EQ(::sched_setaffinity(0, sizeof before, &before), 0);
}

TEST(UsableCores, JobsGivenWinOverTheCores) {
  EXPECT_EQ(jobs_or_cores(0), usable_cores());
  EXPECT_EQ(jobs_or_cores(1), 1u);
  EXPECT_EQ(jobs_or_cores(12), 12u);
}

TEST(WorkerPool, RunsEveryIndexOnceWhateverTheThreads) {
  for (unsigned threads : {0u, 1u, 2u, 3u, 8u}) {
    WorkerPool pool(threads);
    constexpr std::size_t kTasks = 2000;
    std::vector<std::atomic<int>> ran(kTasks);
    pool.run(kTasks, [&](std::size_t i) { ++ran[i]; });
    for (std::size_t i = 0; i < kTasks; ++i) ASSERT_EQ(ran[i].load(), 1) << i << " of " << threads;
    pool.run(0, [](std::size_t) { ADD_FAILURE() << "no index to run"; });
  }
}

TEST(WorkerPool, ResultsBelongToTheirIndexes) {
  WorkerPool pool(4);
  std::vector<std::size_t> squares(500);
  pool.run(squares.size(), [&](std::size_t i) { squares[i] = i * i; });
  for (std::size_t i = 0; i < squares.size(); ++i) EXPECT_EQ(squares[i], i * i);
}

// What a thread keeps for itself (the inventory's memory, the copies'
// open directories) is indexed by `worker`: never two tasks at once.
TEST(WorkerPool, AWorkerRunsOneTaskAtATime) {
  WorkerPool pool(4);
  std::vector<std::atomic<int>> busy(pool.size());
  std::atomic<bool> clash{false};
  std::atomic<unsigned> too_big{0};
  pool.run(400, [&](std::size_t, unsigned worker) {
    if (worker >= pool.size()) {
      ++too_big;
      return;
    }
    if (busy[worker]++ != 0) clash = true;
    std::this_thread::sleep_for(std::chrono::microseconds(50));
    --busy[worker];
  });
  EXPECT_EQ(too_big.load(), 0u);
  EXPECT_FALSE(clash.load());
}

// --jobs 1: no thread is started, and everything runs on the caller's
// thread in the order given, right when asked.
TEST(WorkerPool, OneThreadStartsNoThreadAndRunsInOrderOnTheCaller) {
  for (unsigned threads : {0u, 1u}) {
    const std::size_t before = threads_now();
    const std::uint64_t started = WorkerPool::threads_started();
    const auto caller = std::this_thread::get_id();
    std::vector<std::size_t> order;
    std::set<std::thread::id> ids;
    std::set<std::size_t> counts;
    {
      WorkerPool pool(threads);
      EXPECT_EQ(pool.size(), 1u);
      EXPECT_EQ(pool.background(), 0u);
      pool.run(50, [&](std::size_t i) {
        order.push_back(i);
        ids.insert(std::this_thread::get_id());
        counts.insert(threads_now());
      });
      bool ran = false;
      pool.submit([&] {
        ran = true;
        ids.insert(std::this_thread::get_id());
        counts.insert(threads_now());
      });
      EXPECT_TRUE(ran) << "a submitted task runs before submit() returns";
      pool.wait();
    }
    std::vector<std::size_t> expected(50);
    for (std::size_t i = 0; i < expected.size(); ++i) expected[i] = i;
    EXPECT_EQ(order, expected);
    EXPECT_EQ(ids, std::set<std::thread::id>{caller});
    EXPECT_EQ(counts, std::set<std::size_t>{before});
    EXPECT_EQ(threads_now(), before);
    EXPECT_EQ(WorkerPool::threads_started(), started);
  }
}

// The check above would pass on a pool that never starts a thread at all.
TEST(WorkerPool, StartsOneThreadFewerThanAskedAndJoinsThem) {
  const std::size_t before = threads_now();
  const std::uint64_t started = WorkerPool::threads_started();
  {
    WorkerPool pool(4);
    ASSERT_EQ(pool.size(), 4u);
    EXPECT_EQ(threads_now(), before + 3);
    EXPECT_EQ(WorkerPool::threads_started(), started + 3);
    std::mutex mutex;
    std::set<std::thread::id> ids;
    pool.run(4, [&](std::size_t) {
      {
        std::lock_guard lock(mutex);
        ids.insert(std::this_thread::get_id());
      }
      // Long enough for every thread to take one.
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    });
    EXPECT_GE(ids.size(), 2u);
  }
  EXPECT_EQ(threads_now(), before);
}

TEST(WorkerPool, ExceptionOfTheLowestIndexSurfacesAfterEveryTaskRan) {
  for (unsigned threads : {1u, 4u}) {
    WorkerPool pool(threads);
    std::atomic<int> ran{0};
    try {
      pool.run(300, [&](std::size_t i) {
        ++ran;
        if (i == 200 || i == 37) throw std::runtime_error(std::to_string(i));
        std::this_thread::sleep_for(std::chrono::microseconds(20));
      });
      ADD_FAILURE() << "no exception from run()";
    } catch (const std::runtime_error& e) {
      EXPECT_STREQ(e.what(), "37");
    }
    EXPECT_EQ(ran.load(), 300);
    // Nothing is left over: the pool works on.
    std::atomic<int> again{0};
    pool.run(10, [&](std::size_t) { ++again; });
    EXPECT_EQ(again.load(), 10);
  }
}

// A task that throws at once while the others work: no thread is left
// waiting, and the owner gets the exception.
TEST(WorkerPool, ThrowingTaskDoesNotHangTheOthers) {
  WorkerPool pool(4);
  EXPECT_THROW(pool.run(pool.size(),
                        [](std::size_t i) {
                          if (i == 0) throw std::bad_alloc();
                          std::this_thread::sleep_for(std::chrono::milliseconds(5));
                        }),
               std::bad_alloc);
}

TEST(WorkerPool, WaitRethrowsTheFirstSubmittedFailureOnce) {
  for (unsigned threads : {1u, 2u, 3u}) {
    WorkerPool pool(threads);
    std::atomic<int> ran{0};
    pool.submit([&] { ++ran; });
    pool.submit([&] {
      ++ran;
      // Later than the next one's, on two threads: still the first submitted.
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      throw std::runtime_error("second");
    });
    pool.submit([&] {
      ++ran;
      throw std::runtime_error("third");
    });
    try {
      pool.wait();
      ADD_FAILURE() << "no exception from wait()";
    } catch (const std::runtime_error& e) {
      EXPECT_STREQ(e.what(), "second");
    }
    EXPECT_EQ(ran.load(), 3);
    EXPECT_NO_THROW(pool.wait());
  }
}

TEST(WorkerPool, DestructorWaitsAndDropsWhatNobodyAskedFor) {
  std::atomic<int> ran{0};
  {
    WorkerPool pool(2);
    for (int i = 0; i < 5; ++i) {
      pool.submit([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
        ++ran;
        throw std::runtime_error("nobody waits for this");
      });
    }
  }
  EXPECT_EQ(ran.load(), 5);
}

// The inspector's shape: a task works beside the owner until told to stop.
TEST(WorkerPool, SubmittedTaskRunsWhileTheOwnerGoesOn) {
  WorkerPool pool(2);
  ASSERT_EQ(pool.background(), 1u);
  std::atomic<bool> stop{false};
  std::atomic<int> produced{0};
  pool.submit([&] {
    while (!stop) {
      ++produced;
      std::this_thread::yield();
    }
  });
  // Were the task run here, submit() would not have returned.
  while (produced < 100) std::this_thread::yield();
  // Its only thread busy, run() goes on without it, on the owner.
  const auto owner = std::this_thread::get_id();
  std::set<std::thread::id> ids;
  pool.run(20, [&](std::size_t) { ids.insert(std::this_thread::get_id()); });
  EXPECT_EQ(ids, std::set<std::thread::id>{owner});
  stop = true;
  pool.wait();
}

bool drop_privileges() {
  if (::geteuid() != 0) return true;
  return ::setgroups(0, nullptr) == 0 && ::setresgid(65534, 65534, 65534) == 0 &&
         ::setresuid(65534, 65534, 65534) == 0;
}

TEST(WorkerPool, DoesWithoutTheThreadsTheSystemRefuses) {
  EXPECT_EXIT(
      {
        // One process for the user, and it is this one: no thread more.
        rlimit one{};
        one.rlim_cur = one.rlim_max = 1;
        if (!drop_privileges() || ::setrlimit(RLIMIT_NPROC, &one) != 0) std::_Exit(2);
        WorkerPool pool(4);
        std::atomic<int> ran{0};
        pool.run(100, [&](std::size_t) { ++ran; });
        pool.submit([&] { ++ran; });
        pool.wait();
        std::fprintf(stderr, "size=%u ran=%d\n", pool.size(), ran.load());
        std::_Exit(pool.size() == 1 && ran == 101 ? 0 : 1);
      },
      ::testing::ExitedWithCode(0), "size=1 ran=101");
}

// threads_started() and the checks of --jobs 1 that rest on it hold only
// if the pools are where threads come from.
TEST(WorkerPool, IsTheOnlyPlaceInTheSourcesThatStartsThreads) {
  const fs::path src = fs::path(ELFPRUNE_SOURCE_DIR) / "src";
  std::vector<std::string> found;
  for (const auto& entry : fs::recursive_directory_iterator(src)) {
    const fs::path& p = entry.path();
    if (!entry.is_regular_file() || (p.extension() != ".cpp" && p.extension() != ".hpp")) continue;
    if (p.stem() == "worker_pool") continue;
    std::ifstream in(p);
    const std::string text(std::istreambuf_iterator<char>(in), {});
    for (const char* word : {"std::thread", "std::jthread", "std::async", "pthread_create"}) {
      if (text.find(word) != std::string::npos) found.push_back(p.string() + ": " + word);
    }
  }
  EXPECT_TRUE(found.empty()) << ::testing::PrintToString(found);
}

}  // namespace
}  // namespace elfprune
