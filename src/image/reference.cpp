#include "image/reference.hpp"

#include <fmt/format.h>

#include <array>

namespace elfprune {
namespace {

struct Prefix {
  std::string_view text;
  ImageTransport transport;
};
constexpr std::array<Prefix, 3> kPrefixes{{
    {"oci:", ImageTransport::Oci},
    {"oci-archive:", ImageTransport::OciArchive},
    {"docker-archive:", ImageTransport::DockerArchive},
}};

}  // namespace

std::string_view transport_name(ImageTransport transport) {
  switch (transport) {
    case ImageTransport::Oci:
      return "oci";
    case ImageTransport::OciArchive:
      return "oci-archive";
    case ImageTransport::DockerArchive:
      return "docker-archive";
  }
  return "oci";
}

bool is_image_reference(std::string_view text) {
  for (const auto& p : kPrefixes) {
    if (text.substr(0, p.text.size()) == p.text) return true;
  }
  return false;
}

Result<ImageReference> parse_image_reference(std::string_view text) {
  for (const auto& p : kPrefixes) {
    if (text.substr(0, p.text.size()) != p.text) continue;
    ImageReference ref;
    ref.transport = p.transport;
    ref.text = std::string(text);
    // As skopeo splits them: the path ends at the first ':' after the
    // transport; the rest is the tag (docker-archive: NAME:TAG).
    std::string_view rest = text.substr(p.text.size());
    const auto colon = rest.find(':');
    ref.path = std::string(rest.substr(0, colon));
    if (colon != std::string_view::npos) ref.tag = std::string(rest.substr(colon + 1));
    if (ref.path.empty()) {
      return make_error(ref.text, "no path after the transport", ErrorKind::Usage);
    }
    if (colon != std::string_view::npos && ref.tag.empty()) {
      return make_error(ref.text, "empty tag after ':'", ErrorKind::Usage);
    }
    if (p.transport == ImageTransport::DockerArchive && !ref.tag.empty() &&
        ref.tag.find(':') == std::string::npos) {
      return make_error(ref.text, "a docker-archive reference is FILE[:NAME:TAG]",
                        ErrorKind::Usage);
    }
    return ref;
  }
  return make_error(std::string(text),
                    "not an image reference (oci:DIR[:TAG], oci-archive:FILE[:TAG], "
                    "docker-archive:FILE[:NAME:TAG])",
                    ErrorKind::Usage);
}

}  // namespace elfprune
