// The portable build's stand-in for image_prune.cpp (ELFPRUNE_IMAGES=OFF):
// an image reference is refused with the reason.
#include "prune/image_prune.hpp"

namespace elfprune {

namespace {
Error no_images(const std::string& reference) {
  return make_error(reference,
                    "this elfprune was built without image support (the portable build); "
                    "unpack the image, or use a build with ELFPRUNE_IMAGES=ON",
                    ErrorKind::Usage);
}
}  // namespace

Result<std::unique_ptr<ImageWorkspace>> ImageWorkspace::open(
    const std::string& reference, const std::string& /*platform*/,
    const std::function<void(std::string_view, std::size_t, std::size_t)>& /*progress*/) {
  return no_images(reference);
}

ImageWorkspace::~ImageWorkspace() = default;

Result<ImagePrune> prune_image(PruneOptions options, const ImageOptions& /*image*/,
                               bool /*plan_only*/) {
  return no_images(options.root);
}

}  // namespace elfprune
