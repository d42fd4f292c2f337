// The prune pipeline as named passes over one context:
// inventory → resolve/close → classify → plan → emit → verify → report.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "facts/dpkg.hpp"
#include "facts/npm.hpp"
#include "facts/store_refs.hpp"
#include "loader/resolver.hpp"
#include "prune/closure.hpp"
#include "prune/plan.hpp"
#include "prune/report.hpp"
#include "prune/rules.hpp"
#include "prune/verify.hpp"
#include "tree/inventory.hpp"
#include "tree/root.hpp"
#include "write/emit.hpp"
#include "write/in_place.hpp"
#include "write/kept_file_edits.hpp"

namespace elfprune {

struct PruneOptions {
  std::string root;                  // host path of ROOT
  std::string sysroot;               // host path of --sysroot; empty: ROOT is its own root
  std::vector<std::string> entries;  // inside paths
  // Compiled by whoever fills the options, so a bad pattern is refused
  // before the run starts and each is parsed once, not once per entry.
  std::vector<GlobPattern> keep_globs;
  std::vector<GlobPattern> drop_globs;
  std::vector<std::string> keep_locales;
  std::vector<std::string> dlopen_names;
  std::vector<TraceFile> traces;  // --trace, read and checked by whoever fills the options
  // --exclude: inside paths left out of the inventory with everything below
  // them (neither kept, removed nor resolved through). An --out directory
  // inside the root is left out the same way.
  std::vector<std::string> excludes;
  // --in-place on the host's own "/" is refused without this.
  bool allow_live_root = false;
  EmitMode mode = EmitMode::DryRun;
  std::string out_dir;  // host path, for EmitMode::Out
  std::string store_dir = "/nix/store";
  std::vector<PathRewrite> rewrites;  // --rewrite-ref
  bool shrink_rpath = false;
  // --check: commands that must succeed in the result (trace/sandbox.hpp).
  struct Check {
    std::string line;               // as given
    std::vector<std::string> argv;  // split
  };
  std::vector<Check> checks;
  unsigned check_timeout = 300;
  unsigned jobs = 0;  // threads, this one included; 0: usable_cores() (src/util/worker_pool.hpp)
  LoaderOptions loader;
  // Progress callback: (pass name, done, total); total 0 when unknown.
  std::function<void(std::string_view, std::size_t, std::size_t)> progress;
};

// Wall time of one pass, for `prune --timings`.
struct PassTiming {
  std::string pass;
  double seconds = 0;
};

struct PruneContext {
  explicit PruneContext(PruneOptions opts);

  PruneOptions options;
  Root root;        // the root paths resolve in (the sysroot, or ROOT)
  std::string top;  // ROOT inside `root`
  // Canonical inside paths the inventory leaves out: --exclude, and --out
  // when it lies inside the root.
  std::unordered_set<std::string> excluded;
  TreeLock lock;  // on ROOT from the first pass, till prune() returns (src/write/in_place.hpp)
  FinishedRun finished;  // an interrupted --in-place run this one finished first
  std::unique_ptr<Resolver> resolver;
  Inventory inventory;
  DpkgDb dpkg;
  NpmTree npm;
  Closure closure;
  std::unordered_map<std::string, RuleMatch> matches;
  Plan plan;
  EmitStats emitted;
  VerifyResult verified;
  EditResult edited;
  std::vector<CheckRun> checked;  // --check, in order
  StoreReferences store_refs{"/nix/store"};
  PruneReport report;
  std::vector<PassTiming> timings;  // in the order the passes ran
};

// Each pass; `prune` runs them all. Errors end the run (bad ROOT, bad
// --out); problems on single files are collected in the context.
//
// pass_interrupted comes first: it locks ROOT (TreeLock), then --in-place
// finishes the removals an interrupted run journalled (src/write/in_place.hpp) before
// planning anything; the other modes refuse a tree that holds such a
// journal, as it is half-pruned and a plan of it would not be the plan of
// the tree (a usage error naming the journal: finish it with --in-place, or
// delete it).
Result<void> pass_interrupted(PruneContext& ctx);
Result<void> pass_inventory(PruneContext& ctx);
void pass_packages(PruneContext& ctx);  // the dpkg database; runs beside pass_inventory
void pass_npm(PruneContext& ctx);       // the npm graph, before the closure and the rules
void pass_close(PruneContext& ctx);
void pass_classify(PruneContext& ctx);
void pass_plan(PruneContext& ctx);
Result<void> pass_emit(PruneContext& ctx);
void pass_verify(PruneContext& ctx);
// --rewrite-ref / --shrink-rpath: checked on the plan's view before anything
// is written (check_only), then applied to the written tree and verified.
void pass_edit(PruneContext& ctx, bool check_only);
// --check: each command run in the result, or in place on the root with the
// planned removals hidden (trace/sandbox.hpp).
void pass_check(PruneContext& ctx);
// Store paths named by the files under the store directory: those of the
// removed files before they go, those of the kept files as written.
void pass_store_removed(PruneContext& ctx);
void pass_store_kept(PruneContext& ctx);
void pass_report(PruneContext& ctx);

// Everything up to the plan (what `why` needs), or the whole pipeline.
Result<std::unique_ptr<PruneContext>> plan_prune(PruneOptions options);
Result<std::unique_ptr<PruneContext>> prune(PruneOptions options);

// Validate ROOT/--sysroot/--out/entries before anything is read or written.
Result<void> check_options(const PruneOptions& options);

}  // namespace elfprune
