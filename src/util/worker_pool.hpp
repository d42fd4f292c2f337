// How many threads a run uses, and the pool they work in. One number
// (`prune --jobs`) for every pass that works in parallel: the inventory
// walk, the inspector, the copies of --out, and the passes that run beside
// another. Each makes a WorkerPool of that many threads, the calling thread
// counted, so that with --jobs 1 no thread is ever started: everything runs
// on the calling thread, in a fixed order, where a debugger can follow it.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <type_traits>
#include <vector>

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

// Threads that run tasks for the thread that made the pool, its owner,
// which alone calls its member functions (tasks do not). `WorkerPool
// pool(n)` works on n threads, the owner counted: it starts n - 1, and for
// n <= 1 none, every task then running on the owner's thread in the order
// given. Threads the system refuses are done without: size() says how many
// there are.
//
// A task that throws does not stop the others: every task runs once, and
// the exception is kept for the owner, who gets it from wait() or run()
// once the tasks in question are all done (never while one still runs, so
// no thread is left waiting for one that is gone).
class WorkerPool {
 public:
  explicit WorkerPool(unsigned threads);
  // Runs what is still queued, waits for what is running (exceptions that
  // nobody waited for are dropped), joins the threads.
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Threads that work, the owner counted: at least 1.
  unsigned size() const { return background() + 1; }
  // Threads started: how many tasks can run while the owner does something
  // else. A task that waits for the owner (one that works until the owner
  // says stop, like the inspector's) must not be submitted more often, and
  // not at all when this is 0.
  unsigned background() const { return static_cast<unsigned>(threads_.size()); }

  // `task` on a pool thread while the owner goes on; in a pool without
  // threads, here and now (its exception still kept for wait()).
  void submit(std::function<void()> task);
  // Returns when every submitted task has run (the owner runs queued ones
  // meanwhile), rethrowing the exception of the first submitted that threw.
  void wait();

  // task(0) ... task(n - 1), each once, on the pool's threads and the
  // owner's, taken in index order (without threads: run in index order);
  // returns when all are done, rethrowing the exception of the lowest index
  // that threw. A task may also take `unsigned worker`, below size(), for
  // what each thread keeps for itself (its open directories, its memory):
  // two tasks with the same worker never run at once. Submitted tasks are
  // neither waited for nor in the way: what no free thread takes, the owner
  // does.
  template <typename Task>
  void run(std::size_t n, Task&& task) {
    if constexpr (std::is_invocable_v<Task&, std::size_t, unsigned>) {
      run_tasks(n, std::ref(task));
    } else {
      run_tasks(n, [&task](std::size_t i, unsigned /*worker*/) { task(i); });
    }
  }

  // Threads that pools of this process have started so far. The pools are
  // where threads come from (the tests check that src/ starts no other), so
  // a run with --jobs 1 leaves it as it was.
  static std::uint64_t threads_started();

 private:
  struct Queued {
    std::function<void()> task;
    std::uint64_t seq = 0;               // submission order, for wait()'s exception
    std::size_t* run_helpers = nullptr;  // a run()'s count of helpers left, or none
  };
  void run_tasks(std::size_t n, const std::function<void(std::size_t, unsigned)>& task);
  void work();
  // Runs a queued task on this thread, the lock released meanwhile.
  void execute(Queued q, std::unique_lock<std::mutex>& lock);
  void keep_failure(std::uint64_t seq, std::exception_ptr e);

  std::mutex mutex_;
  std::condition_variable queued_;    // for the threads: work, or stop
  std::condition_variable finished_;  // for the owner: a task is done
  std::deque<Queued> queue_;
  std::size_t unfinished_ = 0;  // submitted tasks queued or running
  std::uint64_t submitted_ = 0;
  std::uint64_t failed_seq_ = 0;
  std::exception_ptr failure_;  // of the submitted task failed_seq_
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace elfprune
