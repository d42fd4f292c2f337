#include "write/kept_file_edits.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <map>
#include <set>

#include "facts/plugin_host.hpp"
#include "facts/shebang.hpp"
#include "loader/resolver.hpp"
#include "util/dir_chain.hpp"

namespace elfprune {
namespace {

Error edit_failure(const std::string& path, std::string message) {
  return make_error(path, std::move(message), ErrorKind::Failed);
}

// Replace the file at `inside` under `base` with `bytes`: a temporary file
// in the same directory, with the old file's mode and owner, renamed over
// it. Every step is relative to an O_NOFOLLOW directory fd, so a symlink
// planted in the tree cannot redirect the write.
Result<void> replace_file(int base, const std::string& inside, std::string_view bytes) {
  DirChain chain(base);
  const auto comps = path_components(inside);
  if (comps.empty()) return make_error(inside, "not a file");
  DirChain::Step s = chain.open(comps, comps.size() - 1);
  if (s.err != 0)
    return make_error(inside, fmt::format("cannot open its directory: {}", errno_text(s.err)));
  const std::string& name = comps.back();
  struct stat st {};
  if (::fstatat(s.fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode)) {
    return make_error(inside, "is no longer a regular file; not rewritten");
  }
  const std::string tmp = fmt::format(".{}.elfprune-{}", name, ::getpid());
  Fd fd(::openat(s.fd, tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!fd.ok())
    return make_error(inside, fmt::format("cannot write beside it: {}", errno_text(errno)));
  auto fail = [&](const char* what) {
    const int err = errno;
    ::unlinkat(s.fd, tmp.c_str(), 0);
    return make_error(inside, fmt::format("{}: {}", what, errno_text(err)));
  };
  if (auto written = write_all(fd.get(), bytes, inside); !written) {
    ::unlinkat(s.fd, tmp.c_str(), 0);
    return written.error();
  }
  if (::geteuid() == 0) (void)::fchown(fd.get(), st.st_uid, st.st_gid);
  if (::fchmod(fd.get(), st.st_mode & 07777) != 0) return fail("cannot set its mode");
  if (::fsync(fd.get()) != 0) return fail("cannot sync");
  if (::renameat(s.fd, tmp.c_str(), s.fd, name.c_str()) != 0) return fail("cannot replace");
  return {};
}

// Replace the symlink at `inside` with one pointing at `target`, the same
// way: made beside it, renamed over it.
Result<void> replace_symlink(int base, const std::string& inside, const std::string& target) {
  DirChain chain(base);
  const auto comps = path_components(inside);
  if (comps.empty()) return make_error(inside, "not a symlink");
  DirChain::Step s = chain.open(comps, comps.size() - 1);
  if (s.err != 0) {
    return make_error(inside, fmt::format("cannot open its directory: {}", errno_text(s.err)));
  }
  const std::string tmp = fmt::format(".{}.elfprune-{}", comps.back(), ::getpid());
  if (::symlinkat(target.c_str(), s.fd, tmp.c_str()) != 0) {
    return make_error(inside, fmt::format("cannot write beside it: {}", errno_text(errno)));
  }
  if (::renameat(s.fd, tmp.c_str(), s.fd, comps.back().c_str()) != 0) {
    const int err = errno;
    ::unlinkat(s.fd, tmp.c_str(), 0);
    return make_error(inside, fmt::format("cannot replace: {}", errno_text(err)));
  }
  return {};
}

// Resolutions of every kept ELF object, for --shrink-rpath's bookkeeping
// and for comparing the tree before and after the edits.
struct Resolved {
  std::vector<std::string> loaded;  // "name -> realpath", in order
  std::set<std::string> missing;    // names
};

class Editor {
 public:
  Editor(const Root& tree, const Inventory& inv, const std::vector<bool>& keep,
         const EditOptions& options)
      : tree_(tree), inv_(inv), keep_(keep), o_(options) {}

  EditResult run() {
    if (!o_.write_dir.empty()) {
      base_.reset(::open(o_.write_dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
      if (!base_.ok()) {
        result_.problems.push_back(
            edit_failure(o_.write_dir.string(), fmt::format("cannot open: {}", errno_text(errno))));
        return std::move(result_);
      }
    }
    collect_kept_files();
    auto before = resolve_all(o_.dlopen_names);
    if (!o_.rewrites.empty()) {
      rewrite_references_pass();
      check_plugin_hosts();
    }
    if (o_.shrink_rpath) shrink_pass();
    if (base_.ok() && !result_.edits.empty()) verify_after(before);
    return std::move(result_);
  }

 private:
  void collect_kept_files() {
    for (std::size_t i = 0; i < inv_.entries.size(); ++i) {
      if (!keep_[i]) continue;
      if (inv_.entries[i].type == FileType::Regular) files_.push_back(&inv_.entries[i]);
      if (inv_.entries[i].type == FileType::Symlink) links_.push_back(&inv_.entries[i]);
    }
  }

  bool write(const std::string& path, std::string_view bytes) {
    if (!base_.ok()) return true;
    auto ok = replace_file(base_.get(), path, bytes);
    if (!ok) result_.problems.push_back(ok.error());
    return ok.ok();
  }

  std::optional<ElfInfo> elf_of(const std::string& path) {
    auto st = tree_.resolve(path, false);
    if (!st || st->type != FileType::Regular) return std::nullopt;
    auto info = read_elf(tree_.host(st->path), path);
    if (!info) return std::nullopt;
    return std::move(*info);
  }

  void rewrite_links() {
    for (const InventoryEntry* e : links_) {
      auto refs = find_references(e->link_target, o_.rewrites);
      if (refs.empty()) continue;
      auto r = rewrite_references(e->link_target, nullptr, o_.rewrites, e->path);
      if (!r || !*r) continue;  // a target holds no NUL: always text
      const std::string& target = (*r)->bytes;
      if (base_.ok()) {
        auto ok = replace_symlink(base_.get(), e->path, target);
        if (!ok) {
          result_.problems.push_back(ok.error());
          continue;
        }
      }
      result_.edits.push_back(
          {e->path, fmt::format("symlink target {} -> {}", e->link_target, target)});
      rewritten_links_.push_back(e->path);
    }
  }

  void rewrite_references_pass() {
    rewrite_links();
    for (const InventoryEntry* e : files_) {
      auto mapped = tree_.map_file(e->path);
      if (!mapped) continue;  // unreadable: the rest of the pipeline says so
      const std::string_view bytes = mapped->bytes();
      if (find_references(bytes, o_.rewrites).empty()) continue;
      std::optional<ElfInfo> elf;
      if (has_elf_magic(bytes)) elf = elf_of(e->path);
      auto r = rewrite_references(bytes, elf ? &*elf : nullptr, o_.rewrites, e->path);
      if (!r) {
        result_.problems.push_back(r.error());
        continue;
      }
      if (!*r) continue;
      const RewrittenFile& f = **r;
      // A script whose new interpreter the result will not have: found
      // before anything is written.
      auto sb = parse_shebang(std::string_view(f.bytes).substr(0, 256));
      auto was = parse_shebang(bytes.substr(0, 256));
      if (sb && was && sb->interpreter != was->interpreter && !tree_.exists(sb->interpreter)) {
        result_.problems.push_back(edit_failure(
            e->path, fmt::format("its interpreter would be {}, which the result does not have",
                                 sb->interpreter)));
        continue;
      }
      std::string what = fmt::format("{} reference(s) rewritten ({})", f.references,
                                     rewrite_method_name(f.method));
      if (!f.fields.empty()) what += fmt::format(": {}", fmt::join(f.fields, ", "));
      if (write(e->path, f.bytes)) result_.edits.push_back({e->path, std::move(what)});
    }
  }

  // A plugin (a Python extension, a Node addon, a Perl XS module) binds
  // against the program that loads it. When --rewrite-ref moves that
  // program (every kept reference to FROM then names TO, so scripts and
  // wrappers run TO's build), the plugin must bind against the new one:
  // each symbol its old host defined and the new one does not is a
  // problem, found on the plan's view before anything is written.
  void check_plugin_hosts() {
    ResolveOptions ropts;
    ropts.loader = o_.loader;
    Resolver resolver(tree_, ropts);
    for (const InventoryEntry* e : files_) {
      if (e->size < 64 || !has_elf_magic(tree_.read_head(e->path, 4))) continue;
      auto host = plugin_host(tree_, e->path);
      if (!host) continue;
      auto moved = rewrite_references(*host, nullptr, o_.rewrites, *host);
      if (!moved || !*moved || (*moved)->bytes == *host) continue;
      const std::string& new_host = (*moved)->bytes;
      ResolveRequest was, now;
      was.host = *host;
      now.host = new_host;
      auto change = compare_bindings(resolver, was, resolver, now, e->path);
      if (!change) {
        result_.problems.push_back(
            edit_failure(e->path, fmt::format("its host would be {} (--rewrite-ref): {}", new_host,
                                              change.error().message)));
        continue;
      }
      for (const auto& l : change->lost) {
        result_.problems.push_back(edit_failure(
            e->path,
            fmt::format("its host would be {} (--rewrite-ref), and there {}{}", new_host,
                        describe_undefined(l.undefined),
                        l.defined_by.empty() ? std::string()
                                             : fmt::format("; {} defines it", l.defined_by))));
      }
    }
  }

  // Every kept dynamic ELF object, resolved in the tree as it is now.
  std::map<std::string, Resolved> resolve_all(const std::vector<std::string>& dlopen_names) {
    Resolver resolver(tree_, ResolveOptions{"", o_.loader, false, ""});
    std::map<std::string, Resolved> out;
    usage_.clear();
    unresolved_.clear();
    infos_.clear();
    for (const InventoryEntry* e : files_) {
      if (e->size < 64 || !has_elf_magic(tree_.read_head(e->path, 4))) continue;
      auto info = resolver.elf_info(e->path);
      if (!info || !(*info)->dynamic) continue;
      infos_.emplace_back(e->path, *info);
      std::vector<std::string> names = dlopen_names;
      for (const auto& d : (*info)->dlopen)
        names.insert(names.end(), d.sonames.begin(), d.sonames.end());
      auto res = resolver.resolve(e->path, names);
      if (!res) continue;
      Resolved r;
      for (const auto& lib : res->libraries) {
        r.loaded.push_back(lib.name + " -> " + lib.realpath);
        if (!lib.list_owner.empty()) {
          usage_[{lib.list_owner, lib.via == Via::Runpath}].insert(lib.list_entry);
        }
      }
      for (const auto& m : res->missing) {
        r.missing.insert(m.name);
        if (!m.dlopen) {
          auto who = tree_.realpath(m.needed_by);
          unresolved_.insert(who ? *who : m.needed_by);
        }
      }
      out[e->path] = std::move(r);
    }
    return out;
  }

  // Uses what the last resolve_all() parsed and recorded: the objects, and
  // which of their list elements found something.
  void shrink_pass() {
    // After rewrites were written, what is used must be worked out anew.
    if (base_.ok() && !result_.edits.empty()) resolve_all(o_.dlopen_names);
    for (const auto& [path, info] : infos_) {
      // glibc ignores DT_RPATH when DT_RUNPATH is there: shrink the one used.
      const bool runpath = info->runpath.has_value();
      const auto& list = runpath ? info->runpath : info->rpath;
      const auto& slot = runpath ? info->runpath_slot : info->rpath_slot;
      if (!list || !slot || list->empty()) continue;
      if (unresolved_.count(path) != 0) {
        result_.warnings.push_back(fmt::format(
            "{}: --shrink-rpath: a library it needs is missing, so its search list is left as "
            "it is",
            path));
        continue;
      }
      auto it = usage_.find({path, runpath});
      const std::vector<std::string> used =
          it == usage_.end() ? std::vector<std::string>{}
                             : std::vector<std::string>(it->second.begin(), it->second.end());
      auto shrunk = shrink_search_list(*list, used);
      if (!shrunk) continue;
      auto mapped = tree_.map_file(path);
      if (!mapped) continue;
      std::string bytes(mapped->bytes());
      auto ok = patch_elf_string(bytes, *info, *slot, *shrunk, path);
      if (!ok) {
        result_.problems.push_back(ok.error());
        continue;
      }
      if (write(path, bytes)) {
        result_.edits.push_back({path, fmt::format("{} {} -> {}", runpath ? "RUNPATH" : "RPATH",
                                                   *list, shrunk->empty() ? "(empty)" : *shrunk)});
      }
    }
  }

  void verify_after(const std::map<std::string, Resolved>& before) {
    auto after = resolve_all(o_.dlopen_names);
    const bool exact = o_.rewrites.empty();
    for (const auto& [path, was] : before) {
      auto now = after.find(path);
      if (now == after.end()) {
        result_.problems.push_back(
            edit_failure(path, "is no longer a dynamic ELF object after editing"));
        continue;
      }
      for (const auto& m : now->second.missing) {
        if (was.missing.count(m) == 0) {
          result_.problems.push_back(
              edit_failure(path, fmt::format("{} no longer resolves after editing", m)));
        }
      }
      if (exact && now->second.loaded != was.loaded) {
        result_.problems.push_back(edit_failure(
            path, "loads other libraries after --shrink-rpath than before; the edit is wrong"));
      }
    }
    for (const auto& link : rewritten_links_) {
      if (!tree_.exists(link)) {
        result_.problems.push_back(edit_failure(link, "dangles after rewriting its target"));
      }
    }
    // A rewritten script's interpreter must exist.
    for (const auto& edit : result_.edits) {
      auto shebang = parse_shebang(tree_.read_head(edit.path, 256));
      if (shebang && !tree_.exists(shebang->interpreter)) {
        result_.problems.push_back(
            edit_failure(edit.path, fmt::format("its interpreter {} does not exist after rewriting",
                                                shebang->interpreter)));
      }
    }
    result_.verified = true;
  }

  const Root& tree_;
  const Inventory& inv_;
  const std::vector<bool>& keep_;
  const EditOptions& o_;
  Fd base_;
  std::vector<const InventoryEntry*> files_;
  std::vector<const InventoryEntry*> links_;
  std::vector<std::string> rewritten_links_;
  // (object, RUNPATH?) -> the elements of its list that found something.
  std::map<std::pair<std::string, bool>, std::set<std::string>> usage_;
  std::set<std::string> unresolved_;  // objects with a missing DT_NEEDED
  // The kept dynamic ELF objects resolve_all() parsed, in inventory order.
  std::vector<std::pair<std::string, std::shared_ptr<const ElfInfo>>> infos_;
  EditResult result_;
};

}  // namespace

bool wants_edits(const EditOptions& options) {
  return !options.rewrites.empty() || options.shrink_rpath;
}

EditResult apply_edits(const Root& tree, const Inventory& inventory, const std::vector<bool>& keep,
                       const EditOptions& options) {
  if (!wants_edits(options)) return {};
  return Editor(tree, inventory, keep, options).run();
}

}  // namespace elfprune
