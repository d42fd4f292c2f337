// An image opened for reading: its manifest picked (one platform), its
// config read and checked against its digest, its layers listed. The
// layers themselves are read by layer_tree. Archives (oci-archive,
// docker-archive) are unpacked first, blob files only, into a scratch
// directory the caller owns; an OCI layout directory is read where it is.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "image/reference.hpp"
#include "util/result.hpp"

namespace elfprune {

// The part of an image config (the runtime's instructions) elfprune reads;
// the config itself is kept as bytes and written back whole.
struct ImageRunConfig {
  std::vector<std::string> entrypoint;
  std::vector<std::string> cmd;
  std::vector<std::string> env;  // NAME=VALUE
  std::string working_dir;
  std::string user;
};

struct LayerBlob {
  std::string file;        // host path of the blob
  std::string name;        // how the image names it (digest, or a docker-archive member)
  std::string digest;      // "" when the format gives none (legacy docker-archive)
  std::uint64_t size = 0;  // compressed size the manifest states (0: unknown)
  std::string media_type;
  std::string diff_id;  // from the config's rootfs.diff_ids
};

struct ImageSource {
  ImageReference ref;
  std::string platform;  // "linux/amd64" as the config says
  std::string manifest;  // bytes of the chosen manifest (docker-archive: synthesised)
  std::string config;    // bytes of the config
  std::string config_digest;
  ImageRunConfig run;
  std::vector<LayerBlob> layers;
  std::string tag;  // the tag or NAME:TAG it was found under, if any
  std::vector<std::string> warnings;
};

// `platform` is "os/arch[/variant]"; empty means linux/amd64. A manifest
// whose index descriptor names another platform is not taken (an index
// without a usable platform is an error listing those it has); one whose
// descriptor names none is, with a warning when its config says another.
// `scratch` is an empty directory for unpacking archives.
Result<ImageSource> open_image(const ImageReference& ref, const std::string& platform,
                               const std::string& scratch);

// The same from bytes, for the fuzz target: an index (or nullptr), the
// manifest and the config. Errors name `where`.
Result<ImageRunConfig> parse_image_config(const std::string& bytes,
                                          std::vector<std::string>* diff_ids, std::string* platform,
                                          const std::string& where);

}  // namespace elfprune
