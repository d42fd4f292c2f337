// The loader's search, emulated. Section numbers refer to
// docs/loader-resolution.md; glibc function names to elf/dl-load.c.
#include "loader/resolver.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>
#include <tuple>

#include "loader/dst.hpp"
#include "loader/search_path.hpp"
#include "util/path.hpp"

namespace elfprune {

std::string_view via_name(Via via) {
  switch (via) {
    case Via::Rpath:
      return "rpath";
    case Via::Runpath:
      return "runpath";
    case Via::LdLibraryPath:
      return "ld_library_path";
    case Via::Cache:
      return "ld.so.cache";
    case Via::Default:
      return "default";
    case Via::Direct:
      return "direct";
    case Via::Loaded:
      return "loaded";
    case Via::MuslLibc:
      return "musl_libc";
  }
  return "default";
}

namespace {

// One object in the emulated link map.
struct Object {
  std::string path;      // the string it was opened under
  std::string realpath;  // canonical inside the root
  dev_t dev = 0;
  ino_t ino = 0;
  std::vector<std::string> names;  // l_name and every alias it was requested by
  std::shared_ptr<const ElfInfo> info;
  int loader = -1;  // index of the object whose DT_NEEDED loaded it
  std::string origin;
  bool is_main = false;
  bool is_interp = false;
};

// How a candidate file fared against glibc's open_verify.
enum class Verdict { Accept, Skip, Fatal };

}  // namespace

struct Resolver::Impl {
  const Root& root;
  ResolveOptions options;
  std::map<std::string, Result<std::shared_ptr<const ElfInfo>>> elf_cache;
  std::map<std::string, LoaderConfig> loader_cache;
  std::map<std::string, Result<std::shared_ptr<const DynamicSymbols>>> symbol_cache;
  // The host's global scope (ResolveOptions::host), worked out once.
  std::map<std::string, Result<std::vector<ScopeObject>>> host_scopes;

  Impl(const Root& r, ResolveOptions o) : root(r), options(std::move(o)) {}

  const LoaderConfig& loader_for(const std::string& interp, std::uint8_t cls,
                                 std::uint16_t machine) {
    const std::string key = fmt::format("{}\n{}\n{}", interp, cls, machine);
    auto it = loader_cache.find(key);
    if (it == loader_cache.end()) {
      it = loader_cache.emplace(key, detect_loader(root, interp, cls, machine, options.loader))
               .first;
    }
    return it->second;
  }

  Result<std::shared_ptr<const ElfInfo>> info(const std::string& canonical) {
    auto it = elf_cache.find(canonical);
    if (it != elf_cache.end()) return it->second;
    Result<std::shared_ptr<const ElfInfo>> res = [&]() -> Result<std::shared_ptr<const ElfInfo>> {
      ELFPRUNE_TRY_ASSIGN(ElfInfo parsed, read_elf(root.host(canonical), canonical));
      return std::make_shared<const ElfInfo>(std::move(parsed));
    }();
    elf_cache.emplace(canonical, res);
    return res;
  }

  Result<std::shared_ptr<const DynamicSymbols>> symbols(const std::string& canonical,
                                                        const ElfInfo& parsed) {
    auto it = symbol_cache.find(canonical);
    if (it != symbol_cache.end()) return it->second;
    Result<std::shared_ptr<const DynamicSymbols>> res =
        [&]() -> Result<std::shared_ptr<const DynamicSymbols>> {
      ELFPRUNE_TRY_ASSIGN(DynamicSymbols read,
                          read_dynamic_symbols(root.host(canonical), canonical, parsed));
      return std::make_shared<const DynamicSymbols>(std::move(read));
    }();
    symbol_cache.emplace(canonical, res);
    return res;
  }
};

namespace {

// State of one resolution (one `deps FILE`).
class Session {
 public:
  Session(Resolver::Impl& impl, const LoaderConfig& cfg, Resolution& out)
      : impl_(impl), root_(impl.root), cfg_(cfg), out_(out) {}

  void add_main(Object main) { objects_.push_back(std::move(main)); }
  void add_interp(Object interp) { objects_.push_back(std::move(interp)); }

  void run() {
    ld_library_path_ = split_ld_library_path();
    process_queue();
  }

  // glibc's _dl_check_map_versions, once everything is loaded: each
  // object's DT_VERNEED entries against the DT_VERDEF of the object its
  // vn_file names (matched as _dl_name_match_p does: any name the object
  // was loaded under, its SONAME among them). A library without DT_VERDEF
  // satisfies everything ("no version information available" is a
  // warning); a weak version that is missing is a warning too.
  void check_versions() {
    if (cfg_.flavor != LoaderFlavor::Glibc) return;
    for (const Object& o : objects_) {
      if (!o.info) continue;
      for (const VersionNeed& vn : o.info->version_needs) {
        const Object* lib = nullptr;
        for (const Object& c : objects_) {
          const bool named = std::find(c.names.begin(), c.names.end(), vn.file) != c.names.end() ||
                             (c.info && c.info->soname == vn.file);
          if (named) {
            lib = &c;
            break;
          }
        }
        if (lib == nullptr || !lib->info) continue;
        if (!lib->info->has_version_defs) {
          // As glibc says it, and goes on: such a library loads.
          out_.warnings.push_back(fmt::format(
              "{}: no version information available (required by {})", lib->path, o.path));
          continue;
        }
        for (const auto& v : vn.versions) {
          if (lib->info->defines_version(v.name)) continue;
          if (v.weak) {
            out_.warnings.push_back(
                fmt::format("{}: weak version {} of {} not found", o.path, v.name, vn.file));
            continue;
          }
          out_.missing_versions.push_back({v.name, vn.file, o.path, lib->path});
        }
      }
    }
  }

  // dlopen() after start-up: requested by the main object, then the new
  // objects' own dependencies, breadth-first.
  void dlopen(const std::vector<std::string>& names) {
    dlopen_mode_ = true;
    for (const auto& name : names) map_needed(0, name);
    process_queue();
  }

  // The objects of the main program's global scope as ScopeObjects: what a
  // plugin's host contributes (ResolveOptions::host).
  std::vector<ScopeObject> global_scope_objects() {
    std::vector<ScopeObject> out;
    for (std::size_t i : scope_from(0, false)) out.push_back(scope_object(i));
    return out;
  }

  // glibc's relocation with LD_BIND_NOW, checked: every object's strong
  // undefined references looked up in its scope. The objects loaded at
  // start-up share the global scope (the main program's, breadth-first);
  // a dlopen'ed one looks there, then in its own breadth-first scope.
  // With a host, the file itself was dlopen'ed by it: the host's global
  // scope comes first and the host's objects are not checked.
  void bind(const std::vector<ScopeObject>* host,
            const std::set<std::pair<std::string, std::string>>* explain) {
    if (cfg_.flavor != LoaderFlavor::Glibc) return;
    out_.bound = true;
    std::vector<ScopeObject> objects;
    objects.reserve(objects_.size());
    for (std::size_t i = 0; i < objects_.size(); ++i) objects.push_back(scope_object(i));
    // A plugin is not the program: only its host is.
    if (host != nullptr) objects.front().executable = false;
    std::vector<const ScopeObject*> base;
    std::set<std::string> in_host;
    if (host != nullptr) {
      for (const ScopeObject& h : *host) {
        base.push_back(&h);
        in_host.insert(h.realpath);
      }
    }
    auto add_scope = [&](std::vector<const ScopeObject*>& scope,
                         std::vector<const ScopeObject*>& from,
                         const std::vector<std::size_t>& order) {
      for (std::size_t i : order) {
        if (in_host.count(objects[i].realpath) != 0) continue;
        scope.push_back(&objects[i]);
        from.push_back(&objects[i]);
      }
    };
    const std::vector<std::size_t> main_scope = scope_from(0, false);
    std::vector<const ScopeObject*> global = base, global_from;
    add_scope(global, global_from, main_scope);
    bind_references(global_from, global, out_.undefined, explain, &out_.bindings);
    std::set<std::size_t> done(main_scope.begin(), main_scope.end());
    for (const Edge& e : edges_) {
      if (!e.dlopen || e.from != 0 || done.count(static_cast<std::size_t>(e.to)) != 0) continue;
      std::vector<const ScopeObject*> scope = global, from;
      std::vector<std::size_t> order;
      for (std::size_t i : scope_from(static_cast<std::size_t>(e.to), true)) {
        if (done.insert(i).second) order.push_back(i);
      }
      add_scope(scope, from, order);
      bind_references(from, scope, out_.undefined, explain, &out_.bindings);
    }
  }

 private:
  // Breadth-first: objects_ grows while we walk it (glibc _dl_map_object_deps).
  void process_queue() {
    for (; next_ < objects_.size(); ++next_) {
      if (objects_[next_].is_interp || !objects_[next_].info) continue;
      const auto info = objects_[next_].info;
      for (const std::string& needed : info->needed) map_needed(static_cast<int>(next_), needed);
    }
  }

  Resolver::Impl& impl_;
  const Root& root_;
  const LoaderConfig& cfg_;
  Resolution& out_;
  std::vector<Object> objects_;
  std::vector<std::string> ld_library_path_;
  struct Edge {
    int from = 0, to = 0;
    bool dlopen = false;
  };
  std::vector<Edge> edges_;  // DT_NEEDED edges as mapped, in order
  bool warned_emulated_ = false;
  std::set<std::string> warned_symbols_;
  bool dlopen_mode_ = false;
  std::size_t next_ = 0;

  DstValues dst_for(const Object& o) const {
    return DstValues{o.origin, cfg_.lib_token, cfg_.platform_token};
  }

  const Object& main() const { return objects_.front(); }

  // The search list glibc's _dl_map_object_deps builds from `start`:
  // breadth-first over the DT_NEEDED edges, each object once, the
  // interpreter where an edge first reaches it. `dlopen_edges`: follow the
  // edges mapped after start-up too.
  std::vector<std::size_t> scope_from(std::size_t start, bool dlopen_edges) const {
    std::vector<std::vector<int>> next(objects_.size());
    for (const Edge& e : edges_) {
      if (e.dlopen && (!dlopen_edges || e.from == 0)) continue;
      next[static_cast<std::size_t>(e.from)].push_back(e.to);
    }
    std::vector<std::size_t> order{start};
    std::vector<bool> seen(objects_.size(), false);
    seen[start] = true;
    for (std::size_t k = 0; k < order.size(); ++k) {
      for (int to : next[order[k]]) {
        if (seen[static_cast<std::size_t>(to)]) continue;
        seen[static_cast<std::size_t>(to)] = true;
        order.push_back(static_cast<std::size_t>(to));
      }
    }
    return order;
  }

  ScopeObject scope_object(std::size_t i) {
    const Object& o = objects_[i];
    ScopeObject s;
    s.path = o.path;
    s.realpath = o.realpath;
    s.names = o.names;
    s.executable = o.is_main;
    if (o.info && o.info->soname) s.names.push_back(*o.info->soname);
    if (o.info) {
      auto syms = impl_.symbols(o.realpath, *o.info);
      const bool first = warned_symbols_.insert(o.realpath).second;
      if (syms) {
        s.symbols = *syms;
        if (first) {
          for (const auto& w : (*syms)->warnings)
            out_.warnings.push_back(fmt::format("{}: {}", o.path, w));
        }
      } else if (first) {
        out_.warnings.push_back(fmt::format("cannot bind: {}", syms.error().message));
      }
    }
    return s;
  }

  std::vector<std::string> split_ld_library_path() {
    if (options().ld_library_path.empty()) return {};
    // LD_LIBRARY_PATH is expanded relative to the executable (§2).
    auto list = parse_search_list(options().ld_library_path, ":;", dst_for(main()),
                                  cfg_.flavor == LoaderFlavor::Musl, /*empty_is_ignored=*/false);
    note_relative(list, "LD_LIBRARY_PATH");
    return list;
  }

  const ResolveOptions& options() const { return impl_.options; }

  void note_relative(const std::vector<std::string>& dirs, std::string_view what) {
    for (const auto& d : dirs) {
      if (!d.empty() && d.front() != '/') {
        out_.warnings.push_back(fmt::format(
            "{} element '{}' is relative to the working directory; assuming /", what, d));
      }
    }
  }

  // Match against the loaded set (§1.1): path, aliases, then SONAME.
  int find_loaded(const std::string& name) {
    for (std::size_t i = 0; i < objects_.size(); ++i) {
      Object& o = objects_[i];
      if (std::find(o.names.begin(), o.names.end(), name) != o.names.end()) {
        return static_cast<int>(i);
      }
      if (cfg_.flavor == LoaderFlavor::Glibc && o.info && o.info->soname &&
          *o.info->soname == name) {
        o.names.push_back(name);
        return static_cast<int>(i);
      }
    }
    return -1;
  }

  int find_identity(dev_t dev, ino_t ino) const {
    for (std::size_t i = 0; i < objects_.size(); ++i) {
      if (objects_[i].dev == dev && objects_[i].ino == ino) return static_cast<int>(i);
    }
    return -1;
  }

  // glibc's open_verify: which candidates are skipped and which end the search.
  Verdict verify(const std::string& candidate, std::string& why, FileStat& st) {
    auto resolved = root_.resolve(candidate);
    if (!resolved) return Verdict::Skip;  // ENOENT, ENOTDIR, EACCES, ELOOP: keep looking
    st = *resolved;
    if (st.type == FileType::Directory) {
      why = fmt::format("{}: cannot read file data: is a directory", candidate);
      return Verdict::Fatal;
    }
    // A FIFO or device is refused before reading; text or a truncated
    // file stops the search in both loaders (glibc "invalid ELF header",
    // musl's map_library failing).
    if (st.type != FileType::Regular) {
      why = fmt::format("{}: not a regular file", candidate);
      return Verdict::Skip;
    }
    auto header = read_elf_header(root_.host(st.path), candidate);
    if (!header) {
      why = fmt::format("{}: {}", candidate, header.error().message);
      return Verdict::Fatal;
    }
    const ElfHeader& h = *header;
    if (cfg_.flavor == LoaderFlavor::Musl) return Verdict::Accept;  // musl skips nothing (§6)
    if (h.elf_class != cfg_.elf_class) {
      why = fmt::format("{}: wrong ELF class: ELFCLASS{}", candidate, h.elf_class == 1 ? 32 : 64);
      return Verdict::Skip;
    }
    const std::uint8_t want_data = elfconst::kDataLsb;  // all targets we emulate are LE
    if (h.data != want_data) {
      why = fmt::format("{}: ELF file data encoding not little-endian", candidate);
      return Verdict::Fatal;
    }
    if (h.version != 1 || h.e_version != 1) {
      why = fmt::format("{}: ELF file version does not match current one", candidate);
      return Verdict::Fatal;
    }
    if (h.osabi != 0 && h.osabi != 3) {
      why = fmt::format("{}: ELF file OS ABI invalid", candidate);
      return Verdict::Fatal;
    }
    if (!h.ident_padding_zero) {
      why = fmt::format("{}: nonzero padding in e_ident", candidate);
      return Verdict::Fatal;
    }
    if (h.machine != cfg_.machine) {
      why = fmt::format("{}: foreign machine {}", candidate, machine_name(h.machine));
      return Verdict::Skip;
    }
    if (h.type != elfconst::kTypeDyn && h.type != elfconst::kTypeExec) {
      why = fmt::format("{}: only ET_DYN and ET_EXEC can be loaded", candidate);
      return Verdict::Fatal;
    }
    const std::uint16_t phent = h.elf_class == elfconst::kClass64 ? 56 : 32;
    if (h.phentsize != phent) {
      why = fmt::format("{}: ELF file's phentsize not the expected size", candidate);
      return Verdict::Fatal;
    }
    return Verdict::Accept;
  }

  struct Found {
    std::string path;
    FileStat st;
    Via via;
    std::string list_owner{};  // RPATH/RUNPATH: the object whose list found it
    std::string list_entry{};  // and the element of that list, as written
  };

  // Try `dir/<subdir>/name` for each subdirectory the loader would (§3).
  // Returns true when the search is over (found, or a fatal candidate).
  bool try_dir(const std::string& dir, const std::string& name, Via via, bool with_hwcaps,
               MissingLibrary& miss, std::optional<Found>& found) {
    std::vector<std::string> subdirs;
    if (with_hwcaps && cfg_.flavor == LoaderFlavor::Glibc) {
      for (const auto& h : cfg_.hwcaps_subdirs) subdirs.push_back("glibc-hwcaps/" + h);
      for (const auto& l : cfg_.legacy_hwcaps_subdirs) subdirs.push_back(l);
    }
    subdirs.emplace_back();
    const std::string base = dir == "/" ? "" : dir.empty() ? "." : dir;
    for (const auto& sub : subdirs) {
      std::string candidate =
          sub.empty() ? fmt::format("{}/{}", base, name) : fmt::format("{}/{}/{}", base, sub, name);
      // Relative directories (and the empty element) are relative to the
      // working directory, which we take to be `/` of the root.
      if (candidate.front() != '/') candidate = lexically_absolute(candidate);
      miss.searched.push_back(candidate);
      std::string why;
      FileStat st;
      switch (verify(candidate, why, st)) {
        case Verdict::Accept:
          found = Found{candidate, st, via};
          return true;
        case Verdict::Fatal:
          miss.reason = why;
          return true;
        case Verdict::Skip:
          if (!why.empty()) miss.reason = why;
          break;
      }
    }
    return false;
  }

  bool try_list(const std::vector<std::string>& dirs, const std::string& name, Via via,
                MissingLibrary& miss, std::optional<Found>& found, const Object* owner = nullptr) {
    for (const auto& d : dirs) {
      if (try_dir(d, name, via, true, miss, found)) {
        // A stop without a find (a fatal candidate) has nothing to record.
        if (owner != nullptr && found) {
          found->list_owner = owner->realpath;
          found->list_entry = list_entry_of(*owner, via == Via::Runpath, d);
        }
        return true;
      }
    }
    return false;
  }

  std::vector<std::string> rpath_of(const Object& o, bool runpath) {
    const auto& field = runpath ? o.info->runpath : o.info->rpath;
    if (!field) return {};
    // An object with DT_RUNPATH has its DT_RPATH ignored (get-dynamic-info.h).
    if (!runpath && o.info->runpath && cfg_.flavor == LoaderFlavor::Glibc) return {};
    auto list = parse_search_list(*field, ":", dst_for(o), cfg_.flavor == LoaderFlavor::Musl,
                                  /*empty_is_ignored=*/true);
    note_relative(list, fmt::format("{} of {}", runpath ? "RUNPATH" : "RPATH", o.path));
    return list;
  }

  // The element of an object's RPATH/RUNPATH, as written, that expands to
  // `dir` (what --shrink-rpath keeps). Only worked out on a hit.
  std::string list_entry_of(const Object& o, bool runpath, const std::string& dir) const {
    const auto& field = runpath ? o.info->runpath : o.info->rpath;
    if (!field) return {};
    std::string_view rest = *field;
    while (true) {
      const auto colon = rest.find(':');
      const std::string_view element = rest.substr(0, colon);
      auto dirs = parse_search_list(element, ":", dst_for(o), cfg_.flavor == LoaderFlavor::Musl,
                                    /*empty_is_ignored=*/false);
      if (!dirs.empty() && dirs.front() == dir) return std::string(element);
      if (colon == std::string_view::npos) return {};
      rest.remove_prefix(colon + 1);
    }
  }

  bool in_default_dir(const std::string& path) const {
    for (const auto& d : cfg_.default_dirs) {
      const std::string prefix = d == "/" ? "/" : d + "/";
      if (path.rfind(prefix, 0) == 0) return true;
    }
    return false;
  }

  void search_glibc(int loader_idx, const std::string& name, MissingLibrary& miss,
                    std::optional<Found>& found) {
    const Object& loader = objects_[loader_idx];
    // 1. RPATH chain, only when the requesting object has no RUNPATH.
    if (!loader.info->runpath) {
      bool did_main = false;
      for (int l = loader_idx; l >= 0; l = objects_[l].loader) {
        auto dirs = rpath_of(objects_[l], false);
        if (!dirs.empty() && try_list(dirs, name, Via::Rpath, miss, found, &objects_[l])) return;
        did_main |= objects_[l].is_main;
      }
      if (!did_main) {
        auto dirs = rpath_of(main(), false);
        if (!dirs.empty() && try_list(dirs, name, Via::Rpath, miss, found, &main())) return;
      }
    }
    // 2. LD_LIBRARY_PATH.
    if (try_list(ld_library_path_, name, Via::LdLibraryPath, miss, found)) return;
    // 3. The requesting object's own RUNPATH, never inherited.
    if (auto dirs = rpath_of(loader, true); !dirs.empty()) {
      if (try_list(dirs, name, Via::Runpath, miss, found, &loader)) return;
    }
    // 4. ld.so.cache; 5. default directories — both off under DF_1_NODEFLIB
    // (for the cache: only entries inside a default directory).
    const bool nodeflib = loader.info->nodeflib();
    if (cfg_.cache) {
      auto cached = cfg_.cache->lookup(name, cfg_.cache_abi_flags, cfg_.hwcaps_subdirs);
      if (cached && !(nodeflib && in_default_dir(*cached))) {
        miss.searched.push_back(fmt::format("{} (ld.so.cache)", *cached));
        std::string why;
        FileStat st;
        switch (verify(*cached, why, st)) {
          case Verdict::Accept:
            found = Found{*cached, st, Via::Cache};
            if (cfg_.cache_emulated && !warned_emulated_) {
              warned_emulated_ = true;
              out_.warnings.push_back(
                  "the root has no /etc/ld.so.cache: ld.so.cache results are what ldconfig "
                  "would make from /etc/ld.so.conf");
            }
            return;
          case Verdict::Fatal:
            miss.reason = why;
            return;
          case Verdict::Skip:
            break;  // a stale entry: fall through to the defaults
        }
      }
    }
    if (!nodeflib) try_list(cfg_.default_dirs, name, Via::Default, miss, found);
  }

  void search_musl(int loader_idx, const std::string& name, MissingLibrary& miss,
                   std::optional<Found>& found) {
    // LD_LIBRARY_PATH first, then RPATH/RUNPATH of the requester and all its
    // ancestors, then the system path (§6).
    if (try_list(ld_library_path_, name, Via::LdLibraryPath, miss, found)) return;
    for (int l = loader_idx; l >= 0; l = objects_[l].loader) {
      const Object& o = objects_[l];
      const bool use_runpath = o.info->runpath.has_value();
      if (!use_runpath && !o.info->rpath) continue;
      auto dirs = rpath_of(o, use_runpath);
      if (try_list(dirs, name, use_runpath ? Via::Runpath : Via::Rpath, miss, found, &o)) return;
    }
    try_list(cfg_.musl_path, name, Via::Default, miss, found);
  }

  static bool musl_reserved(const std::string& name) {
    static const char* const kReserved[] = {"c.", "pthread.", "rt.", "m.", "dl.", "util.", "xnet."};
    if (name.rfind("lib", 0) != 0) return false;
    for (const char* r : kReserved) {
      if (name.compare(3, std::string_view(r).size(), r) == 0) return true;
    }
    return false;
  }

  // A DT_NEEDED edge to an object already in the link map: listed with
  // via "loaded" so that every edge is visible, except edges to the file
  // itself and to the interpreter, which `libraries` leaves out.
  void note_loaded(int idx, const std::string& raw, int loader_idx) {
    edges_.push_back({loader_idx, idx, dlopen_mode_});
    const Object& o = objects_[idx];
    if (o.is_main || o.is_interp) return;
    out_.libraries.push_back(LoadedLibrary{raw, o.path, o.realpath, objects_[loader_idx].path,
                                           Via::Loaded, dlopen_mode_});
  }

  void map_needed(int loader_idx, const std::string& raw) {
    const Object& loader = objects_[loader_idx];
    MissingLibrary miss;
    miss.name = raw;
    miss.needed_by = loader.path;
    miss.dlopen = dlopen_mode_;

    std::string name = raw;
    if (raw.find('$') != std::string::npos && cfg_.flavor == LoaderFlavor::Glibc) {
      auto expanded = expand_dst(raw, dst_for(loader), false);
      if (!expanded) {
        miss.reason = "a dynamic string token in the name has no value";
        out_.missing.push_back(std::move(miss));
        return;
      }
      name = *expanded;
    }

    if (cfg_.flavor == LoaderFlavor::Musl && (musl_reserved(name) || name == cfg_.interpreter)) {
      return;  // musl itself provides these
    }
    if (cfg_.flavor == LoaderFlavor::Glibc || name.find('/') == std::string::npos) {
      if (int idx = find_loaded(name); idx >= 0) {
        note_loaded(idx, raw, loader_idx);
        return;
      }
    }

    std::optional<Found> found;
    if (name.find('/') != std::string::npos) {
      // Opened as written, relative to the working directory (assumed `/`).
      const std::string path = name.front() == '/' ? name : lexically_absolute(name);
      miss.searched.push_back(path);
      std::string why;
      FileStat st;
      if (verify(path, why, st) == Verdict::Accept) {
        found = Found{path, st, Via::Direct};
      } else if (!why.empty()) {
        miss.reason = why;
      }
    } else if (cfg_.flavor == LoaderFlavor::Glibc) {
      search_glibc(loader_idx, name, miss, found);
    } else {
      search_musl(loader_idx, name, miss, found);
    }

    if (!found) {
      if (miss.reason.empty()) miss.reason = "not found";
      out_.missing.push_back(std::move(miss));
      return;
    }

    // §1.4: the same file already loaded is that object; the name becomes an alias.
    if (int same = find_identity(found->st.dev, found->st.ino); same >= 0) {
      objects_[same].names.push_back(name);
      note_loaded(same, raw, loader_idx);
      return;
    }
    auto info = impl_.info(found->st.path);
    if (!info) {
      miss.reason = info.error().message;
      out_.missing.push_back(std::move(miss));
      return;
    }
    Object o;
    o.path = found->path;
    o.realpath = found->st.path;
    o.dev = found->st.dev;
    o.ino = found->st.ino;
    o.names = {found->path, name};
    o.info = *info;
    o.loader = loader_idx;
    // $ORIGIN of a library: the directory of the string it was opened under,
    // symlinks unresolved (§2).
    o.origin = path_parent(found->path);
    out_.libraries.push_back(LoadedLibrary{raw, found->path, found->st.path, loader.path,
                                           found->via, dlopen_mode_, found->list_owner,
                                           found->list_entry});
    edges_.push_back({loader_idx, static_cast<int>(objects_.size()), dlopen_mode_});
    objects_.push_back(std::move(o));
  }
};

}  // namespace

Resolver::Resolver(const Root& root, ResolveOptions options)
    : impl_(std::make_unique<Impl>(root, std::move(options))) {}

Resolver::~Resolver() = default;

Result<std::shared_ptr<const ElfInfo>> Resolver::elf_info(const std::string& canonical) {
  return impl_->info(canonical);
}

Result<Resolution> Resolver::resolve(const std::string& file) {
  return resolve(file, std::vector<std::string>{});
}

namespace {

// One resolution of `file`: the main object, the interpreter, the
// breadth-first search; then `then` with the session (dlopen, checks).
template <class Then>
Result<Resolution> run_session(Resolver::Impl& impl, const std::string& file, Then&& then) {
  const Root& root = impl.root;
  const std::string abs = lexically_absolute(file);
  auto st = root.resolve(abs);
  if (!st) return make_error(abs, st.error().message);
  if (st->type != FileType::Regular) return make_error(abs, "not a regular file");
  auto info = impl.info(st->path);
  if (!info) return make_error(abs, info.error().message);
  if (!(*info)->dynamic) return make_error(abs, "not a dynamic ELF object (statically linked?)");

  Resolution out;
  out.file = abs;
  out.realpath = st->path;

  const ElfHeader& h = (*info)->header;
  std::string interp;
  if ((*info)->interpreter) {
    interp = *(*info)->interpreter;
  } else {
    interp = default_interpreter(root, h.elf_class, h.machine);
    out.interpreter_implied = true;
  }
  out.interpreter = interp;
  const LoaderConfig& cfg = impl.loader_for(interp, h.elf_class, h.machine);
  out.flavor = cfg.flavor;

  Session session(impl, cfg, out);
  Object main;
  main.path = abs;
  main.realpath = st->path;
  main.dev = st->dev;
  main.ino = st->ino;
  main.info = *info;
  main.is_main = true;
  // The executable's origin comes from /proc/self/exe: symlinks resolved (§2).
  main.origin = path_parent(st->path);
  session.add_main(std::move(main));

  // The interpreter is loaded first and answers to its PT_INTERP string and
  // its SONAME without any search (§5).
  if (auto ist = root.resolve(interp); ist && ist->type == FileType::Regular) {
    out.interpreter_realpath = ist->path;
    Object io;
    io.path = interp;
    io.realpath = ist->path;
    io.dev = ist->dev;
    io.ino = ist->ino;
    io.names = {interp};
    io.is_interp = true;
    io.origin = path_parent(interp);
    if (auto iinfo = impl.info(ist->path); iinfo) {
      io.info = *iinfo;
      if (cfg.flavor == LoaderFlavor::Glibc && io.info->soname)
        io.names.push_back(*io.info->soname);
    } else {
      out.warnings.push_back(fmt::format("interpreter {}: {}", interp, iinfo.error().message));
    }
    session.add_interp(std::move(io));
  } else {
    MissingLibrary miss;
    miss.name = interp;
    miss.needed_by = abs;
    miss.searched = {interp};
    miss.reason = out.interpreter_implied ? "the root has no dynamic loader for this object"
                                          : "interpreter not found";
    out.missing.push_back(std::move(miss));
  }
  session.run();
  then(session);
  return out;
}

}  // namespace

Result<Resolution> Resolver::resolve(const std::string& file,
                                     const std::vector<std::string>& dlopen_names) {
  ResolveRequest request;
  request.dlopen_names = dlopen_names;
  request.bind = impl_->options.bind;
  request.host = impl_->options.host;
  return resolve(file, request);
}

Result<Resolution> Resolver::resolve(const std::string& file, const ResolveRequest& request) {
  const std::vector<ScopeObject>* host = nullptr;
  if (request.bind && !request.host.empty()) {
    auto it = impl_->host_scopes.find(request.host);
    if (it == impl_->host_scopes.end()) {
      std::vector<ScopeObject> scope;
      auto hres =
          run_session(*impl_, request.host, [&](Session& s) { scope = s.global_scope_objects(); });
      Result<std::vector<ScopeObject>> entry = std::move(scope);
      if (!hres) {
        entry = make_error(lexically_absolute(request.host),
                           fmt::format("host: {}", hres.error().message));
      }
      it = impl_->host_scopes.emplace(request.host, std::move(entry)).first;
    }
    if (!it->second) return it->second.error();
    host = &*it->second;
  }
  return run_session(*impl_, file, [&](Session& s) {
    if (!request.dlopen_names.empty()) s.dlopen(request.dlopen_names);
    s.check_versions();
    if (request.bind) s.bind(host, request.explain);
  });
}

Result<BindingChange> compare_bindings(Resolver& was, ResolveRequest was_request, Resolver& now,
                                       ResolveRequest now_request, const std::string& path) {
  now_request.bind = true;
  ELFPRUNE_TRY_ASSIGN(Resolution after, now.resolve(path, now_request));
  BindingChange out;
  if (after.undefined.empty()) return out;
  // The same reference in both trees: the object holding it, the symbol
  // and the version it asks.
  using Key = std::tuple<std::string, std::string, std::string>;
  auto key = [](const UndefinedSymbol& u) { return Key{u.needed_by, u.symbol, u.version}; };
  std::set<std::pair<std::string, std::string>> explain;
  for (const auto& u : after.undefined) explain.insert({u.needed_by, u.symbol});
  was_request.bind = true;
  was_request.explain = &explain;
  auto before = was.resolve(path, was_request);
  std::set<Key> unbound_before;
  std::map<std::pair<std::string, std::string>, std::string> defined_by;
  if (before) {
    for (const auto& u : before->undefined) unbound_before.insert(key(u));
    for (const auto& b : before->bindings) defined_by[{b.needed_by, b.symbol}] = b.defined_by;
  }
  for (const auto& u : after.undefined) {
    if (unbound_before.count(key(u)) != 0) {
      ++out.unbound_before;
      continue;
    }
    auto d = defined_by.find({u.needed_by, u.symbol});
    out.lost.push_back({u, d == defined_by.end() ? std::string() : d->second});
  }
  return out;
}

}  // namespace elfprune
