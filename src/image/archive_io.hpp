// libarchive's handles owned (one owner per handle, as util/fd.hpp does for
// descriptors), and the message of its last error.
#pragma once

#include <archive.h>
#include <archive_entry.h>

#include <memory>
#include <string>
#include <string_view>

#include "util/path.hpp"
#include "util/result.hpp"

namespace elfprune {

struct ArchiveReadFree {
  void operator()(archive* a) const { archive_read_free(a); }
};
struct ArchiveWriteFree {
  void operator()(archive* a) const { archive_write_free(a); }
};
struct ArchiveEntryFree {
  void operator()(archive_entry* e) const { archive_entry_free(e); }
};
using ArchiveReader = std::unique_ptr<archive, ArchiveReadFree>;
using ArchiveWriter = std::unique_ptr<archive, ArchiveWriteFree>;
using ArchiveEntry = std::unique_ptr<archive_entry, ArchiveEntryFree>;

// The compressions an image's tars come in (the image spec's gzip and
// zstd, and none), and no other: libarchive's other filters may run an
// external program (lrzip, grzip) on the image's bytes.
inline void support_image_filters(archive* a) {
  archive_read_support_filter_gzip(a);
  archive_read_support_filter_zstd(a);
}

// A tar member's name as a relative path: "./" prefixes and "." dropped;
// an absolute name or a ".." is an escape, refused (a runtime would have
// to guess what it means). For layers and for the archives around them.
inline Result<std::string> member_path(std::string_view raw) {
  if (!raw.empty() && raw.front() == '/') return make_error("", "absolute path");
  std::string out;
  for (const auto& c : path_components(raw)) {
    if (c == "..") return make_error("", "path escapes the image ('..')");
    if (c == ".") continue;
    out += out.empty() ? c : "/" + c;
  }
  return out;
}

inline std::string archive_message(archive* a) {
  const char* s = archive_error_string(a);
  return s != nullptr && *s != '\0' ? std::string(s) : std::string("unknown archive error");
}

}  // namespace elfprune
