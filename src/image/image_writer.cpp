#include "image/image_writer.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <ctime>
#include <map>
#include <nlohmann/json.hpp>

#include "image/archive_io.hpp"
#include "image/digest.hpp"
#include "util/fd.hpp"
#include "util/path.hpp"
#include "util/remove_tree.hpp"

namespace elfprune {
namespace {

using ojson = nlohmann::ordered_json;

constexpr std::size_t kBuffer = 128u << 10;
constexpr std::string_view kOciManifest = "application/vnd.oci.image.manifest.v1+json";
constexpr std::string_view kOciConfig = "application/vnd.oci.image.config.v1+json";
constexpr std::string_view kOciIndex = "application/vnd.oci.image.index.v1+json";

std::string layer_media_type(Compression c) {
  switch (c) {
    case Compression::Gzip:
      return "application/vnd.oci.image.layer.v1.tar+gzip";
    case Compression::Zstd:
      return "application/vnd.oci.image.layer.v1.tar+zstd";
    case Compression::None:
      return "application/vnd.oci.image.layer.v1.tar";
  }
  return "application/vnd.oci.image.layer.v1.tar";
}

// What a blob's first bytes say it is, for a reused blob's media type.
Compression sniff_compression(const std::string& file) {
  Fd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
  unsigned char magic[4] = {};
  if (!fd.ok() || ::read(fd.get(), magic, 4) != 4) return Compression::None;
  if (magic[0] == 0x1f && magic[1] == 0x8b) return Compression::Gzip;
  if (magic[0] == 0x28 && magic[1] == 0xb5 && magic[2] == 0x2f && magic[3] == 0xfd)
    return Compression::Zstd;
  return Compression::None;
}

// A blob being written: the bytes go to a temporary file in the layout's
// blob directory and are hashed on the way; `finish` renames it to its
// digest.
class BlobFile {
 public:
  Result<void> open(const std::string& dir) {
    dir_ = dir;
    tmp_ = fmt::format("{}/.blob-{}", dir, counter_++);
    fd_ = Fd(::open(tmp_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    if (!fd_.ok()) return errno_error(tmp_, errno, ErrorKind::Failed);
    return {};
  }
  Result<void> write(const void* data, std::size_t n) {
    hash_.update(data, n);
    size_ += n;
    return write_all(fd_.get(), std::string_view(static_cast<const char*>(data), n), tmp_);
  }
  Result<std::string> finish() {
    if (::fsync(fd_.get()) != 0) return errno_error(tmp_, errno, ErrorKind::Failed);
    fd_.reset();
    std::string digest = hash_.digest();
    const std::string final_path = fmt::format("{}/{}", dir_, digest_hex(digest));
    if (::rename(tmp_.c_str(), final_path.c_str()) != 0)
      return errno_error(final_path, errno, ErrorKind::Failed);
    return digest;
  }
  std::uint64_t size() const { return size_; }

 private:
  static inline std::uint64_t counter_ = 0;
  std::string dir_, tmp_;
  Fd fd_;
  Sha256 hash_;
  std::uint64_t size_ = 0;
};

// A layer tar written through libarchive twice over: the tar (pax, only
// where ustar cannot say it) hashed for the diff_id, then compressed (raw
// format through a gzip or zstd filter, no timestamp, no padding after the
// stream) into the blob.
class LayerWriter {
 public:
  Result<void> open(const std::string& blob_dir, Compression c) {
    ELFPRUNE_TRY(blob_.open(blob_dir));
    compressed_.reset(archive_write_new());
    archive* z = compressed_.get();
    archive_write_set_format_raw(z);
    int r = ARCHIVE_OK;
    if (c == Compression::Gzip) {
      r = archive_write_add_filter_gzip(z);
      if (r == ARCHIVE_OK) r = archive_write_set_options(z, "gzip:!timestamp");
    } else if (c == Compression::Zstd) {
      r = archive_write_add_filter_zstd(z);
    } else {
      r = archive_write_add_filter_none(z);
    }
    if (r != ARCHIVE_OK)
      return make_error("layer", fmt::format("cannot compress: {}", archive_message(z)),
                        ErrorKind::Failed);
    archive_write_set_bytes_per_block(z, kBuffer);
    archive_write_set_bytes_in_last_block(z, 1);
    if (archive_write_open(z, this, nullptr, &LayerWriter::to_blob, nullptr) != ARCHIVE_OK) {
      return make_error("layer", archive_message(z), ErrorKind::Failed);
    }
    ArchiveEntry raw(archive_entry_new());
    archive_entry_set_pathname(raw.get(), "layer.tar");
    archive_entry_set_filetype(raw.get(), AE_IFREG);
    archive_entry_set_perm(raw.get(), 0644);
    if (archive_write_header(z, raw.get()) != ARCHIVE_OK) {
      return make_error("layer", archive_message(z), ErrorKind::Failed);
    }
    tar_.reset(archive_write_new());
    archive_write_set_format_pax_restricted(tar_.get());
    archive_write_add_filter_none(tar_.get());
    archive_write_set_bytes_per_block(tar_.get(), 10240);
    if (archive_write_open(tar_.get(), this, nullptr, &LayerWriter::to_filter, nullptr) !=
        ARCHIVE_OK) {
      return make_error("layer", archive_message(tar_.get()), ErrorKind::Failed);
    }
    return {};
  }

  Result<void> header(archive_entry* e, const std::string& what) {
    if (archive_write_header(tar_.get(), e) < ARCHIVE_WARN) return failure(what);
    return {};
  }
  Result<void> data(const void* buf, std::size_t n, const std::string& what) {
    if (archive_write_data(tar_.get(), buf, n) < 0) return failure(what);
    return {};
  }

  Result<WrittenLayer> finish() {
    if (archive_write_close(tar_.get()) != ARCHIVE_OK) return failure("layer");
    if (!error_.ok()) return error_.error();
    if (archive_write_close(compressed_.get()) != ARCHIVE_OK) {
      return make_error("layer", archive_message(compressed_.get()), ErrorKind::Failed);
    }
    if (!error_.ok()) return error_.error();
    WrittenLayer out;
    out.diff_id = diff_id_.digest();
    ELFPRUNE_TRY_ASSIGN(out.digest, blob_.finish());
    out.size = blob_.size();
    return out;
  }

 private:
  Error failure(const std::string& what) {
    if (!error_.ok()) return error_.error();
    return make_error(what, archive_message(tar_.get()), ErrorKind::Failed);
  }

  static la_ssize_t to_filter(archive* /*a*/, void* self, const void* buf, std::size_t n) {
    auto* w = static_cast<LayerWriter*>(self);
    w->diff_id_.update(buf, n);
    if (archive_write_data(w->compressed_.get(), buf, n) < 0) {
      w->error_ = make_error("layer", archive_message(w->compressed_.get()), ErrorKind::Failed);
      return -1;
    }
    return static_cast<la_ssize_t>(n);
  }
  static la_ssize_t to_blob(archive* /*a*/, void* self, const void* buf, std::size_t n) {
    auto* w = static_cast<LayerWriter*>(self);
    auto r = w->blob_.write(buf, n);
    if (!r) {
      w->error_ = r.error();
      return -1;
    }
    return static_cast<la_ssize_t>(n);
  }

  BlobFile blob_;
  Sha256 diff_id_;
  ArchiveWriter compressed_;
  ArchiveWriter tar_;
  Result<void> error_;
};

void fill_entry(archive_entry* e, const std::string& path, const TarMeta& m) {
  archive_entry_set_pathname(e, m.type == TarType::Directory ? (path + "/").c_str() : path.c_str());
  switch (m.type) {
    case TarType::Directory:
      archive_entry_set_filetype(e, AE_IFDIR);
      break;
    case TarType::Symlink:
      archive_entry_set_filetype(e, AE_IFLNK);
      break;
    case TarType::CharDevice:
      archive_entry_set_filetype(e, AE_IFCHR);
      break;
    case TarType::BlockDevice:
      archive_entry_set_filetype(e, AE_IFBLK);
      break;
    case TarType::Fifo:
      archive_entry_set_filetype(e, AE_IFIFO);
      break;
    case TarType::Regular:
      archive_entry_set_filetype(e, AE_IFREG);
      break;
  }
  archive_entry_set_perm(e, m.mode);
  archive_entry_set_uid(e, m.uid);
  archive_entry_set_gid(e, m.gid);
  if (!m.uname.empty()) archive_entry_set_uname(e, m.uname.c_str());
  if (!m.gname.empty()) archive_entry_set_gname(e, m.gname.c_str());
  archive_entry_set_mtime(e, m.mtime, m.mtime_nsec);
  if (m.type == TarType::Symlink) archive_entry_set_symlink(e, m.link.c_str());
  if (m.type == TarType::CharDevice || m.type == TarType::BlockDevice) {
    archive_entry_set_rdevmajor(e, m.devmajor);
    archive_entry_set_rdevminor(e, m.devminor);
  }
  for (const auto& [name, value] : m.xattrs) {
    archive_entry_xattr_add_entry(e, name.c_str(), value.data(), value.size());
  }
  archive_entry_set_size(e, 0);
}

// The content of a kept regular file, from the staging tree (where an
// edit, if any, was made).
Result<void> copy_file(LayerWriter& w, int fd, const std::string& what, std::string& buf) {
  return read_chunks(fd, buf, what, [&](std::string_view chunk) {
    return w.data(chunk.data(), chunk.size(), what);
  });
}

struct InodeKey {
  dev_t dev;
  ino_t ino;
  bool operator<(const InodeKey& o) const { return std::tie(dev, ino) < std::tie(o.dev, o.ino); }
};

// One entry of the squashed tree written: headers from the input, content
// (and size) from the staging tree, hardlinks where the staging tree has
// them.
Result<void> write_node(LayerWriter& w, const ImageTree& tree, const std::string& path,
                        const TreeNode& node, std::map<InodeKey, std::string>& inodes,
                        std::string& buf) {
  ArchiveEntry e(archive_entry_new());
  fill_entry(e.get(), path, node.meta);
  if (node.meta.type != TarType::Regular) return w.header(e.get(), path);
  const std::string host = path_join(tree.staging, path);
  Fd fd(::open(host.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd.ok()) return errno_error(path, errno, ErrorKind::Failed);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return errno_error(path, errno, ErrorKind::Failed);
  if (st.st_nlink > 1) {
    auto [it, first] = inodes.emplace(InodeKey{st.st_dev, st.st_ino}, path);
    if (!first) {
      archive_entry_set_hardlink(e.get(), it->second.c_str());
      return w.header(e.get(), path);
    }
  }
  archive_entry_set_size(e.get(), st.st_size);
  ELFPRUNE_TRY(w.header(e.get(), path));
  return copy_file(w, fd.get(), path, buf);
}

Result<WrittenLayer> write_squashed(const ImageTree& tree,
                                    const std::unordered_set<std::string>& removed,
                                    const std::string& blob_dir, Compression c) {
  LayerWriter w;
  ELFPRUNE_TRY(w.open(blob_dir, c));
  std::map<InodeKey, std::string> inodes;
  std::string buf;
  for (const auto& [path, node] : tree.nodes) {
    if (removed.count(path) != 0) continue;
    ELFPRUNE_TRY(write_node(w, tree, path, node, inodes, buf));
  }
  return w.finish();
}

bool layer_changed(const ImageTree& tree, std::size_t layer,
                   const std::unordered_set<std::string>& removed,
                   const std::unordered_set<std::string>& edited) {
  const std::uint64_t bit = layer_bit(layer);
  for (const auto* set : {&removed, &edited}) {
    for (const auto& p : *set) {
      auto it = tree.nodes.find(p);
      if (it != tree.nodes.end() && (it->second.listed_in & bit) != 0) return true;
    }
  }
  // A hardlink this layer makes to a name the prune removed (from a lower
  // layer): kept as it is, the layer would not extract.
  for (const auto& [path, node] : tree.nodes) {
    if ((node.listed_in & bit) != 0 && !node.hardlink.empty() &&
        removed.count(node.hardlink) != 0) {
      return true;
    }
  }
  return false;
}

// One original layer again, without the removed paths; the final version
// of an edited file takes its content from the staging tree.
Result<WrittenLayer> rewrite_layer(const ImageSource& src, const ImageTree& tree, std::size_t layer,
                                   const std::unordered_set<std::string>& removed,
                                   const std::unordered_set<std::string>& edited,
                                   const std::string& blob_dir, Compression c) {
  const LayerBlob& blob = src.layers[layer];
  const std::string name = fmt::format("{}: layer {} ({})", src.ref.text, layer + 1, blob.name);
  ArchiveReader in(archive_read_new());
  support_image_filters(in.get());
  archive_read_support_format_tar(in.get());
  if (archive_read_open_filename(in.get(), blob.file.c_str(), kBuffer) != ARCHIVE_OK) {
    return make_error(name, archive_message(in.get()));
  }
  LayerWriter w;
  ELFPRUNE_TRY(w.open(blob_dir, c));
  std::string buf(kBuffer, '\0');
  archive_entry* e = nullptr;
  int r = 0;
  while ((r = archive_read_next_header(in.get(), &e)) == ARCHIVE_OK || r == ARCHIVE_WARN) {
    // The names were checked when the layer was applied.
    const char* raw = archive_entry_pathname(e);
    auto checked = member_path(raw != nullptr ? raw : "");
    const std::string path = checked ? *checked : std::string();
    const std::string base(path_base(path));
    const bool whiteout = base.rfind(".wh.", 0) == 0;
    auto real = whiteout ? std::optional<std::string>(path) : resolve_parents(tree, path);
    const std::string key = real ? *real : path;
    if (!whiteout && removed.count(key) != 0) continue;
    const char* hl = archive_entry_hardlink(e);
    std::string hl_key;
    if (hl != nullptr) {
      auto target = member_path(hl);
      auto t = target ? resolve_parents(tree, *target) : std::nullopt;
      hl_key = t ? *t : hl;
    }
    auto node = tree.nodes.find(key);
    const bool from_staging =
        node != tree.nodes.end() && node->second.layer == layer &&
        node->second.meta.type == TarType::Regular &&
        (edited.count(key) != 0 || (hl != nullptr && removed.count(hl_key) != 0));
    // A hardlink to a name this layer no longer holds cannot be extracted:
    // the path it names is replaced or whited out by a later layer (its
    // final version is not this one), so nothing in the image needs it.
    if (!from_staging && hl != nullptr && removed.count(hl_key) != 0) continue;
    if (from_staging) {
      // A hardlink entry as read may carry no file type: it becomes the file.
      archive_entry_set_hardlink(e, nullptr);
      archive_entry_set_filetype(e, AE_IFREG);
      const std::string host = path_join(tree.staging, key);
      Fd fd(::open(host.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
      struct stat st {};
      if (!fd.ok() || ::fstat(fd.get(), &st) != 0)
        return errno_error(key, errno, ErrorKind::Failed);
      archive_entry_set_size(e, st.st_size);
      ELFPRUNE_TRY(w.header(e, key));
      ELFPRUNE_TRY(copy_file(w, fd.get(), key, buf));
      continue;
    }
    ELFPRUNE_TRY(w.header(e, path));
    if (archive_entry_size(e) > 0 && hl == nullptr) {
      for (;;) {
        la_ssize_t n = archive_read_data(in.get(), buf.data(), buf.size());
        if (n < 0) return make_error(name, archive_message(in.get()));
        if (n == 0) break;
        ELFPRUNE_TRY(w.data(buf.data(), static_cast<std::size_t>(n), path));
      }
    }
  }
  if (r != ARCHIVE_EOF) return make_error(name, archive_message(in.get()));
  return w.finish();
}

Result<WrittenLayer> reuse_layer(const LayerBlob& blob, const std::string& blob_dir,
                                 const LayerStats& stats) {
  WrittenLayer out;
  out.digest = stats.digest;
  out.diff_id = stats.diff_id;
  out.size = stats.blob_size;
  out.reused = true;
  const std::string dest = fmt::format("{}/{}", blob_dir, digest_hex(out.digest));
  // A copy, not a hardlink: the output owns its files (their mode, and no
  // inode shared with the input). copy_file_range lets the kernel share
  // extents where the filesystem can.
  Fd in(::open(blob.file.c_str(), O_RDONLY | O_CLOEXEC));
  Fd outfd(::open(dest.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!in.ok() || !outfd.ok()) return errno_error(dest, errno, ErrorKind::Failed);
  for (;;) {
    const ssize_t n = ::copy_file_range(in.get(), nullptr, outfd.get(), nullptr, 1u << 30, 0);
    if (n > 0) continue;
    if (n == 0) break;
    if (errno == EINTR) continue;
    // Not between these files (EXDEV on old kernels, EINVAL on some
    // filesystems): the bytes by hand, from where the kernel stopped.
    std::string buf;
    ELFPRUNE_TRY(read_chunks(in.get(), buf, blob.file, [&](std::string_view chunk) {
      return write_all(outfd.get(), chunk, dest);
    }));
    break;
  }
  if (::fsync(outfd.get()) != 0) return errno_error(dest, errno, ErrorKind::Failed);
  return out;
}

std::string rfc3339(std::int64_t epoch) {
  std::time_t t = static_cast<std::time_t>(epoch);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

Result<void> write_small(const std::string& path, const std::string& bytes) {
  Fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!fd.ok()) return errno_error(path, errno, ErrorKind::Failed);
  ELFPRUNE_TRY(write_all(fd.get(), bytes, path));
  if (::fsync(fd.get()) != 0) return errno_error(path, errno, ErrorKind::Failed);
  return {};
}

Result<std::string> write_blob(const std::string& blob_dir, const std::string& bytes) {
  const std::string digest = sha256_digest(bytes);
  ELFPRUNE_TRY(write_small(fmt::format("{}/{}", blob_dir, digest_hex(digest)), bytes));
  return digest;
}

// The config: the input's, whole, with the new diff_ids and one history
// entry more (squashed: the old entries marked empty_layer, as they no
// longer have layers of their own; one entry per layer is what consumers
// such as AWS Lambda check).
Result<std::string> new_config(const ImageSource& src, const std::vector<WrittenLayer>& layers,
                               const ImageWriteOptions& o, std::size_t removed) {
  ojson doc = ojson::parse(src.config, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) return make_error("config", "not a JSON object");
  std::string created;
  if (auto c = doc.find("created"); c != doc.end() && c->is_string())
    created = c->get<std::string>();
  if (o.source_date_epoch) {
    created = rfc3339(*o.source_date_epoch);
    doc["created"] = created;
  }
  auto diff_ids = ojson::array();
  for (const auto& l : layers) diff_ids.push_back(l.diff_id);
  doc["rootfs"] = {{"type", "layers"}, {"diff_ids", diff_ids}};
  auto history =
      doc.contains("history") && doc["history"].is_array() ? doc["history"] : ojson::array();
  if (o.layers == LayerMode::Squash) {
    for (auto& h : history) {
      if (h.is_object()) h["empty_layer"] = true;
    }
  }
  ojson entry;
  if (!created.empty()) entry["created"] = created;
  entry["created_by"] = o.created_by;
  entry["comment"] = fmt::format("elfprune: {} paths removed", removed);
  if (o.layers == LayerMode::Keep) entry["empty_layer"] = true;
  history.push_back(entry);
  doc["history"] = history;
  return doc.dump();
}

std::string platform_json_os(const std::string& platform, int part) {
  auto first = platform.find('/');
  if (first == std::string::npos) return part == 0 ? platform : "";
  if (part == 0) return platform.substr(0, first);
  auto second = platform.find('/', first + 1);
  if (part == 1)
    return platform.substr(first + 1,
                           second == std::string::npos ? std::string::npos : second - first - 1);
  return second == std::string::npos ? "" : platform.substr(second + 1);
}

// A directory tree written as an uncompressed tar, entries sorted, owners
// and times fixed: the same layout gives the same archive.
Result<void> tar_directory(const std::string& dir, const std::vector<std::string>& members,
                           const std::string& file, std::int64_t mtime) {
  ArchiveWriter a(archive_write_new());
  archive_write_set_format_pax_restricted(a.get());
  archive_write_add_filter_none(a.get());
  if (archive_write_open_filename(a.get(), file.c_str()) != ARCHIVE_OK) {
    return make_error(file, archive_message(a.get()), ErrorKind::Failed);
  }
  std::string buf(kBuffer, '\0');
  for (const auto& m : members) {
    const std::string host = path_join(dir, m);
    struct stat st {};
    if (::lstat(host.c_str(), &st) != 0) return errno_error(host, errno, ErrorKind::Failed);
    ArchiveEntry e(archive_entry_new());
    const bool is_dir = S_ISDIR(st.st_mode);
    archive_entry_set_pathname(e.get(), is_dir ? (m + "/").c_str() : m.c_str());
    archive_entry_set_filetype(e.get(), is_dir ? AE_IFDIR : AE_IFREG);
    archive_entry_set_perm(e.get(), is_dir ? 0755 : 0644);
    archive_entry_set_mtime(e.get(), mtime, 0);
    archive_entry_set_size(e.get(), is_dir ? 0 : st.st_size);
    if (archive_write_header(a.get(), e.get()) != ARCHIVE_OK) {
      return make_error(file, archive_message(a.get()), ErrorKind::Failed);
    }
    if (is_dir) continue;
    Fd fd(::open(host.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.ok()) return errno_error(host, errno, ErrorKind::Failed);
    ELFPRUNE_TRY(read_chunks(fd.get(), buf, host, [&](std::string_view chunk) -> Result<void> {
      if (archive_write_data(a.get(), chunk.data(), chunk.size()) < 0) {
        return make_error(file, archive_message(a.get()), ErrorKind::Failed);
      }
      return {};
    }));
  }
  if (archive_write_close(a.get()) != ARCHIVE_OK)
    return make_error(file, archive_message(a.get()), ErrorKind::Failed);
  Fd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.ok()) ::fsync(fd.get());
  return {};
}

// Removes a temporary directory or file when the write does not finish.
class TempPath {
 public:
  explicit TempPath(std::string path) : path_(std::move(path)) {}
  ~TempPath() {
    if (!path_.empty()) remove_tree(path_);
  }
  void release() { path_.clear(); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace

Result<void> check_image_output(const ImageReference& out) {
  struct stat st {};
  if (::lstat(out.path.c_str(), &st) != 0) {
    if (errno != ENOENT) return errno_error(out.path, errno, ErrorKind::Usage);
    return {};
  }
  if (out.transport == ImageTransport::Oci && S_ISDIR(st.st_mode)) {
    if (DIR* d = ::opendir(out.path.c_str())) {
      int n = 0;
      while (dirent* de = ::readdir(d)) {
        std::string_view name = de->d_name;
        if (name != "." && name != "..") ++n;
      }
      ::closedir(d);
      if (n == 0) return {};
    }
    return make_error(out.path, "exists and is not empty: --out writes a new image layout",
                      ErrorKind::Usage);
  }
  return make_error(out.path, "exists: --out writes a new image; remove it first",
                    ErrorKind::Usage);
}

Result<WrittenImage> write_image(const ImageSource& src, const ImageTree& tree,
                                 const std::unordered_set<std::string>& removed,
                                 const std::unordered_set<std::string>& edited,
                                 const ImageWriteOptions& o) {
  ELFPRUNE_TRY(load_image_libraries());
  ELFPRUNE_TRY(check_image_output(o.out));
  const bool docker = o.out.transport == ImageTransport::DockerArchive;
  // docker-archive layers are plain tars, as `docker save` writes them.
  const Compression compression = docker ? Compression::None : o.compression;
  // Beside the output, so that the last step is a rename; what a killed
  // run left there goes first.
  const std::string out_dir(path_parent(o.out.path));
  const std::string prefix = fmt::format(".{}.elfprune-", path_base(o.out.path));
  remove_stale(out_dir, prefix);
  std::string tmpl = temp_template(out_dir, prefix);
  if (::mkdtemp(tmpl.data()) == nullptr) return errno_error(tmpl, errno, ErrorKind::Failed);
  TempPath layout(tmpl);
  const std::string blob_dir = layout.path() + "/blobs/sha256";
  if (::mkdir((layout.path() + "/blobs").c_str(), 0755) != 0 ||
      ::mkdir(blob_dir.c_str(), 0755) != 0) {
    return errno_error(blob_dir, errno, ErrorKind::Failed);
  }
  WrittenImage image;
  if (o.layers == LayerMode::Squash) {
    ELFPRUNE_TRY_ASSIGN(WrittenLayer l, write_squashed(tree, removed, blob_dir, compression));
    image.layers.push_back(std::move(l));
  } else {
    for (std::size_t i = 0; i < src.layers.size(); ++i) {
      const bool reusable = !layer_changed(tree, i, removed, edited) &&
                            (!docker || sniff_compression(src.layers[i].file) == Compression::None);
      if (reusable) {
        ELFPRUNE_TRY_ASSIGN(WrittenLayer l, reuse_layer(src.layers[i], blob_dir, tree.layers[i]));
        image.layers.push_back(std::move(l));
      } else {
        ELFPRUNE_TRY_ASSIGN(WrittenLayer l,
                            rewrite_layer(src, tree, i, removed, edited, blob_dir, compression));
        image.layers.push_back(std::move(l));
      }
    }
  }
  ELFPRUNE_TRY_ASSIGN(std::string config, new_config(src, image.layers, o, removed.size()));
  ELFPRUNE_TRY_ASSIGN(image.config_digest, write_blob(blob_dir, config));
  const std::int64_t mtime = o.source_date_epoch.value_or(0);
  std::vector<std::string> members;
  std::string tag = !o.out.tag.empty() ? o.out.tag : src.tag;
  if (docker) {
    std::string repo_tag = tag;
    if (!repo_tag.empty() && repo_tag.find(':') == std::string::npos) repo_tag.clear();
    ojson manifest = ojson::array();
    ojson entry;
    entry["Config"] = fmt::format("blobs/sha256/{}", digest_hex(image.config_digest));
    entry["RepoTags"] = repo_tag.empty() ? ojson::array() : ojson::array({repo_tag});
    auto layers = ojson::array();
    for (const auto& l : image.layers)
      layers.push_back(fmt::format("blobs/sha256/{}", digest_hex(l.digest)));
    entry["Layers"] = layers;
    manifest.push_back(entry);
    ELFPRUNE_TRY(write_small(layout.path() + "/manifest.json", manifest.dump()));
    members.push_back("manifest.json");
  } else {
    ojson manifest;
    manifest["schemaVersion"] = 2;
    manifest["mediaType"] = kOciManifest;
    manifest["config"] = {
        {"mediaType", kOciConfig}, {"digest", image.config_digest}, {"size", config.size()}};
    auto layers = ojson::array();
    for (std::size_t i = 0; i < image.layers.size(); ++i) {
      const auto& l = image.layers[i];
      const Compression c = l.reused ? sniff_compression(src.layers[i].file) : compression;
      layers.push_back(
          {{"mediaType", layer_media_type(c)}, {"digest", l.digest}, {"size", l.size}});
    }
    manifest["layers"] = layers;
    ojson original = ojson::parse(src.manifest, nullptr, false);
    if (original.is_object() && original.contains("annotations"))
      manifest["annotations"] = original["annotations"];
    const std::string mbytes = manifest.dump();
    ELFPRUNE_TRY_ASSIGN(image.manifest_digest, write_blob(blob_dir, mbytes));
    ojson desc = {
        {"mediaType", kOciManifest}, {"digest", image.manifest_digest}, {"size", mbytes.size()}};
    if (!src.platform.empty()) {
      desc["platform"] = {{"architecture", platform_json_os(src.platform, 1)},
                          {"os", platform_json_os(src.platform, 0)}};
      if (auto v = platform_json_os(src.platform, 2); !v.empty()) desc["platform"]["variant"] = v;
    }
    desc["annotations"] = {{"org.opencontainers.image.ref.name", tag.empty() ? "latest" : tag}};
    ojson index = {
        {"schemaVersion", 2}, {"mediaType", kOciIndex}, {"manifests", ojson::array({desc})}};
    ELFPRUNE_TRY(write_small(layout.path() + "/index.json", index.dump()));
    ELFPRUNE_TRY(write_small(layout.path() + "/oci-layout", R"({"imageLayoutVersion":"1.0.0"})"));
    members = {"oci-layout", "index.json"};
  }
  members.push_back("blobs");
  members.push_back("blobs/sha256");
  std::vector<std::string> blobs;
  if (DIR* d = ::opendir(blob_dir.c_str())) {
    while (dirent* de = ::readdir(d)) {
      std::string_view n = de->d_name;
      if (n.size() == 64) blobs.emplace_back(n);
    }
    ::closedir(d);
  }
  std::sort(blobs.begin(), blobs.end());
  for (const auto& b : blobs) {
    members.push_back("blobs/sha256/" + b);
    struct stat st {};
    if (::stat(path_join(blob_dir, b).c_str(), &st) == 0)
      image.bytes += static_cast<std::uint64_t>(st.st_size);
  }
  if (o.out.transport == ImageTransport::Oci) {
    // mkdtemp made it 0700: the layout is for others to read too (rootless
    // podman, a registry push), as its blobs are.
    const mode_t mask = ::umask(0);
    ::umask(mask);
    ::chmod(layout.path().c_str(), 0755 & ~mask);
    ::rmdir(o.out.path.c_str());  // an empty directory given as --out
    if (::rename(layout.path().c_str(), o.out.path.c_str()) != 0) {
      return errno_error(o.out.path, errno, ErrorKind::Failed);
    }
    layout.release();
    return image;
  }
  TempPath archive_file(layout.path() + ".tar");
  ELFPRUNE_TRY(tar_directory(layout.path(), members, archive_file.path(), mtime));
  // Never over a file that appeared at --out since it was checked.
  if (::renameat2(AT_FDCWD, archive_file.path().c_str(), AT_FDCWD, o.out.path.c_str(),
                  RENAME_NOREPLACE) != 0) {
    return errno_error(o.out.path, errno, ErrorKind::Failed);
  }
  archive_file.release();
  return image;
}

}  // namespace elfprune
