// A layer blob comes from whoever made the image: any bytes, through
// libarchive's filters (gzip, zstd, none) and tar reader, applied into a
// staging directory. The input is applied twice, as layer 1 and again as
// layer 2 above it, so that its whiteouts, opaque directories, hardlinks
// and symlinked parents meet a lower layer. Invariants: nothing is made
// outside the staging directory (a sentinel directory beside it stays
// empty, and nothing else appears beside it), every node is a clean
// relative path, and every node is on disk as the type the tree says it is
// (device nodes and FIFOs as regular files); when both layers applied,
// everything on disk is a node too (what is not, no image written from the
// tree would hold).
#include <dirent.h>
#include <sys/stat.h>

#include <filesystem>
#include <string>

#include "fuzz_targets.hpp"
#include "image/layer_tree.hpp"
#include "test_support.hpp"
#include "util/path.hpp"
#include "util/remove_tree.hpp"

namespace fs = std::filesystem;

namespace elfprune::fuzz {
namespace {

// top/ holds blob, staging/ and sentinel/, nothing else, reused run after run.
class Scratch {
 public:
  Scratch()
      : top_(dir_.path().string()),
        blob_(top_ + "/blob"),
        staging_(top_ + "/staging"),
        sentinel_(top_ + "/sentinel") {
    ::mkdir(sentinel_.c_str(), 0700);
  }

  void prepare(std::string_view bytes) const {
    remove_tree(staging_);
    ::mkdir(staging_.c_str(), 0700);
    test::write_file(blob_, bytes);
  }

  // The names in `dir` ("." and ".." aside).
  static std::size_t count(const std::string& dir) {
    DIR* d = ::opendir(dir.c_str());
    if (d == nullptr) return static_cast<std::size_t>(-1);
    std::size_t n = 0;
    while (dirent* de = ::readdir(d)) {
      std::string_view name = de->d_name;
      if (name != "." && name != "..") ++n;
    }
    ::closedir(d);
    return n;
  }

  const std::string& top() const { return top_; }
  const std::string& blob() const { return blob_; }
  const std::string& staging() const { return staging_; }
  const std::string& sentinel() const { return sentinel_; }

 private:
  test::TempDir dir_;
  std::string top_, blob_, staging_, sentinel_;
};

bool clean_relative(const std::string& path) {
  if (path.empty() || path.front() == '/' || path.back() == '/') return false;
  for (const auto& c : path_components(path)) {
    if (c == "." || c == "..") return false;
  }
  return path.find("//") == std::string::npos;
}

// Every path below `dir` (relative to the staging directory, `prefix`
// before it) is a node of the tree.
bool all_on_disk_are_nodes(const ImageTree& tree, const std::string& dir,
                           const std::string& prefix) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return false;
  bool ok = true;
  while (dirent* de = ::readdir(d)) {
    const std::string name = de->d_name;
    if (name == "." || name == "..") continue;
    const std::string path = prefix.empty() ? name : prefix + "/" + name;
    if (tree.nodes.count(path) == 0) {
      ok = false;
      break;
    }
    struct stat st {};
    const std::string host = dir + "/" + name;
    if (::lstat(host.c_str(), &st) == 0 && S_ISDIR(st.st_mode) &&
        !all_on_disk_are_nodes(tree, host, path)) {
      ok = false;
      break;
    }
  }
  ::closedir(d);
  return ok;
}

bool on_disk_as(const std::string& staging, const std::string& path, TarType type) {
  struct stat st {};
  if (::lstat((staging + "/" + path).c_str(), &st) != 0) return false;
  switch (type) {
    case TarType::Directory:
      return S_ISDIR(st.st_mode);
    case TarType::Symlink:
      return S_ISLNK(st.st_mode);
    default:
      return S_ISREG(st.st_mode);
  }
}

}  // namespace

void layer(std::string_view bytes) {
  static Scratch scratch;
  scratch.prepare(bytes);
  ImageTree tree;
  tree.staging = scratch.staging();
  const bool applied = apply_layer_file(tree, scratch.blob(), 0, "layer 1").ok() &&
                       apply_layer_file(tree, scratch.blob(), 1, "layer 2").ok();
  FUZZ_CHECK(Scratch::count(scratch.sentinel()) == 0);
  FUZZ_CHECK(Scratch::count(scratch.top()) == 3);
  for (const auto& [path, node] : tree.nodes) {
    FUZZ_CHECK(clean_relative(path));
    FUZZ_CHECK(on_disk_as(scratch.staging(), path, node.meta.type));
  }
  if (applied) FUZZ_CHECK(all_on_disk_are_nodes(tree, scratch.staging(), ""));
}

}  // namespace elfprune::fuzz
