#include <fmt/format.h>
#include <fmt/ostream.h>

#include <CLI/CLI.hpp>
#include <filesystem>

#include "commands.hpp"
#include "image/reference.hpp"
#include "loader/deps_report.hpp"
#include "loader/resolver.hpp"
#include "prune/image_prune.hpp"

namespace elfprune::cli {

void add_deps_command(CLI::App& app, DepsOptions& options) {
  CLI::App* cmd = app.add_subcommand(
      "deps",
      "Show what the dynamic loader would load for each FILE, found inside ROOT exactly as "
      "glibc's or musl's ld.so would (RPATH/RUNPATH, LD_LIBRARY_PATH, ld.so.cache, default "
      "directories, $ORIGIN, glibc-hwcaps), and whether it would accept them (symbol "
      "versions; with --bind, every symbol bound as with LD_BIND_NOW). Nothing is executed. "
      "Exit status: 0 all found, 1 a library, a version or (--bind) a symbol is missing, 2 bad "
      "usage or a FILE that cannot be inspected.");
  cmd->add_option("--root", options.root,
                  "Directory holding the root filesystem, or an image (oci:DIR[:TAG], "
                  "oci-archive:FILE[:TAG], docker-archive:FILE[:NAME:TAG]); FILE and every "
                  "path found are resolved inside it as after chroot")
      ->check([](const std::string& root) -> std::string {
        if (is_image_reference(root)) return {};
        return CLI::ExistingDirectory(root);
      })
      ->type_name("ROOT");
  cmd->add_option("--platform", options.platform,
                  "With an image ROOT: the platform to read from a multi-platform image "
                  "(default linux/amd64)")
      ->type_name("OS/ARCH");
  cmd->add_flag("--json", options.json, "Print one JSON document instead of a tree");
  cmd->add_option("--ld-library-path", options.ld_library_path,
                  "Search these directories as LD_LIBRARY_PATH would (':' or ';' separated, "
                  "paths inside ROOT)");
  cmd->add_option("--hwcaps", options.hwcaps,
                  "x86-64 level for glibc-hwcaps subdirectories: host (default), baseline, "
                  "v2, v3, v4");
  cmd->add_flag("--bind", options.bind,
                "Also bind every undefined symbol of every loaded object in its lookup scope, as "
                "glibc's loader does with LD_BIND_NOW (versioned lookup, copy relocations), and "
                "list those no object defines, as `ldd -r` would, without running anything");
  cmd->add_option("--host", options.host,
                  "With --bind: each FILE is a plugin (a Python extension, a Node addon, a Perl "
                  "XS module) that PROG dlopens: its symbols are looked up in PROG's global "
                  "scope first, then in its own")
      ->type_name("PROG");
  cmd->add_option("FILE", options.files, "ELF executables or libraries, paths inside ROOT")
      ->required();
}

Result<int> run_deps(const DepsOptions& options, std::ostream& out, std::ostream& err) {
  auto level = parse_hwcaps_level(options.hwcaps);
  if (!level) {
    return make_error(
        "--hwcaps", fmt::format("unknown level '{}' (host, baseline, v2, v3, v4)", options.hwcaps),
        ErrorKind::Usage);
  }
  std::unique_ptr<ImageWorkspace> image;
  if (is_image_reference(options.root)) {
    ELFPRUNE_TRY_ASSIGN(image, ImageWorkspace::open(options.root, options.platform, {}));
  }
  Root root(image ? image->root() : options.root);
  ResolveOptions ropts;
  ropts.ld_library_path = options.ld_library_path;
  ropts.loader.hwcaps = *level;
  if (!options.host.empty() && !options.bind) {
    return make_error("--host", "needs --bind: a host only changes how symbols bind",
                      ErrorKind::Usage);
  }
  ropts.bind = options.bind;
  ropts.host = options.host;
  Resolver resolver(root, ropts);

  DepsReport report;
  report.root = image ? options.root : root.host_dir().string();
  bool any_missing = false;
  for (const std::string& file : options.files) {
    auto res = resolver.resolve(file);
    if (!res) {
      print_error(err, res.error());
      report.errors.push_back(res.error());
      continue;
    }
    for (const auto& m : res->missing) {
      any_missing = true;
      print_error(err, make_error(res->file,
                                  fmt::format("{} not found (needed by {})", m.name, m.needed_by)));
    }
    // As the loader words it: the object is refused, as for a missing library.
    for (const auto& v : res->missing_versions) {
      any_missing = true;
      print_error(err,
                  make_error(res->file, fmt::format("version `{}' not found in {} (required by {})",
                                                    v.version, v.library, v.needed_by)));
    }
    // One line per object holding such references: a Perl XS module alone
    // has a hundred (its host supplies them: --host).
    for (std::size_t i = 0; i < res->undefined.size();) {
      std::size_t j = i;
      while (j < res->undefined.size() &&
             res->undefined[j].needed_by == res->undefined[i].needed_by)
        ++j;
      any_missing = true;
      std::string line = describe_undefined(res->undefined[i]);
      if (j - i > 1)
        line += fmt::format(", and {} more undefined symbol{}", j - i - 1, j - i > 2 ? "s" : "");
      print_error(err, make_error(res->file, line));
      i = j;
    }
    report.objects.push_back(std::move(*res));
  }
  out << (options.json ? render_deps_json(report) : render_deps_text(report));
  if (!report.errors.empty()) return 2;
  return any_missing ? 1 : 0;
}

}  // namespace elfprune::cli
