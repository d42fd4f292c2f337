#include "image/layer_tree.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <functional>
#include <memory>

#include "image/archive_io.hpp"
#include "image/digest.hpp"
#include "util/dir_chain.hpp"
#include "util/fd.hpp"
#include "util/path.hpp"
#include "util/remove_tree.hpp"
#include "write/in_place.hpp"

namespace elfprune {
namespace {

constexpr std::string_view kWhiteout = ".wh.";
constexpr std::string_view kOpaque = ".wh..wh..opq";
constexpr std::size_t kBuffer = 128u << 10;

// The end of the range of `dir`'s descendants in a sorted map: "dir/" up
// to "dir0" ('0' follows '/').
std::string subtree_end(const std::string& dir) {
  return dir + "0";
}

TarMeta meta_of(archive_entry* e) {
  TarMeta m;
  switch (archive_entry_filetype(e)) {
    case AE_IFDIR:
      m.type = TarType::Directory;
      break;
    case AE_IFLNK:
      m.type = TarType::Symlink;
      break;
    case AE_IFCHR:
      m.type = TarType::CharDevice;
      break;
    case AE_IFBLK:
      m.type = TarType::BlockDevice;
      break;
    case AE_IFIFO:
      m.type = TarType::Fifo;
      break;
    default:
      m.type = TarType::Regular;
      break;
  }
  m.mode = archive_entry_perm(e);
  m.uid = archive_entry_uid(e);
  m.gid = archive_entry_gid(e);
  if (const char* u = archive_entry_uname(e)) m.uname = u;
  if (const char* g = archive_entry_gname(e)) m.gname = g;
  m.mtime = archive_entry_mtime(e);
  m.mtime_nsec = archive_entry_mtime_nsec(e);
  if (m.type == TarType::Regular) m.size = static_cast<std::uint64_t>(archive_entry_size(e));
  if (m.type == TarType::Symlink && archive_entry_symlink(e) != nullptr)
    m.link = archive_entry_symlink(e);
  if (m.type == TarType::CharDevice || m.type == TarType::BlockDevice) {
    m.devmajor = static_cast<std::uint32_t>(archive_entry_rdevmajor(e));
    m.devminor = static_cast<std::uint32_t>(archive_entry_rdevminor(e));
  }
  archive_entry_xattr_reset(e);
  const char* name = nullptr;
  const void* value = nullptr;
  std::size_t size = 0;
  while (archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK) {
    // libarchive reads a pax header's LIBARCHIVE.xattr and SCHILY.xattr
    // records both (its writer writes both): one value per name, the last.
    std::string value_bytes(static_cast<const char*>(value), size);
    auto same = std::find_if(m.xattrs.begin(), m.xattrs.end(),
                             [&](const auto& x) { return x.first == name; });
    if (same != m.xattrs.end()) {
      same->second = std::move(value_bytes);
    } else {
      m.xattrs.emplace_back(name, std::move(value_bytes));
    }
  }
  return m;
}

class LayerApplier {
 public:
  LayerApplier(ImageTree& tree, std::uint32_t layer, std::string name)
      : tree_(tree), layer_(layer), name_(std::move(name)) {}

  Result<void> open_base() {
    base_ = Fd(::open(tree_.staging.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!base_.ok()) return errno_error(tree_.staging, errno, ErrorKind::Failed);
    chain_ = std::make_unique<DirChain>(base_.get());
    return {};
  }

  Result<void> apply(archive* a, LayerStats& stats) {
    archive_entry* e = nullptr;
    int r = 0;
    while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK || r == ARCHIVE_WARN) {
      const char* raw_c = archive_entry_pathname(e);
      const std::string raw = raw_c != nullptr ? raw_c : "";
      auto path = member_path(raw);
      if (!path) return make_error(where(raw), path.error().message);
      ++stats.entries;
      if (path->empty()) continue;  // the top directory itself
      const std::string base(path_base(*path));
      if (base.rfind(kWhiteout, 0) == 0) {
        ++stats.whiteouts;
        whiteout(*path, base);
        continue;
      }
      TarMeta meta = meta_of(e);
      if (meta.type == TarType::Regular && archive_entry_hardlink(e) == nullptr) {
        stats.file_bytes += meta.size;
      }
      ELFPRUNE_TRY(add(a, e, raw, *path, std::move(meta)));
    }
    if (r != ARCHIVE_EOF)
      return make_error(name_, fmt::format("corrupt layer: {}", archive_message(a)));
    return {};
  }

 private:
  std::string where(const std::string& raw) const { return fmt::format("{}: '{}'", name_, raw); }

  void warn(std::string text) { tree_.warnings.push_back(fmt::format("{}: {}", name_, text)); }

  // The parent directory of `path` opened (made, with the nodes of the
  // directories no layer listed); -1 when it cannot be.
  int open_parent(const std::string& path) {
    const auto comps = path_components(path);
    std::vector<std::size_t> created;
    auto step = chain_->open(comps, comps.size() - 1, &created);
    std::string prefix;
    for (std::size_t i = 0; i + 1 < comps.size(); ++i) {
      prefix += prefix.empty() ? comps[i] : "/" + comps[i];
      if (tree_.nodes.count(prefix) == 0) {
        TreeNode dir;
        dir.meta.type = TarType::Directory;
        dir.meta.mode = 0755;
        dir.layer = layer_;
        dir.implied = true;
        tree_.nodes.emplace(prefix, std::move(dir));
      }
    }
    if (step.err != 0) {
      warn(fmt::format("'{}' skipped: {}", path, chain_message(*chain_, comps, step)));
      return -1;
    }
    return step.fd;
  }

  // What lies below `dir`: the keys from "dir/" up to "dir0" ('0' follows
  // '/'). Not from "dir" itself: "dir-x" and "dir.y" sort between the two.
  std::pair<std::map<std::string, TreeNode>::iterator, std::map<std::string, TreeNode>::iterator>
  descendants(const std::string& dir) {
    return {tree_.nodes.lower_bound(dir + "/"), tree_.nodes.lower_bound(subtree_end(dir))};
  }

  void remove_subtree(const std::string& path) {
    auto node = tree_.nodes.find(path);
    if (node == tree_.nodes.end()) return;
    if (node->second.meta.type == TarType::Directory) {
      auto [first, last] = descendants(path);
      tree_.nodes.erase(first, last);
    }
    tree_.nodes.erase(path);
    const int parent = open_parent(path);
    if (parent >= 0) remove_tree_at(parent, std::string(path_base(path)).c_str());
    // The chain must not hand out a directory that is gone: a new one of
    // the same name is another directory.
    chain_->truncate(0);
  }

  void whiteout(const std::string& path, const std::string& base) {
    // ".wh.x" at the top: its directory is the top itself.
    const std::string dir =
        path.find('/') == std::string::npos ? "" : std::string(path_parent(path));
    auto real_dir = dir.empty() ? std::optional<std::string>("") : resolve_parents(tree_, dir);
    if (real_dir && !real_dir->empty()) {
      auto d = tree_.nodes.find(*real_dir);
      if (d != tree_.nodes.end() && d->second.meta.type == TarType::Symlink) real_dir.reset();
    }
    if (!real_dir) {
      warn(fmt::format("whiteout '{}' of a directory the image does not have", path));
      return;
    }
    if (base == kOpaque) {
      opaque(*real_dir);
      return;
    }
    const std::string name = base.substr(kWhiteout.size());
    const std::string target = real_dir->empty() ? name : path_join(*real_dir, name);
    auto it = tree_.nodes.find(target);
    if (it == tree_.nodes.end()) {
      warn(fmt::format("whiteout '{}' of '{}', which no lower layer has", path, target));
      return;
    }
    if (it->second.layer >= layer_ && !it->second.implied) {
      warn(fmt::format("whiteout '{}' of '{}', which this layer adds: ignored", path, target));
      return;
    }
    remove_subtree(target);
  }

  // Everything lower layers put below `dir` goes, whatever came first in
  // this layer's tar; directories still holding this layer's entries stay.
  void opaque(const std::string& dir) {
    const std::string from = dir.empty() ? "" : dir + "/";
    auto first = tree_.nodes.lower_bound(from);
    auto last = dir.empty() ? tree_.nodes.end() : tree_.nodes.lower_bound(subtree_end(dir));
    std::vector<std::string> lower;
    for (auto it = first; it != last; ++it) {
      if (it->first == dir) continue;
      if (it->second.layer < layer_) lower.push_back(it->first);
    }
    for (auto p = lower.rbegin(); p != lower.rend(); ++p) {
      auto it = tree_.nodes.find(*p);
      if (it == tree_.nodes.end()) continue;
      if (it->second.meta.type == TarType::Directory) {
        auto [below, end] = descendants(*p);
        if (below != end) {
          it->second.layer = layer_;  // holds this layer's entries: stays
          it->second.implied = true;
          continue;
        }
      }
      remove_subtree(*p);
    }
  }

  Result<void> add(archive* a, archive_entry* e, const std::string& raw, const std::string& listed,
                   TarMeta meta) {
    auto real = resolve_parents(tree_, listed);
    if (!real) {
      warn(fmt::format("'{}' skipped: a parent is not a directory, or its links loop", raw));
      return {};
    }
    const std::string& path = *real;
    if (path.empty()) return {};
    // The names an interrupted --in-place run leaves at a root's top are
    // elfprune's own: in an image they would pass for one.
    if (path == kJournalName || path == kJournalTempName) {
      warn(fmt::format("'{}' skipped: elfprune's own journal name", raw));
      return {};
    }
    auto existing = tree_.nodes.find(path);
    const bool is_dir = meta.type == TarType::Directory;
    std::uint64_t listed_in = layer_bit(layer_);
    if (existing != tree_.nodes.end()) {
      listed_in |= existing->second.listed_in;
      if (is_dir && existing->second.meta.type == TarType::Directory) {
        existing->second.meta = std::move(meta);
        existing->second.layer = layer_;
        existing->second.implied = false;
        existing->second.listed_in = listed_in;
        return {};
      }
      remove_subtree(path);
    }
    const int parent = open_parent(path);
    if (parent < 0) return {};
    const std::string name(path_base(path));
    TreeNode node;
    node.layer = layer_;
    if (const char* hl = archive_entry_hardlink(e)) {
      auto target = member_path(hl);
      if (!target)
        return make_error(where(raw),
                          fmt::format("hardlink target '{}': {}", hl, target.error().message));
      auto real_target = resolve_parents(tree_, *target);
      auto t = real_target ? tree_.nodes.find(*real_target) : tree_.nodes.end();
      if (t == tree_.nodes.end() || t->second.meta.type == TarType::Directory) {
        warn(fmt::format("'{}' skipped: hardlink to '{}', which the image does not have", raw, hl));
        return {};
      }
      const std::string tpath = t->first;
      TreeNode linked = t->second;
      DirChain other(base_.get());
      const auto comps = path_components(tpath);
      auto step = other.open(comps, comps.size() - 1);
      // The chain's fd stays valid: open_parent above already made ours.
      if (step.err != 0 || ::linkat(step.fd, comps.back().c_str(), parent, name.c_str(), 0) != 0) {
        warn(fmt::format("'{}' skipped: cannot link to '{}': {}", raw, hl, errno_text(errno)));
        return {};
      }
      linked.layer = layer_;
      linked.implied = false;
      linked.hardlink = tpath;
      linked.listed_in = listed_in;
      tree_.nodes.insert_or_assign(path, std::move(linked));
      return {};
    }
    switch (meta.type) {
      case TarType::Directory:
        if (::mkdirat(parent, name.c_str(), 0700) != 0 && errno != EEXIST) {
          return errno_error(where(raw), errno, ErrorKind::Failed);
        }
        break;
      case TarType::Symlink:
        if (::symlinkat(meta.link.c_str(), parent, name.c_str()) != 0) {
          return errno_error(where(raw), errno, ErrorKind::Failed);
        }
        break;
      default: {
        // Device nodes and FIFOs are empty files in the staging tree: no
        // privilege needed, nothing that blocks a reader.
        Fd out(::openat(parent, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                        (meta.mode & 0777) | 0600));
        if (!out.ok()) return errno_error(where(raw), errno, ErrorKind::Failed);
        if (meta.type == TarType::Regular) {
          ELFPRUNE_TRY(copy_data(a, out.get(), raw));
          ::fchmod(out.get(), (meta.mode & 0777) | 0600);
        }
        break;
      }
    }
    node.meta = std::move(meta);
    node.listed_in = listed_in;
    tree_.nodes.insert_or_assign(path, std::move(node));
    return {};
  }

  Result<void> copy_data(archive* a, int fd, const std::string& raw) {
    buf_.resize(kBuffer);
    for (;;) {
      la_ssize_t n = archive_read_data(a, buf_.data(), buf_.size());
      if (n < 0)
        return make_error(where(raw), fmt::format("corrupt layer: {}", archive_message(a)));
      if (n == 0) return {};
      ELFPRUNE_TRY(
          write_all(fd, std::string_view(buf_.data(), static_cast<std::size_t>(n)), where(raw)));
    }
  }

  ImageTree& tree_;
  std::uint32_t layer_;
  std::string name_;
  Fd base_;
  std::unique_ptr<DirChain> chain_;
  std::string buf_;
};

// The blob as read from disk, hashed and counted on the way (its digest).
struct BlobStream {
  int fd = -1;
  Sha256 hash;
  std::uint64_t bytes = 0;
  std::string buf = std::string(kBuffer, '\0');

  static la_ssize_t read(archive* /*a*/, void* self, const void** out) {
    auto* s = static_cast<BlobStream*>(self);
    const long n = read_some(s->fd, s->buf.data(), s->buf.size());
    if (n < 0) return -1;
    s->hash.update(s->buf.data(), static_cast<std::size_t>(n));
    s->bytes += static_cast<std::uint64_t>(n);
    *out = s->buf.data();
    return n;
  }
  void drain() {
    const void* ignored = nullptr;
    while (read(nullptr, this, &ignored) > 0) {
    }
  }
};

// The tar as decompressed by libarchive's filters (gzip, zstd, none, told
// apart by magic bytes), hashed on the way (its diff_id).
struct TarStream {
  archive* filtered = nullptr;
  Sha256 hash;
  std::uint64_t bytes = 0;
  std::string buf = std::string(kBuffer, '\0');
  std::string error;

  static la_ssize_t read(archive* /*a*/, void* self, const void** out) {
    auto* s = static_cast<TarStream*>(self);
    la_ssize_t n = archive_read_data(s->filtered, s->buf.data(), s->buf.size());
    if (n < 0) {
      s->error = archive_message(s->filtered);
      return -1;
    }
    s->hash.update(s->buf.data(), static_cast<std::size_t>(n));
    s->bytes += static_cast<std::uint64_t>(n);
    *out = s->buf.data();
    return n;
  }
  void drain() {
    const void* ignored = nullptr;
    while (read(nullptr, this, &ignored) > 0) {
    }
  }
};

Result<void> apply_blob(ImageTree& tree, const std::string& file, std::uint32_t layer,
                        const std::string& name, LayerStats& stats) {
  BlobStream blob;
  // Only a regular file: a FIFO in its place would block for ever.
  auto opened = open_regular_file(file.c_str(), name, O_NOFOLLOW);
  if (!opened) {
    if (opened.error().errnum == ENOENT) return make_error(name, "blob missing from the image");
    return make_error(name, opened.error().message);
  }
  blob.fd = opened->fd();  // O_NONBLOCK: a regular file reads the same
  ArchiveReader filtered(archive_read_new());
  support_image_filters(filtered.get());
  archive_read_support_format_raw(filtered.get());
  if (archive_read_open(filtered.get(), &blob, nullptr, &BlobStream::read, nullptr) != ARCHIVE_OK) {
    return make_error(name,
                      fmt::format("cannot read the layer: {}", archive_message(filtered.get())));
  }
  archive_entry* raw_entry = nullptr;
  if (archive_read_next_header(filtered.get(), &raw_entry) != ARCHIVE_OK) {
    return make_error(
        name, fmt::format("empty or unreadable layer: {}", archive_message(filtered.get())));
  }
  TarStream tar;
  tar.filtered = filtered.get();
  ArchiveReader tarball(archive_read_new());
  archive_read_support_format_tar(tarball.get());
  if (archive_read_open(tarball.get(), &tar, nullptr, &TarStream::read, nullptr) != ARCHIVE_OK) {
    return make_error(name,
                      fmt::format("not a tar layer: {}",
                                  tar.error.empty() ? archive_message(tarball.get()) : tar.error));
  }
  LayerApplier applier(tree, layer, name);
  ELFPRUNE_TRY(applier.open_base());
  auto applied = applier.apply(tarball.get(), stats);
  if (!applied) {
    if (!tar.error.empty()) return make_error(name, fmt::format("corrupt layer: {}", tar.error));
    return applied;
  }
  // What follows the tar's end blocks still belongs to the blob and the
  // diff_id: read it all before the digests are taken.
  tar.drain();
  if (!tar.error.empty()) return make_error(name, fmt::format("corrupt layer: {}", tar.error));
  blob.drain();
  stats.digest = blob.hash.digest();
  stats.diff_id = tar.hash.digest();
  stats.blob_size = blob.bytes;
  return {};
}

}  // namespace

std::optional<std::string> resolve_parents(const ImageTree& tree, const std::string& path) {
  std::vector<std::string> todo = path_components(path);
  std::reverse(todo.begin(), todo.end());  // a stack: next component last
  std::vector<std::string> done;
  int links = 0;
  while (!todo.empty()) {
    std::string c = std::move(todo.back());
    todo.pop_back();
    if (c == "." || c.empty()) continue;
    if (c == "..") {
      if (!done.empty()) done.pop_back();
      continue;
    }
    done.push_back(std::move(c));
    if (todo.empty()) break;  // the last component is not followed
    const std::string here = path_of_components(done, done.size()).substr(1);
    auto it = tree.nodes.find(here);
    if (it == tree.nodes.end()) continue;  // to be made, as a directory
    const TarMeta& m = it->second.meta;
    if (m.type == TarType::Directory) continue;
    if (m.type != TarType::Symlink) return std::nullopt;
    if (++links > 40) return std::nullopt;
    done.pop_back();
    if (!m.link.empty() && m.link.front() == '/') done.clear();
    auto target = path_components(m.link);
    for (auto t = target.rbegin(); t != target.rend(); ++t) todo.push_back(*t);
  }
  return done.empty() ? std::string() : path_of_components(done, done.size()).substr(1);
}

Result<void> apply_layer_file(ImageTree& tree, const std::string& blob, std::uint32_t layer,
                              const std::string& name) {
  if (tree.layers.size() <= layer) tree.layers.resize(layer + 1);
  return apply_blob(tree, blob, layer, name, tree.layers[layer]);
}

Result<ImageTree> apply_layers(const ImageSource& src, const std::string& staging,
                               const std::function<void(std::size_t, std::size_t)>& progress) {
  ImageTree tree;
  tree.staging = staging;
  tree.layers.resize(src.layers.size());
  for (std::size_t i = 0; i < src.layers.size(); ++i) {
    if (progress) progress(i, src.layers.size());
    const LayerBlob& blob = src.layers[i];
    const std::string name = fmt::format("{}: layer {} ({})", src.ref.text, i + 1, blob.name);
    const auto layer = static_cast<std::uint32_t>(i);
    ELFPRUNE_TRY(apply_blob(tree, blob.file, layer, name, tree.layers[i]));
    const LayerStats& s = tree.layers[i];
    if (!blob.digest.empty() && s.digest != blob.digest) {
      return make_error(name,
                        fmt::format("content does not match its digest (it is {})", s.digest));
    }
    if (blob.size != 0 && s.blob_size != blob.size) {
      return make_error(name,
                        fmt::format("{} bytes where the manifest says {}", s.blob_size, blob.size));
    }
    if (s.diff_id != blob.diff_id) {
      return make_error(name,
                        fmt::format("the layer's tar does not match its diff_id {} (it is {})",
                                    blob.diff_id, s.diff_id));
    }
  }
  if (progress) progress(src.layers.size(), src.layers.size());
  return tree;
}

}  // namespace elfprune
