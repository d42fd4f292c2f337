#include "util/worker_pool.hpp"

#include <gtest/gtest.h>
#include <sched.h>

#include <thread>

namespace elfprune {
namespace {

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

}  // namespace
}  // namespace elfprune
