#include "util/worker_pool.hpp"

#include <sched.h>

#include <thread>

namespace elfprune {

unsigned usable_cores() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (::sched_getaffinity(0, sizeof set, &set) == 0) {
    const int n = CPU_COUNT(&set);
    if (n > 0) return static_cast<unsigned>(n);
  }
  // More CPUs than a cpu_set_t holds (1,024), or no answer: the machine's.
  const unsigned all = std::thread::hardware_concurrency();
  return all > 0 ? all : 1;
}

}  // namespace elfprune
