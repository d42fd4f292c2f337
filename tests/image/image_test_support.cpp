#include "image/image_test_support.hpp"

#include <archive.h>
#include <archive_entry.h>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <memory>
#include <stdexcept>

#include "image/digest.hpp"
#include "test_support.hpp"

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace elfprune::test {
namespace {

struct WriteFree {
  void operator()(archive* a) const { archive_write_free(a); }
};
struct ReadFree {
  void operator()(archive* a) const { archive_read_free(a); }
};
struct EntryFree {
  void operator()(archive_entry* e) const { archive_entry_free(e); }
};

la_ssize_t append_to_string(archive* /*a*/, void* out, const void* buf, size_t n) {
  static_cast<std::string*>(out)->append(static_cast<const char*>(buf), n);
  return static_cast<la_ssize_t>(n);
}

void check(archive* a, int r, const char* what) {
  if (r < ARCHIVE_WARN) {
    const char* s = archive_error_string(a);
    throw std::runtime_error(std::string(what) + ": " + (s != nullptr ? s : "?"));
  }
}

}  // namespace

TarMember tar_file(std::string name, std::string data, std::uint32_t mode) {
  TarMember m;
  m.name = std::move(name);
  m.data = std::move(data);
  m.mode = mode;
  return m;
}

TarMember tar_dir(std::string name, std::uint32_t mode) {
  TarMember m;
  m.name = std::move(name);
  m.kind = TarMember::Kind::Dir;
  m.mode = mode;
  return m;
}

TarMember tar_symlink(std::string name, std::string target) {
  TarMember m;
  m.name = std::move(name);
  m.kind = TarMember::Kind::Symlink;
  m.target = std::move(target);
  m.mode = 0777;
  return m;
}

TarMember tar_hardlink(std::string name, std::string target) {
  TarMember m;
  m.name = std::move(name);
  m.kind = TarMember::Kind::Hardlink;
  m.target = std::move(target);
  return m;
}

std::string make_tar(const std::vector<TarMember>& members, TarFilter filter) {
  std::string out;
  std::unique_ptr<archive, WriteFree> a(archive_write_new());
  check(a.get(), archive_write_set_format_pax_restricted(a.get()), "pax");
  switch (filter) {
    case TarFilter::None:
      check(a.get(), archive_write_add_filter_none(a.get()), "none");
      break;
    case TarFilter::Gzip:
      check(a.get(), archive_write_add_filter_gzip(a.get()), "gzip");
      break;
    case TarFilter::Zstd:
      check(a.get(), archive_write_add_filter_zstd(a.get()), "zstd");
      break;
  }
  // As bsdtar does: a compressed stream is not padded to a whole block
  // (zstd readers take trailing zeros for a broken frame).
  if (filter != TarFilter::None) archive_write_set_bytes_in_last_block(a.get(), 1);
  check(a.get(), archive_write_open(a.get(), &out, nullptr, &append_to_string, nullptr), "open");
  for (const auto& m : members) {
    std::unique_ptr<archive_entry, EntryFree> e(archive_entry_new());
    archive_entry_set_pathname(e.get(), m.name.c_str());
    archive_entry_set_perm(e.get(), m.mode);
    archive_entry_set_uid(e.get(), m.uid);
    archive_entry_set_gid(e.get(), m.gid);
    if (!m.uname.empty()) archive_entry_set_uname(e.get(), m.uname.c_str());
    if (!m.gname.empty()) archive_entry_set_gname(e.get(), m.gname.c_str());
    archive_entry_set_mtime(e.get(), m.mtime, 0);
    for (const auto& [name, value] : m.xattrs) {
      archive_entry_xattr_add_entry(e.get(), name.c_str(), value.data(), value.size());
    }
    std::int64_t size = 0;
    switch (m.kind) {
      case TarMember::Kind::File:
        archive_entry_set_filetype(e.get(), AE_IFREG);
        size = static_cast<std::int64_t>(m.data.size());
        break;
      case TarMember::Kind::Dir:
        archive_entry_set_filetype(e.get(), AE_IFDIR);
        break;
      case TarMember::Kind::Symlink:
        archive_entry_set_filetype(e.get(), AE_IFLNK);
        archive_entry_set_symlink(e.get(), m.target.c_str());
        break;
      case TarMember::Kind::Hardlink:
        archive_entry_set_filetype(e.get(), AE_IFREG);
        archive_entry_set_hardlink(e.get(), m.target.c_str());
        break;
      case TarMember::Kind::CharDevice:
        archive_entry_set_filetype(e.get(), AE_IFCHR);
        archive_entry_set_rdevmajor(e.get(), m.devmajor);
        archive_entry_set_rdevminor(e.get(), m.devminor);
        break;
      case TarMember::Kind::BlockDevice:
        archive_entry_set_filetype(e.get(), AE_IFBLK);
        archive_entry_set_rdevmajor(e.get(), m.devmajor);
        archive_entry_set_rdevminor(e.get(), m.devminor);
        break;
      case TarMember::Kind::Fifo:
        archive_entry_set_filetype(e.get(), AE_IFIFO);
        break;
    }
    archive_entry_set_size(e.get(), size);
    check(a.get(), archive_write_header(a.get(), e.get()), m.name.c_str());
    if (size > 0 && archive_write_data(a.get(), m.data.data(), m.data.size()) < 0) {
      check(a.get(), ARCHIVE_FATAL, m.name.c_str());
    }
  }
  check(a.get(), archive_write_close(a.get()), "close");
  return out;
}

std::vector<ReadMember> read_tar(std::string_view bytes) {
  std::unique_ptr<archive, ReadFree> a(archive_read_new());
  archive_read_support_filter_all(a.get());
  archive_read_support_format_tar(a.get());
  check(a.get(), archive_read_open_memory(a.get(), bytes.data(), bytes.size()), "read tar");
  std::vector<ReadMember> out;
  archive_entry* e = nullptr;
  int r = 0;
  while ((r = archive_read_next_header(a.get(), &e)) == ARCHIVE_OK || r == ARCHIVE_WARN) {
    ReadMember m;
    m.name = archive_entry_pathname(e) != nullptr ? archive_entry_pathname(e) : "";
    m.mode = archive_entry_perm(e);
    m.uid = archive_entry_uid(e);
    m.gid = archive_entry_gid(e);
    m.mtime = archive_entry_mtime(e);
    if (const char* hl = archive_entry_hardlink(e)) {
      m.type = 'h';
      m.link = hl;
    } else {
      switch (archive_entry_filetype(e)) {
        case AE_IFREG:
          m.type = 'f';
          break;
        case AE_IFDIR:
          m.type = 'd';
          break;
        case AE_IFLNK:
          m.type = 'l';
          m.link = archive_entry_symlink(e) != nullptr ? archive_entry_symlink(e) : "";
          break;
        case AE_IFCHR:
          m.type = 'c';
          break;
        case AE_IFBLK:
          m.type = 'b';
          break;
        case AE_IFIFO:
          m.type = 'p';
          break;
        default:
          break;
      }
    }
    char buf[8192];
    la_ssize_t n = 0;
    while ((n = archive_read_data(a.get(), buf, sizeof buf)) > 0) {
      m.data.append(buf, static_cast<std::size_t>(n));
    }
    check(a.get(), static_cast<int>(n < 0 ? ARCHIVE_FATAL : ARCHIVE_OK), "read data");
    out.push_back(std::move(m));
  }
  check(a.get(), r == ARCHIVE_EOF ? ARCHIVE_OK : ARCHIVE_FATAL, "read header");
  return out;
}

std::string decompress(std::string_view bytes) {
  std::unique_ptr<archive, ReadFree> a(archive_read_new());
  archive_read_support_filter_all(a.get());
  archive_read_support_format_raw(a.get());
  check(a.get(), archive_read_open_memory(a.get(), bytes.data(), bytes.size()), "decompress");
  archive_entry* e = nullptr;
  check(a.get(), archive_read_next_header(a.get(), &e), "decompress");
  std::string out;
  char buf[8192];
  la_ssize_t n = 0;
  while ((n = archive_read_data(a.get(), buf, sizeof buf)) > 0) {
    out.append(buf, static_cast<std::size_t>(n));
  }
  check(a.get(), static_cast<int>(n < 0 ? ARCHIVE_FATAL : ARCHIVE_OK), "decompress");
  return out;
}

std::string read_bytes(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + file.string());
  return std::string(std::istreambuf_iterator<char>(in), {});
}

OciLayout::OciLayout(fs::path dir) : dir_(std::move(dir)) {
  fs::create_directories(dir_ / "blobs/sha256");
}

std::string OciLayout::add_blob(std::string_view bytes) {
  const std::string digest = sha256_digest(bytes);
  write_file(dir_ / "blobs/sha256" / std::string(digest_hex(digest)), bytes);
  return digest;
}

json OciLayout::blob_descriptor(std::string_view media_type, std::string_view bytes) {
  return json{{"mediaType", media_type}, {"digest", add_blob(bytes)}, {"size", bytes.size()}};
}

json image_config(const std::vector<std::string>& layer_tars, const json& fields) {
  json diff_ids = json::array();
  for (const auto& t : layer_tars) diff_ids.push_back(sha256_digest(t));
  json config = {{"architecture", "amd64"},
                 {"os", "linux"},
                 {"created", "2024-01-02T03:04:05Z"},
                 {"config", {{"Env", {"PATH=/usr/bin:/bin"}}}},
                 {"rootfs", {{"type", "layers"}, {"diff_ids", diff_ids}}},
                 {"history", json::array()}};
  for (std::size_t i = 0; i < layer_tars.size(); ++i) {
    config["history"].push_back({{"created_by", "layer " + std::to_string(i + 1)}});
  }
  if (fields.is_object()) config.merge_patch(fields);
  return config;
}

json OciLayout::add_image(const std::vector<std::string>& layer_tars, const json& config_fields,
                          TarFilter filter) {
  json layers = json::array();
  for (const auto& tar : layer_tars) {
    std::string blob;
    std::string media = "application/vnd.oci.image.layer.v1.tar";
    switch (filter) {
      case TarFilter::None:
        blob = tar;
        break;
      case TarFilter::Gzip:
      case TarFilter::Zstd: {
        // The same members again, through the filter: a blob whose
        // decompressed bytes are `tar` exactly (what the diff_id names).
        std::unique_ptr<archive, WriteFree> a(archive_write_new());
        archive_write_set_format_raw(a.get());
        if (filter == TarFilter::Gzip) {
          archive_write_add_filter_gzip(a.get());
          media += "+gzip";
        } else {
          archive_write_add_filter_zstd(a.get());
          media += "+zstd";
        }
        archive_write_set_bytes_in_last_block(a.get(), 1);
        check(a.get(), archive_write_open(a.get(), &blob, nullptr, &append_to_string, nullptr),
              "compress");
        std::unique_ptr<archive_entry, EntryFree> e(archive_entry_new());
        archive_entry_set_pathname(e.get(), "layer.tar");
        archive_entry_set_filetype(e.get(), AE_IFREG);
        check(a.get(), archive_write_header(a.get(), e.get()), "compress");
        if (archive_write_data(a.get(), tar.data(), tar.size()) < 0) {
          check(a.get(), ARCHIVE_FATAL, "compress");
        }
        check(a.get(), archive_write_close(a.get()), "compress");
        break;
      }
    }
    layers.push_back(blob_descriptor(media, blob));
  }
  const std::string config = image_config(layer_tars, config_fields).dump();
  json manifest = {{"schemaVersion", 2},
                   {"mediaType", "application/vnd.oci.image.manifest.v1+json"},
                   {"config", blob_descriptor("application/vnd.oci.image.config.v1+json", config)},
                   {"layers", layers}};
  return blob_descriptor("application/vnd.oci.image.manifest.v1+json", manifest.dump());
}

void OciLayout::write_index(const json& manifests) {
  json index = {{"schemaVersion", 2},
                {"mediaType", "application/vnd.oci.image.index.v1+json"},
                {"manifests", manifests}};
  write_file(dir_ / "index.json", index.dump());
  write_file(dir_ / "oci-layout", R"({"imageLayoutVersion":"1.0.0"})");
}

json with_platform(json descriptor, std::string_view os, std::string_view arch,
                   std::string_view variant) {
  descriptor["platform"] = {{"os", os}, {"architecture", arch}};
  if (!variant.empty()) descriptor["platform"]["variant"] = variant;
  return descriptor;
}

json with_ref_name(json descriptor, std::string_view name) {
  descriptor["annotations"]["org.opencontainers.image.ref.name"] = name;
  return descriptor;
}

std::vector<std::pair<std::string, std::string>> files_below(const fs::path& dir) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    if (entry.is_regular_file()) {
      out.emplace_back(entry.path().lexically_relative(dir).string(), read_bytes(entry.path()));
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace elfprune::test
