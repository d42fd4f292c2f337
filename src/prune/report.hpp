// The prune report as data, and its renderings: a human summary and the
// JSON document of docs/json-contracts.md (`before`, `after`, `removed`, `kept`,
// `warnings`, ...).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "facts/store_refs.hpp"

namespace elfprune {

struct Totals {
  std::uint64_t files = 0;
  std::uint64_t bytes = 0;
};

// One kept or removed entry. Its strings are views, not copies: of the
// inventory's paths and the plan's reasons and rules (a PruneContext owns
// both, and the report with them), and of PruneReport::names. A report of a
// whole system has an item for each of ~450,000 entries; copies of their
// strings took 60 MB of a dry run's 600.
struct ReportItem {
  std::string_view path;
  std::uint64_t bytes = 0;
  std::string_view reason;
  std::string_view rule;   // removed entries: the rule, or "" when unreachable
  std::string_view group;  // the dpkg package, npm package or store path it belongs to
};

// A directory kept with everything below it: which, why, and whether the
// programs inside were treated as data (named by a library, or package state).
struct KeptWhole {
  std::string path;
  std::string reason;
  bool programs_as_data = false;
  std::uint64_t files = 0;  // kept entries below it
  std::uint64_t bytes = 0;
};

// An image pruned (`prune oci:...`): what came in and went out, the
// entries the config gave and where from, and each original layer's bytes
// and what it lost, as dive shows them.
struct ImageReport {
  std::string input;   // the reference as given
  std::string output;  // "" for a dry run
  std::string platform;
  struct Entry {
    std::string path;
    std::string from;
  };
  std::vector<Entry> entries;
  std::vector<std::string> notes;
  struct Removal {
    std::string path;
    std::uint64_t bytes = 0;
  };
  struct Layer {
    std::string digest;
    std::string diff_id;
    std::uint64_t blob_size = 0;
    std::uint64_t bytes = 0;  // file content in the layer
    std::uint64_t removed_files = 0;
    std::uint64_t removed_bytes = 0;
    std::vector<Removal> largest;  // largest removals, 5 at most
  };
  std::vector<Layer> layers;
  std::uint64_t input_bytes = 0;  // blobs of the input
  struct OutLayer {
    std::string digest;
    std::uint64_t size = 0;
    bool reused = false;
  };
  std::vector<OutLayer> output_layers;
  std::uint64_t output_bytes = 0;
  std::string output_manifest;
  std::string layer_mode;  // "squash", "keep"
};

// One --check: a command run in the result (trace/sandbox.hpp).
struct CheckRun {
  std::string command;  // as given
  int status = 0;       // exit status; 128 + N for signal N
  bool timed_out = false;
  std::string output;  // its last output, or why the sandbox could not run it
  bool sandbox_failed = false;
  bool passed() const { return status == 0 && !timed_out && !sandbox_failed; }
};

// What the --trace files contributed (the closure fills it).
struct TraceSummary {
  std::vector<std::string> files;  // as given
  std::size_t events = 0;
  std::size_t paths_kept = 0;  // distinct paths of the root reached from them
  // Failed probes (ENOENT, ENOTDIR, ENAMETOOLONG): where the workload looked
  // and found nothing; not kept.
  std::set<std::string> search_paths;
  // Paths the traces show existing that the root does not hold (the
  // workload made them, or /proc, /dev, /sys in the sandbox).
  std::set<std::string> not_in_root;
};

struct PruneReport {
  std::string root;     // host path of the pruned directory
  std::string sysroot;  // host path of --sysroot, if any
  std::string mode;     // "out", "in-place", "dry-run"
  std::string out_dir;
  std::vector<std::string> entries;
  // Interpreters that became entries for an entry without a #! line.
  struct ImpliedEntry {
    std::string path;
    std::string reason;
  };
  std::vector<ImpliedEntry> implied_entries;
  std::optional<TraceSummary> trace;
  Totals before, after;
  std::vector<ReportItem> removed;  // every removed entry
  std::vector<ReportItem> kept;     // every kept entry
  // Strings the items view that nothing else holds (npm package groups);
  // shared, so that a copy of the report views the same ones.
  std::shared_ptr<std::set<std::string, std::less<>>> names =
      std::make_shared<std::set<std::string, std::less<>>>();
  std::map<std::string, Totals, std::less<>> removed_by_rule;  // "unreachable" for closure removals
  std::map<std::string, Totals, std::less<>> kept_by_group;
  std::map<std::string, Totals, std::less<>> removed_by_group;
  std::vector<std::string> hints;
  std::vector<KeptWhole> kept_whole;  // in the order the closure reached them
  // npm packages that go whole (dev-only, build-only): what a user reads as
  // "typescript 32 MB removed: devDependency of orders-handler only".
  struct RemovedPackage {
    std::string path;
    std::string reason;
    std::uint64_t files = 0;
    std::uint64_t bytes = 0;
  };
  std::vector<RemovedPackage> removed_packages;  // largest first
  std::vector<std::string> warnings;
  std::vector<std::string> problems;  // verification and emit failures
  bool verified = false;
  // --check: each command, how it ended and its last output.
  std::vector<CheckRun> checks;
  // --rewrite-ref / --shrink-rpath: each file changed (or, in a dry run,
  // that would be), and whether the written result was checked again.
  struct Edit {
    std::string path;
    std::string what;
  };
  std::vector<Edit> edits;
  bool edits_written = false;
  // Files under the store directory: the store paths they name.
  std::vector<StoreReference> store_references;
  std::shared_ptr<ImageReport> image;  // set when ROOT was an image
};

// The human summary: before/after, totals by rule and by package, the 15
// largest kept and removed entries, hints, warnings, problems.
std::string render_report_text(const PruneReport& report);
std::string render_report_json(const PruneReport& report);

// "1.2 MB", "310 MB", "512 B".
std::string human_bytes(std::uint64_t bytes);

}  // namespace elfprune
