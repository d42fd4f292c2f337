// npm trees: which packages are there, how Node resolves one from another,
// and which of them only build tooling needs.
#include "facts/npm.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <deque>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include "util/path.hpp"

namespace elfprune {
namespace {

using nlohmann::json;

// package.json files are small; anything larger is not one we want to parse.
constexpr std::size_t kPackageJsonLimit = 8u << 20;
// Bounds for the scan of a package's JavaScript for run-time requires.
constexpr std::uint64_t kScriptFileLimit = 4u << 20;
constexpr std::uint64_t kScriptBytesPerPackage = 64u << 20;

bool inside_node_modules(std::string_view path) {
  return path.find("/node_modules/") != std::string_view::npos || path_base(path) == "node_modules";
}

std::size_t node_modules_depth(std::string_view path) {
  std::size_t n = 0;
  for (std::size_t at = path.find("/node_modules/"); at != std::string_view::npos;
       at = path.find("/node_modules/", at + 1)) {
    ++n;
  }
  return n;
}

// The name `require` finds a package by, from where it lies:
// node_modules/NAME or node_modules/@scope/NAME. Empty for anything else
// (hidden entries such as .bin and .package-lock.json, scope directories).
std::string installed_name(std::string_view dir) {
  const std::string_view name = path_base(dir);
  if (name.empty() || name.front() == '.') return "";
  const std::string parent = std::string(path_parent(dir));
  const std::string_view parent_name = path_base(parent);
  if (parent_name == "node_modules") return name.front() == '@' ? "" : std::string(name);
  if (parent_name.size() > 1 && parent_name.front() == '@' &&
      path_base(path_parent(parent)) == "node_modules") {
    return fmt::format("{}/{}", parent_name, name);
  }
  return "";
}

bool is_script_name(std::string_view name) {
  for (std::string_view ext : {".js", ".cjs", ".mjs"}) {
    if (name.size() > ext.size() && name.substr(name.size() - ext.size()) == ext) return true;
  }
  return false;
}

struct Node {
  std::string dir;
  std::string name;  // package.json's name, or the installed name
  std::string installed;
  std::string version;
  std::vector<std::string> dependencies;
  std::vector<std::string> install_scripts;  // preinstall, install, postinstall commands
  std::vector<std::pair<std::string, std::size_t>> edges;  // dependency name -> node
  bool project = false;  // a package.json outside node_modules: a runtime root
  bool build_tool = false;
  bool promoted = false;  // a build tool that a runtime package requires at run time
};

class TreeReader {
 public:
  TreeReader(const Root& root, const Inventory& inventory) : root_(root), inv_(inventory) {}

  NpmTree read() {
    find_packages();
    for (auto& node : nodes_) read_manifest(node);
    resolve_links();
    for (auto& node : nodes_) resolve_edges(node);
    classify();
    return finish();
  }

 private:
  std::size_t node_for(const std::string& dir) {
    auto [it, added] = by_dir_.try_emplace(dir, nodes_.size());
    if (added) {
      Node node;
      node.dir = dir;
      node.installed = installed_name(dir);
      node.project = node.installed.empty();
      nodes_.push_back(std::move(node));
    }
    return it->second;
  }

  // Packages are the directories directly in a node_modules (or in one of
  // its @scope directories); projects are package.json files anywhere else
  // outside node_modules. A package.json deeper inside a package (an ESM
  // marker such as lib/esm/package.json) is neither.
  void find_packages() {
    for (const auto& e : inv_.entries) {
      if (e.path == inv_.top) continue;
      const std::string name = installed_name(e.path);
      if (!name.empty() && e.type == FileType::Directory) node_for(e.path);
      if (!name.empty() && e.type == FileType::Symlink) links_.push_back(e.path);
      if (path_base(e.path) == "package.json" && e.type != FileType::Directory) {
        const std::string dir = std::string(path_parent(e.path));
        if (!installed_name(dir).empty() || !inside_node_modules(dir)) node_for(dir);
      }
    }
  }

  void warn(std::string text) { warnings_.push_back(std::move(text)); }

  void read_manifest(Node& node) {
    node.name = node.installed;
    const std::string manifest = path_join(node.dir, "package.json");
    if (inv_.find(manifest) == nullptr) {
      warn(fmt::format("{}: no package.json; taken as a package without dependencies", node.dir));
      return;
    }
    auto text = root_.read_file(manifest, kPackageJsonLimit);
    if (!text) {
      warn(fmt::format("{}: {}", manifest, text.error().message));
      return;
    }
    const json doc = json::parse(*text, nullptr, false);
    if (doc.is_discarded() || !doc.is_object()) {
      warn(fmt::format("{}: not a JSON object; taken as a package without dependencies", manifest));
      return;
    }
    if (auto it = doc.find("name"); it != doc.end() && it->is_string() && !it->empty()) {
      node.name = it->get<std::string>();
    }
    if (auto it = doc.find("version"); it != doc.end() && it->is_string()) {
      node.version = it->get<std::string>();
    }
    // devDependencies are not installed by `npm install --omit=dev` and never
    // resolved at run time; bundled ones are found through node_modules anyway.
    for (const char* key : {"dependencies", "optionalDependencies", "peerDependencies"}) {
      auto it = doc.find(key);
      if (it == doc.end() || !it->is_object()) continue;
      for (const auto& [dep, spec] : it->items()) {
        if (std::find(node.dependencies.begin(), node.dependencies.end(), dep) ==
            node.dependencies.end()) {
          node.dependencies.push_back(dep);
        }
      }
    }
    if (auto it = doc.find("scripts"); it != doc.end() && it->is_object()) {
      for (const char* key : {"preinstall", "install", "postinstall"}) {
        auto s = it->find(key);
        if (s != it->end() && s->is_string()) node.install_scripts.push_back(s->get<std::string>());
      }
    }
    node.build_tool =
        !node.project && (is_npm_build_tool(node.name) || is_npm_build_tool(node.installed));
  }

  // A package directory that is a symlink (npm link, workspaces, pnpm's
  // layout) stands for the directory it points to, as Node itself resolves
  // symlinks to real paths before looking further. Links that leave the tree
  // or point at something that is not a package are skipped.
  void resolve_links() {
    for (const auto& link : links_) {
      auto real = root_.realpath(link);
      if (!real) {
        warn(fmt::format("{}: symlinked package skipped: {}", link, real.error().message));
        continue;
      }
      auto it = by_dir_.find(*real);
      if (it == by_dir_.end() || !inv_.contains(*real)) {
        warn(fmt::format("{}: symlinked package skipped: {} is not a package in the tree", link,
                         *real));
        continue;
      }
      aliases_.emplace(link, it->second);
    }
  }

  std::optional<std::size_t> lookup(const std::string& dir) const {
    if (auto it = by_dir_.find(dir); it != by_dir_.end()) return it->second;
    if (auto it = aliases_.find(dir); it != aliases_.end()) return it->second;
    return std::nullopt;
  }

  // Node's module lookup: DIR/node_modules/NAME for DIR = the package and
  // each ancestor, skipping directories that are themselves node_modules.
  std::optional<std::size_t> resolve(const std::string& from, const std::string& name) const {
    std::string dir = from;
    while (true) {
      if (path_base(dir) != "node_modules") {
        if (auto hit = lookup(path_join(path_join(dir, "node_modules"), name))) return hit;
      }
      if (dir == "/" || dir == ".") return std::nullopt;
      dir = std::string(path_parent(dir));
    }
  }

  void resolve_edges(Node& node) {
    // A missing dependency is normal (optional and peer dependencies, global
    // modules found through NODE_PATH); it simply adds no edge.
    for (const auto& dep : node.dependencies) {
      if (auto hit = resolve(node.dir, dep)) node.edges.emplace_back(dep, *hit);
    }
  }

  // Runtime roots: the projects, or when there are none (a bare node_modules,
  // a global install), every top-level package.
  std::vector<std::size_t> runtime_roots() const {
    std::vector<std::size_t> roots;
    for (std::size_t i = 0; i < nodes_.size(); ++i) {
      if (nodes_[i].project) roots.push_back(i);
    }
    if (!roots.empty()) return roots;
    for (std::size_t i = 0; i < nodes_.size(); ++i) {
      if (node_modules_depth(nodes_[i].dir + "/") == 1) roots.push_back(i);
    }
    for (const auto& [link, target] : aliases_) {
      if (node_modules_depth(link + "/") == 1) roots.push_back(target);
    }
    return roots;
  }

  bool blocks(std::size_t i) const { return nodes_[i].build_tool && !nodes_[i].promoted; }

  // Everything reachable from the roots without passing through a build tool.
  std::vector<bool> runtime_reachable() const {
    std::vector<bool> seen(nodes_.size(), false);
    std::deque<std::size_t> queue;
    for (std::size_t r : runtime_roots()) {
      if (!blocks(r) && !seen[r]) {
        seen[r] = true;
        queue.push_back(r);
      }
    }
    while (!queue.empty()) {
      const std::size_t i = queue.front();
      queue.pop_front();
      for (const auto& [name, j] : nodes_[i].edges) {
        if (blocks(j) || seen[j]) continue;
        seen[j] = true;
        queue.push_back(j);
      }
    }
    return seen;
  }

  std::vector<bool> build_reachable() const {
    std::vector<bool> seen(nodes_.size(), false);
    std::deque<std::size_t> queue;
    for (std::size_t i = 0; i < nodes_.size(); ++i) {
      if (nodes_[i].build_tool) {
        seen[i] = true;
        queue.push_back(i);
      }
    }
    while (!queue.empty()) {
      const std::size_t i = queue.front();
      queue.pop_front();
      for (const auto& [name, j] : nodes_[i].edges) {
        if (!seen[j]) {
          seen[j] = true;
          queue.push_back(j);
        }
      }
    }
    return seen;
  }

  // Files named by the package's install scripts run at install time only;
  // a require() in them says nothing about run time.
  std::unordered_set<std::string> install_script_files(const Node& node) const {
    std::unordered_set<std::string> files;
    for (const auto& command : node.install_scripts) {
      std::size_t i = 0;
      while (i < command.size()) {
        const std::size_t start = command.find_first_not_of(" \t;&|()'\"", i);
        if (start == std::string::npos) break;
        std::size_t end = command.find_first_of(" \t;&|()'\"", start);
        if (end == std::string::npos) end = command.size();
        const std::string_view word(command.data() + start, end - start);
        if (is_script_name(word)) files.insert(lexically_absolute(word, node.dir));
        i = end;
      }
    }
    return files;
  }

  // Some build tools are also run-time libraries for some packages: bcrypt
  // and sqlite3 call @mapbox/node-pre-gyp's find() to locate their addon.
  // A require/import of the tool in the package's own JavaScript (outside
  // its install scripts, build/ and nested node_modules) keeps the tool.
  std::optional<std::string> requires_at_runtime(const Node& node, const std::string& dep) const {
    const auto start = inv_.index.find(node.dir);
    if (start == inv_.index.end()) return std::nullopt;
    const auto skip = install_script_files(node);
    const std::string prefix = node.dir == "/" ? "/" : node.dir + "/";
    std::vector<std::string> needles;
    for (std::string_view call : {"require(", "from ", "import(", "require.resolve("}) {
      for (char quote : {'\'', '"', '`'})
        needles.push_back(fmt::format("{}{}{}", call, quote, dep));
    }
    std::uint64_t budget = kScriptBytesPerPackage;
    for (std::size_t i = start->second + 1; i < inv_.entries.size(); ++i) {
      const auto& e = inv_.entries[i];
      if (e.path.compare(0, prefix.size(), prefix) != 0) break;
      const std::string_view rel = std::string_view(e.path).substr(prefix.size());
      if (e.type != FileType::Regular || !is_script_name(path_base(rel))) continue;
      if (rel.starts_with("node_modules/") || rel.find("/node_modules/") != std::string::npos ||
          rel.starts_with("build/") || skip.count(e.path) != 0 || e.size > kScriptFileLimit ||
          e.size > budget) {
        continue;
      }
      budget -= e.size;
      auto text = root_.read_file(e.path, kScriptFileLimit);
      if (!text) continue;
      for (const auto& needle : needles) {
        for (std::size_t at = text->find(needle); at != std::string::npos;
             at = text->find(needle, at + 1)) {
          const std::size_t after = at + needle.size();
          // The name must end there: 'node-pre-gyp' is not 'node-pre-gyp-x'.
          if (after < text->size() &&
              std::string_view("/'\"`").find((*text)[after]) != std::string_view::npos) {
            return e.path;
          }
        }
      }
    }
    return std::nullopt;
  }

  void classify() {
    // Promoting a build tool makes its dependencies runtime too, which can
    // make another build tool a runtime dependency: repeat to a fixed point.
    std::set<std::pair<std::size_t, std::size_t>> scanned;  // (dependent, tool) pairs
    while (true) {
      runtime_ = runtime_reachable();
      bool changed = false;
      for (std::size_t i = 0; i < nodes_.size(); ++i) {
        if (!runtime_[i]) continue;
        for (const auto& [dep, j] : nodes_[i].edges) {
          if (!blocks(j)) continue;
          if (!scanned.emplace(i, j).second) continue;
          if (auto file = requires_at_runtime(nodes_[i], dep)) {
            nodes_[j].promoted = true;
            changed = true;
            warn(fmt::format("{}: build tool {} kept: {} requires it at run time", nodes_[j].dir,
                             nodes_[j].name, *file));
          }
        }
      }
      if (!changed) break;
    }
    build_ = build_reachable();
  }

  NpmTree finish() {
    NpmTree tree;
    for (std::size_t i = 0; i < nodes_.size(); ++i) {
      const Node& node = nodes_[i];
      if (node.project) continue;
      if (build_[i] && !runtime_[i] && !node.promoted) tree.build_only.insert(node.dir);
      tree.packages.push_back(
          NpmPackage{node.dir, node.name, node.version, node.dependencies, node.build_tool});
    }
    tree.warnings = std::move(warnings_);
    return tree;
  }

  const Root& root_;
  const Inventory& inv_;
  std::vector<Node> nodes_;
  std::unordered_map<std::string, std::size_t> by_dir_;
  std::vector<std::string> links_;
  std::unordered_map<std::string, std::size_t> aliases_;  // symlinked package -> real one
  std::vector<std::string> warnings_;
  std::vector<bool> runtime_;
  std::vector<bool> build_;
};

}  // namespace

bool is_npm_build_tool(const std::string& name) {
  // Packages whose only job is to compile or fetch a native addon at install
  // time. Not here, because they load addons at run time: bindings,
  // node-gyp-build, node-gyp-build-optional-packages.
  static constexpr std::array<std::string_view, 10> kTools = {
      "node-gyp",         "@electron/node-gyp",
      "node-addon-api",   "nan",
      "node-pre-gyp",     "@mapbox/node-pre-gyp",
      "prebuild-install", "prebuild",
      "prebuildify",      "cmake-js",
  };
  return std::find(kTools.begin(), kTools.end(), name) != kTools.end();
}

NpmTree read_npm_tree(const Root& root, const Inventory& inventory) {
  return TreeReader(root, inventory).read();
}

}  // namespace elfprune
