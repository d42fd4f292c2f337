// npm trees: the packages under node_modules directories, how they depend on
// each other (Node's resolution: the nearest node_modules up the tree), and
// which are needed only by build tooling (node-gyp and friends).
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "tree/inventory.hpp"
#include "tree/root.hpp"

namespace elfprune {

struct NpmPackage {
  std::string dir;   // inside path of the package directory
  std::string name;  // from package.json ("@scope/name" for scoped ones)
  std::string version;
  // dependencies + optionalDependencies + peerDependencies + bundled ones
  // (not devDependencies)
  std::vector<std::string> dependencies;
  bool build_tool = false;  // one of the known build-only packages
};

// A package an npm project needs at run time, and how it was reached.
struct NpmRuntimePackage {
  std::string dir;   // the package's real directory
  std::string from;  // the project or package whose dependency it is
  std::string name;  // the dependency's name, as declared
  // The symlinks Node follows to reach it (workspaces, npm link), kept too.
  std::vector<std::string> links;
};

struct NpmTree {
  std::vector<NpmPackage> packages;
  // Projects: directories holding a package.json outside node_modules.
  std::set<std::string> projects;
  // Package directories needed only through build tools: a build tool
  // itself, or a package reachable from the roots only through one.
  std::set<std::string> build_only;
  // Package directories the projects reach only through devDependencies,
  // and why ("devDependency of orders-handler only", "needed only by
  // typescript, a devDependency of orders-handler").
  std::map<std::string, std::string> dev_only;
  // Each project's run-time dependency closure, as Node resolves it.
  std::map<std::string, std::vector<NpmRuntimePackage>> runtime;
  // Unreadable, missing or malformed package.json, skipped symlinked
  // packages, build tools and dev-only packages kept because something
  // requires them at run time, lock files that disagree.
  std::vector<std::string> warnings;

  // The project `path` belongs to: the nearest directory at or above it
  // holding a package.json, outside node_modules; "" when there is none.
  std::string project_of(const std::string& path) const;
};

// Whether `rel`, a path relative to a package or project directory, lies
// in a nested node_modules (whose packages are packages of their own).
bool in_nested_node_modules(std::string_view rel);

// Known build-only packages (node-gyp, node-addon-api, nan, node-pre-gyp,
// @mapbox/node-pre-gyp, prebuild-install, cmake-js, ...).
bool is_npm_build_tool(const std::string& name);

// Read every package.json under a node_modules directory in `inventory` and
// work out the build-only and dev-only sets and each project's run-time
// closure. The runtime roots are the package.json files not inside
// node_modules (the projects), or, when there are none, every top-level
// package of each node_modules directory. A project's devDependencies are
// followed only to find what nothing else needs; npm's lock files
// (node_modules/.package-lock.json, package-lock.json: "dev": true) are
// cross-checked: a package is dev-only when the graph says so and a lock
// file, if there is one, does not say otherwise.
//
// A package directory that is a symlink (npm link, workspaces, pnpm) stands
// for its target when that is a package or project in the tree, as Node
// resolves real paths; otherwise it is skipped with a warning. A build tool
// that a runtime package's own JavaScript require()s or imports (outside its
// install scripts, build/ and node_modules) is runtime, with a warning:
// bcrypt finds its addon through @mapbox/node-pre-gyp at run time. So is a
// dev-only package that a run-time package or the project's own code
// requires (a dependency declared in the wrong list), with a warning.
NpmTree read_npm_tree(const Root& root, const Inventory& inventory);

}  // namespace elfprune
