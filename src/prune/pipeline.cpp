#include "prune/pipeline.hpp"

#include <fmt/format.h>
#include <malloc.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <filesystem>
#include <set>
#include <system_error>
#include <tuple>
#include <unordered_set>

#include "elf/elf_info.hpp"
#include "facts/shebang.hpp"
#include "trace/sandbox.hpp"
#include "util/path.hpp"
#include "util/text.hpp"
#include "util/worker_pool.hpp"

namespace fs = std::filesystem;

namespace elfprune {
namespace {

std::string canonical_host(const std::string& p) {
  std::error_code ec;
  fs::path c = fs::canonical(p, ec);
  return ec ? fs::absolute(p).lexically_normal().string() : c.string();
}

bool host_inside(const std::string& child, const std::string& parent) {
  if (parent == "/") return true;
  return child == parent || child.rfind(parent + "/", 0) == 0;
}

void progress(PruneContext& ctx, std::string_view pass, std::size_t done = 0,
              std::size_t total = 0) {
  if (ctx.options.progress) ctx.options.progress(pass, done, total);
}

// The package, npm package or store path an entry belongs to, for the
// report's totals: a view of the package's name, of the path itself, or of
// a name kept in `names` ("" when none). `scratch` is reused between calls.
std::string_view group_of(const PruneContext& ctx, const std::string& path,
                          std::set<std::string, std::less<>>& names, std::string& scratch) {
  if (const DpkgPackage* p = ctx.dpkg.owner_of(path)) return p->name;
  const std::string& store = ctx.options.store_dir;
  if (path.size() > store.size() && path.starts_with(store) && path[store.size()] == '/') {
    return std::string_view(path).substr(0, path.find('/', store.size() + 1));
  }
  auto nm = path.rfind("/node_modules/");
  if (nm != std::string::npos) {
    std::size_t start = nm + 14;
    std::size_t end = path.find('/', start);
    if (end != std::string::npos && path[start] == '@') end = path.find('/', end + 1);
    scratch = "npm:";
    scratch += std::string_view(path).substr(
        start, end == std::string::npos ? std::string::npos : end - start);
    auto it = names.find(scratch);
    if (it == names.end()) it = names.insert(scratch).first;
    return *it;
  }
  // A Python distribution installed in a site directory (not by dpkg: a
  // venv, pip): named by the first component below it, a .dist-info or
  // .egg-info by the project name before its version.
  for (std::string_view site : {"/site-packages/", "/dist-packages/"}) {
    const auto at = path.rfind(site);
    if (at == std::string::npos) continue;
    const std::size_t start = at + site.size();
    std::string_view top = std::string_view(path).substr(start);
    top = top.substr(0, top.find('/'));
    if (top.empty() || top == "__pycache__" || top.ends_with(".pth")) return {};
    for (std::string_view meta : {".dist-info", ".egg-info"}) {
      if (top.ends_with(meta)) top = top.substr(0, top.find('-'));
    }
    if (top.ends_with(".py")) top.remove_suffix(3);
    if (auto dot = top.find('.'); dot != std::string_view::npos)
      top = top.substr(0, dot);  // _x.cpython-311.so
    scratch = "py:";
    for (char c : ascii_lower(top)) scratch += c == '_' ? '-' : c;
    auto it = names.find(scratch);
    if (it == names.end()) it = names.insert(scratch).first;
    return *it;
  }
  return {};
}

// For each entry, whether it is a further name of a hardlinked inode that
// an earlier entry with the same decision has already counted. Sorted by
// inode rather than looked up in a set of the inodes seen: a tree of
// hardlinked copies (cp -al) has as many of them as it has files.
std::vector<bool> repeated_links(const PruneContext& ctx) {
  const auto& entries = ctx.inventory.entries;
  const auto& decisions = ctx.plan.decisions;
  std::vector<std::size_t> linked;
  for (std::size_t i = 0; i < entries.size(); ++i) {
    if (entries[i].type != FileType::Directory && entries[i].nlink > 1) linked.push_back(i);
  }
  auto key = [&](std::size_t i) {
    return std::make_tuple(entries[i].dev, entries[i].ino, decisions[i].keep, i);
  };
  std::sort(linked.begin(), linked.end(),
            [&](std::size_t a, std::size_t b) { return key(a) < key(b); });
  std::vector<bool> repeated(entries.size(), false);
  for (std::size_t k = 1; k < linked.size(); ++k) {
    const std::size_t a = linked[k - 1], b = linked[k];
    repeated[b] = entries[a].dev == entries[b].dev && entries[a].ino == entries[b].ino &&
                  decisions[a].keep == decisions[b].keep;
  }
  return repeated;
}

// The totals of `group` in `table`, through the last one asked for:
// neighbouring entries mostly belong to the same group.
class TotalsOf {
 public:
  explicit TotalsOf(std::map<std::string, Totals, std::less<>>& table) : table_(table) {}
  Totals& operator[](std::string_view group) {
    if (last_ == nullptr || last_group_ != group) {
      auto it = table_.find(group);
      if (it == table_.end()) it = table_.emplace(std::string(group), Totals{}).first;
      last_group_ = it->first;
      last_ = &it->second;
    }
    return *last_;
  }

 private:
  std::map<std::string, Totals, std::less<>>& table_;
  std::string_view last_group_;
  Totals* last_ = nullptr;
};

// Hands the memory freed so far back to the kernel. Passes beside each
// other allocate in malloc's per-thread arenas, and what one of them frees
// is not reused by the next pass on another thread: it would stay in the
// peak memory of the run.
void release_free_memory() {
#if defined(__GLIBC__)
  ::malloc_trim(0);
#endif
}

// Runs one pass and records how long it took in `into`.
template <typename Pass>
auto timed(std::vector<PassTiming>& into, std::string_view name, Pass&& pass) {
  const auto start = std::chrono::steady_clock::now();
  struct Record {
    std::vector<PassTiming>& into;
    std::string_view name;
    std::chrono::steady_clock::time_point start;
    ~Record() {
      const std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
      into.push_back({std::string(name), took.count()});
    }
  } record{into, name, start};
  return pass();
}

// A pass that runs on another thread beside the calling thread's passes (on
// the calling thread, here and now, with --jobs 1 or when no thread can be
// had); join() waits for it, rethrows what it threw and files its timing.
class Beside {
 public:
  // `jobs`: as in PruneOptions.
  template <typename Pass>
  Beside(std::string_view name, unsigned jobs, Pass pass)
      : worker_(std::min(jobs_or_cores(jobs), 2U)) {
    worker_.submit([this, name, pass] { timed(timings_, name, pass); });
  }
  Beside(const Beside&) = delete;
  Beside& operator=(const Beside&) = delete;

  void join(std::vector<PassTiming>& into) {
    worker_.wait();
    into.insert(into.end(), timings_.begin(), timings_.end());
    timings_.clear();
  }

 private:
  std::vector<PassTiming> timings_;
  WorkerPool worker_;  // last: waits for the pass before timings_ goes
};

}  // namespace

PruneContext::PruneContext(PruneOptions opts)
    : options(std::move(opts)), root(options.sysroot.empty() ? options.root : options.sysroot) {
  if (options.sysroot.empty()) {
    top = "/";
  } else {
    const std::string r = canonical_host(options.root);
    const std::string s = canonical_host(options.sysroot);
    top = s == "/" ? r : r.substr(s.size());
    if (top.empty()) top = "/";
  }
  for (const auto& x : options.excludes) {
    // The directories on the way are resolved (an --exclude of /var/run/x
    // names /run/x); the last component is left out as named.
    const std::string path = lexically_absolute(x);
    auto parent = root.realpath(path_parent(path));
    excluded.insert(parent ? lexically_absolute(path_base(path), *parent) : path);
  }
  if (options.mode == EmitMode::Out) {
    const std::string out = canonical_host(options.out_dir);
    const std::string whole = root.host_dir().string();
    if (host_inside(out, whole) && out != whole) {
      excluded.insert(whole == "/" ? out : out.substr(whole.size()));
    }
  }
  // The passes look up the same paths and directories many times over; the
  // tree is read as the snapshot the inventory took.
  root.remember_stats();
  ResolveOptions ropts;
  ropts.loader = options.loader;
  resolver = std::make_unique<Resolver>(root, ropts);
}

// ROOT or --sysroot must be a directory this process can enter: say which
// of these it is not ("permission denied", not "not a directory", when a
// directory on the way is closed to this user).
Result<void> check_directory(const std::string& path, std::string_view what) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return make_error(path, fmt::format("{}{}", what, errno_text(errno)), ErrorKind::Usage);
  }
  if (!S_ISDIR(st.st_mode)) {
    return make_error(path, fmt::format("{}not a directory", what), ErrorKind::Usage);
  }
  if (::access(path.c_str(), X_OK) != 0) {
    return make_error(path, fmt::format("{}{}", what, errno_text(errno)), ErrorKind::Usage);
  }
  return {};
}

Result<void> check_options(const PruneOptions& o) {
  std::error_code ec;
  ELFPRUNE_TRY(check_directory(o.root, ""));
  const std::string root = canonical_host(o.root);
  if (!o.sysroot.empty()) {
    ELFPRUNE_TRY(check_directory(o.sysroot, "--sysroot: "));
    if (!host_inside(root, canonical_host(o.sysroot))) {
      return make_error(o.root, fmt::format("not inside --sysroot {}", o.sysroot),
                        ErrorKind::Usage);
    }
  }
  if (o.mode == EmitMode::Out) {
    if (o.out_dir.empty()) return make_error("--out", "needs a directory", ErrorKind::Usage);
    // Inside the root it is allowed (`prune / --out /slim` in a container
    // build stage): the inventory leaves it out.
    if (host_inside(root, canonical_host(o.out_dir))) {
      return make_error(o.out_dir, "--out must not be or contain the root", ErrorKind::Usage);
    }
    if (fs::exists(o.out_dir, ec) || fs::is_symlink(o.out_dir, ec)) {
      if (!fs::is_directory(fs::symlink_status(o.out_dir, ec)) || !fs::is_empty(o.out_dir, ec)) {
        return make_error(o.out_dir, "--out must not exist or be an empty directory",
                          ErrorKind::Usage);
      }
    }
  }
  for (const auto& x : o.excludes) {
    if (x.empty() || lexically_absolute(x) == "/") {
      return make_error(x.empty() ? "--exclude" : x, "--exclude takes a path below /",
                        ErrorKind::Usage);
    }
  }
  if (o.mode == EmitMode::InPlace &&
      canonical_host(o.sysroot.empty() ? o.root : o.sysroot) == "/" && root == "/" &&
      !o.allow_live_root) {
    return make_error(o.root,
                      "refusing to prune the running system's / in place (use --out DIR or "
                      "--dry-run; --allow-live-root if that is really what you want)",
                      ErrorKind::Usage);
  }
  return {};
}

Result<void> pass_interrupted(PruneContext& ctx) {
  auto lock = lock_tree(ctx.root, ctx.top, ctx.options.mode == EmitMode::InPlace);
  ELFPRUNE_TRY(lock);
  ctx.lock = std::move(*lock);
  if (ctx.options.mode != EmitMode::InPlace) {
    if (!has_journal(ctx.root, ctx.top)) return {};
    return make_error(
        lexically_absolute(kJournalName, ctx.top),
        "an interrupted --in-place run left this journal: the tree is half-pruned and would "
        "not be planned as a whole; run prune --in-place again to finish it (or delete the "
        "journal to plan the tree as it is now)",
        ErrorKind::Usage);
  }
  progress(ctx, "finish");
  EmitOptions eo;
  eo.progress = [&ctx](std::size_t done, std::size_t total) {
    progress(ctx, "finish", done, total);
  };
  auto finished = finish_interrupted(ctx.root, ctx.top, eo);
  ELFPRUNE_TRY(finished);
  ctx.finished = std::move(*finished);
  return {};
}

Result<void> pass_inventory(PruneContext& ctx) {
  progress(ctx, "inventory");
  auto inv =
      take_inventory(ctx.root, ctx.top, {std::string(kJournalName), std::string(kJournalTempName)},
                     ctx.options.jobs, ctx.excluded);
  ELFPRUNE_TRY(inv);
  ctx.inventory = std::move(*inv);
  // From here on nothing resolves below a mount point or into a path left
  // out: a path string naming /proc/self/exe is no edge into the live system.
  auto bounds = std::make_shared<Root::Boundaries>();
  bounds->sealed.insert(ctx.inventory.mount_points.begin(), ctx.inventory.mount_points.end());
  bounds->excluded = ctx.excluded;
  if (!bounds->sealed.empty() || !bounds->excluded.empty()) ctx.root.set_boundaries(bounds);
  for (const auto& e : ctx.options.entries) {
    if (!ctx.root.exists(e)) {
      return make_error(e, "entry does not exist in the root", ErrorKind::Usage);
    }
  }
  return {};
}

void pass_packages(PruneContext& ctx) {
  ctx.dpkg = read_dpkg(ctx.root);
}

void pass_close(PruneContext& ctx) {
  progress(ctx, "close");
  ClosureInputs in;
  for (const auto& e : ctx.options.entries) in.entries.push_back(lexically_absolute(e));
  in.keep_globs = ctx.options.keep_globs;
  in.dlopen_names = ctx.options.dlopen_names;
  in.store_dir = ctx.options.store_dir;
  in.rewrites = ctx.options.rewrites;
  in.jobs = ctx.options.jobs;
  in.npm = &ctx.npm;
  in.traces = &ctx.options.traces;
  ctx.closure = compute_closure(ctx.root, ctx.inventory, *ctx.resolver, ctx.dpkg, in);
  if (ctx.closure.everything && !ctx.options.keep_globs.empty()) {
    // Without entries everything is kept anyway; --keep still shields files
    // from the rules, which the plan sees through the matches pass below.
  }
}

void pass_npm(PruneContext& ctx) {
  ctx.npm = read_npm_tree(ctx.root, ctx.inventory);
}

void pass_classify(PruneContext& ctx) {
  RuleInputs in;
  in.keep_locales = ctx.options.keep_locales;
  in.drop_globs = ctx.options.drop_globs;
  in.npm = &ctx.npm;
  ctx.matches = classify(ctx.root, ctx.inventory, in);
  // --keep wins over every rule.
  for (const auto& g : ctx.options.keep_globs) {
    for (auto it = ctx.matches.begin(); it != ctx.matches.end();) {
      it = g.matches(it->first) ? ctx.matches.erase(it) : std::next(it);
    }
  }
}

void pass_plan(PruneContext& ctx) {
  progress(ctx, "plan");
  if (ctx.closure.everything) {
    // Every file is a root: the loader dependencies of the ELF files and
    // scripts that stay decide what the rules may not remove.
    std::vector<std::string> candidates;
    for (const auto& e : ctx.inventory.entries) {
      if (e.type != FileType::Regular && e.type != FileType::Symlink) continue;
      auto m = ctx.matches.find(e.path);
      if (m != ctx.matches.end() && m->second.condition == RuleCondition::Always) continue;
      candidates.push_back(e.path);
    }
    add_loader_deps(ctx.root, *ctx.resolver, candidates, ctx.closure);
  } else {
    // make_plan reads the matches of the closure's entries and of
    // directories only: a file outside the closure goes, whatever rule
    // matched it. On a live system most entries match one (caches, Python
    // files, docs under /root and /home), and those matches were the
    // largest part of the run's peak memory: they go before the plan is
    // made, with the memory they held. The few read are moved out (looking
    // up the many to erase them took longer than the plan).
    std::unordered_map<std::string, RuleMatch> read;
    read.reserve(ctx.closure.reached.size());
    auto keep = [&](const std::string& path) {
      if (auto node = ctx.matches.extract(path)) read.insert(std::move(node));
    };
    for (const auto& [path, reason] : ctx.closure.reached) keep(path);
    for (const auto& e : ctx.inventory.entries) {
      if (e.type == FileType::Directory) keep(e.path);
    }
    ctx.matches.swap(read);
    std::unordered_map<std::string, RuleMatch>().swap(read);
    release_free_memory();
  }
  ctx.plan = make_plan(ctx.inventory, ctx.closure, ctx.matches);
  // Nothing after the plan reads them: the report's items are built next.
  std::unordered_map<std::string, RuleMatch>().swap(ctx.matches);
  release_free_memory();
}

Result<void> pass_emit(PruneContext& ctx) {
  progress(ctx, "emit");
  EmitOptions eo;
  eo.mode = ctx.options.mode;
  eo.out_dir = ctx.options.out_dir;
  eo.threads = ctx.options.jobs;
  eo.progress = [&ctx](std::size_t done, std::size_t total) { progress(ctx, "emit", done, total); };
  // --in-place removes; --out and --dry-run go to emit.
  auto stats = ctx.options.mode == EmitMode::InPlace
                   ? remove_in_place(ctx.root, ctx.inventory, ctx.plan.keep_mask(), eo)
                   : emit(ctx.root, ctx.inventory, ctx.plan.keep_mask(), eo);
  ELFPRUNE_TRY(stats);
  ctx.emitted = std::move(*stats);
  return {};
}

namespace {

// The topmost removed paths: a removed directory hides everything below it
// (on a live system, a few thousand paths rather than 440,000). A
// directory's subtree follows it in the inventory.
std::vector<std::string> topmost_removed(const PruneContext& ctx) {
  std::vector<std::string> removed;
  std::string_view hidden_dir;  // the last removed directory, with its subtree next
  for (std::size_t i = 0; i < ctx.inventory.entries.size(); ++i) {
    const InventoryEntry& e = ctx.inventory.entries[i];
    if (!hidden_dir.empty() && e.path.size() > hidden_dir.size() &&
        e.path.starts_with(hidden_dir) && e.path[hidden_dir.size()] == '/') {
      continue;
    }
    hidden_dir = {};
    if (ctx.plan.decisions[i].keep) continue;
    removed.push_back(e.path);
    if (e.type == FileType::Directory) hidden_dir = e.path;
  }
  return removed;
}

// Root::resolve checks each component of a path against the hidden set, so
// the topmost removed paths hide the rest.
Root result_view(const PruneContext& ctx) {
  auto removed = std::make_shared<std::unordered_set<std::string>>();
  for (auto& p : topmost_removed(ctx)) removed->insert(std::move(p));
  return ctx.root.without(removed);
}

}  // namespace

void pass_check(PruneContext& ctx) {
  if (ctx.options.checks.empty()) return;
  progress(ctx, "check");
  SandboxOptions so;
  // The written tree where it is complete; otherwise the root with the
  // planned removals hidden (whiteouts in the overlay): in place this runs
  // before anything is deleted.
  if (ctx.options.mode == EmitMode::Out) {
    so.tree = ctx.options.out_dir;
  } else {
    so.tree = ctx.root.host_dir();
    so.hidden = topmost_removed(ctx);
  }
  so.timeout_seconds = ctx.options.check_timeout;
  for (const auto& check : ctx.options.checks) {
    so.argv = check.argv;
    CheckRun run;
    run.command = check.line;
    auto ran = run_in_sandbox(so);
    if (ran) {
      run.status = ran->status;
      run.timed_out = ran->timed_out;
      run.output = std::move(ran->output);
    } else {
      run.sandbox_failed = true;
      run.output = fmt::format("{}: {}", ran.error().path, ran.error().message);
    }
    ctx.checked.push_back(std::move(run));
  }
}

namespace {

bool checks_failed(const PruneContext& ctx) {
  for (const auto& c : ctx.checked) {
    if (!c.passed()) return true;
  }
  return false;
}

}  // namespace

void pass_verify(PruneContext& ctx) {
  progress(ctx, "verify");
  // The view of the result: the written tree itself where it is complete,
  // the root without the removed paths otherwise (a dry run, in place, or
  // --out of a directory inside a --sysroot, whose outside files --out does
  // not copy). In place, this runs before emit: the original tree is needed to compare
  // with, and emit removes exactly the hidden paths, so the view is exact.
  std::optional<Root> after;
  if (ctx.options.mode == EmitMode::Out && ctx.options.sysroot.empty()) {
    after.emplace(ctx.options.out_dir);
    after->remember_stats();  // written and complete: it no longer changes
  } else {
    after.emplace(result_view(ctx));
  }
  ctx.verified = verify(ctx.root, *after, ctx.inventory, ctx.plan, ctx.options.loader,
                        ctx.resolver.get(), &ctx.closure.scripts_as_data);
}

void pass_edit(PruneContext& ctx, bool check_only) {
  EditOptions eo;
  eo.rewrites = ctx.options.rewrites;
  eo.shrink_rpath = ctx.options.shrink_rpath;
  eo.dlopen_names = ctx.options.dlopen_names;
  eo.loader = ctx.options.loader;
  if (!wants_edits(eo)) return;
  progress(ctx, "edit");
  const EmitMode mode = ctx.options.mode;
  // The tree to read and resolve in: the written one where it is complete.
  std::optional<Root> tree;
  if (!check_only && mode == EmitMode::Out && ctx.options.sysroot.empty()) {
    tree.emplace(ctx.options.out_dir);
  } else if (!check_only && mode == EmitMode::InPlace) {
    tree.emplace(ctx.root.host_dir());
  } else {
    tree.emplace(result_view(ctx));
  }
  if (!check_only && mode == EmitMode::Out) eo.write_dir = ctx.options.out_dir;
  if (!check_only && mode == EmitMode::InPlace) eo.write_dir = ctx.root.host_dir();
  ctx.edited = apply_edits(*tree, ctx.inventory, ctx.plan.keep_mask(), eo);
}

void pass_store_removed(PruneContext& ctx) {
  ctx.store_refs = StoreReferences(ctx.options.store_dir);
  for (std::size_t i = 0; i < ctx.inventory.entries.size(); ++i) {
    const InventoryEntry& e = ctx.inventory.entries[i];
    if (ctx.plan.decisions[i].keep || !ctx.store_refs.in_store(e.path)) continue;
    if (e.type == FileType::Symlink) {
      ctx.store_refs.add(e.path, e.link_target, 0, false);
    } else if (e.type == FileType::Regular) {
      if (auto m = ctx.root.map_file(e.path)) ctx.store_refs.add(e.path, m->bytes(), e.size, false);
    }
  }
}

void pass_store_kept(PruneContext& ctx) {
  const EmitMode mode = ctx.options.mode;
  // Kept files as written: in OUT, or in ROOT (in place, or a dry run,
  // whose edits are applied here in memory).
  const Root written = mode == EmitMode::Out ? Root(ctx.options.out_dir) : ctx.root;
  const bool apply_rewrites = mode == EmitMode::DryRun && !ctx.options.rewrites.empty();
  for (std::size_t i = 0; i < ctx.inventory.entries.size(); ++i) {
    const InventoryEntry& e = ctx.inventory.entries[i];
    if (!ctx.plan.decisions[i].keep || !ctx.store_refs.in_store(e.path)) continue;
    if (e.type == FileType::Symlink) {
      std::string target = e.link_target;  // unless --rewrite-ref changed it
      std::error_code ec;
      if (auto t = fs::read_symlink(written.host(e.path), ec); !ec) target = t.string();
      if (apply_rewrites) {
        if (auto r = rewrite_references(target, nullptr, ctx.options.rewrites, e.path); r && *r)
          target = (*r)->bytes;
      }
      ctx.store_refs.add(e.path, target, 0, true);
    } else if (e.type == FileType::Regular) {
      auto m = written.map_file(e.path);
      if (!m) continue;
      if (apply_rewrites && !find_references(m->bytes(), ctx.options.rewrites).empty()) {
        std::shared_ptr<const ElfInfo> elf;
        if (has_elf_magic(m->bytes())) {
          if (auto parsed = ctx.resolver->elf_info(e.path)) elf = *parsed;
        }
        auto r = rewrite_references(m->bytes(), elf.get(), ctx.options.rewrites, e.path);
        if (r && *r) {
          ctx.store_refs.add(e.path, (*r)->bytes, e.size, true);
          continue;
        }
      }
      ctx.store_refs.add(e.path, m->bytes(), e.size, true);
    }
  }
}

void pass_report(PruneContext& ctx) {
  progress(ctx, "report");
  PruneReport& r = ctx.report;
  r.root = canonical_host(ctx.options.root);
  r.sysroot = ctx.options.sysroot.empty() ? "" : canonical_host(ctx.options.sysroot);
  r.mode = ctx.options.mode == EmitMode::Out       ? "out"
           : ctx.options.mode == EmitMode::InPlace ? "in-place"
                                                   : "dry-run";
  r.out_dir = ctx.options.out_dir;
  r.entries = ctx.options.entries;
  for (const auto& [path, why] : ctx.closure.implied_entries)
    r.implied_entries.push_back({path, why});
  if (!ctx.options.traces.empty()) r.trace = ctx.closure.trace;
  r.before = {ctx.inventory.file_count(), ctx.inventory.total_bytes()};
  const auto& entries = ctx.inventory.entries;
  const auto& decisions = ctx.plan.decisions;
  std::size_t kept = 0;
  for (std::size_t i = 0; i < entries.size(); ++i) {
    kept += decisions[i].keep && entries[i].type != FileType::Directory ? 1 : 0;
  }
  r.kept.reserve(kept);
  r.removed.reserve(static_cast<std::size_t>(std::count_if(
      decisions.begin(), decisions.end(), [](const Decision& d) { return !d.keep; })));
  const std::vector<bool> repeated = repeated_links(ctx);
  TotalsOf kept_by_group(r.kept_by_group), removed_by_group(r.removed_by_group);
  TotalsOf removed_by_rule(r.removed_by_rule);
  std::string scratch;
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const InventoryEntry& e = entries[i];
    const Decision& d = decisions[i];
    if (e.type == FileType::Directory) {
      if (!d.keep) r.removed.push_back({e.path, 0, d.reason, d.rule, ""});
      continue;
    }
    std::uint64_t bytes = e.type == FileType::Regular ? e.size : 0;
    if (repeated[i]) bytes = 0;  // counted once
    const ReportItem item{e.path, bytes, d.reason, d.rule,
                          group_of(ctx, e.path, *r.names, scratch)};
    if (d.keep) {
      r.after.files += 1;
      r.after.bytes += bytes;
      if (!item.group.empty()) {
        Totals& t = kept_by_group[item.group];
        t.files += 1;
        t.bytes += bytes;
      }
      r.kept.push_back(item);
    } else {
      Totals& by_rule = removed_by_rule[d.rule.empty() ? std::string_view("unreachable") : d.rule];
      by_rule.files += 1;
      by_rule.bytes += bytes;
      if (!item.group.empty()) {
        Totals& t = removed_by_group[item.group];
        t.files += 1;
        t.bytes += bytes;
      }
      r.removed.push_back(item);
    }
  }
  // Hints: heavy kept files, with the chain that keeps them.
  const std::uint64_t heavy = std::max<std::uint64_t>(5'000'000, r.after.bytes / 20);
  if (!ctx.closure.everything) {
    for (const auto& k : r.kept) {
      if (k.bytes < heavy) continue;
      std::vector<std::string> steps;
      for (const auto& [p, why] : ctx.closure.chain(std::string(k.path))) {
        if (why.kind == EdgeKind::Symlink) continue;
        steps.push_back(why.kind == EdgeKind::Entry ? fmt::format("{} is an entry", p)
                                                    : describe(why));
      }
      r.hints.push_back(fmt::format("{} {} is kept because {}", human_bytes(k.bytes), k.path,
                                    fmt::join(steps, "; ")));
    }
  }
  // Directories kept whole, each once (the last, strongest visit says how),
  // with what is kept below them.
  {
    std::unordered_map<std::string, std::size_t> at;
    for (const auto& w : ctx.closure.whole_directories) {
      KeptWhole k{w.path, describe(w.reason), w.programs_as_data, 0, 0};
      if (auto [it, fresh] = at.emplace(w.path, r.kept_whole.size()); !fresh) {
        r.kept_whole[it->second] = std::move(k);
      } else {
        r.kept_whole.push_back(std::move(k));
      }
    }
    for (auto& k : r.kept_whole) {
      const InventoryEntry* first = ctx.inventory.entries.data();
      ctx.inventory.for_each_below(k.path, [&](const InventoryEntry& e, std::string_view) {
        const auto i = static_cast<std::size_t>(&e - first);
        if (!ctx.plan.decisions[i].keep || e.type == FileType::Directory) return;
        k.files += 1;
        if (e.type == FileType::Regular) k.bytes += e.size;
      });
    }
  }
  // npm packages removed whole, with why (the rule's reason, or the npm
  // graph's when the closure left them out first), largest first.
  {
    const InventoryEntry* first = ctx.inventory.entries.data();
    auto add = [&](const std::string& dir, const std::string& why) {
      auto at = ctx.inventory.index.find(dir);
      if (at == ctx.inventory.index.end() || ctx.plan.decisions[at->second].keep) return;
      PruneReport::RemovedPackage p{dir, why, 0, 0};
      ctx.inventory.for_each_below(dir, [&](const InventoryEntry& e, std::string_view rel) {
        // Its nested packages are listed on their own.
        if (in_nested_node_modules(rel)) return;
        if (ctx.plan.decisions[static_cast<std::size_t>(&e - first)].keep) return;
        if (e.type != FileType::Directory) p.files += 1;
        if (e.type == FileType::Regular) p.bytes += e.size;
      });
      r.removed_packages.push_back(std::move(p));
    };
    for (const auto& [dir, why] : ctx.npm.dev_only) add(dir, why);
    for (const auto& dir : ctx.npm.build_only) add(dir, "needed only by build tools");
    std::stable_sort(r.removed_packages.begin(), r.removed_packages.end(),
                     [](const auto& a, const auto& b) { return a.bytes > b.bytes; });
  }
  if (ctx.finished.found) {
    r.warnings.push_back(fmt::format(
        "{}: finished the interrupted --in-place run it records first: {} of {} entries removed",
        lexically_absolute(kJournalName, ctx.top), ctx.finished.stats.removed,
        ctx.finished.listed));
  }
  for (const auto& p : ctx.finished.stats.problems)
    r.problems.push_back(fmt::format("{}: {}", p.path, p.message));
  for (const auto& p : ctx.inventory.problems)
    r.warnings.push_back(fmt::format("{}: {}", p.path, p.message));
  for (const auto& w : ctx.dpkg.warnings) r.warnings.push_back(w);
  for (const auto& w : ctx.npm.warnings) r.warnings.push_back(w);
  for (const auto& w : ctx.closure.warnings) r.warnings.push_back(w);
  for (const auto& w : ctx.plan.warnings) r.warnings.push_back(w);
  for (const auto& n : ctx.verified.notes) r.warnings.push_back(n);
  for (const auto& p : ctx.emitted.problems)
    r.problems.push_back(fmt::format("{}: {}", p.path, p.message));
  for (const auto& p : ctx.verified.problems)
    r.problems.push_back(fmt::format("{}: {}", p.path, p.message));
  for (const auto& p : ctx.edited.problems)
    r.problems.push_back(fmt::format("{}: {}", p.path, p.message));
  for (const auto& e : ctx.edited.edits) r.edits.push_back({e.path, e.what});
  for (const auto& w : ctx.edited.warnings) r.warnings.push_back(w);
  r.store_references = ctx.store_refs.result();
  r.edits_written = ctx.edited.verified;
  r.checks = ctx.checked;
  for (const auto& check : ctx.checked) {
    if (check.passed()) continue;
    r.problems.push_back(fmt::format("--check '{}' {}", check.command,
                                     check.sandbox_failed ? "could not run: " + check.output
                                     : check.timed_out
                                         ? fmt::format("timed out (--check-timeout)")
                                         : fmt::format("failed: exit status {}", check.status)));
  }
  r.verified = true;
}

Result<std::unique_ptr<PruneContext>> plan_prune(PruneOptions options) {
  ELFPRUNE_TRY(check_options(options));
  auto ctx = std::make_unique<PruneContext>(std::move(options));
  PruneContext& c = *ctx;
  if (auto done = timed(c.timings, "finish", [&] { return pass_interrupted(c); }); !done) {
    return done.error();
  }
  // The package database does not depend on the inventory, nor the rules
  // on the closure: each runs on another core meanwhile.
  Beside packages("packages", c.options.jobs, [&c] { pass_packages(c); });
  auto inv = timed(c.timings, "inventory", [&] { return pass_inventory(c); });
  packages.join(c.timings);
  ELFPRUNE_TRY(inv);
  // From here on the tree is read as the inventory saw it.
  c.root.use_snapshot([&inventory = c.inventory](const std::string& path, struct stat& st,
                                                 std::optional<std::string>& target) {
    return inventory.lstat(path, st, target);
  });
  // The npm graph serves both: the closure brings projects' run-time
  // packages, the rules remove their dev-only and build-only ones.
  timed(c.timings, "npm", [&] { pass_npm(c); });
  Beside rules("classify", c.options.jobs, [&c] { pass_classify(c); });
  timed(c.timings, "close", [&] { pass_close(c); });
  rules.join(c.timings);
  timed(c.timings, "plan", [&] { pass_plan(c); });
  return ctx;
}

Result<std::unique_ptr<PruneContext>> prune(PruneOptions options) {
  auto planned = plan_prune(std::move(options));
  ELFPRUNE_TRY(planned);
  auto ctx = std::move(*planned);
  PruneContext& c = *ctx;
  // Held until this returns, whichever way: the report outlives the tree work.
  const TreeLock lock = std::move(c.lock);
  const bool in_place = c.options.mode == EmitMode::InPlace;
  const bool dry_run = c.options.mode == EmitMode::DryRun;
  if (in_place) timed(c.timings, "verify", [&] { pass_verify(c); });
  // Edits that cannot be made stop the run before anything is written.
  timed(c.timings, "check edits", [&] { pass_edit(c, /*check_only=*/true); });
  if (in_place && c.verified.problems.empty() && c.edited.problems.empty()) {
    timed(c.timings, "check", [&] { pass_check(c); });
  }
  if ((in_place && (!c.verified.problems.empty() || checks_failed(c))) ||
      !c.edited.problems.empty()) {
    // The result would be broken: nothing is removed or written.
    c.report.warnings.push_back(
        "the plan failed its checks before anything was written: nothing was changed");
    timed(c.timings, "report", [&] { pass_report(c); });
    return ctx;
  }
  timed(c.timings, "store (removed)", [&] { pass_store_removed(c); });
  if (auto emitted = timed(c.timings, "emit", [&] { return pass_emit(c); }); !emitted) {
    return emitted.error();
  }
  if (!in_place) timed(c.timings, "verify", [&] { pass_verify(c); });
  if (!dry_run) timed(c.timings, "edit", [&] { pass_edit(c, /*check_only=*/false); });
  // After the edits, on the result as it stays (in place: done above).
  if (!in_place) timed(c.timings, "check", [&] { pass_check(c); });
  timed(c.timings, "store (kept)", [&] { pass_store_kept(c); });
  timed(c.timings, "report", [&] { pass_report(c); });
  return ctx;
}

}  // namespace elfprune
