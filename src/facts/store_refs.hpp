// Which store paths the files of a pruned Nix output keep alive, and by
// which files (what `nix why-depends --precise` shows, for the whole output
// at once), with the ones worth a second look flagged.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace elfprune {

struct StoreReference {
  std::string store_path;
  std::vector<std::string> kept_by;     // kept files naming it
  std::vector<std::string> removed_by;  // removed files that named it
  std::uint64_t kept_bytes = 0;         // size of the kept files naming it
  // "" | "only-removed-files": pruning takes it out of the closure |
  // "one-small-file": a single kept file under 4 KiB holds it alive.
  std::string flag;
};

class StoreReferences {
 public:
  explicit StoreReferences(std::string store_dir);

  // True when `path` (inside the root) lies in the store: only such files
  // are looked at.
  bool in_store(std::string_view path) const;

  // The store paths named in a file's bytes (or a symlink's target);
  // references of a store path to itself are not counted.
  void add(const std::string& path, std::string_view bytes, std::uint64_t size, bool kept);

  std::vector<StoreReference> result() const;

 private:
  std::string store_dir_;
  std::map<std::string, StoreReference> refs_;
};

inline constexpr std::uint64_t kSmallReferrer = 4096;

}  // namespace elfprune
