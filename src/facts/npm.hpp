// npm trees: the packages under node_modules directories, how they depend on
// each other (Node's resolution: the nearest node_modules up the tree), and
// which are needed only by build tooling (node-gyp and friends).
#pragma once

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
  // dependencies + optionalDependencies + peerDependencies names (not devDependencies)
  std::vector<std::string> dependencies;
  bool build_tool = false;  // one of the known build-only packages
};

struct NpmTree {
  std::vector<NpmPackage> packages;
  // Package directories needed only through build tools: a build tool
  // itself, or a package reachable from the roots only through one.
  std::set<std::string> build_only;
  // Unreadable, missing or malformed package.json, skipped symlinked
  // packages, build tools kept because something requires them at run time.
  std::vector<std::string> warnings;
};

// Known build-only packages (node-gyp, node-addon-api, nan, node-pre-gyp,
// @mapbox/node-pre-gyp, prebuild-install, cmake-js, ...).
bool is_npm_build_tool(const std::string& name);

// Read every package.json under a node_modules directory in `inventory` and
// work out the build-only set. The runtime roots are the package.json files
// not inside node_modules (the projects), or, when there are none, every
// top-level package of each node_modules directory.
//
// A package directory that is a symlink (npm link, workspaces, pnpm) stands
// for its target when that is a package or project in the tree, as Node
// resolves real paths; otherwise it is skipped with a warning. A build tool
// that a runtime package's own JavaScript require()s or imports (outside its
// install scripts, build/ and node_modules) is runtime, with a warning:
// bcrypt finds its addon through @mapbox/node-pre-gyp at run time.
NpmTree read_npm_tree(const Root& root, const Inventory& inventory);

}  // namespace elfprune
