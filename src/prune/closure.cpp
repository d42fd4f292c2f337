#include "prune/closure.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <deque>
#include <map>
#include <set>

#include "elf/elf_info.hpp"
#include "facts/inspect.hpp"
#include "facts/python.hpp"
#include "facts/shebang.hpp"
#include "prune/rules.hpp"

namespace elfprune {

std::string_view edge_name(EdgeKind kind) {
  switch (kind) {
    case EdgeKind::Entry:
      return "entry";
    case EdgeKind::Keep:
      return "keep";
    case EdgeKind::Everything:
      return "everything";
    case EdgeKind::Symlink:
      return "symlink";
    case EdgeKind::Interpreter:
      return "interpreter";
    case EdgeKind::Needed:
      return "needed";
    case EdgeKind::Dlopen:
      return "dlopen";
    case EdgeKind::Shebang:
      return "shebang";
    case EdgeKind::PathRef:
      return "path-reference";
    case EdgeKind::StoreRef:
      return "store-reference";
    case EdgeKind::Package:
      return "package";
    case EdgeKind::Contains:
      return "contains";
    case EdgeKind::LinkTarget:
      return "link-target";
    case EdgeKind::NpmProject:
      return "npm-project";
    case EdgeKind::NpmDependency:
      return "npm-dependency";
    case EdgeKind::PythonPath:
      return "python-path";
    case EdgeKind::Trace:
      return "trace";
  }
  return "entry";
}

std::string describe(const Reason& r) {
  switch (r.kind) {
    case EdgeKind::Entry:
      return "entry";
    case EdgeKind::Keep:
      return fmt::format("--keep {}", r.detail);
    case EdgeKind::Everything:
      return "no entries: every file is kept unless a rule removes it";
    case EdgeKind::Symlink:
      return fmt::format("symlink on the way to {}", r.detail);
    case EdgeKind::Interpreter:
      return fmt::format("interpreter of {}", r.from);
    case EdgeKind::Needed:
      return fmt::format("{} is needed by {}", r.detail, r.from);
    case EdgeKind::Dlopen:
      return fmt::format("{} is a dlopen dependency of {}", r.detail, r.from);
    case EdgeKind::Shebang:
      return fmt::format("interpreter of script {}", r.from);
    case EdgeKind::PathRef:
      return fmt::format("named in {}", r.from);
    case EdgeKind::StoreRef:
      return fmt::format("store path named in {}", r.from);
    case EdgeKind::Package:
      return r.detail;
    case EdgeKind::Contains:
      return fmt::format("inside {}", r.from);
    case EdgeKind::LinkTarget:
      return fmt::format("what the symlink {} points at", r.from);
    case EdgeKind::NpmProject:
      return fmt::format("the npm project of {}", r.from);
    case EdgeKind::NpmDependency:
      return fmt::format("{} is a run-time dependency of {}", r.detail, r.from);
    case EdgeKind::PythonPath:
      // "on the sys.path of /app/venv/bin/python", "the base interpreter of ..."
      return r.detail.empty() ? fmt::format("on the sys.path of {}", r.from)
                              : fmt::format("{} of {}", r.detail, r.from);
    case EdgeKind::Trace:
      return fmt::format("in the trace: {}", r.detail);
  }
  return "";
}

std::vector<std::pair<std::string, Reason>> Closure::chain(const std::string& path) const {
  std::vector<std::pair<std::string, Reason>> out;
  std::set<std::string> seen;
  std::string cur = path;
  while (seen.insert(cur).second) {
    auto it = reached.find(cur);
    if (it == reached.end()) break;
    out.emplace_back(cur, it->second);
    if (it->second.from.empty()) break;
    cur = it->second.from;
  }
  return out;
}

bool is_shared_hierarchy(const std::string& dir) {
  static const std::set<std::string> kShared = {"/",
                                                "/bin",
                                                "/sbin",
                                                "/lib",
                                                "/lib32",
                                                "/lib64",
                                                "/libx32",
                                                "/usr",
                                                "/usr/bin",
                                                "/usr/sbin",
                                                "/usr/lib",
                                                "/usr/lib32",
                                                "/usr/lib64",
                                                "/usr/libx32",
                                                "/usr/libexec",
                                                "/usr/include",
                                                "/usr/share",
                                                "/usr/local",
                                                "/usr/local/bin",
                                                "/usr/local/sbin",
                                                "/usr/local/lib",
                                                "/usr/local/share",
                                                "/etc",
                                                "/var",
                                                "/var/lib",
                                                "/var/cache",
                                                "/var/log",
                                                "/var/tmp",
                                                "/var/run",
                                                "/run",
                                                "/tmp",
                                                "/home",
                                                "/root",
                                                "/opt",
                                                "/srv",
                                                "/mnt",
                                                "/media",
                                                "/dev",
                                                "/proc",
                                                "/sys",
                                                "/boot",
                                                "/nix",
                                                "/nix/store",
                                                "/usr/src",
                                                "/etc/alternatives"};
  if (kShared.count(dir) != 0) return true;
  // /lib/<triplet> and /usr/lib/<triplet> (multiarch): shared by every library.
  for (std::string_view prefix : {"/lib/", "/usr/lib/", "/usr/local/lib/"}) {
    if (dir.rfind(prefix, 0) == 0) {
      std::string_view rest = std::string_view(dir).substr(prefix.size());
      if (rest.find('/') == std::string_view::npos &&
          rest.find("-linux-") != std::string_view::npos) {
        return true;
      }
    }
  }
  return false;
}

bool is_package_state(const std::string& path) {
  for (std::string_view dir : {"/var/lib/dpkg", "/var/lib/apt", "/var/cache", "/var/lib/rpm",
                               "/var/lib/pacman", "/lib/apk/db", "/var/lib/ucf"}) {
    if (path.size() >= dir.size() && path.compare(0, dir.size(), dir) == 0 &&
        (path.size() == dir.size() || path[dir.size()] == '/')) {
      return true;
    }
  }
  return false;
}

namespace {

// A loader dependency as the protection rule needs it: the file and every
// symlink on the way to it.
void append_dependency(const FileStat& st, std::vector<std::string>& deps) {
  deps.insert(deps.end(), st.symlinks.begin(), st.symlinks.end());
  deps.push_back(st.path);
}

// Packages a package expansion does not walk into: shared-library packages
// are followed by the loader (which knows exactly which of their files are
// needed), and install-time-only packages are never needed at run time.
bool expandable(const DpkgPackage& p) {
  return p.section != "libs" && p.section.rfind("libs", 0) != 0 && !is_install_time_only(p.name);
}

// Python 3.12 has no distutils of its own: there, or when the version is
// unknown, `import distutils` is setuptools' (its _distutils_hack).
bool distutils_from_setuptools(std::string_view version) {
  int major = 0;
  int minor = 0;
  const auto dot = version.find('.');
  if (dot == std::string_view::npos) return true;
  const char* end = version.data() + version.size();
  if (std::from_chars(version.data(), version.data() + dot, major).ec != std::errc() ||
      std::from_chars(version.data() + dot + 1, end, minor).ec != std::errc()) {
    return true;
  }
  return major > 3 || (major == 3 && minor >= 12);
}

// Imports of the build tools rule python-build-tools takes (pip,
// setuptools, wheel) in kept Python files: one that fails without its tool
// keeps that tool (docs/rules.md). Bounded, as the scan of npm packages for
// requires is: when the bytes to read run out first, every tool is kept.
class BuildToolImports {
 public:
  BuildToolImports(const Root& root, Closure& out) : root_(root), out_(out) {}

  // A module, a script, or a .pth file (site.py runs its `import` lines).
  // A tool's own files (setuptools imports pkg_resources, pip's launcher
  // imports pip) count only when something runs them (`run`).
  void scan(const std::string& path, bool distutils, bool run = false) {
    if (gave_up_ || out_.python_tools_in_use.size() == std::size(kPythonBuildTools)) return;
    if (!run && is_tool_file(path)) return;
    auto text = root_.read_file(path, budget_ + 1);
    if (!text) return;
    if (text->size() > budget_) {
      gave_up_ = true;
      for (std::string_view tool : kPythonBuildTools) out_.python_tools_in_use.emplace(tool);
      out_.warnings.push_back(fmt::format(
          "{}: more than {} MB of Python to scan for imports of pip, setuptools and wheel: all "
          "three kept (rule python-build-tools)",
          path, kBudget >> 20));
      return;
    }
    budget_ -= text->size();
    for (const ToolImport& found : python_build_tools_imported(*text, distutils)) {
      if (out_.python_tools_in_use.emplace(found.tool).second) {
        out_.warnings.push_back(
            fmt::format("{}: line {} imports {}: Python build tool {} kept (rule "
                        "python-build-tools)",
                        path, found.line, found.module, found.tool));
      }
    }
  }

 private:
  bool is_tool_file(const std::string& path) const {
    if (python_build_tool_at(path)) return true;
    const std::string_view bin = path_parent(path);
    return path_base(bin) == "bin" && python_build_tool_launcher(path_base(path)) &&
           root_.exists(path_join(path_parent(bin), "pyvenv.cfg"));
  }

  static constexpr std::size_t kBudget = std::size_t{512} << 20;
  const Root& root_;
  Closure& out_;
  std::size_t budget_ = kBudget;
  bool gave_up_ = false;
};

class Walker {
 public:
  Walker(const Root& root, const Inventory& inv, Resolver& resolver, const DpkgDb& dpkg,
         const ClosureInputs& in, Closure& out)
      : root_(root),
        inv_(inv),
        resolver_(resolver),
        dpkg_(dpkg),
        in_(in),
        out_(out),
        inspector_(root, in.store_dir, Inspector::threads_for(in.jobs)) {}

  void run() {
    for (const auto& e : in_.entries) {
      // Canonical before reaching: an entry that is a link (/usr/bin/python3)
      // is the program it leads to, for --dlopen too.
      auto st = root_.resolve(e);
      if (st) entries_.insert(st->path);
      // A project directory as an entry is the project, not all it holds.
      const std::string project = st && in_.npm ? in_.npm->project_of(st->path) : "";
      const bool whole = project.empty() || project != st->path;
      if (!reach(e, Reason{EdgeKind::Entry, "", e}, Expand::Full, whole)) {
        out_.warnings.push_back(fmt::format("{}: entry does not exist", e));
        continue;
      }
      if (!project.empty()) bring_npm_project(project, st->path);
      run_by_extension(e, *st);
      expand_python(e, e);  // an interpreter as an entry: its venv is where it is named
    }
    // The package database stays with the packages it describes: image
    // scanners read it to tell what is installed. Not with a trace: no
    // package edge is followed there (--keep brings it back).
    if (in_.use_dpkg && dpkg_.present && !traced()) {
      reach("/var/lib/dpkg/status", Reason{EdgeKind::Package, "", "the dpkg database"},
            Expand::DataOnly, false);
    }
    if (traced()) reach_traces();
    for (const auto& g : in_.keep_globs) {
      bool any = false;
      for (const auto& entry : inv_.entries) {
        if (!g.matches(entry.path)) continue;
        any = true;
        add(entry.path, Reason{EdgeKind::Keep, "", g.text()}, Expand::Full, false);
      }
      // A glob that matches nothing is almost always a mistake (docs/rules.md).
      if (!any) out_.warnings.push_back(fmt::format("--keep '{}' matches nothing", g.text()));
    }
    drain();
    settle_programs();
  }

 private:
  bool traced() const { return in_.traces != nullptr && !in_.traces->empty(); }

  // What the traces show executed (and the interpreters the kernel mapped):
  // a script among the other traced files was read, not run (a module with
  // a #! line), so its interpreter and directory are not followed.
  std::set<std::string> traced_runs_;

  // Every path a trace shows existing, with the symlinks on the way, as an
  // entry's run would reach it: programs and libraries resolved, scripts
  // followed; a directory alone (a listing or a stat is not a need of
  // everything below it).
  void reach_traces() {
    std::set<std::string> done;
    for (const TraceFile& trace : *in_.traces) {
      out_.trace.files.push_back(trace.name);
      for (const TraceEvent& e : trace.events) {
        ++out_.trace.events;
        if (e.missing()) {
          out_.trace.search_paths.insert(e.path);
          continue;
        }
        const bool ran = e.ok() && (e.call == "execve" || e.call == "execveat" || e.call == "exe" ||
                                    e.call == "interp");
        if (!done.insert(e.path).second) {
          // Seen before (a PATH lookup's stat), and now executed.
          if (ran) {
            if (auto st = root_.resolve(e.path)) traced_runs_.insert(st->path);
          }
          continue;
        }
        if (is_kernel_interface(e.path) || path_under(e.path, "/dev")) {
          out_.trace.not_in_root.insert(e.path);
          continue;
        }
        const Reason why{
            EdgeKind::Trace, "",
            fmt::format("{}:{} {} {} {}", trace.name, e.line, e.call, e.result, e.path)};
        if (auto st = reach(e.path, why, Expand::Full, false)) {
          if (ran) traced_runs_.insert(st->path);
          continue;
        }
        // A link whose target is not there (readlink, lstat): the link.
        if (!reach(e.path, why, Expand::Full, false, /*follow_last=*/false)) {
          out_.trace.not_in_root.insert(e.path);
        }
      }
    }
    out_.trace.paths_kept = done.size() - out_.trace.not_in_root.size();
  }

  // Full: ELF files are resolved as programs; NoResolve: a library whose
  // dependencies its loader's resolution already gave; DataOnly: kept as
  // is, never inspected (the dpkg database: its maintainer scripts are not
  // run in the image); IfRun: libraries and data are kept and followed as
  // with Full, but a program is not run: an ELF executable is kept only if
  // something else runs it, a script only where the closure holds its
  // interpreter anyway, and then not followed (settle_programs). For what
  // a directory named by a library, or a package, brings.
  enum class Expand { Full, NoResolve, DataOnly, IfRun };

  // Whether `now` asks more of a path already expanded as `before`.
  static bool stronger(Expand now, Expand before) {
    const auto rank = [](Expand e) {
      switch (e) {
        case Expand::DataOnly:
          return 0;
        case Expand::IfRun:
          return 1;
        case Expand::NoResolve:
        case Expand::Full:
          return 2;
      }
      return 0;
    };
    return rank(now) > rank(before);
  }

  const Root& root_;
  const Inventory& inv_;
  Resolver& resolver_;
  const DpkgDb& dpkg_;
  const ClosureInputs& in_;
  Closure& out_;
  struct Pending {
    std::string path;
    Expand mode;
    EdgeKind kind;
  };
  std::deque<Pending> queue_;
  std::set<std::string> packages_done_;
  std::set<std::string> copyrights_done_;
  std::unordered_map<std::string, Expand> whole_dirs_;  // and how their contents are expanded
  std::unordered_map<std::string, Expand> modes_;       // how each reached path was queued
  // Programs met in IfRun mode, waiting for settle_programs().
  struct Deferred {
    std::string path;
    FileInspection file;
  };
  std::vector<Deferred> deferred_;
  Inspector inspector_;  // reads and scans queued files ahead of expand()

  void drain() {
    while (!queue_.empty()) {
      Pending next = std::move(queue_.front());
      queue_.pop_front();
      expand(next.path, next.mode, next.kind);
    }
  }

  std::set<std::string> entries_;  // canonical paths of the entries

  bool is_entry(const std::string& path) const { return entries_.count(path) != 0; }

  // Reach the path string `p`: keep every symlink on the way, then what it
  // names (the link itself, without `follow_last`). `whole` keeps a
  // directory with everything below it.
  std::optional<FileStat> reach(const std::string& p, const Reason& why, Expand mode, bool whole,
                                bool follow_last = true) {
    auto st = root_.resolve(p, follow_last);
    if (!st) return std::nullopt;
    // A link on the way is kept for what the path reaches: its reason names
    // the canonical path, whose own reason says how it was reached.
    for (const auto& link : st->symlinks)
      add(link, Reason{EdgeKind::Symlink, why.from, st->path}, mode, false);
    // After a `..` the path no longer runs through what a link on the way
    // points at (/lnk/../file): that is kept too, alone, or the link dangles.
    if (has_dot_dot(p)) {
      for (const auto& link : st->symlinks) {
        if (auto target = root_.resolve(link)) {
          add(target->path, Reason{EdgeKind::LinkTarget, link, ""}, Expand::DataOnly, false);
        }
      }
    }
    add(st->path, why, mode, whole && st->type == FileType::Directory);
    return std::move(*st);
  }

  void add(const std::string& path, const Reason& why, Expand mode, bool whole) {
    if (is_package_state(path)) mode = Expand::DataOnly;
    auto [at, fresh] = out_.reached.emplace(path, why);
    bool queue = fresh;
    if (!fresh && inv_.contains(path)) {
      // Reached again, asking more than before (a program in a directory a
      // library named, now run by something): expanded again, and this is
      // the reason worth giving.
      auto known = modes_.find(path);
      if (known != modes_.end() && stronger(mode, known->second)) {
        at->second = why;
        queue = true;
      }
    }
    if (whole) keep_whole(path, why, mode);
    if (queue && inv_.contains(path)) {
      modes_[path] = mode;
      queue_.push_back({path, mode, why.kind});
      if (mode != Expand::DataOnly) {
        const InventoryEntry* entry = inv_.find(path);
        if (entry != nullptr && entry->type == FileType::Regular) inspector_.ask(path);
      }
      if (fresh) keep_copyright(path);
    }
  }

  // Everything below a directory kept whole, expanded as `mode` says (again,
  // if it asks more than a previous visit).
  void keep_whole(const std::string& path, const Reason& why, Expand mode) {
    const Expand inner = mode == Expand::DataOnly ? Expand::DataOnly
                         : mode == Expand::IfRun  ? Expand::IfRun
                                                  : Expand::Full;
    auto [known, fresh] = whole_dirs_.emplace(path, inner);
    if (!fresh) {
      if (!stronger(inner, known->second)) return;
      known->second = inner;
    }
    out_.whole_directories.push_back({path, why, inner != Expand::Full});
    inv_.for_each_below(path, [&](const InventoryEntry& e, std::string_view) {
      add(e.path, Reason{EdgeKind::Contains, path, ""}, inner, false);
    });
  }

  // The programs IfRun deferred, once nothing more is reached: one that
  // something else ran meanwhile was expanded as such; a script whose
  // interpreter (and env's program) the closure holds anyway stays, as a
  // file, not followed (a Python module with a #! line in a Python tree; a
  // shell script a library's directory holds); the rest are left out, with
  // the symlinks that lead to them (a perl script beside libcrypto's data,
  // an ELF helper nothing runs).
  void settle_programs() {
    // A module run through `#!/usr/bin/env python3` in a tree that keeps
    // python3: env is a mere launcher, kept with it.
    for (const Deferred& d : deferred_) {
      const auto& sb = d.file.shebang;
      if (!sb || sb->env_program.empty() || !stays(*sb)) continue;
      if (auto mode = modes_.find(d.path); mode != modes_.end() && mode->second != Expand::IfRun)
        continue;
      if (auto env = reach(sb->interpreter, Reason{EdgeKind::Interpreter, d.path, sb->interpreter},
                           Expand::Full, false)) {
        append_dependency(*env, out_.loader_deps[d.path]);
      }
    }
    drain();
    std::set<std::string> dropped;
    // Scripts after the programs, until nothing more goes: a script's
    // interpreter may be a program (or a script) that goes.
    for (bool changed = true; changed;) {
      changed = false;
      for (const Deferred& d : deferred_) {
        auto mode = modes_.find(d.path);
        if (mode != modes_.end() && mode->second != Expand::IfRun) continue;
        if (d.file.shebang && stays(*d.file.shebang)) continue;
        auto at = out_.reached.find(d.path);
        if (at == out_.reached.end()) continue;
        std::string why =
            d.file.shebang ? fmt::format(
                                 "a script ({}) that nothing runs, whose interpreter {} nothing "
                                 "else needs",
                                 describe(at->second), d.file.shebang->interpreter)
                           : fmt::format("a program ({}) that nothing runs", describe(at->second));
        out_.left_out.emplace(d.path, std::move(why));
        out_.reached.erase(at);
        out_.loader_deps.erase(d.path);
        dropped.insert(d.path);
        changed = true;
      }
    }
    if (dropped.empty()) return;
    std::vector<std::string> links;
    for (const auto& [path, reason] : out_.reached) {
      const InventoryEntry* e = inv_.find(path);
      if (e == nullptr || e->type != FileType::Symlink) continue;
      auto st = root_.resolve(path);
      if (st && dropped.count(st->path) != 0) links.push_back(path);
    }
    for (const auto& link : links) {
      out_.left_out.emplace(link, "a symlink to a program that nothing runs");
      out_.reached.erase(link);
      out_.loader_deps.erase(link);
    }
  }

  // Whether a script met in IfRun mode stays: where the closure holds its
  // interpreter (and env's program) anyway, or where the root has none, so
  // that keeping the file drags nothing in (cgi.py's `#! /usr/local/bin/python`,
  // a module nobody runs: it is imported, and must stay).
  bool stays(const Shebang& sb) const {
    if (!root_.resolve(sb.interpreter)) return true;
    if (!sb.env_program.empty()) {
      auto found = find_on_path(root_, sb.env_program);
      return !found || holds(found);
    }
    return holds(sb.interpreter);
  }

  // Whether the closure holds what `path` resolves to.
  bool holds(const std::optional<std::string>& path) const {
    if (!path) return false;
    auto st = root_.resolve(*path);
    return st && out_.reached.count(st->path) != 0;
  }

  // Licences travel with what they cover: a package with a kept file keeps
  // its copyright file (image scanners and licence audits read them).
  void keep_copyright(const std::string& path) {
    if (!in_.use_dpkg || !dpkg_.present || traced()) return;
    // Directories (and /lib, a symlink to one) are listed by many packages.
    const InventoryEntry* entry = inv_.find(path);
    if (entry == nullptr || entry->type == FileType::Directory ||
        (entry->type == FileType::Symlink && root_.is_directory(path))) {
      return;
    }
    const DpkgPackage* pkg = dpkg_.owner_of(path);
    if (pkg == nullptr || !copyrights_done_.insert(pkg->name).second) return;
    const std::string copyright = fmt::format("/usr/share/doc/{}/copyright", pkg->name);
    if (copyright != path) {
      reach(copyright, Reason{EdgeKind::Package, path, fmt::format("the licence of {}", pkg->name)},
            Expand::DataOnly, false);
    }
    // And its file lists, which scanners read to tell which package a file
    // belongs to (maintainer scripts are not kept: nothing runs them).
    for (const char* arch : {"", ":amd64", ":arm64", ":i386", ":all"}) {
      for (const char* kind : {"list", "md5sums"}) {
        const std::string meta = fmt::format("/var/lib/dpkg/info/{}{}.{}", pkg->name, arch, kind);
        if (inv_.find(meta) != nullptr) {
          add(meta,
              Reason{EdgeKind::Package, path, fmt::format("the dpkg record of {}", pkg->name)},
              Expand::DataOnly, false);
        }
      }
    }
  }

  // An entry inside an npm project: the project's own files and its
  // run-time packages, as Node resolves them, each package without its
  // nested node_modules (the packages there are reached, or not, on their
  // own). Programs among them as a package brings them: kept where
  // something runs them (IfRun); addons bring their libraries.
  void bring_npm_project(const std::string& project, const std::string& from) {
    if (!npm_projects_.insert(project).second) return;
    add_package_files(project, Reason{EdgeKind::NpmProject, from, project});
    const auto runtime = in_.npm->runtime.find(project);
    if (runtime == in_.npm->runtime.end()) return;
    for (const NpmRuntimePackage& pkg : runtime->second) {
      const Reason why{EdgeKind::NpmDependency, pkg.from, pkg.name};
      for (const auto& link : pkg.links) reach(link, why, Expand::IfRun, false);
      add_package_files(pkg.dir, why);
    }
  }

  void add_package_files(const std::string& dir, const Reason& why) {
    add(dir, why, Expand::IfRun, false);
    inv_.for_each_below(dir, [&](const InventoryEntry& e, std::string_view rel) {
      if (in_nested_node_modules(rel)) return;
      add(e.path, Reason{EdgeKind::Contains, dir, ""}, Expand::IfRun, false);
    });
  }

  // An entry without a #! line that is not a program: a .js, .mjs or .cjs
  // file runs under node, a .py file under python3, the ones the default
  // PATH finds in the root; that interpreter becomes an entry too.
  void run_by_extension(const std::string& entry, const FileStat& st) {
    if (st.type != FileType::Regular) return;
    const std::string_view name = path_base(st.path);
    const auto dot = name.rfind('.');
    if (dot == std::string_view::npos) return;
    const std::string_view ext = name.substr(dot + 1);
    const char* program = (ext == "js" || ext == "mjs" || ext == "cjs") ? "node"
                          : ext == "py"                                 ? "python3"
                                                                        : nullptr;
    if (program == nullptr) return;
    const std::string head = root_.read_head(st.path, 256);
    if (has_elf_magic(head) || parse_shebang(head)) return;
    auto found = find_on_path(root_, program);
    if (!found) {
      out_.warnings.push_back(fmt::format(
          "{}: a .{} file without a #! line runs under {}, which is not on the root's PATH", entry,
          ext, program));
      return;
    }
    if (auto prog = root_.resolve(*found)) entries_.insert(prog->path);
    const std::string why =
        fmt::format("runs the entry {} (a .{} file without a #! line)", entry, ext);
    if (reach(*found, Reason{EdgeKind::Shebang, entry, program}, Expand::Full, false)) {
      out_.implied_entries.emplace_back(*found, why);
      expand_python(*found, entry);
    }
  }

  std::set<std::string> npm_projects_;

  // Package metadata is followed from programs only: the entries and the
  // interpreters of kept scripts, whose modules (a Python's standard
  // library) no string in the binary names. Everything else a program needs
  // is found precisely: libraries by the loader's rules, data files by the
  // path strings naming them (libnode names acorn.js, not all of
  // node-acorn), so their packages are not expanded.
  static bool follows_packages(EdgeKind kind) {
    return kind == EdgeKind::Entry || kind == EdgeKind::Shebang;
  }

  void expand(const std::string& path, Expand mode, EdgeKind kind) {
    const InventoryEntry* entry = inv_.find(path);
    if (entry == nullptr) return;
    if (entry->type == FileType::Symlink) {
      // A kept symlink keeps what it points at, with every link on the way.
      // One inside a directory kept whole (or matched by --keep) stands for
      // its target as a whole: /etc/ssl/certs/*.pem lead to the CA files,
      // /usr/lib/ssl/certs to the whole /etc/ssl/certs. A link reached on
      // the way to a path has that path reached already.
      if (kind == EdgeKind::Symlink) return;
      const bool whole = kind == EdgeKind::Contains || kind == EdgeKind::Keep;
      // No rule may take the target while the link stays (the plan's
      // protection): the link would dangle.
      if (auto st = reach(path, Reason{EdgeKind::LinkTarget, path, entry->link_target},
                          mode == Expand::NoResolve ? Expand::Full : mode, whole)) {
        append_dependency(*st, out_.loader_deps[path]);
      }
      return;
    }
    if (entry->type != FileType::Regular || mode == Expand::DataOnly) return;
    FileInspection file = inspector_.take(path);
    if (mode == Expand::IfRun) {
      // Libraries and data are followed; programs wait for settle_programs.
      if (file.shebang) {
        deferred_.push_back({path, std::move(file)});
        return;
      }
      if (file.elf) {
        auto info = resolver_.elf_info(path);
        if (info && (*info)->is_program()) {
          deferred_.push_back({path, std::move(file)});
          return;
        }
        mode = Expand::Full;
      }
    }
    if (file.elf) {
      expand_elf(path, mode);
      follow_references(path, file);
    } else if (file.shebang && (kind != EdgeKind::Trace || traced_runs_.count(path) != 0)) {
      expand_script(path, *file.shebang);
      follow_references(path, file);
    } else if (file.shebang) {
      out_.scripts_as_data.insert(path);  // read by the workload, never run
    }
    if (follows_packages(kind)) expand_package(path);
  }

  void expand_elf(const std::string& path, Expand mode) {
    auto info = resolver_.elf_info(path);
    if (!info || !(*info)->dynamic) return;
    std::vector<std::string> dlopen;
    if (is_entry(path)) dlopen = in_.dlopen_names;
    if (mode == Expand::Full) {
      auto res = resolver_.resolve(path, dlopen);
      if (!res) {
        out_.warnings.push_back(fmt::format("{}: {}", path, res.error().message));
        return;
      }
      take_resolution(path, *res);
    } else if (!dlopen.empty()) {
      if (auto res = resolver_.resolve(path, dlopen)) take_resolution(path, *res);
    }
    // Declared optional dependencies: the first alternative that resolves,
    // searched as a dlopen() from this object would. glibc declares none,
    // but loads libgcc_s.so.1 by name when a thread exits or is cancelled
    // (pthread_exit: "libgcc_s.so.1 must be installed for pthread_exit to
    // work"); CPython ends its daemon threads that way.
    std::vector<DlopenDependency> declared = (*info)->dlopen;
    if ((*info)->soname && *(*info)->soname == "libc.so.6") {
      declared.push_back({{"libgcc_s.so.1"}, "thread exit and cancellation", "", "recommended"});
    }
    for (const auto& dep : declared) {
      bool found = false;
      for (const auto& soname : dep.sonames) {
        auto res = resolver_.resolve(path, {soname});
        if (!res) break;
        bool ok =
            std::none_of(res->missing.begin(), res->missing.end(),
                         [&](const MissingLibrary& m) { return m.dlopen && m.name == soname; });
        if (!ok) continue;
        take_resolution(path, *res, /*only_dlopen=*/true);
        found = true;
        break;
      }
      if (!found && dep.priority == "required") {
        out_.warnings.push_back(fmt::format("{}: required dlopen dependency {} not found", path,
                                            fmt::join(dep.sonames, " | ")));
      }
    }
  }

  void take_resolution(const std::string& path, const Resolution& res, bool only_dlopen = false) {
    // needed_by names the object as it was opened; chains want canonical paths.
    std::unordered_map<std::string, std::string> canonical{{res.file, res.realpath}};
    for (const auto& lib : res.libraries) canonical.emplace(lib.path, lib.realpath);
    auto& deps = out_.loader_deps[path];
    if (res.interpreter && !only_dlopen) {
      if (auto interp =
              reach(*res.interpreter, Reason{EdgeKind::Interpreter, path, *res.interpreter},
                    Expand::NoResolve, false)) {
        append_dependency(*interp, deps);
      }
    }
    for (const auto& lib : res.libraries) {
      if (only_dlopen && !lib.dlopen) continue;
      auto from = canonical.count(lib.needed_by) ? canonical[lib.needed_by] : path;
      const EdgeKind kind = lib.dlopen ? EdgeKind::Dlopen : EdgeKind::Needed;
      if (auto target = reach(lib.path, Reason{kind, from, lib.name}, Expand::NoResolve, false)) {
        append_dependency(*target, deps);
      }
    }
    if (only_dlopen) return;
    for (const auto& m : res.missing) {
      if (m.dlopen) continue;
      out_.warnings.push_back(
          fmt::format("{}: {} not found (needed by {})", path, m.name, m.needed_by));
    }
  }

  void expand_script(const std::string& path, const Shebang& sb) {
    auto& deps = out_.loader_deps[path];
    // With `#!/usr/bin/env node`, env is a mere launcher: node is the
    // interpreter whose package matters.
    const EdgeKind kind = sb.env_program.empty() ? EdgeKind::Shebang : EdgeKind::Interpreter;
    if (auto interp =
            reach(sb.interpreter, Reason{kind, path, sb.interpreter}, Expand::Full, false)) {
      append_dependency(*interp, deps);
      expand_python(sb.interpreter, path);
    } else {
      out_.warnings.push_back(fmt::format("{}: interpreter {} not found", path, sb.interpreter));
    }
    if (!sb.env_program.empty()) {
      if (auto found = find_on_path(root_, sb.env_program)) {
        if (auto prog = reach(*found, Reason{EdgeKind::Shebang, path, sb.env_program}, Expand::Full,
                              false)) {
          append_dependency(*prog, deps);
          expand_python(*found, path);
        }
      } else {
        out_.warnings.push_back(
            fmt::format("{}: {} (run through env) not found on PATH", path, sb.env_program));
      }
    }
  }

  // A Python the closure runs, as `from` names it (a script's #! line,
  // env's program, an entry): what it imports that no package lists and no
  // string names. The venv's pyvenv.cfg; the site directories and what
  // their .pth files add, whole and as a package's files are (IfRun: an
  // extension brings its libraries, a module with a #! line for another
  // interpreter does not bring that interpreter); the base interpreter as a
  // program, with its package (the standard library), or, when no package
  // owns it, with its standard library directories whole. A Python is known
  // by the name of the file it resolves to (python3.11), its venv by the
  // path as named: a venv's bin/python is a link out of the venv.
  void expand_python(const std::string& named, const std::string& from) {
    auto st = root_.resolve(named);
    if (!st || st->type != FileType::Regular || !is_python_name(path_base(st->path))) return;
    // A script's own directory is the first entry of its sys.path: the
    // app's modules beside it (/app/helpers.py beside /app/main.py).
    // Not a directory shared by everything (/usr/bin's scripts import from
    // the site directories).
    if (from != named) {
      if (auto script = root_.resolve(from)) {
        const std::string dir(path_parent(script->path));
        if (!is_shared_hierarchy(dir) && !is_ancestor_of_top(dir) &&
            python_script_dirs_.insert(dir).second) {
          keep_script_directory(dir, from);
        }
      }
    }
    // Each script it runs may import a build tool; its environment is kept once.
    if (auto done = pythons_done_.find(lexically_absolute(named)); done != pythons_done_.end()) {
      if (from != named) tool_imports_.scan(from, done->second, /*run=*/true);
      return;
    }
    auto env = read_python_env(root_, named);
    if (!env) return;
    const bool distutils = distutils_from_setuptools(env->version);
    pythons_done_.emplace(env->interpreter, distutils);
    if (from != named) tool_imports_.scan(from, distutils, /*run=*/true);
    out_.warnings.insert(out_.warnings.end(), env->warnings.begin(), env->warnings.end());
    auto link = root_.resolve(env->interpreter, /*follow_last=*/false);
    const std::string by = link ? link->path : env->interpreter;
    if (!env->pyvenv_cfg.empty()) {
      reach(env->pyvenv_cfg, Reason{EdgeKind::PythonPath, by, "the venv configuration"},
            Expand::DataOnly, false);
    }
    // With a trace, the system's module directories are what it shows;
    // a venv's site directories are the application's, kept as without.
    if (traced() && env->pyvenv_cfg.empty()) return;
    bool packaged = false;
    if (!env->base_interpreter.empty()) {
      reach(env->base_interpreter, Reason{EdgeKind::PythonPath, by, "the base interpreter"},
            Expand::Full, false);
      expand_package(env->base_interpreter);
      packaged = in_.use_dpkg && dpkg_.present && dpkg_.owner_of(env->base_interpreter) != nullptr;
    }
    if (!packaged && !traced()) {
      for (const auto& dir : env->stdlib_dirs) {
        keep_python_path(dir, Reason{EdgeKind::PythonPath, by, "the standard library"});
      }
    }
    std::vector<std::string> scanned = env->site_dirs;
    for (const auto& dir : env->site_dirs) {
      keep_python_path(dir, Reason{EdgeKind::PythonPath, by, ""});
    }
    for (const auto& p : env->pth_paths) {
      keep_python_path(p.path, Reason{EdgeKind::PythonPath, by,
                                      fmt::format("added by {} to the sys.path", p.file)});
      scanned.push_back(p.path);
    }
    for (const auto& dir : scanned) scan_for_build_tools(dir, distutils);
  }

  std::set<std::string> python_script_dirs_;

  // What a script's directory holds, whole, as a package's files are kept
  // (IfRun), but for a venv in it (/app/venv beside /app/main.py): that is
  // the interpreter's, kept as its sys.path says, pip and all not.
  void keep_script_directory(const std::string& dir, const std::string& script) {
    const Reason why{EdgeKind::PythonPath, script, "the directory (first on the sys.path)"};
    add(dir, why, Expand::IfRun, false);
    inv_.for_each_below(dir, [&](const InventoryEntry& e, std::string_view rel) {
      if (rel.find('/') != std::string_view::npos) return;  // not a child
      if (e.type == FileType::Directory && inv_.find(path_join(e.path, "pyvenv.cfg")) != nullptr)
        return;
      reach(e.path, Reason{EdgeKind::Contains, dir, ""}, Expand::IfRun, true);
    });
  }

  void keep_python_path(const std::string& path, const Reason& why) {
    auto st = root_.resolve(path);
    if (!st) return;
    if (st->type == FileType::Directory &&
        (is_shared_hierarchy(st->path) || is_ancestor_of_top(st->path))) {
      out_.warnings.push_back(
          fmt::format("{}: on the sys.path of {}, but shared by everything: not kept whole",
                      st->path, why.from));
      return;
    }
    reach(path, why, Expand::IfRun, true);
  }

  // The modules and .pth files of a directory on a kept sys.path.
  void scan_for_build_tools(const std::string& dir, bool distutils) {
    if (!python_scanned_.insert(dir).second) return;
    inv_.for_each_below(dir, [&](const InventoryEntry& e, std::string_view) {
      if (e.type == FileType::Regular && (e.path.ends_with(".py") || e.path.ends_with(".pth"))) {
        tool_imports_.scan(e.path, distutils);
      }
    });
  }

  // Interpreters, as named, whose environment is kept -> whether distutils is setuptools'.
  std::map<std::string, bool> pythons_done_;
  std::set<std::string> python_scanned_;  // directories scanned for build tool imports
  BuildToolImports tool_imports_{root_, out_};

  // The absolute path strings and store paths the file names.
  void follow_references(const std::string& path, const FileInspection& file) {
    if (traced()) return;  // the trace is the evidence
    // A directory a library names holds its data (libcrypto's /usr/lib/ssl),
    // not programs it runs; one a program or script names may hold both
    // (git's /usr/lib/git-core).
    bool library = false;
    if (file.elf) {
      auto info = resolver_.elf_info(path);
      library = info && !(*info)->is_program();
    }
    for (const auto& ref : file.paths) {
      if (ref == path) continue;
      reach_reference(path, ref, library);
      if (auto to = rewritten_path(ref, in_.rewrites)) reach_reference(path, *to, library);
    }
    for (const auto& store_path : file.store_paths) {
      reach(store_path, Reason{EdgeKind::StoreRef, path, store_path}, Expand::Full, true);
      if (auto to = rewritten_path(store_path, in_.rewrites)) {
        reach(*to, Reason{EdgeKind::StoreRef, path, *to}, Expand::Full, true);
      }
    }
  }

  void reach_reference(const std::string& path, const std::string& ref, bool from_library) {
    // The kernel's interfaces name the running system, not the tree.
    if (is_kernel_interface(ref)) return;
    auto st = root_.resolve(ref);
    if (!st) return;
    if (st->type == FileType::Directory) {
      if (is_shared_hierarchy(st->path) || is_ancestor_of_top(st->path)) return;
      reach(ref, Reason{EdgeKind::PathRef, path, ref}, from_library ? Expand::IfRun : Expand::Full,
            true);
    } else {
      reach(ref, Reason{EdgeKind::PathRef, path, ref}, Expand::Full, false);
    }
  }

  static bool has_dot_dot(std::string_view p) {
    for (std::size_t at = p.find(".."); at != std::string_view::npos; at = p.find("..", at + 2)) {
      const bool starts = at == 0 || p[at - 1] == '/';
      const bool ends = at + 2 == p.size() || p[at + 2] == '/';
      if (starts && ends) return true;
    }
    return false;
  }

  static bool is_kernel_interface(std::string_view ref) {
    for (std::string_view dir : {"/proc", "/sys"}) {
      if (ref.substr(0, dir.size()) == dir && (ref.size() == dir.size() || ref[dir.size()] == '/'))
        return true;
    }
    return false;
  }

  bool is_ancestor_of_top(const std::string& dir) const {
    if (dir == "/") return true;
    return inv_.top == dir || inv_.top.rfind(dir + "/", 0) == 0;
  }

  void expand_package(const std::string& path) {
    if (!in_.use_dpkg || !dpkg_.present || traced()) return;
    const DpkgPackage* pkg = dpkg_.owner_of(path);
    if (pkg == nullptr) return;
    expand_package(*pkg, path, fmt::format("package {} owns {}", pkg->name, path));
  }

  void expand_package(const DpkgPackage& pkg, const std::string& from, const std::string& why) {
    if (!expandable(pkg) || !packages_done_.insert(pkg.name).second) return;
    // A package brings its modules and data; its other programs (openssl's
    // c_rehash, a perl script) only where something runs them.
    for (const auto& file : pkg.files) {
      if (root_.is_directory(file)) continue;  // lists name every parent directory too
      reach(file, Reason{EdgeKind::Package, from, why}, Expand::IfRun, false);
    }
    // Run-time dependencies: the first installed alternative of each.
    for (const auto& alternatives : pkg.depends) {
      for (const auto& name : alternatives) {
        const DpkgPackage* dep = dpkg_.find(name);
        if (dep == nullptr) continue;
        expand_package(*dep, from, fmt::format("{} depends on {}", pkg.name, dep->name));
        break;
      }
    }
    // Packages built from the same source ship one program between them
    // (python3-minimal's interpreter, libpython3.11-stdlib's modules).
    for (const auto& [name, other] : dpkg_.packages) {
      if (other.source == pkg.source && other.name != pkg.name) {
        expand_package(other, from,
                       fmt::format("{} comes from the same source as {}", other.name, pkg.name));
      }
    }
  }
};

}  // namespace

Closure compute_closure(const Root& root, const Inventory& inventory, Resolver& resolver,
                        const DpkgDb& dpkg, const ClosureInputs& inputs) {
  Closure out;
  if (inputs.entries.empty() && (inputs.traces == nullptr || inputs.traces->empty())) {
    out.everything = true;
    return out;
  }
  Walker(root, inventory, resolver, dpkg, inputs, out).run();
  return out;
}

void add_loader_deps(const Root& root, Resolver& resolver, const std::vector<std::string>& paths,
                     Closure& closure) {
  // Every file stays: each Python module, script and .pth file among them
  // may import a build tool (the version from a pythonX.Y directory above).
  BuildToolImports tool_imports(root, closure);
  const auto python_version = [](std::string_view path) -> std::string_view {
    for (std::string_view p = path_parent(path); p.size() > 1; p = path_parent(p)) {
      const std::string_view name = path_base(p);
      if (is_python_name(name) && name.find('.') != std::string_view::npos) return name.substr(6);
    }
    return "";
  };
  for (const auto& path : paths) {
    if (auto link = root.resolve(path, /*follow_last=*/false);
        link && link->type == FileType::Symlink) {
      // A kept symlink needs what it points at.
      if (auto st = root.resolve(path)) append_dependency(*st, closure.loader_deps[path]);
      continue;
    }
    const std::string head = root.read_head(path, 256);
    auto& deps = closure.loader_deps[path];
    auto add = [&](const std::string& named) {
      if (auto st = root.resolve(named)) append_dependency(*st, deps);
    };
    if (has_elf_magic(head)) {
      auto info = resolver.elf_info(path);
      if (!info || !(*info)->dynamic) continue;
      auto res = resolver.resolve(path);
      if (!res) continue;
      if (res->interpreter) add(*res->interpreter);
      for (const auto& lib : res->libraries) add(lib.path);
    } else if (auto sb = parse_shebang(head)) {
      add(sb->interpreter);
      if (!sb->env_program.empty()) {
        if (auto found = find_on_path(root, sb->env_program)) add(*found);
      }
      if (is_python_name(path_base(sb->interpreter)) || is_python_name(sb->env_program)) {
        tool_imports.scan(path, distutils_from_setuptools(python_version(path)));
      }
    } else if (path.ends_with(".py") || path.ends_with(".pth")) {
      tool_imports.scan(path, distutils_from_setuptools(python_version(path)));
    }
  }
}

}  // namespace elfprune
