// The dpkg database of a root (/var/lib/dpkg/status and info/*.list):
// which package owns a file, and what each package depends on.
#pragma once

#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "tree/root.hpp"

namespace elfprune {

struct DpkgPackage {
  std::string name;     // without :arch
  std::string section;  // "libs", "python", "javascript", ...
  std::string source;   // source package name (defaults to `name`)
  bool essential = false;
  // Depends and Pre-Depends: each inner vector is a list of alternatives
  // (`a | b`), package names only (versions and :arch dropped).
  std::vector<std::vector<std::string>> depends;
  std::vector<std::string> provides;
  std::vector<std::string> files;  // from info/<name>[:arch].list, as listed
};

struct DpkgDb {
  bool present = false;  // the root has /var/lib/dpkg/status
  // Installed packages only: status `installed`, `triggers-awaited` or
  // `triggers-pending` with the `ok` flag, whatever the selection (`install`,
  // `hold`, `deinstall`: the files are on disk in all three).
  std::map<std::string, DpkgPackage> packages;
  std::unordered_map<std::string, std::string> owner;  // listed path -> package name
  // Canonical path -> package name, for listed paths whose directory part
  // goes through a symlink (`/lib/x86_64-linux-gnu/libc.so.6` is
  // `/usr/lib/x86_64-linux-gnu/libc.so.6` on merged-/usr). The file name
  // itself is not followed: a listed symlink stays the symlink.
  std::unordered_map<std::string, std::string> canonical;
  // A virtual package name -> the installed package providing it (the first
  // by name when several do).
  std::unordered_map<std::string, std::string> provided_by;
  std::vector<std::string> warnings;

  // The package that owns `path` (as listed, or through `canonical`), or
  // nullptr. Pass the listed spelling or the canonical one (Root::resolve
  // with follow_last=false); other spellings are not resolved here.
  const DpkgPackage* owner_of(const std::string& path) const;
  // An installed package by name or by a name it Provides, or nullptr.
  const DpkgPackage* find(const std::string& name) const;
};

// Read the database inside `root`. A root without one gives present=false.
// Malformed stanzas are skipped with a warning. /var/lib/dpkg/diversions is
// not read: a diverted file is attributed to the package listing it.
DpkgDb read_dpkg(const Root& root);

// Packages needed only to install or configure others, never at run time;
// package dependency edges stop at them (dpkg, debconf, ...).
bool is_install_time_only(const std::string& package);

}  // namespace elfprune
