#include "util/worker_pool.hpp"

#include <sched.h>

#include <algorithm>
#include <atomic>
#include <new>
#include <system_error>
#include <utility>

namespace elfprune {

namespace {

std::atomic<std::uint64_t> started{0};

}  // namespace

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

WorkerPool::WorkerPool(unsigned threads) {
  if (threads > 1) threads_.reserve(threads - 1);
  for (unsigned t = 1; t < threads; ++t) {
    try {
      threads_.emplace_back([this] { work(); });
    } catch (const std::system_error&) {
      break;  // no more threads to be had (RLIMIT_NPROC): the others do the work
    }
    started.fetch_add(1, std::memory_order_relaxed);
  }
}

WorkerPool::~WorkerPool() {
  try {
    wait();
  } catch (...) {  // NOLINT(bugprone-empty-catch): nobody asked for it
  }
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  queued_.notify_all();
  for (auto& t : threads_) t.join();
}

std::uint64_t WorkerPool::threads_started() {
  return started.load(std::memory_order_relaxed);
}

void WorkerPool::submit(std::function<void()> task) {
  if (threads_.empty()) {
    const std::uint64_t seq = submitted_++;
    try {
      task();
    } catch (...) {
      std::lock_guard lock(mutex_);
      keep_failure(seq, std::current_exception());
    }
    return;
  }
  {
    std::lock_guard lock(mutex_);
    queue_.push_back(Queued{std::move(task), submitted_++, nullptr});
    ++unfinished_;
  }
  queued_.notify_one();
}

void WorkerPool::wait() {
  std::unique_lock lock(mutex_);
  for (;;) {
    // The owner takes queued tasks too: with every thread busy (a task
    // that works until told to stop) they still get done.
    if (!queue_.empty()) {
      Queued q = std::move(queue_.front());
      queue_.pop_front();
      execute(std::move(q), lock);
      continue;
    }
    if (unfinished_ == 0) break;
    finished_.wait(lock);
  }
  std::exception_ptr failure = std::exchange(failure_, nullptr);
  lock.unlock();
  if (failure) std::rethrow_exception(failure);
}

void WorkerPool::run_tasks(std::size_t n, const std::function<void(std::size_t, unsigned)>& task) {
  if (n == 0) return;
  std::atomic<std::size_t> next{0};
  std::size_t failed_at = n;
  std::exception_ptr failure;
  // Each taker goes on to the next index until none is left, so that a
  // helper that starts late (or never) leaves its share to the others.
  const auto take = [&](unsigned worker) {
    for (std::size_t i = next++; i < n; i = next++) {
      try {
        task(i, worker);
      } catch (...) {
        std::lock_guard lock(mutex_);
        if (i < failed_at) {
          failed_at = i;
          failure = std::current_exception();
        }
      }
    }
  };
  std::size_t helpers = 0;  // queued or running; under mutex_
  std::unique_lock lock(mutex_);
  try {
    const auto want = static_cast<unsigned>(std::min<std::size_t>(background(), n - 1));
    for (unsigned worker = 1; worker <= want; ++worker) {
      queue_.push_back(Queued{[&take, worker] { take(worker); }, 0, &helpers});
      ++helpers;
    }
  } catch (const std::bad_alloc&) {
    // Fewer helpers: the owner and those queued do the rest.
  }
  lock.unlock();
  queued_.notify_all();
  take(0);
  lock.lock();
  // Helpers no thread has started would find nothing left to do.
  for (auto it = queue_.begin(); it != queue_.end();) {
    if (it->run_helpers == &helpers) {
      it = queue_.erase(it);
      --helpers;
    } else {
      ++it;
    }
  }
  finished_.wait(lock, [&] { return helpers == 0; });
  lock.unlock();
  if (failure) std::rethrow_exception(failure);
}

void WorkerPool::work() {
  std::unique_lock lock(mutex_);
  for (;;) {
    queued_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return;
    Queued q = std::move(queue_.front());
    queue_.pop_front();
    execute(std::move(q), lock);
  }
}

void WorkerPool::execute(Queued q, std::unique_lock<std::mutex>& lock) {
  lock.unlock();
  std::exception_ptr failure;
  try {
    q.task();
  } catch (...) {
    failure = std::current_exception();
  }
  // What the task holds goes before the owner hears it is done, and may
  // free what it refers to.
  q.task = nullptr;
  lock.lock();
  if (q.run_helpers != nullptr) {
    --*q.run_helpers;
  } else {
    if (failure) keep_failure(q.seq, std::move(failure));
    --unfinished_;
  }
  finished_.notify_all();
}

void WorkerPool::keep_failure(std::uint64_t seq, std::exception_ptr e) {
  if (!failure_ || seq < failed_seq_) {
    failure_ = std::move(e);
    failed_seq_ = seq;
  }
}

}  // namespace elfprune
