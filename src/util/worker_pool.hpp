// How many threads a run uses. One number (`prune --jobs`) for every pass
// that works in parallel: the inventory walk, the inspector, the copies of
// --out, and the passes that run beside another.
#pragma once

namespace elfprune {

// The CPUs this process may run on: its affinity mask (a `taskset`, a
// container's cpuset), not every CPU the machine has, which is what
// std::thread::hardware_concurrency() counts. At least 1.
unsigned usable_cores();

// `jobs` as the user gave it (0: not given) to a thread count: usable_cores()
// when 0, else `jobs` itself.
inline unsigned jobs_or_cores(unsigned jobs) {
  return jobs != 0 ? jobs : usable_cores();
}

}  // namespace elfprune
