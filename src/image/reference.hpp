// An image named the way skopeo names one: `oci:DIR[:TAG]`,
// `oci-archive:FILE[:TAG]`, `docker-archive:FILE[:NAME:TAG]`. Anything
// else given where a ROOT goes is a directory.
#pragma once

#include <string>
#include <string_view>

#include "util/result.hpp"

namespace elfprune {

enum class ImageTransport { Oci, OciArchive, DockerArchive };

struct ImageReference {
  ImageTransport transport = ImageTransport::Oci;
  std::string path;  // the layout directory or the archive file (host path)
  std::string tag;   // "" when none was given; NAME:TAG for docker-archive
  std::string text;  // as the user wrote it, for messages and the report
};

// True when `text` starts with a transport prefix: it is then parsed as an
// image (a directory called "oci:x" must be written ./oci:x).
bool is_image_reference(std::string_view text);

Result<ImageReference> parse_image_reference(std::string_view text);

std::string_view transport_name(ImageTransport transport);

}  // namespace elfprune
