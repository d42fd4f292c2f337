// What the passes that write a plan's result (emit.hpp, in_place.hpp) are
// asked to do, and what they report.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "util/result.hpp"

namespace elfprune {

enum class EmitMode { Out, InPlace, DryRun };

struct EmitOptions {
  EmitMode mode = EmitMode::DryRun;
  std::string out_dir;  // host path, for EmitMode::Out
  // Called now and then with (entries done, entries total) for a progress
  // line; from one thread at a time, with `done` increasing.
  std::function<void(std::size_t, std::size_t)> progress;
  // Out: threads that copy files; 0 = usable_cores() (never more than jobs).
  std::size_t threads = 0;
};

struct EmitStats {
  std::size_t files_written = 0;  // Out: entries created
  std::size_t removed = 0;        // InPlace: entries removed (already gone counts too)
  std::uint64_t bytes_written = 0;
  std::vector<Error> problems;  // per-path failures; the run carries on
};

// Calls options.progress every kProgressEvery entries and at the end.
inline constexpr std::size_t kProgressEvery = 1000;
inline void report_progress(const EmitOptions& options, std::size_t done, std::size_t total) {
  if (options.progress && (done % kProgressEvery == 0 || done == total)) {
    options.progress(done, total);
  }
}

}  // namespace elfprune
