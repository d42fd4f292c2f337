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
// Lock files of big projects run to megabytes; bounded all the same.
constexpr std::size_t kLockFileLimit = 64u << 20;

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

// A resolved dependency: its name, the package, and the path Node found it
// at (a symlink for linked packages, else the package's directory).
// The packages a piece of JavaScript loads by bare name: the first
// segment (two for @scope/name) of each `require('x/...')`,
// `require.resolve('x')`, `import('x')`, `import 'x'` and `from 'x'`;
// relative, absolute and `node:` specifiers are not packages.
std::vector<std::string> bare_specifiers(std::string_view text) {
  std::vector<std::string> out;
  for (std::string_view call : {"require(", "require.resolve(", "import(", "import ", "from "}) {
    for (std::size_t at = text.find(call); at != std::string_view::npos;
         at = text.find(call, at + 1)) {
      std::size_t q = at + call.size();
      while (q < text.size() && (text[q] == ' ' || text[q] == '\t')) ++q;
      if (q >= text.size() || std::string_view("'\"`").find(text[q]) == std::string_view::npos) {
        continue;
      }
      const char quote = text[q];
      const std::size_t end = text.find(quote, q + 1);
      if (end == std::string_view::npos || end - q > 256) continue;
      std::string_view spec = text.substr(q + 1, end - q - 1);
      if (spec.empty() || spec.front() == '.' || spec.front() == '/' || spec.starts_with("node:"))
        continue;
      std::size_t cut = spec.find('/');
      if (spec.front() == '@' && cut != std::string_view::npos) cut = spec.find('/', cut + 1);
      spec = spec.substr(0, cut);
      if (spec.find_first_of(" \n${}") != std::string_view::npos) continue;
      out.emplace_back(spec);
    }
  }
  return out;
}

struct Edge {
  std::string name;
  std::size_t to = 0;
  std::string at;
};

struct Node {
  std::string dir;
  std::string name;  // package.json's name, or the installed name
  std::string installed;
  std::string version;
  std::vector<std::string> dependencies;
  std::vector<std::string> dev_dependencies;
  std::vector<std::string> install_scripts;  // preinstall, install, postinstall commands
  std::vector<Edge> edges;                   // run-time dependencies, resolved
  std::vector<Edge> dev_edges;               // devDependencies, resolved (projects only)
  bool project = false;                      // a package.json outside node_modules: a runtime root
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
    // resolved at run time: a project's are followed apart, to tell which
    // packages only they need.
    auto add_names = [&doc](const char* key, std::vector<std::string>& into) {
      auto it = doc.find(key);
      if (it == doc.end()) return;
      auto add = [&into](const std::string& dep) {
        if (std::find(into.begin(), into.end(), dep) == into.end()) into.push_back(dep);
      };
      if (it->is_object()) {
        for (const auto& [dep, spec] : it->items()) add(dep);
      } else if (it->is_array() && std::string_view(key).starts_with("bundle")) {  // names
        for (const auto& dep : *it) {
          if (dep.is_string()) add(dep.get<std::string>());
        }
      }
    };
    for (const char* key : {"dependencies", "optionalDependencies", "peerDependencies",
                            "bundleDependencies", "bundledDependencies"}) {
      add_names(key, node.dependencies);
    }
    if (node.project) add_names("devDependencies", node.dev_dependencies);
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
  std::optional<Edge> resolve(const std::string& from, const std::string& name) const {
    std::string dir = from;
    while (true) {
      if (path_base(dir) != "node_modules") {
        std::string at = path_join(path_join(dir, "node_modules"), name);
        if (auto hit = lookup(at)) return Edge{name, *hit, std::move(at)};
      }
      if (dir == "/" || dir == ".") return std::nullopt;
      dir = std::string(path_parent(dir));
    }
  }

  void resolve_edges(Node& node) {
    // A missing dependency is normal for optional and peer dependencies, and
    // global modules are found through NODE_PATH; a missing one a project
    // declares is worth a word (the app fails where it requires it).
    for (const auto& dep : node.dependencies) {
      if (auto hit = resolve(node.dir, dep)) {
        node.edges.push_back(std::move(*hit));
      } else if (node.project && inv_.find(path_join(node.dir, "node_modules")) != nullptr) {
        // Only where something was installed: Debian's /usr/share/nodejs
        // modules hold package.json files whose dependencies Node finds on
        // its global paths.
        warn(fmt::format("{}: dependency {} is not installed (no node_modules/{} up the tree)",
                         path_join(node.dir, "package.json"), dep, dep));
      }
    }
    for (const auto& dep : node.dev_dependencies) {
      if (auto hit = resolve(node.dir, dep)) node.dev_edges.push_back(std::move(*hit));
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
      for (const Edge& e : nodes_[i].edges) {
        if (blocks(e.to) || seen[e.to]) continue;
        seen[e.to] = true;
        queue.push_back(e.to);
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
      for (const Edge& e : nodes_[i].edges) {
        if (!seen[e.to]) {
          seen[e.to] = true;
          queue.push_back(e.to);
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

  // The packages a node's own JavaScript requires or imports by bare name
  // (outside its install scripts, build/ and nested node_modules), each
  // with the first file that does: what it loads at run time whatever its
  // package.json declares. Some build tools are run-time libraries for some
  // packages (bcrypt and sqlite3 call @mapbox/node-pre-gyp's find() to
  // locate their addon), and a project may require what it lists among its
  // devDependencies.
  const std::map<std::string, std::string>& required_names(std::size_t i) {
    auto [it, fresh] = required_.try_emplace(i);
    if (!fresh) return it->second;
    std::map<std::string, std::string>& names = it->second;
    const Node& node = nodes_[i];
    const auto skip = install_script_files(node);
    std::uint64_t budget = kScriptBytesPerPackage;
    inv_.for_each_below(node.dir, [&](const InventoryEntry& e, std::string_view rel) {
      if (e.type != FileType::Regular || !is_script_name(path_base(rel))) return;
      if (in_nested_node_modules(path_parent(rel)) || rel.starts_with("build/") ||
          skip.count(e.path) != 0 || e.size > kScriptFileLimit || e.size > budget) {
        return;
      }
      budget -= e.size;
      auto text = root_.read_file(e.path, kScriptFileLimit);
      if (!text) return;
      for (auto& name : bare_specifiers(*text)) names.try_emplace(std::move(name), e.path);
    });
    return names;
  }

  // Fixed point: a package that run-time code requires is run-time, and its
  // dependencies with it, which may be required things in turn.
  void classify() {
    std::set<std::pair<std::size_t, std::size_t>> promoted;  // (dependent, package) pairs
    dev_reachable_ = dev_reachable();  // for the warnings; again once the edges are final
    while (true) {
      runtime_ = runtime_reachable();
      bool changed = false;
      // Only packages that might go are worth reading code for.
      std::vector<bool> candidate(nodes_.size(), false);
      bool any = false;
      for (std::size_t j = 0; j < nodes_.size(); ++j) {
        candidate[j] = !nodes_[j].project && (blocks(j) || !runtime_[j]);
        any |= candidate[j];
      }
      if (!any) break;
      for (std::size_t i = 0; i < nodes_.size(); ++i) {
        if (!runtime_[i]) continue;
        for (const auto& [name, file] : required_names(i)) {
          auto hit = resolve(nodes_[i].dir, name);
          if (!hit || !candidate[hit->to] || !promoted.emplace(i, hit->to).second) continue;
          Node& dep = nodes_[hit->to];
          if (blocks(hit->to)) {
            dep.promoted = true;
            warn(fmt::format("{}: build tool {} kept: {} requires it at run time", dep.dir,
                             dep.name, file));
          } else if (dev_reachable_[hit->to]) {
            warn(
                fmt::format("{}: {} is kept: {} requires it at run time, but it is only "
                            "a devDependency (or needed only by one)",
                            dep.dir, dep.name, file));
          }
          // Run-time from here on, whatever was declared.
          nodes_[i].edges.push_back(*hit);
          changed = true;
        }
      }
      if (!changed) break;
    }
    build_ = build_reachable();
    dev_origin_.clear();
    dev_reachable_ = dev_reachable();
  }

  // What the projects' devDependencies reach, through any dependency, each
  // with the dev dependency and the project it came from.
  std::vector<bool> dev_reachable() {
    std::vector<bool> seen(nodes_.size(), false);
    std::deque<std::size_t> queue;
    for (std::size_t p = 0; p < nodes_.size(); ++p) {
      if (!nodes_[p].project) continue;
      for (const Edge& e : nodes_[p].dev_edges) {
        if (seen[e.to]) continue;
        seen[e.to] = true;
        dev_origin_[e.to] = {e.to, p};
        queue.push_back(e.to);
      }
    }
    while (!queue.empty()) {
      const std::size_t i = queue.front();
      queue.pop_front();
      for (const Edge& e : nodes_[i].edges) {
        if (seen[e.to]) continue;
        seen[e.to] = true;
        dev_origin_[e.to] = dev_origin_[i];
        queue.push_back(e.to);
      }
    }
    return seen;
  }

  // The packages npm's lock files of each project mark "dev": true (or not),
  // by directory: the hidden lock file in node_modules describes the tree
  // as installed, package-lock.json as it was meant to be.
  void read_lock_files() {
    for (const Node& project : nodes_) {
      if (!project.project) continue;
      for (const char* name : {"node_modules/.package-lock.json", "package-lock.json"}) {
        const std::string lock = path_join(project.dir, name);
        if (inv_.find(lock) == nullptr) continue;
        auto text = root_.read_file(lock, kLockFileLimit);
        if (!text) {
          warn(fmt::format("{}: {}", lock, text.error().message));
          continue;
        }
        const json doc = json::parse(*text, nullptr, false);
        const auto packages = doc.is_object() ? doc.find("packages") : doc.end();
        if (packages == doc.end() || !packages->is_object()) {
          warn(fmt::format("{}: no \"packages\" map (lockfileVersion 2 or later); not used", lock));
          continue;
        }
        for (const auto& [key, entry] : packages->items()) {
          if (key.empty() || !entry.is_object()) continue;
          const auto dev = entry.find("dev");
          lock_dev_.emplace(path_join(project.dir, key),
                            dev != entry.end() && dev->is_boolean() && dev->get<bool>());
        }
        break;
      }
    }
  }

  // Dev-only: not run-time, and reached through devDependencies (the graph)
  // or marked dev by a lock file, unless a lock file says it is not.
  void find_dev_only() {
    read_lock_files();
    for (std::size_t i = 0; i < nodes_.size(); ++i) {
      const Node& node = nodes_[i];
      if (node.project || runtime_[i] || build_[i]) continue;
      const auto lock = lock_dev_.find(node.dir);
      const bool graph = dev_reachable_[i];
      if (lock != lock_dev_.end() && !lock->second) {
        if (graph) {
          warn(
              fmt::format("{}: kept: only devDependencies reach it, but the lock file does not "
                          "mark it dev",
                          node.dir));
        }
        continue;
      }
      if (!graph && lock == lock_dev_.end()) continue;  // extraneous: nothing says what it is
      std::string why;
      if (graph) {
        const auto [dev, project] = dev_origin_[i];
        const std::string& owner =
            nodes_[project].name.empty() ? nodes_[project].dir : nodes_[project].name;
        why = dev == i ? fmt::format("devDependency of {} only", owner)
                       : fmt::format("needed only by {}, a devDependency of {}", nodes_[dev].name,
                                     owner);
      } else {
        why = "marked dev in the lock file, and no run-time dependency reaches it";
      }
      dev_only_.emplace(node.dir, std::move(why));
    }
    // The other way round: a package the lock file calls dev that run-time
    // code needs stays, and the disagreement is worth a word.
    for (std::size_t i = 0; i < nodes_.size(); ++i) {
      const auto lock = lock_dev_.find(nodes_[i].dir);
      if (lock != lock_dev_.end() && lock->second && runtime_[i] && !nodes_[i].project) {
        warn(
            fmt::format("{}: kept: the lock file marks it dev, but a run-time dependency "
                        "reaches it",
                        nodes_[i].dir));
      }
    }
  }

  // Each project's run-time closure: breadth-first over run-time edges
  // (promoted requires included), the first way each package was reached.
  std::vector<NpmRuntimePackage> runtime_closure(std::size_t project) const {
    std::vector<NpmRuntimePackage> out;
    std::vector<bool> seen(nodes_.size(), false);
    std::unordered_map<std::size_t, std::size_t> slot;  // node -> index in out
    std::deque<std::size_t> queue{project};
    seen[project] = true;
    while (!queue.empty()) {
      const std::size_t i = queue.front();
      queue.pop_front();
      for (const Edge& e : nodes_[i].edges) {
        if (blocks(e.to)) continue;
        const bool link = e.at != nodes_[e.to].dir;
        if (seen[e.to]) {
          // Reached again through a link: the link is on Node's way too.
          if (auto s = slot.find(e.to); link && s != slot.end()) {
            auto& links = out[s->second].links;
            if (std::find(links.begin(), links.end(), e.at) == links.end()) links.push_back(e.at);
          }
          continue;
        }
        seen[e.to] = true;
        slot[e.to] = out.size();
        NpmRuntimePackage pkg{nodes_[e.to].dir, nodes_[i].dir, e.name, {}};
        if (link) pkg.links.push_back(e.at);
        out.push_back(std::move(pkg));
        queue.push_back(e.to);
      }
    }
    return out;
  }

  NpmTree finish() {
    find_dev_only();
    NpmTree tree;
    for (std::size_t i = 0; i < nodes_.size(); ++i) {
      const Node& node = nodes_[i];
      if (node.project) {
        tree.projects.insert(node.dir);
        tree.runtime.emplace(node.dir, runtime_closure(i));
        continue;
      }
      if (build_[i] && !runtime_[i] && !node.promoted) tree.build_only.insert(node.dir);
      tree.packages.push_back(
          NpmPackage{node.dir, node.name, node.version, node.dependencies, node.build_tool});
    }
    tree.dev_only = std::move(dev_only_);
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
  std::vector<bool> dev_reachable_;
  // For each dev-reachable package: (the devDependency it came through, the project).
  std::unordered_map<std::size_t, std::pair<std::size_t, std::size_t>> dev_origin_;
  std::unordered_map<std::string, bool> lock_dev_;  // package dir -> "dev" in a lock file
  std::map<std::string, std::string> dev_only_;
  std::unordered_map<std::size_t, std::map<std::string, std::string>> required_;
};

}  // namespace

bool in_nested_node_modules(std::string_view rel) {
  for (std::string_view part = rel; !part.empty();) {
    const auto slash = part.find('/');
    if (part.substr(0, slash) == "node_modules") return true;
    if (slash == std::string_view::npos) break;
    part.remove_prefix(slash + 1);
  }
  return false;
}

std::string NpmTree::project_of(const std::string& path) const {
  for (std::string_view dir = path;; dir = path_parent(dir)) {
    if (path_base(dir) == "node_modules") return "";  // inside a package, not a project's own
    if (projects.count(std::string(dir)) != 0) return std::string(dir);
    if (dir == "/" || dir == ".") return "";
  }
}

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
