// Directory fds opened one component at a time with O_NOFOLLOW, so that a
// path from the tree can never be redirected by a symlink: how everything
// that writes or removes inside a tree (src/write/) reaches its directory.
#pragma once

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "util/fd.hpp"
#include "util/path.hpp"
#include "util/result.hpp"

namespace elfprune {

// Chain directories are only ever used as dirfd arguments, so O_PATH: it
// needs search permission alone, which matters for non-root runs.
inline constexpr int kDirFlags = O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;

// The directories along one path, opened one component at a time with
// O_NOFOLLOW. The fds of the current path stay open: entries come sorted (a
// directory right before its subtree), so consecutive entries share most of
// the chain and a 100k-entry tree is not reopened from the top for each file.
// Holds one fd per level, so a tree deeper than the fd limit fails per path.
class DirChain {
 public:
  struct Step {
    int fd = -1;  // the directory, when err == 0
    int err = 0;  // errno for comps[depth]
    std::size_t depth = 0;
  };

  explicit DirChain(int base) : base_(base) {}
  ~DirChain() { truncate(0); }
  DirChain(const DirChain&) = delete;
  DirChain& operator=(const DirChain&) = delete;

  // The directory comps[0..n) below the base. With `created`, a missing
  // directory is made (mode 0700: nobody else gets in while we write; the
  // final pass sets the real mode) and its depth appended.
  Step open(const std::vector<std::string>& comps, std::size_t n,
            std::vector<std::size_t>* created = nullptr) {
    std::size_t k = 0;
    while (k < names_.size() && k < n && names_[k] == comps[k]) ++k;
    truncate(k);
    for (; k < n; ++k) {
      const int parent = last();
      int fd = ::openat(parent, comps[k].c_str(), kDirFlags);
      if (fd < 0 && errno == ENOENT && created != nullptr) {
        if (::mkdirat(parent, comps[k].c_str(), 0700) == 0) {
          created->push_back(k);
        } else if (errno != EEXIST) {
          return {-1, errno, k};
        }
        fd = ::openat(parent, comps[k].c_str(), kDirFlags);
      }
      if (fd < 0) return {-1, errno, k};
      names_.push_back(comps[k]);
      fds_.push_back(fd);
    }
    return {last(), 0, n};
  }

  // The deepest directory opened: the parent of a failed step.
  int last() const { return fds_.empty() ? base_ : fds_.back(); }

  void truncate(std::size_t n) {
    while (fds_.size() > n) {
      ::close(fds_.back());
      fds_.pop_back();
      names_.pop_back();
    }
  }

 private:
  int base_;
  std::vector<std::string> names_;
  std::vector<int> fds_;
};

// Why comps[step.depth] could not be entered, naming that component.
inline std::string chain_message(const DirChain& chain, const std::vector<std::string>& comps,
                                 const DirChain::Step& step) {
  const std::string path = path_of_components(comps, step.depth + 1);
  if (step.err == ENOTDIR || step.err == ELOOP) {
    struct stat st {};
    if (::fstatat(chain.last(), comps[step.depth].c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 &&
        S_ISLNK(st.st_mode)) {
      return fmt::format(
          "{} is a symbolic link where a directory was expected: refusing to follow it", path);
    }
    return fmt::format("{} is not a directory", path);
  }
  return fmt::format("cannot open directory {}: {}", path, errno_text(step.err));
}

}  // namespace elfprune
