// `prune`, `why` and `rules`: thin wrappers over the pipeline.
#include <fmt/format.h>
#include <fmt/ostream.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "image/reference.hpp"
#include "prune/image_prune.hpp"
#include "prune/pipeline.hpp"
#include "trace/sandbox.hpp"
#include "trace/trace_file.hpp"

namespace elfprune::cli {
namespace {

void add_selection_options(CLI::App* cmd, SelectionOptions& o) {
  repeatable(
      cmd->add_option("--entry", o.entries,
                      "A program that must keep working (path inside ROOT); repeatable. "
                      "Without entries every file is kept unless an artefact rule removes it"),
      "PATH");
  repeatable(
      cmd->add_option("--keep", o.keep_globs, "Keep paths matching GLOB whatever the rules say"),
      "GLOB");
  repeatable(cmd->add_option("--drop", o.drop_globs, "Remove paths matching GLOB (rule 'drop')"),
             "GLOB");
  repeatable(cmd->add_option("--keep-locale", o.keep_locales,
                             "Keep translations and compiled locales of LANG (de, pt_BR, ...)"),
             "LANG");
  repeatable(cmd->add_option("--dlopen", o.dlopen_names,
                             "A library the entries load with dlopen(): keep it and what it needs"),
             "SONAME");
  repeatable(cmd->add_option("--trace", o.traces,
                             "A trace of the workload (`elfprune trace`); repeatable. Every path "
                             "it shows existing is kept, with the symlinks on the way and what "
                             "the loader, interpreters and application rules add, in place of "
                             "the static guesses: no package or path-string edges, no Python "
                             "module directories kept whole but a venv's. Failed probes "
                             "(ENOENT) are not kept"),
             "FILE");
  repeatable(cmd->add_option("--exclude", o.excludes,
                             "Leave PATH (inside ROOT) and everything below it out: not "
                             "inventoried, kept, removed or resolved through (build caches, "
                             "a bind-mounted source tree); repeatable. An --out DIR inside "
                             "ROOT is left out the same way"),
             "PATH");
  cmd->add_option("--sysroot", o.sysroot,
                  "ROOT is a directory inside DIR: absolute paths resolve in DIR, only ROOT's "
                  "files are pruned (--sysroot / for a Nix output or an npm tree)")
      ->type_name("DIR");  // checked with the other paths in check_options
  cmd->add_option("--store-dir", o.store_dir, "Nix store directory (default /nix/store)")
      ->type_name("DIR");
  cmd->add_option("--hwcaps", o.hwcaps, "x86-64 level for glibc-hwcaps: host, baseline, v2, v3, v4")
      ->type_name("LEVEL");
  cmd->add_option("--platform", o.platform,
                  "An image ROOT: the platform to take from a multi-platform image (default "
                  "linux/amd64; attestation manifests are skipped)")
      ->type_name("OS/ARCH[/VARIANT]");
  cmd->add_flag("--no-config-entries", o.no_config_entries,
                "An image ROOT: do not take entries from its config (Entrypoint, Cmd, "
                "WorkingDir, LAMBDA_TASK_ROOT, NODE_PATH, PYTHONPATH); only --entry counts");
}

// An image where ROOT goes: the same selection, plus where the image
// options say.
ImageOptions to_image_options(const SelectionOptions& o) {
  ImageOptions image;
  image.platform = o.platform;
  image.config_entries = !o.no_config_entries;
  return image;
}

// Each GLOB compiled once, before anything is read: a bad one is bad usage
// naming the option, not a pattern that silently matches nothing.
Result<std::vector<GlobPattern>> compile_globs(std::string_view option,
                                               const std::vector<std::string>& globs) {
  std::vector<GlobPattern> compiled;
  for (const auto& g : globs) {
    auto pattern = GlobPattern::compile(g);
    if (!pattern) {
      return make_error(fmt::format("{} '{}'", option, g), pattern.error().message,
                        ErrorKind::Usage);
    }
    compiled.push_back(std::move(*pattern));
  }
  return compiled;
}

Result<PruneOptions> to_prune_options(const std::string& root, const SelectionOptions& o) {
  PruneOptions p;
  p.root = root;
  p.sysroot = o.sysroot;
  for (const auto& e : o.entries) p.entries.push_back(lexically_absolute(e));
  ELFPRUNE_TRY_ASSIGN(p.keep_globs, compile_globs("--keep", o.keep_globs));
  ELFPRUNE_TRY_ASSIGN(p.drop_globs, compile_globs("--drop", o.drop_globs));
  p.keep_locales = o.keep_locales;
  p.dlopen_names = o.dlopen_names;
  for (const auto& file : o.traces) {
    ELFPRUNE_TRY_ASSIGN(auto trace, read_trace(file));
    p.traces.push_back(std::move(trace));
  }
  p.excludes = o.excludes;
  p.store_dir = o.store_dir;
  auto level = parse_hwcaps_level(o.hwcaps);
  if (!level) {
    return make_error("--hwcaps",
                      fmt::format("unknown level '{}' (host, baseline, v2, v3, v4)", o.hwcaps),
                      ErrorKind::Usage);
  }
  p.loader.hwcaps = *level;
  return p;
}

// Passes that ran side by side both count their time: the total is the
// wall time of the whole run, measured apart.
void print_timings(const std::vector<PassTiming>& timings, double total, std::ostream& err) {
  for (const auto& t : timings) {
    fmt::print(err, "elfprune: {:<16} {:8.3f} s\n", t.pass, t.seconds);
  }
  fmt::print(err, "elfprune: {:<16} {:8.3f} s\n", "all passes", total);
}

// A one-line progress display on stderr, only when it is a terminal that
// can erase a line (TERM set and not "dumb", as the Nix setup hook sets it:
// escape sequences would litter a build log).
bool can_show_progress() {
  const char* term = std::getenv("TERM");
  return ::isatty(2) != 0 && term != nullptr && *term != '\0' && std::string_view(term) != "dumb";
}

class ProgressLine {
 public:
  explicit ProgressLine(std::ostream& err) : err_(err), tty_(can_show_progress()) {}
  ~ProgressLine() {
    if (shown_) err_ << "\r\033[K" << std::flush;
  }
  void operator()(std::string_view pass, std::size_t done, std::size_t total) {
    if (!tty_) return;
    auto now = std::chrono::steady_clock::now();
    if (pass == last_pass_ && now - last_ < std::chrono::milliseconds(100)) return;
    last_ = now;
    last_pass_ = std::string(pass);
    shown_ = true;
    if (total > 0) {
      err_ << fmt::format("\r\033[Kelfprune: {} {}/{}", pass, done, total) << std::flush;
    } else {
      err_ << fmt::format("\r\033[Kelfprune: {}...", pass) << std::flush;
    }
  }

 private:
  std::ostream& err_;
  bool tty_;
  bool shown_ = false;
  std::string last_pass_;
  std::chrono::steady_clock::time_point last_{};
};

}  // namespace

void add_prune_command(CLI::App& app, PruneCommandOptions& o) {
  CLI::App* cmd = app.add_subcommand(
      "prune",
      "Remove what the entries do not need and build-only artefacts, writing a pruned copy "
      "(--out), pruning in place (--in-place) or only reporting (--dry-run). Every decision "
      "has a reason; the result is verified. Mount points inside ROOT (/proc, /sys, /dev of "
      "a live system) are kept as empty directories and never entered or resolved through. Exit "
      "status: 0 done, 1 the result failed "
      "verification or could not be written, 2 bad usage or input.");
  cmd->add_option("ROOT", o.root,
                  "The root filesystem or package output to prune, or an image: oci:DIR[:TAG], "
                  "oci-archive:FILE[:TAG], docker-archive:FILE[:NAME:TAG] (its layers applied "
                  "with their whiteouts; without --entry, the entries come from its config)")
      ->required()
      ->type_name("ROOT");
  add_selection_options(cmd, o.selection);
  auto* out = cmd->add_option("--out", o.out_dir,
                              "Write the pruned tree to DIR (new or empty); for an image ROOT, "
                              "a new image: oci:DIR[:TAG], oci-archive:FILE[:TAG] or "
                              "docker-archive:FILE[:NAME:TAG]")
                  ->type_name("DIR|IMAGE");
  cmd->add_option("--layers", o.layers,
                  "An image --out: squash (default: one layer) or keep (each original layer "
                  "without the removed files; a layer that loses nothing is reused as it was)")
      ->check(CLI::IsMember({"squash", "keep"}))
      ->type_name("MODE");
  cmd->add_option("--compress", o.compress,
                  "An image --out: layer compression, gzip (default), zstd or none "
                  "(docker-archive layers are always plain tars). SOURCE_DATE_EPOCH, when set, "
                  "is the new image's creation time; the output is byte-identical for the "
                  "same input and options")
      ->check(CLI::IsMember({"gzip", "zstd", "none"}))
      ->type_name("ALGO");
  auto* in_place = cmd->add_flag("--in-place", o.in_place, "Remove files from ROOT itself");
  auto* dry = cmd->add_flag("--dry-run", o.dry_run, "Write nothing; report what would happen");
  cmd->add_flag("--allow-live-root", o.allow_live_root,
                "Allow --in-place on this machine's own / (refused otherwise)");
  out->excludes(in_place)->excludes(dry);
  in_place->excludes(dry);
  cmd->add_option("--report", o.report_file, "Also write the JSON report to FILE")
      ->type_name("FILE");
  repeatable(cmd->add_option("--rewrite-ref", o.rewrite_refs,
                             "In kept files, replace references to the path FROM (a store path "
                             "or any absolute prefix) with TO: scripts and text directly, ELF "
                             "PT_INTERP and RPATH/RUNPATH as strings, other binary content only "
                             "when FROM and TO have the same length; repeatable"),
             "FROM=TO");
  cmd->add_flag("--shrink-rpath", o.shrink_rpath,
                "Drop RPATH/RUNPATH elements of kept ELF files that find none of their "
                "libraries, keeping those that serve .note.dlopen sonames and --dlopen names");
  cmd->add_option("--check", o.checks,
                  "A command that must succeed in the result (split as a shell would, no shell "
                  "run), e.g. --check 'python3 -c \"import ssl\"': run chrooted in the result "
                  "on an overlay (it writes nothing there), in its own mount and PID "
                  "namespaces; a failing one fails the run. In place and in a dry run it runs "
                  "on the root with the planned removals hidden, before anything is deleted; "
                  "repeatable")
      ->type_name("CMD");
  cmd->add_option("--check-timeout", o.check_timeout,
                  "Seconds each --check may run before it is killed, with everything it "
                  "started (default 300)")
      ->check(CLI::Range(1u, 86400u))
      ->type_name("S");
  cmd->add_flag("--json", o.json, "Print the JSON report instead of the summary");
  cmd->add_flag("--timings", o.timings, "Also print how long each pass took (on stderr)");
  cmd->add_option("-j,--jobs", o.jobs,
                  "Threads to use, this one included (default: the CPUs this process may run "
                  "on; 1: no other thread). The result is the same whatever N")
      ->check(CLI::Range(1u, 1024u))
      ->type_name("N");
}

void add_why_command(CLI::App& app, WhyOptions& o) {
  CLI::App* cmd = app.add_subcommand(
      "why", "Explain one path: the chain of edges that keeps it, or the rule that removes it");
  cmd->add_option("ROOT", o.root,
                  "The root filesystem or package output, or an image (as for prune)")
      ->required();
  cmd->add_option("PATH", o.path, "A path inside ROOT")->required();
  add_selection_options(cmd, o.selection);
  cmd->add_flag("--json", o.json, "Print JSON");
}

void add_rules_command(CLI::App& app, bool& json) {
  CLI::App* cmd = app.add_subcommand("rules", "List the build-artefact rules, one a line");
  cmd->add_flag("--json", json, "Print JSON");
}

Result<int> run_prune(const PruneCommandOptions& o, std::ostream& out, std::ostream& err) {
  const int modes = (o.out_dir.empty() ? 0 : 1) + (o.in_place ? 1 : 0) + (o.dry_run ? 1 : 0);
  if (modes != 1) {
    return make_error("prune", "choose one of --out DIR, --in-place, --dry-run", ErrorKind::Usage);
  }
  auto opts = to_prune_options(o.root, o.selection);
  ELFPRUNE_TRY(opts);
  opts->mode = !o.out_dir.empty() ? EmitMode::Out
               : o.in_place       ? EmitMode::InPlace
                                  : EmitMode::DryRun;
  opts->out_dir = o.out_dir;
  opts->allow_live_root = o.allow_live_root;
  for (const auto& spec : o.rewrite_refs) {
    ELFPRUNE_TRY_ASSIGN(PathRewrite r, parse_path_rewrite(spec));
    opts->rewrites.push_back(std::move(r));
  }
  opts->shrink_rpath = o.shrink_rpath;
  for (const auto& line : o.checks) {
    ELFPRUNE_TRY_ASSIGN(auto argv, split_command(line, "--check"));
    opts->checks.push_back({line, std::move(argv)});
  }
  opts->check_timeout = o.check_timeout;
  if (!opts->checks.empty() && !opts->sysroot.empty() && opts->mode == EmitMode::Out) {
    return make_error("--check",
                      "with --sysroot, --out holds ROOT's files only: there is no whole tree to "
                      "run a check in (use --dry-run)",
                      ErrorKind::Usage);
  }
  opts->jobs = o.jobs;
  const bool image_root = is_image_reference(o.root);
  if (!image_root && is_image_reference(o.out_dir)) {
    return make_error(o.out_dir,
                      "an image --out needs an image ROOT (oci:, oci-archive:, docker-archive:)",
                      ErrorKind::Usage);
  }
  if (image_root && o.in_place) {
    return make_error(o.root, "an image is not pruned in place: write a new one with --out IMAGE",
                      ErrorKind::Usage);
  }
  if (image_root && !o.out_dir.empty() && !is_image_reference(o.out_dir)) {
    return make_error(
        o.out_dir,
        "the --out of an image ROOT is an image: oci:DIR[:TAG], oci-archive:FILE[:TAG] "
        "or docker-archive:FILE[:NAME:TAG]",
        ErrorKind::Usage);
  }
  const auto start = std::chrono::steady_clock::now();
  std::unique_ptr<ImageWorkspace> workspace;  // the image's staging tree, while the report lives
  auto ctx = [&]() -> Result<std::unique_ptr<PruneContext>> {
    ProgressLine line(err);  // erased before anything else is printed
    opts->progress = [&line](std::string_view pass, std::size_t done, std::size_t total) {
      line(pass, done, total);
    };
    if (!image_root) return prune(std::move(*opts));
    ImageOptions image = to_image_options(o.selection);
    image.out = o.out_dir;
    image.layers = o.layers == "keep" ? LayerMode::Keep : LayerMode::Squash;
    image.compression = o.compress == "zstd"   ? Compression::Zstd
                        : o.compress == "none" ? Compression::None
                                               : Compression::Gzip;
    if (const char* epoch = std::getenv("SOURCE_DATE_EPOCH"); epoch != nullptr && *epoch != '\0') {
      char* end = nullptr;
      errno = 0;
      const long long value = std::strtoll(epoch, &end, 10);
      // Up to the last second of year 9999: RFC 3339 has four-digit years.
      if (*end != '\0' || value < 0 || errno == ERANGE || value > 253402300799LL) {
        return make_error("SOURCE_DATE_EPOCH",
                          fmt::format("'{}' is not a number of seconds", epoch), ErrorKind::Usage);
      }
      image.source_date_epoch = value;
    }
    image.created_by =
        fmt::format("elfprune prune --layers {} --compress {}", o.layers, o.compress);
    ELFPRUNE_TRY_ASSIGN(ImagePrune pruned, prune_image(std::move(*opts), image, false));
    workspace = std::move(pruned.workspace);
    return std::move(pruned.context);
  }();
  ELFPRUNE_TRY(ctx);
  if (o.timings) {
    const std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
    print_timings((*ctx)->timings, took.count(), err);
  }
  const PruneReport& report = (*ctx)->report;
  if (!o.report_file.empty()) {
    std::ofstream f(o.report_file, std::ios::trunc);
    f << render_report_json(report);
    if (!f) {
      return make_error(o.report_file, "cannot write the report", ErrorKind::Failed);
    }
  }
  out << (o.json ? render_report_json(report) : render_report_text(report));
  for (const auto& p : report.problems) print_error(err, make_error("", p));
  return report.problems.empty() ? 0 : 1;
}

Result<int> run_why(const WhyOptions& o, std::ostream& out, std::ostream& /*err*/) {
  ELFPRUNE_TRY_ASSIGN(PruneOptions opts, to_prune_options(o.root, o.selection));
  opts.mode = EmitMode::DryRun;
  std::unique_ptr<ImageWorkspace> workspace;
  auto planned = [&]() -> Result<std::unique_ptr<PruneContext>> {
    if (!is_image_reference(o.root)) return plan_prune(std::move(opts));
    ELFPRUNE_TRY_ASSIGN(ImagePrune pruned,
                        prune_image(std::move(opts), to_image_options(o.selection), true));
    workspace = std::move(pruned.workspace);
    return std::move(pruned.context);
  }();
  ELFPRUNE_TRY(planned);
  const PruneContext& ctx = **planned;
  std::string path = lexically_absolute(o.path);
  if (!ctx.options.sysroot.empty() && path.rfind(ctx.top, 0) != 0 && ctx.top != "/") {
    path = lexically_absolute(o.path.front() == '/' ? o.path.substr(1) : o.path, ctx.top);
  }
  auto at = ctx.inventory.index.find(path);
  if (at == ctx.inventory.index.end()) {
    return make_error(path, "not in the tree being pruned", ErrorKind::Usage);
  }
  const Decision& d = ctx.plan.decisions[at->second];
  nlohmann::ordered_json doc{{"path", path}, {"keep", d.keep}, {"reason", d.reason}};
  if (!d.rule.empty()) doc["rule"] = d.rule;
  auto chain = nlohmann::ordered_json::array();
  std::string text = fmt::format("{}: {} ({})\n", path, d.keep ? "kept" : "removed", d.reason);
  if (d.keep && !ctx.closure.everything) {
    for (const auto& [p, why] : ctx.closure.chain(path)) {
      chain.push_back({{"path", p},
                       {"edge", std::string(edge_name(why.kind))},
                       {"from", why.from},
                       {"detail", why.detail}});
      text += fmt::format("  {}  <- {}\n", p, describe(why));
    }
  }
  doc["chain"] = chain;
  out << (o.json ? doc.dump(2) + "\n" : text);
  return 0;
}

Result<int> run_rules(bool json, std::ostream& out) {
  if (json) {
    auto arr = nlohmann::ordered_json::array();
    for (const auto& r : rule_catalogue()) {
      arr.push_back({{"id", r.id}, {"description", r.description}, {"matches", r.matches}});
    }
    out << arr.dump(2) << "\n";
    return 0;
  }
  for (const auto& r : rule_catalogue()) {
    out << fmt::format("{:<24} {} Matches: {}\n", r.id, r.description, r.matches);
  }
  return 0;
}

}  // namespace elfprune::cli
