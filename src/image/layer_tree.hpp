// An image's layers applied in order into a staging directory, as the
// image spec says (whiteouts, opaque whiteouts, hardlinks across layers,
// the last of duplicate paths wins), each entry's original tar header kept
// beside it: owners, modes, mtimes, xattrs (security.capability) and device
// numbers live in the headers, not on disk, so no privilege is needed to
// read or write an image. The staging directory holds the merged tree the
// prune pipeline reads like any root; device nodes and FIFOs are empty
// regular files there, special only in their headers.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "image/image_source.hpp"
#include "util/result.hpp"

namespace elfprune {

enum class TarType : std::uint8_t { Regular, Directory, Symlink, CharDevice, BlockDevice, Fifo };

// A tar header as elfprune keeps it (what archive_entry carries that an
// image cares about).
struct TarMeta {
  TarType type = TarType::Regular;
  std::uint32_t mode = 0644;  // permission bits, setuid/setgid/sticky included
  std::int64_t uid = 0, gid = 0;
  std::string uname, gname;
  std::int64_t mtime = 0;
  long mtime_nsec = 0;
  std::uint64_t size = 0;  // regular files
  std::string link;        // symlink target
  std::uint32_t devmajor = 0, devminor = 0;
  std::vector<std::pair<std::string, std::string>> xattrs;
};

struct TreeNode {
  TarMeta meta;
  std::uint32_t layer = 0;  // the layer its last version came from
  bool implied = false;     // a parent directory no layer listed
  std::string hardlink;     // the path it was hardlinked to in its layer, if it was
  // The layers that listed this path (bit i for layer i, layers from 63 on
  // share bit 63): a layer that lists no removed path is unchanged by the
  // prune, and `--layers keep` reuses its blob.
  std::uint64_t listed_in = 0;
};

inline std::uint64_t layer_bit(std::size_t layer) {
  return std::uint64_t{1} << (layer < 63 ? layer : 63);
}

struct LayerStats {
  std::uint64_t entries = 0;
  std::uint64_t file_bytes = 0;  // regular file content in the layer
  std::uint64_t whiteouts = 0;
  std::string digest;            // of the blob, as computed
  std::string diff_id;           // of the tar, as computed
  std::uint64_t blob_size = 0;
};

struct ImageTree {
  std::string staging;  // host directory of the merged tree
  // Relative paths ("usr/bin/node"), sorted: a directory comes right before
  // what it holds, the order the tar is written in.
  std::map<std::string, TreeNode> nodes;
  std::vector<LayerStats> layers;
  std::vector<std::string> warnings;
};

// Apply `src`'s layers into `staging` (an empty directory). Every blob is
// checked against its digest and every layer against its diff_id; an entry
// that escapes (`..`, an absolute name) is an error naming the layer and
// the path. `progress` is told each layer as it starts.
Result<ImageTree> apply_layers(const ImageSource& src, const std::string& staging,
                               const std::function<void(std::size_t, std::size_t)>& progress = {});

// What one layer's tar says, for the layer-application fuzz target and the
// tests: the same code as apply_layers without digests, from a blob file.
Result<void> apply_layer_file(ImageTree& tree, const std::string& blob, std::uint32_t layer,
                              const std::string& name);

// A relative path of the tree with symbolic links in its parents followed
// inside the tree (absolute targets from the tree's top, 40 links at
// most), as a runtime extracting the layer would reach it; nullopt when a
// parent is not a directory or the links loop.
std::optional<std::string> resolve_parents(const ImageTree& tree, const std::string& path);

}  // namespace elfprune
