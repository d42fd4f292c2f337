// The artefact catalogue: one table row per rule (what `elfprune rules`
// prints, the condition the plan checks, the matcher), tried in order; the
// first rule that matches an entry names it. Matchers look at paths only,
// except static-libs' *.obj check, which reads two bytes.
#include "prune/rules.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <optional>
#include <unordered_set>

#include "facts/python.hpp"
#include "util/path.hpp"
#include "util/text.hpp"

namespace elfprune {
namespace {

using Detail = std::optional<std::string>;

// ---------------------------------------------------------------- strings

// The text after the last dot of a lower-case name ("" when there is none,
// or only a leading one).
std::string_view extension(std::string_view lname) {
  const auto dot = lname.rfind('.');
  return dot == std::string_view::npos || dot == 0 ? std::string_view() : lname.substr(dot + 1);
}

bool one_of(std::string_view s, std::initializer_list<std::string_view> set) {
  return std::find(set.begin(), set.end(), s) != set.end();
}

// ------------------------------------------------------- the entry at hand

// Facts about one inventory entry, computed once for all matchers.
struct Subject {
  const InventoryEntry* entry = nullptr;
  std::string_view path;
  std::string_view name;
  std::string lname;                    // name in lower case
  std::string_view ext;                 // of lname
  std::vector<std::string_view> parts;  // path components
  std::string package;                  // the npm package or project directory it lies in, or ""
  bool in_node_modules = false;

  bool is_dir() const { return entry->type == FileType::Directory; }
  std::size_t last() const { return parts.size() - 1; }
  // The path of the first `n` components.
  std::string_view prefix(std::size_t n) const {
    if (n == 0) return "/";
    const std::string_view p = path;
    std::size_t end = 0;
    for (std::size_t i = 0; i < n && end != std::string_view::npos; ++i) end = p.find('/', end + 1);
    return end == std::string_view::npos ? p : p.substr(0, end);
  }
  // Index of the first component `b` right after a component `a`, or npos.
  std::size_t find_pair(std::string_view a, std::string_view b) const {
    for (std::size_t i = 1; i < parts.size(); ++i) {
      if (parts[i] == b && parts[i - 1] == a) return i;
    }
    return std::string_view::npos;
  }
  // True when a directory above the entry is named `component`.
  bool has_dir(std::string_view component) const {
    return !parts.empty() &&
           std::find(parts.begin(), parts.end() - 1, component) != parts.end() - 1;
  }
  // The path relative to its package ("" when not in one or it is the package).
  std::string_view in_package() const {
    if (package.empty() || path.size() <= package.size()) return "";
    return path.substr(package == "/" ? 1 : package.size() + 1);
  }
};

bool is_script(const Subject& s) {
  return one_of(s.ext, {"js", "cjs", "mjs"});
}

bool is_c_locale(std::string_view name) {
  return name == "C" || name == "POSIX" || name.starts_with("C.") || name.starts_with("C@");
}

// Licence texts are kept whatever rule covers their directory. Code and
// data files are never licences, even with "license" in their name
// (spdx-license-ids/index.json, lib/license.js).
bool is_licence(const Subject& s) {
  if (s.is_dir()) return false;
  if (one_of(s.ext, {"js",    "cjs",  "mjs", "ts", "json", "py",   "pyc", "pm",  "pl",  "rb",
                     "php",   "sh",   "c",   "cc", "cpp",  "h",    "hpp", "go",  "rs",  "java",
                     "class", "node", "so",  "a",  "o",    "wasm", "png", "svg", "gif", "jpg"})) {
    return false;
  }
  const std::string_view n = s.lname;
  return n.find("licen") != std::string_view::npos || n.find("notice") != std::string_view::npos ||
         n.starts_with("copying") || n.starts_with("copyright") || n.starts_with("patents");
}

// Entries no catalogue rule may match (a --drop GLOB still may: the user asked).
bool is_protected(const Subject& s) {
  if (path_under(s.path, "/var/lib/dpkg")) return true;  // image scanners read it
  if (!s.is_dir() && s.ext == "node") return true;       // a built addon is run-time code
  if (is_licence(s)) return true;
  for (std::size_t i = 1; i + 1 < s.parts.size(); ++i) {
    if (s.parts[i] == "locale" && one_of(s.parts[i - 1], {"lib", "share"}) &&
        is_c_locale(s.parts[i + 1])) {
      return true;
    }
  }
  return false;
}

// ----------------------------------------------------------------- locales

struct LocaleName {
  std::string_view language, territory, modifier;
  std::string codeset;  // normalised as glibc does: lower case, alphanumerics only
};

LocaleName parse_locale(std::string_view name) {
  LocaleName out;
  if (auto at = name.find('@'); at != std::string_view::npos) {
    out.modifier = name.substr(at + 1);
    name = name.substr(0, at);
  }
  if (auto dot = name.find('.'); dot != std::string_view::npos) {
    for (char c : name.substr(dot + 1)) {
      if (std::isalnum(static_cast<unsigned char>(c))) {
        out.codeset += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      }
    }
    name = name.substr(0, dot);
  }
  if (auto us = name.find('_'); us != std::string_view::npos) {
    out.territory = name.substr(us + 1);
    name = name.substr(0, us);
  }
  out.language = name;
  return out;
}

// --keep-locale de keeps de, de_DE, de_DE.UTF-8, de_AT, de@euro; pt_BR keeps
// pt_BR and pt_BR.*. A part the directory name leaves out matches too, as
// gettext falls back from pt_BR.UTF-8 to pt_BR and then to pt.
bool locale_kept(std::string_view dir_name, const std::vector<std::string>& keeps) {
  const LocaleName have = parse_locale(dir_name);
  const auto fits = [](std::string_view want, std::string_view got) {
    return want.empty() || got.empty() || want == got;
  };
  for (const auto& keep : keeps) {
    const LocaleName want = parse_locale(keep);
    if (want.language == have.language && fits(want.territory, have.territory) &&
        fits(want.codeset, have.codeset) && fits(want.modifier, have.modifier)) {
      return true;
    }
  }
  return false;
}

// ----------------------------------------------------------------- context

class Context {
 public:
  Context(const Root& r, const Inventory& inv, const RuleInputs& in)
      : root(r), inventory(inv), inputs(in) {
    find_packages();
    find_source_trees();
  }

  Subject subject(const InventoryEntry& e) const {
    Subject s;
    s.entry = &e;
    s.path = e.path;
    s.name = path_base(e.path);
    s.lname = ascii_lower(s.name);
    s.ext = extension(s.lname);
    for (std::size_t i = 0; i < s.path.size();) {
      std::size_t j = s.path.find('/', i);
      if (j == std::string_view::npos) j = s.path.size();
      if (j > i) s.parts.push_back(s.path.substr(i, j - i));
      i = j + 1;
    }
    s.in_node_modules = s.has_dir("node_modules");
    if (!packages.empty()) s.package = owner(s.path);
    return s;
  }

  // The deepest package or project directory at or above `path`.
  std::string owner(std::string_view path) const {
    for (std::string_view p = path; !p.empty(); p = path_parent(p)) {
      if (packages.find(p) != packages.end()) return std::string(p);
      if (p == "/" || p == ".") break;
    }
    return "";
  }

  bool is_build_only(const std::string& dir) const {
    return inputs.npm != nullptr && inputs.npm->build_only.count(dir) != 0;
  }

  // Why the npm package `dir` is needed only by devDependencies; null when it is not.
  const std::string* dev_only(const std::string& dir) const {
    if (inputs.npm == nullptr) return nullptr;
    auto it = inputs.npm->dev_only.find(dir);
    return it == inputs.npm->dev_only.end() ? nullptr : &it->second;
  }

  // A whole npm package that goes (build-only or dev-only) goes with its
  // licence: a licence is kept for what is shipped.
  bool package_goes(const Subject& s) const {
    return !s.package.empty() && (is_build_only(s.package) || dev_only(s.package) != nullptr);
  }

  // Directories a prefix installs into: /usr/include, /usr/local/lib/debug,
  // $out/include of a Nix output or of the tree being pruned.
  bool is_prefix(std::string_view dir) const {
    if (one_of(dir, {"/", "/usr", "/usr/local"})) return true;
    if (inventory.top != "/" && dir == inventory.top) return true;
    for (std::string_view store : {"/nix/store/", "/gnu/store/"}) {
      if (dir.starts_with(store) && dir.size() > store.size() &&
          dir.find('/', store.size()) == std::string_view::npos) {
        return true;
      }
    }
    return false;
  }

  // The outermost unpacked source tree at or above the entry, or "".
  std::string source_tree_of(const Subject& s) const {
    if (source_trees.empty()) return "";
    for (std::size_t n = 1; n <= s.parts.size(); ++n) {
      const std::string_view dir = s.prefix(n);
      if (source_trees.find(dir) != source_trees.end()) return std::string(dir);
    }
    return "";
  }

  const Root& root;
  const Inventory& inventory;
  const RuleInputs& inputs;
  // Looked up by string_view: owner() and source_tree_of() ask for every
  // directory above every entry, and made a std::string for each.
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  using PathSet = std::unordered_set<std::string, Hash, std::equal_to<>>;
  PathSet packages;      // npm packages and projects
  PathSet gyp_packages;  // ... with a binding.gyp
  PathSet source_trees;

 private:
  // A package is a directory with a package.json right inside node_modules
  // (or an @scope in it); a project one with a package.json outside
  // node_modules. The same definitions as src/facts/npm.cpp, kept independent so that
  // node-gyp leftovers are found even without an NpmTree.
  void find_packages() {
    for (const auto& e : inventory.entries) {
      if (e.type == FileType::Directory || path_base(e.path) != "package.json") continue;
      const std::string_view dir = path_parent(e.path);
      const std::string_view up = path_base(path_parent(dir));
      const bool in_nm = dir.find("/node_modules/") != std::string_view::npos;
      const bool package_dir =
          up == "node_modules" ||
          (up.starts_with("@") && path_base(path_parent(path_parent(dir))) == "node_modules");
      if (package_dir || !in_nm) packages.emplace(dir);
    }
    // Packages src/facts/npm.cpp found without a package.json count too.
    if (inputs.npm != nullptr) {
      for (const auto& p : inputs.npm->packages) packages.insert(p.dir);
    }
    for (const auto& dir : packages) {
      if (inventory.find(dir == "/" ? "/binding.gyp" : dir + "/binding.gyp") != nullptr) {
        gyp_packages.insert(dir);
      }
    }
  }

  // Unpacked C/C++ sources: a directory with a configure script or a build
  // description at its top, inside an npm package (not the package itself,
  // which may well be built with cmake-js) or directly in a deps/ directory.
  void find_source_trees() {
    for (const auto& e : inventory.entries) {
      if (e.type != FileType::Directory || e.path == inventory.top) continue;
      if (packages.count(e.path) != 0) continue;
      bool marked = false;
      for (std::string_view marker :
           {"configure", "configure.ac", "CMakeLists.txt", "Makefile.am", "meson.build"}) {
        marked = marked || inventory.find(fmt::format("{}/{}", e.path, marker)) != nullptr;
      }
      if (!marked) continue;
      const std::string pkg = owner(e.path);
      const bool in_package = !pkg.empty() && (pkg.find("/node_modules/") != std::string::npos ||
                                               gyp_packages.count(pkg) != 0);
      if (in_package || path_base(path_parent(e.path)) == "deps") source_trees.insert(e.path);
    }
  }
};

// ---------------------------------------------------------------- matchers

Detail match_drop(const Context& ctx, const Subject& s) {
  for (const auto& glob : ctx.inputs.drop_globs) {
    if (glob.matches(s.path)) return fmt::format("--drop {}", glob.text());
  }
  return std::nullopt;
}

Detail match_npm_dev_dependencies(const Context& ctx, const Subject& s) {
  if (s.package.empty()) return std::nullopt;
  if (const std::string* why = ctx.dev_only(s.package)) {
    return fmt::format("in npm package {}: {}", s.package, *why);
  }
  return std::nullopt;
}

Detail match_node_build(const Context& ctx, const Subject& s) {
  if (s.package.empty()) return std::nullopt;
  if (ctx.is_build_only(s.package)) return fmt::format("in build-only npm package {}", s.package);
  if (ctx.gyp_packages.count(s.package) == 0) return std::nullopt;
  const std::string_view rel = s.in_package();
  if (rel.empty() || rel.starts_with("node_modules")) return std::nullopt;
  // Dependency sources have their own rule, and their own makefiles.
  if (rel == "deps" || rel.starts_with("deps/") || !ctx.source_tree_of(s).empty()) {
    return std::nullopt;
  }
  // gyp files, and the makefiles gyp generates, wherever a package puts
  // them (aws-lambda-ric 3 leaves node-addon-api/nothing.target.mk).
  if (!s.is_dir() && (one_of(s.ext, {"gyp", "gypi", "mk"}) || s.name == "Makefile" ||
                      s.name.ends_with(".Makefile"))) {
    return fmt::format("node-gyp build file of {}", s.package);
  }
  // build/ holds node-gyp's makefiles, objects and config.gypi next to the
  // built addon. Scripts stay: some packages emit their JavaScript there.
  if ((rel == "build" || rel.starts_with("build/")) && !is_script(s)) {
    return fmt::format("node-gyp build output of {}", s.package);
  }
  if (!s.is_dir() && one_of(s.ext, {"c", "cc", "cpp", "cxx"})) {
    return fmt::format("C/C++ source of native npm package {}", s.package);
  }
  return std::nullopt;
}

Detail match_node_package_managers(const Context&, const Subject& s) {
  for (std::size_t i = 1; i + 1 < s.parts.size(); ++i) {
    const bool global = (s.parts[i - 1] == "lib" && s.parts[i] == "node_modules") ||
                        (s.parts[i - 1] == "share" && s.parts[i] == "nodejs");
    if (global && one_of(s.parts[i + 1], {"npm", "corepack"})) {
      return fmt::format("{} shipped with Node.js", s.parts[i + 1]);
    }
  }
  if (!s.is_dir() && s.parts.size() >= 2 && s.parts[s.last() - 1] == "bin" &&
      one_of(s.name, {"npm", "npx", "corepack"})) {
    return fmt::format("{} launcher", s.name);
  }
  return std::nullopt;
}

Detail match_source_trees(const Context& ctx, const Subject& s) {
  const bool runtime_file = is_script(s) || s.ext == "wasm";
  if (const std::string tree = ctx.source_tree_of(s); !tree.empty() && !runtime_file) {
    return fmt::format("unpacked source tree {}", tree);
  }
  const std::string_view rel = s.in_package();
  if (ctx.gyp_packages.count(s.package) != 0 && (rel == "deps" || rel.starts_with("deps/")) &&
      !runtime_file) {
    return fmt::format("build inputs of native npm package {}", s.package);
  }
  if (s.is_dir()) return std::nullopt;
  const std::string_view n = s.lname;
  const bool archive = one_of(s.ext, {"tar", "tgz", "txz", "tbz2", "zip"}) ||
                       (n.find(".tar.") != std::string_view::npos &&
                        one_of(s.ext, {"gz", "xz", "bz2", "zst", "lz", "lzma"}));
  if (!archive) return std::nullopt;
  // Only where sources live, never any archive: a package may unpack its
  // own data archive at run time.
  const bool in_sources = s.has_dir("deps") || s.has_dir("src") || s.has_dir("vendor") ||
                          s.has_dir("third_party") || s.has_dir("third-party");
  const bool packed_package = s.in_node_modules && !s.package.empty() &&
                              path_parent(s.path) == s.package;  // npm pack leftovers
  if (in_sources || ctx.gyp_packages.count(s.package) != 0 || packed_package) {
    return std::string("source archive");
  }
  return std::nullopt;
}

Detail match_headers(const Context& ctx, const Subject& s) {
  if (!s.is_dir() && one_of(s.ext, {"h", "hh", "hpp", "hxx"})) return std::string("C/C++ header");
  for (std::size_t i = 0; i < s.parts.size(); ++i) {
    if (s.parts[i] != "include") continue;
    // Anything under a prefix's include/; under any other include/ only
    // header-like files, since an application's include/ may hold its code
    // (PHP's *.inc, say).
    if (ctx.is_prefix(s.prefix(i))) return fmt::format("under {}", s.prefix(i + 1));
    if (i < s.last() && !s.is_dir() && one_of(s.ext, {"ipp", "tcc"})) {
      return std::string("C++ header");
    }
  }
  return std::nullopt;
}

// MSVC object files: COFF machine i386, amd64, arm64, armnt, or a bigobj.
bool is_coff_object(const Context& ctx, const Subject& s) {
  auto head = ctx.root.read_file(s.path, 4);
  if (!head || head->size() < 4) return false;
  const auto b = [&](std::size_t i) { return static_cast<unsigned char>((*head)[i]); };
  const unsigned machine = b(0) | (b(1) << 8);
  const bool bigobj = b(0) == 0 && b(1) == 0 && b(2) == 0xff && b(3) == 0xff;
  constexpr std::array<unsigned, 4> kMachines = {0x14c, 0x8664, 0xaa64, 0x1c4};
  return bigobj || std::find(kMachines.begin(), kMachines.end(), machine) != kMachines.end();
}

// TypeScript declarations are read by the compiler only; nothing loads them
// at run time (Debian's nodejs ships 3.8 MB of them in @types/node).
Detail match_typescript_declarations(const Context&, const Subject& s) {
  for (std::size_t i = 0; i + 1 < s.parts.size(); ++i) {
    if (s.parts[i] == "@types") return fmt::format("under {}", s.prefix(i + 1));
  }
  if (s.is_dir()) return std::nullopt;
  const std::string_view name = s.name;
  for (std::string_view suffix : {".d.ts", ".d.mts", ".d.cts", ".tsbuildinfo"}) {
    if (name.size() > suffix.size() && name.ends_with(suffix)) {
      return std::string("TypeScript declarations");
    }
  }
  return std::nullopt;
}

Detail match_static_libs(const Context& ctx, const Subject& s) {
  if (s.is_dir()) return std::nullopt;
  if (one_of(s.ext, {"a", "o", "la", "lo"})) return std::string("static library or object");
  // *.obj is also a 3D model format: only COFF objects count.
  if (s.ext == "obj" && s.entry->type == FileType::Regular && is_coff_object(ctx, s)) {
    return std::string("COFF object");
  }
  return std::nullopt;
}

Detail match_pkgconfig(const Context&, const Subject& s) {
  if (std::find(s.parts.begin(), s.parts.end(), "pkgconfig") != s.parts.end()) {
    return std::string("under pkgconfig/");
  }
  if (!s.is_dir() && s.ext == "pc") return std::string("pkg-config file");
  return std::nullopt;
}

Detail match_cmake(const Context&, const Subject& s) {
  for (std::size_t i = 1; i < s.parts.size(); ++i) {
    const std::string_view p = s.parts[i];
    if (one_of(s.parts[i - 1], {"lib", "lib64"}) && p == "cmake")
      return std::string("under lib/cmake");
    if (s.parts[i - 1] == "share" && (p == "cmake" || p.starts_with("cmake-"))) {
      return fmt::format("under share/{}", p);
    }
  }
  if (!s.is_dir() && s.ext == "cmake") return std::string("CMake script");
  return std::nullopt;
}

Detail match_debug(const Context& ctx, const Subject& s) {
  for (std::size_t i = 0; i < s.parts.size(); ++i) {
    // Only a prefix's lib/debug: node_modules/x/lib/debug/ is JavaScript.
    if (i > 0 && s.parts[i] == "debug" && s.parts[i - 1] == "lib" &&
        ctx.is_prefix(s.prefix(i - 1))) {
      return fmt::format("under {}", s.prefix(i + 1));
    }
    if (s.parts[i].ends_with(".dSYM")) return std::string("macOS debug bundle");
  }
  if (!s.is_dir() && one_of(s.ext, {"debug", "pdb"})) return std::string("debug symbols");
  return std::nullopt;
}

// README, CHANGELOG... with no extension or a text one: README.e2x and
// History.pm are templates and code.
bool is_doc_name(const Subject& s) {
  const std::string_view n = s.lname;
  const auto dot = n.find('.');
  const std::string_view stem = n.substr(0, dot);
  const std::string_view ext = dot == std::string_view::npos ? "" : n.substr(dot + 1);
  return one_of(stem, {"readme", "changelog", "changes", "history", "news", "authors",
                       "contributors", "contributing", "code_of_conduct", "upgrading"}) &&
         one_of(ext, {"", "md", "markdown", "rst", "txt", "adoc", "asciidoc", "org", "html"});
}

Detail match_docs(const Context&, const Subject& s) {
  for (std::string_view dir : {"doc", "gtk-doc", "doc-base"}) {
    if (auto i = s.find_pair("share", dir); i != std::string_view::npos) {
      return fmt::format("under {}", s.prefix(i + 1));
    }
  }
  if (s.in_node_modules && !s.package.empty()) {
    const std::string_view rel = s.in_package();
    const std::string_view top = rel.substr(0, rel.find('/'));
    if (one_of(top, {"doc", "docs"})) return fmt::format("documentation of {}", s.package);
  }
  if (s.is_dir()) return std::nullopt;
  if (is_doc_name(s)) return std::string("documentation file");
  // Markdown elsewhere may be an application's content.
  const bool packaged =
      s.in_node_modules || s.has_dir("site-packages") || s.has_dir("dist-packages");
  if (packaged && one_of(s.ext, {"md", "markdown", "rst"}))
    return std::string("documentation file");
  return std::nullopt;
}

Detail match_man(const Context&, const Subject& s) {
  if (auto i = s.find_pair("share", "man"); i != std::string_view::npos) {
    return fmt::format("under {}", s.prefix(i + 1));
  }
  if (s.in_node_modules && !s.package.empty()) {
    const std::string_view rel = s.in_package();
    if (rel == "man" || rel.starts_with("man/")) return fmt::format("manual of {}", s.package);
  }
  // A page in a man section directory anywhere: man1/ls.1.gz.
  if (!s.is_dir() && s.parts.size() >= 2) {
    const std::string_view section = s.parts[s.last() - 1];
    if (section.size() >= 4 && section.starts_with("man") &&
        std::isdigit(static_cast<unsigned char>(section[3])) &&
        s.lname.find(fmt::format(".{}", section[3])) != std::string::npos) {
      return std::string("man page");
    }
  }
  return std::nullopt;
}

Detail match_info(const Context&, const Subject& s) {
  if (auto i = s.find_pair("share", "info"); i != std::string_view::npos) {
    return fmt::format("under {}", s.prefix(i + 1));
  }
  return std::nullopt;
}

Detail match_locales(const Context& ctx, const Subject& s) {
  if (s.in_node_modules) return std::nullopt;  // JavaScript locale modules
  for (std::size_t i = 1; i + 1 < s.parts.size(); ++i) {
    if (s.parts[i] != "locale") continue;
    const bool translations = s.parts[i - 1] == "share";
    const bool compiled = s.parts[i - 1] == "lib" && ctx.is_prefix(s.prefix(i - 1));
    if (!translations && !compiled) continue;
    // share/locale/locale.alias and lib/locale/locale-archive are files
    // right in the locale directory, not a language's directory.
    if (i + 1 == s.last() && !s.is_dir()) continue;
    const std::string_view lang = s.parts[i + 1];
    if (is_c_locale(lang) || locale_kept(lang, ctx.inputs.keep_locales)) continue;
    return fmt::format("{} locale {}", translations ? "translations for" : "compiled", lang);
  }
  return std::nullopt;
}

Detail match_i18n_sources(const Context&, const Subject& s) {
  if (s.in_node_modules) return std::nullopt;
  if (auto i = s.find_pair("share", "i18n"); i != std::string_view::npos) {
    return fmt::format("under {}", s.prefix(i + 1));
  }
  return std::nullopt;
}

Detail match_completions(const Context&, const Subject& s) {
  if (auto i = s.find_pair("share", "bash-completion"); i != std::string_view::npos) {
    return fmt::format("under {}", s.prefix(i + 1));
  }
  if (auto i = s.find_pair("etc", "bash_completion.d"); i != std::string_view::npos) {
    return fmt::format("under {}", s.prefix(i + 1));
  }
  for (std::string_view dir : {"vendor-completions", "completions", "vendor_completions.d"}) {
    for (std::string_view shell : {"zsh", "fish"}) {
      if (auto i = s.find_pair(shell, dir);
          i != std::string_view::npos && i >= 2 && s.parts[i - 2] == "share") {
        return fmt::format("under {}", s.prefix(i + 1));
      }
    }
  }
  // site-functions may hold other functions too: only completions (_name).
  if (auto i = s.find_pair("zsh", "site-functions");
      i != std::string_view::npos && i + 1 == s.last() && s.name.starts_with("_") && !s.is_dir()) {
    return std::string("zsh completion");
  }
  return std::nullopt;
}

Detail match_caches(const Context&, const Subject& s) {
  // Files only: daemons expect their cache directories (/var/cache/nginx)
  // to exist, and apt its lists/ directory.
  if (!s.is_dir() && s.path.starts_with("/var/cache/")) return std::string("under /var/cache");
  if (!s.is_dir() && s.path.starts_with("/var/lib/apt/lists/")) {
    return std::string("apt package lists");
  }
  for (std::size_t i = 0; i < s.parts.size(); ++i) {
    if (s.parts[i] == "_cacache") return std::string("npm cache");
    if (s.parts[i] == ".cache") return fmt::format("under {}", s.prefix(i + 1));
  }
  return std::nullopt;
}

Detail match_icu_data(const Context&, const Subject& s) {
  if (!s.is_dir() && s.name.starts_with("libicudata.so")) return std::string("ICU data library");
  // full-icu's icudt*.dat under node_modules is Node's NODE_ICU_DATA.
  if (!s.is_dir() && !s.in_node_modules && s.lname.starts_with("icudt") && s.ext == "dat") {
    return std::string("ICU data file");
  }
  if (auto i = s.find_pair("share", "icu"); i != std::string_view::npos) {
    return fmt::format("under {}", s.prefix(i + 1));
  }
  return std::nullopt;
}

// python3, python3.11, python2.7: a versioned Python directory.
bool is_python_dir(std::string_view name) {
  if (!name.starts_with("python2") && !name.starts_with("python3")) return false;
  return std::all_of(name.begin() + 7, name.end(), [](char c) {
    return c == '.' || std::isdigit(static_cast<unsigned char>(c));
  });
}

Detail match_python(const Context&, const Subject& s) {
  for (std::size_t i = 0; i < s.parts.size(); ++i) {
    const std::string_view p = s.parts[i];
    if (p == "__pycache__") return std::string("Python bytecode cache");
    if (i > 0 && is_python_dir(p) && one_of(s.parts[i - 1], {"lib", "lib64", "share", "etc"})) {
      return fmt::format("under {}", s.prefix(i + 1));
    }
  }
  if (s.is_dir()) return std::nullopt;
  if (one_of(s.ext, {"py", "pyc", "pyo"})) return std::string("Python module");
  if (s.name.starts_with("libpython") && s.name.find(".so") != std::string_view::npos) {
    return std::string("Python library");
  }
  if (s.parts.size() >= 2 && s.parts[s.last() - 1] == "bin") {
    for (std::string_view tool :
         {"python", "pydoc", "pygettext", "py3compile", "py3clean", "py3versions", "2to3"}) {
      if (s.name.starts_with(tool)) return std::string("Python interpreter or tool");
    }
  }
  return std::nullopt;
}

// The build tool a subject belongs to: what pip, setuptools and wheel put
// in a site directory, and the launchers pip installs in a venv's bin/
// (pip, pip3, pip3.11, wheel, easy_install).
std::optional<std::string_view> python_tool_of(const Context& ctx, const Subject& s) {
  const std::size_t site = site_dir_component(s.parts);
  if (site != std::string_view::npos) {
    return site + 1 < s.parts.size() ? python_build_tool(s.parts[site + 1]) : std::nullopt;
  }
  if (s.is_dir() || s.parts.size() < 3 || s.parts[s.last() - 1] != "bin") return std::nullopt;
  const auto tool = python_build_tool_launcher(s.name);
  // Only in a venv: /usr/bin/pip3 is its package's business.
  if (tool && ctx.inventory.find(path_join(s.prefix(s.last() - 1), "pyvenv.cfg")) == nullptr) {
    return std::nullopt;
  }
  return tool;
}

Detail match_python_build_tools(const Context& ctx, const Subject& s) {
  const auto tool = python_tool_of(ctx, s);
  if (!tool) return std::nullopt;
  const std::size_t site = site_dir_component(s.parts);
  if (site == std::string_view::npos) {
    return fmt::format("{} launcher of the venv {}", *tool, s.prefix(s.last() - 1));
  }
  // The rule may take licences (it overrides the protection), but only in
  // the tool's own distribution record: a *.dist-info left with its
  // licence alone still tells importlib.metadata the tool is installed.
  const std::string_view record = s.parts[site + 1];
  if (is_protected(s) && !record.ends_with(".dist-info") && !record.ends_with(".egg-info")) {
    return std::nullopt;
  }
  return fmt::format("{} in {}", *tool, s.prefix(site + 1));
}

// C, C++ and Cython sources shipped beside the extensions built from them
// (pip installs a wheel's *.c and *.pyx; Cython reads *.pxd only to compile).
Detail match_python_sources(const Context&, const Subject& s) {
  if (s.is_dir() || site_dir_component(s.parts) == std::string_view::npos) return std::nullopt;
  if (one_of(s.ext, {"c", "cc", "cpp", "cxx", "h", "hh", "hpp", "hxx", "pyx", "pxd", "pxi"})) {
    return std::string("C/C++/Cython source in a Python site directory");
  }
  return std::nullopt;
}

// ------------------------------------------------------------------ table

struct Rule {
  RuleInfo info;
  RuleCondition condition;
  Detail (*match)(const Context&, const Subject&);
  bool overrides_protection = false;
};

// Order matters: the first match names the entry, so `drop` (the user's
// word) comes first, specific rules before general ones, and the conditional
// rules last, so that a file another rule removes anyway is not held back
// by their condition (node-gyp's Python scripts are node-build, not python).
const std::vector<Rule>& rules() {
  // clang-format off
  static const std::vector<Rule> kRules = {
      {{"drop", "Files the user asked to remove.",
        "paths matching a --drop GLOB"},
       RuleCondition::Always, match_drop, /*overrides_protection=*/true},
      {{"node-build", "Build tooling of native npm packages.",
        "packages only node-gyp, node-addon-api, nan, (@mapbox/)node-pre-gyp, prebuild-install, "
        "cmake-js... need; in packages with a binding.gyp: binding.gyp, *.gyp(i), Makefile, *.mk, "
        "C/C++ sources, build/ except *.node and scripts; node_modules/.bin links to removed "
        "packages"},
       RuleCondition::Always, match_node_build},
      {{"npm-dev-dependencies", "npm packages only devDependencies need, as npm prune --omit=dev.",
        "packages that projects reach only through devDependencies (or that a lock file marks "
        "\"dev\" and no run-time dependency reaches), with their licences; kept, with a warning, "
        "when run-time code requires them"},
       RuleCondition::Always, match_npm_dev_dependencies},
      {{"node-package-managers", "Package managers shipped with Node.js.",
        "*/lib/node_modules/{npm,corepack}/**, */share/nodejs/{npm,corepack}/**, "
        "*/bin/{npm,npx,corepack} and links into them (yarn, pnpm shims)"},
       RuleCondition::Always, match_node_package_managers},
      {{"source-trees", "Unpacked dependency sources and source archives.",
        "directories with configure, configure.ac, CMakeLists.txt, Makefile.am or meson.build "
        "inside npm packages or in deps/; deps/ of packages with a binding.gyp; *.tar*, *.tgz, "
        "*.txz, *.zip under deps/, src/, vendor/, third_party/ or in npm packages (not *.js, "
        "*.wasm)"},
       RuleCondition::Always, match_source_trees},
      {{"python-sources", "C, C++ and Cython sources of built Python extensions.",
        "*.c, *.cc, *.cpp, *.cxx, *.h, *.hh, *.hpp, *.hxx, *.pyx, *.pxd, *.pxi in site-packages "
        "and dist-packages"},
       RuleCondition::Always, match_python_sources},
      {{"headers", "C and C++ headers.",
        "*.h, *.hh, *.hpp, *.hxx anywhere; *.ipp, *.tcc under include/; everything under "
        "/usr/include, /usr/local/include, <store path>/include, <top>/include"},
       RuleCondition::Always, match_headers},
      {{"typescript-declarations", "TypeScript declarations, read only by the compiler.",
        "*.d.ts, *.d.mts, *.d.cts, *.tsbuildinfo, */@types/**"},
       RuleCondition::Always, match_typescript_declarations},
      {{"static-libs", "Static libraries, objects and libtool files.",
        "*.a, *.o, *.la, *.lo; *.obj when it is a COFF object"},
       RuleCondition::Always, match_static_libs},
      {{"pkgconfig", "pkg-config metadata.",
        "*.pc, */pkgconfig/**"},
       RuleCondition::Always, match_pkgconfig},
      {{"cmake", "CMake package configuration and modules.",
        "*.cmake, */lib/cmake/**, */share/cmake*/** (not CMakeLists.txt)"},
       RuleCondition::Always, match_cmake},
      {{"debug", "Separate debug information.",
        "<prefix>/lib/debug/**, *.debug, *.pdb, *.dSYM/**"},
       RuleCondition::Always, match_debug},
      {{"docs", "Documentation (licence and copyright files are kept).",
        "*/share/doc/**, */share/gtk-doc/**, */share/doc-base/**, doc/ and docs/ of npm packages, "
        "README, CHANGELOG, CHANGES, HISTORY, NEWS, AUTHORS... (*.md, *.rst, *.txt or no "
        "extension), *.md and *.rst in npm and Python packages"},
       RuleCondition::Always, match_docs},
      {{"man", "Manual pages.",
        "*/share/man/**, man/ of npm packages, */man<N>/*.<N>*"},
       RuleCondition::Always, match_man},
      {{"info", "GNU info manuals.",
        "*/share/info/**"},
       RuleCondition::Always, match_info},
      {{"locales", "Translations and compiled glibc locales (C, C.UTF-8, POSIX kept).",
        "*/share/locale/<LANG>/**, <prefix>/lib/locale/<LANG>/** except --keep-locale ones"},
       RuleCondition::Always, match_locales},
      {{"i18n-sources", "glibc locale sources and charmaps, used only by localedef.",
        "*/share/i18n/**"},
       RuleCondition::Always, match_i18n_sources},
      {{"completions", "Shell completions.",
        "*/share/bash-completion/**, */etc/bash_completion.d/**, "
        "*/share/zsh/{vendor-completions,completions}/**, */share/zsh/site-functions/_*, "
        "*/share/fish/{completions,vendor_completions.d}/**"},
       RuleCondition::Always, match_completions},
      {{"caches", "Package manager and tool caches.",
        "files under /var/cache and /var/lib/apt/lists, */_cacache/**, */.cache/**"},
       RuleCondition::Always, match_caches},
      {{"python-build-tools", "pip, setuptools and wheel, when nothing kept imports them.",
        "in site-packages and dist-packages: pip/, setuptools/, pkg_resources/, _distutils_hack/, "
        "wheel/, distutils-precedence.pth and their *.dist-info, *.egg-info (licences included); "
        "<venv>/bin/{pip,wheel,easy_install}*"},
       RuleCondition::PythonToolUnused, match_python_build_tools, /*overrides_protection=*/true},
      {{"icu-data", "ICU data, when nothing kept loads ICU.",
        "libicudata.so*, icudt*.dat (not in node_modules), */share/icu/**"},
       RuleCondition::IcuUnused, match_icu_data},
      {{"python", "Python, when nothing kept needs it.",
        "*.py, *.pyc, *.pyo, __pycache__/**, */lib/python[23]*/**, */share/python3*/**, "
        "/etc/python3*/**, */bin/{python,pydoc,pygettext,py3compile,py3clean,2to3}*, "
        "libpython*.so*"},
       RuleCondition::PythonUnused, match_python},
  };
  // clang-format on
  return kRules;
}

}  // namespace

const std::vector<RuleInfo>& rule_catalogue() {
  static const std::vector<RuleInfo> kInfo = [] {
    std::vector<RuleInfo> out;
    for (const auto& rule : rules()) out.push_back(rule.info);
    return out;
  }();
  return kInfo;
}

std::unordered_map<std::string, RuleMatch> classify(const Root& root, const Inventory& inventory,
                                                    const RuleInputs& inputs) {
  const Context ctx(root, inventory, inputs);
  std::unordered_map<std::string, RuleMatch> out;
  // On a live system most entries match a rule: growing the table to that
  // size rehashed it again and again.
  out.reserve(inventory.entries.size());
  std::vector<const InventoryEntry*> links;
  for (const auto& e : inventory.entries) {
    if (e.path == inventory.top) continue;
    const Subject s = ctx.subject(e);
    const bool guarded = is_protected(s) && !ctx.package_goes(s);
    bool matched = false;
    for (const auto& rule : rules()) {
      if (guarded && !rule.overrides_protection) continue;
      if (auto detail = rule.match(ctx, s)) {
        RuleMatch m{std::string(rule.info.id), std::move(*detail), rule.condition};
        if (m.condition == RuleCondition::PythonToolUnused) {
          m.tool = std::string(python_tool_of(ctx, s).value_or(""));
        }
        out.emplace(e.path, std::move(m));
        matched = true;
        break;
      }
    }
    if (!matched && !guarded && e.type == FileType::Symlink) links.push_back(&e);
  }

  // A directory is wholly removed only when it and everything under it is
  // matched; entries come in order with a subtree right after its directory.
  // Views of the inventory's paths, which outlive this: copies of 40,000
  // directories' paths were still held when the matches were complete.
  std::unordered_set<std::string_view> whole;
  {
    std::unordered_map<std::string_view, bool> children_covered;
    for (auto it = inventory.entries.rbegin(); it != inventory.entries.rend(); ++it) {
      bool covered = out.count(it->path) != 0;
      if (it->type == FileType::Directory) {
        auto c = children_covered.find(it->path);
        covered = covered && (c == children_covered.end() || c->second);
        if (covered) whole.insert(it->path);
      }
      auto [slot, added] = children_covered.try_emplace(path_parent(it->path), true);
      slot->second = slot->second && covered;
    }
  }

  // A symlink to something a rule removes goes with it, under the same rule
  // (node_modules/.bin/node-gyp, /usr/bin/pdb3.11 -> ../lib/python3.11/pdb.py),
  // so that no kept link dangles. A link to a directory only when the whole
  // directory goes.
  for (const InventoryEntry* link : links) {
    auto target = root.resolve(link->path);
    if (!target) continue;
    auto hit = out.find(target->path);
    if (hit == out.end()) continue;
    if (target->type == FileType::Directory && whole.count(target->path) == 0) continue;
    RuleMatch m = hit->second;
    m.detail = fmt::format("symlink to {} ({})", target->path, m.detail);
    out.emplace(link->path, std::move(m));
  }
  return out;
}

}  // namespace elfprune
