// libarchive's handles owned (one owner per handle, as util/fd.hpp does for
// descriptors), and the message of its last error.
#pragma once

#include <archive.h>
#include <archive_entry.h>

#include <memory>
#include <string>
#include <string_view>

#include "image/lazy_library.hpp"
#include "util/path.hpp"
#include "util/result.hpp"

// libarchive's functions, through the library loaded when an image is first
// opened (image/lazy_library.hpp): every file that calls one includes this.
#define ELFPRUNE_ARCHIVE(fn) ELFPRUNE_LAZY_CALL(::elfprune::libarchive_library(), fn)
#define archive_entry_filetype(...) ELFPRUNE_ARCHIVE(archive_entry_filetype)(__VA_ARGS__)
#define archive_entry_free(...) ELFPRUNE_ARCHIVE(archive_entry_free)(__VA_ARGS__)
#define archive_entry_gid(...) ELFPRUNE_ARCHIVE(archive_entry_gid)(__VA_ARGS__)
#define archive_entry_gname(...) ELFPRUNE_ARCHIVE(archive_entry_gname)(__VA_ARGS__)
#define archive_entry_hardlink(...) ELFPRUNE_ARCHIVE(archive_entry_hardlink)(__VA_ARGS__)
#define archive_entry_mtime(...) ELFPRUNE_ARCHIVE(archive_entry_mtime)(__VA_ARGS__)
#define archive_entry_mtime_nsec(...) ELFPRUNE_ARCHIVE(archive_entry_mtime_nsec)(__VA_ARGS__)
#define archive_entry_new(...) ELFPRUNE_ARCHIVE(archive_entry_new)(__VA_ARGS__)
#define archive_entry_pathname(...) ELFPRUNE_ARCHIVE(archive_entry_pathname)(__VA_ARGS__)
#define archive_entry_perm(...) ELFPRUNE_ARCHIVE(archive_entry_perm)(__VA_ARGS__)
#define archive_entry_rdevmajor(...) ELFPRUNE_ARCHIVE(archive_entry_rdevmajor)(__VA_ARGS__)
#define archive_entry_rdevminor(...) ELFPRUNE_ARCHIVE(archive_entry_rdevminor)(__VA_ARGS__)
#define archive_entry_set_filetype(...) ELFPRUNE_ARCHIVE(archive_entry_set_filetype)(__VA_ARGS__)
#define archive_entry_set_gid(...) ELFPRUNE_ARCHIVE(archive_entry_set_gid)(__VA_ARGS__)
#define archive_entry_set_gname(...) ELFPRUNE_ARCHIVE(archive_entry_set_gname)(__VA_ARGS__)
#define archive_entry_set_hardlink(...) ELFPRUNE_ARCHIVE(archive_entry_set_hardlink)(__VA_ARGS__)
#define archive_entry_set_mtime(...) ELFPRUNE_ARCHIVE(archive_entry_set_mtime)(__VA_ARGS__)
#define archive_entry_set_pathname(...) ELFPRUNE_ARCHIVE(archive_entry_set_pathname)(__VA_ARGS__)
#define archive_entry_set_perm(...) ELFPRUNE_ARCHIVE(archive_entry_set_perm)(__VA_ARGS__)
#define archive_entry_set_rdevmajor(...) ELFPRUNE_ARCHIVE(archive_entry_set_rdevmajor)(__VA_ARGS__)
#define archive_entry_set_rdevminor(...) ELFPRUNE_ARCHIVE(archive_entry_set_rdevminor)(__VA_ARGS__)
#define archive_entry_set_size(...) ELFPRUNE_ARCHIVE(archive_entry_set_size)(__VA_ARGS__)
#define archive_entry_set_symlink(...) ELFPRUNE_ARCHIVE(archive_entry_set_symlink)(__VA_ARGS__)
#define archive_entry_set_uid(...) ELFPRUNE_ARCHIVE(archive_entry_set_uid)(__VA_ARGS__)
#define archive_entry_set_uname(...) ELFPRUNE_ARCHIVE(archive_entry_set_uname)(__VA_ARGS__)
#define archive_entry_size(...) ELFPRUNE_ARCHIVE(archive_entry_size)(__VA_ARGS__)
#define archive_entry_symlink(...) ELFPRUNE_ARCHIVE(archive_entry_symlink)(__VA_ARGS__)
#define archive_entry_uid(...) ELFPRUNE_ARCHIVE(archive_entry_uid)(__VA_ARGS__)
#define archive_entry_uname(...) ELFPRUNE_ARCHIVE(archive_entry_uname)(__VA_ARGS__)
#define archive_entry_xattr_add_entry(...) \
  ELFPRUNE_ARCHIVE(archive_entry_xattr_add_entry)(__VA_ARGS__)
#define archive_entry_xattr_next(...) ELFPRUNE_ARCHIVE(archive_entry_xattr_next)(__VA_ARGS__)
#define archive_entry_xattr_reset(...) ELFPRUNE_ARCHIVE(archive_entry_xattr_reset)(__VA_ARGS__)
#define archive_errno(...) ELFPRUNE_ARCHIVE(archive_errno)(__VA_ARGS__)
#define archive_error_string(...) ELFPRUNE_ARCHIVE(archive_error_string)(__VA_ARGS__)
#define archive_read_data(...) ELFPRUNE_ARCHIVE(archive_read_data)(__VA_ARGS__)
#define archive_read_free(...) ELFPRUNE_ARCHIVE(archive_read_free)(__VA_ARGS__)
#define archive_read_new(...) ELFPRUNE_ARCHIVE(archive_read_new)(__VA_ARGS__)
#define archive_read_next_header(...) ELFPRUNE_ARCHIVE(archive_read_next_header)(__VA_ARGS__)
#define archive_read_open(...) ELFPRUNE_ARCHIVE(archive_read_open)(__VA_ARGS__)
#define archive_read_open_filename(...) ELFPRUNE_ARCHIVE(archive_read_open_filename)(__VA_ARGS__)
#define archive_read_support_filter_gzip(...) \
  ELFPRUNE_ARCHIVE(archive_read_support_filter_gzip)(__VA_ARGS__)
#define archive_read_support_filter_zstd(...) \
  ELFPRUNE_ARCHIVE(archive_read_support_filter_zstd)(__VA_ARGS__)
#define archive_read_support_format_raw(...) \
  ELFPRUNE_ARCHIVE(archive_read_support_format_raw)(__VA_ARGS__)
#define archive_read_support_format_tar(...) \
  ELFPRUNE_ARCHIVE(archive_read_support_format_tar)(__VA_ARGS__)
#define archive_write_add_filter_gzip(...) \
  ELFPRUNE_ARCHIVE(archive_write_add_filter_gzip)(__VA_ARGS__)
#define archive_write_add_filter_none(...) \
  ELFPRUNE_ARCHIVE(archive_write_add_filter_none)(__VA_ARGS__)
#define archive_write_add_filter_zstd(...) \
  ELFPRUNE_ARCHIVE(archive_write_add_filter_zstd)(__VA_ARGS__)
#define archive_write_close(...) ELFPRUNE_ARCHIVE(archive_write_close)(__VA_ARGS__)
#define archive_write_data(...) ELFPRUNE_ARCHIVE(archive_write_data)(__VA_ARGS__)
#define archive_write_free(...) ELFPRUNE_ARCHIVE(archive_write_free)(__VA_ARGS__)
#define archive_write_header(...) ELFPRUNE_ARCHIVE(archive_write_header)(__VA_ARGS__)
#define archive_write_new(...) ELFPRUNE_ARCHIVE(archive_write_new)(__VA_ARGS__)
#define archive_write_open(...) ELFPRUNE_ARCHIVE(archive_write_open)(__VA_ARGS__)
#define archive_write_open_filename(...) ELFPRUNE_ARCHIVE(archive_write_open_filename)(__VA_ARGS__)
#define archive_write_set_bytes_in_last_block(...) \
  ELFPRUNE_ARCHIVE(archive_write_set_bytes_in_last_block)(__VA_ARGS__)
#define archive_write_set_bytes_per_block(...) \
  ELFPRUNE_ARCHIVE(archive_write_set_bytes_per_block)(__VA_ARGS__)
#define archive_write_set_format_pax_restricted(...) \
  ELFPRUNE_ARCHIVE(archive_write_set_format_pax_restricted)(__VA_ARGS__)
#define archive_write_set_format_raw(...) \
  ELFPRUNE_ARCHIVE(archive_write_set_format_raw)(__VA_ARGS__)
#define archive_write_set_options(...) ELFPRUNE_ARCHIVE(archive_write_set_options)(__VA_ARGS__)

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
