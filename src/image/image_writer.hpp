// A pruned tree written as an image: one layer (squash) or each original
// layer without what the prune removed (keep), the config kept whole with
// a history entry added and its diff_ids right, one manifest for one
// platform. Reproducible: entries in the tree's order, headers from the
// input, no timestamp in the gzip header, `created` from SOURCE_DATE_EPOCH
// when set and the input's otherwise. Written under a temporary name beside
// the output and renamed: a failed run leaves nothing at the output.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

#include "image/image_source.hpp"
#include "image/layer_tree.hpp"
#include "image/reference.hpp"
#include "util/result.hpp"

namespace elfprune {

enum class LayerMode { Squash, Keep };
enum class Compression { Gzip, Zstd, None };

struct ImageWriteOptions {
  ImageReference out;
  LayerMode layers = LayerMode::Squash;
  Compression compression = Compression::Gzip;
  std::optional<std::int64_t> source_date_epoch;
  std::string created_by;  // the history entry's created_by: the command
};

struct WrittenLayer {
  std::string digest;
  std::string diff_id;
  std::uint64_t size = 0;
  bool reused = false;  // the original blob, byte for byte
};

struct WrittenImage {
  std::string manifest_digest;
  std::string config_digest;
  std::vector<WrittenLayer> layers;
  std::uint64_t bytes = 0;  // blobs, config and manifest
};

// --out checked before any work: a new file or directory, or an empty one
// (oci:).
Result<void> check_image_output(const ImageReference& out);

// `removed`: the relative paths the prune removed from `tree`; `edited`:
// those whose content it changed in the staging tree.
Result<WrittenImage> write_image(const ImageSource& src, const ImageTree& tree,
                                 const std::unordered_set<std::string>& removed,
                                 const std::unordered_set<std::string>& edited,
                                 const ImageWriteOptions& options);

}  // namespace elfprune
