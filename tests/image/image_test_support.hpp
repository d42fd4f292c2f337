// Images built at test time for the tests of src/image/: layer tars written
// with libarchive's writer (plain, gzip or zstd), OCI layouts (blobs named by
// their sha256, index.json, oci-layout) and docker-archives, and a reader
// that lists what a written tar holds. Nothing is checked in.
#pragma once

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace elfprune::test {

enum class TarFilter { None, Gzip, Zstd };

// One member of a tar to write.
struct TarMember {
  enum class Kind { File, Dir, Symlink, Hardlink, CharDevice, BlockDevice, Fifo };
  std::string name;
  Kind kind = Kind::File;
  std::string data;    // a file's content
  std::string target;  // a symlink's or a hardlink's target
  std::uint32_t mode = 0644;
  std::int64_t uid = 0, gid = 0;
  std::string uname, gname;
  std::int64_t mtime = 1700000000;
  std::uint32_t devmajor = 0, devminor = 0;
  std::vector<std::pair<std::string, std::string>> xattrs;
};

TarMember tar_file(std::string name, std::string data, std::uint32_t mode = 0644);
TarMember tar_dir(std::string name, std::uint32_t mode = 0755);
TarMember tar_symlink(std::string name, std::string target);
TarMember tar_hardlink(std::string name, std::string target);

// A pax tar of `members` in order, through `filter`.
std::string make_tar(const std::vector<TarMember>& members, TarFilter filter = TarFilter::None);

// What a tar (any filter libarchive knows) holds, in order.
struct ReadMember {
  std::string name;
  char type = '?';  // 'f' 'd' 'l' 'h' (a hardlink) 'c' 'b' 'p'
  std::string data;
  std::string link;  // symlink or hardlink target
  std::uint32_t mode = 0;
  std::int64_t uid = 0, gid = 0;
  std::int64_t mtime = 0;
};
std::vector<ReadMember> read_tar(std::string_view bytes);
// The bytes a compressed blob decompresses to (itself when not compressed).
std::string decompress(std::string_view bytes);

std::string read_bytes(const std::filesystem::path& file);

// An OCI image layout under construction in `dir`.
class OciLayout {
 public:
  explicit OciLayout(std::filesystem::path dir);

  // Writes blobs/sha256/<hex>; returns the digest.
  std::string add_blob(std::string_view bytes);
  // A descriptor of `bytes` (written as a blob).
  nlohmann::json blob_descriptor(std::string_view media_type, std::string_view bytes);

  // One image: its layers (tars, compressed by `filter`), a config with
  // their diff_ids and `config_fields` merged in (platform, "config": {...}),
  // and a manifest. Returns the manifest's descriptor (mediaType, digest,
  // size), without platform or annotations.
  nlohmann::json add_image(const std::vector<std::string>& layer_tars,
                           const nlohmann::json& config_fields, TarFilter filter = TarFilter::Gzip);

  // index.json holding `manifests`, and oci-layout.
  void write_index(const nlohmann::json& manifests);

  const std::filesystem::path& dir() const { return dir_; }

 private:
  std::filesystem::path dir_;
};

// A config: os/architecture, rootfs with the diff_ids of `layer_tars`,
// `fields` merged in.
nlohmann::json image_config(const std::vector<std::string>& layer_tars,
                            const nlohmann::json& fields = nlohmann::json::object());

// A descriptor with a platform (and optionally a ref.name annotation).
nlohmann::json with_platform(nlohmann::json descriptor, std::string_view os, std::string_view arch,
                             std::string_view variant = {});
nlohmann::json with_ref_name(nlohmann::json descriptor, std::string_view name);

// The files of a directory tree (relative path -> bytes), for comparing two
// written images.
std::vector<std::pair<std::string, std::string>> files_below(const std::filesystem::path& dir);

}  // namespace elfprune::test
