// ld.so.conf parsing and the directory scan of ldconfig, after glibc 2.36
// elf/ldconfig.c (parse_conf, parse_conf_include, add_dir_1, search_dir).
#include "loader/ldconf.hpp"

#include <fmt/format.h>
#include <fnmatch.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <set>
#include <utility>

#include "elf/elf_info.hpp"
#include "util/path.hpp"

namespace fs = std::filesystem;

namespace elfprune {
namespace {

// ldconfig has no loop protection and recurses until it crashes. Files
// already being read are skipped; the depth and file caps also bound chains
// through many distinct names and includes that fan out.
constexpr int kMaxIncludeDepth = 16;
constexpr int kMaxConfFiles = 1000;

constexpr std::string_view kNoSuchFile = "no such file or directory";

bool is_space(char c) {
  return std::isspace(static_cast<unsigned char>(c)) != 0;
}
bool is_blank(char c) {
  return c == ' ' || c == '\t';
}

// Names of a directory inside the root, sorted; empty when it cannot be listed.
std::vector<std::string> list_dir(const Root& root, const std::string& canonical) {
  std::vector<std::string> names;
  std::error_code ec;
  fs::directory_iterator it(root.host(canonical), ec);
  for (; !ec && it != fs::directory_iterator(); it.increment(ec)) {
    names.push_back(it->path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

// glob(3) as ldconfig calls it: every component may hold wildcards, a
// leading dot must be matched explicitly, results sorted bytewise (ldconfig
// sets LC_COLLATE=C). Directories are listed through the root.
std::vector<std::string> expand_glob(const Root& root, const std::string& pattern) {
  std::vector<std::string> paths{"/"};
  std::size_t i = 0;
  while (i < pattern.size()) {
    std::size_t j = pattern.find('/', i);
    if (j == std::string::npos) j = pattern.size();
    const std::string comp = pattern.substr(i, j - i);
    i = j + 1;
    if (comp.empty()) continue;
    std::vector<std::string> next;
    if (comp.find_first_of("*?[") == std::string::npos) {
      for (const auto& p : paths) next.push_back(path_join(p, comp));
    } else {
      for (const auto& p : paths) {
        auto st = root.resolve(p);
        if (!st || st->type != FileType::Directory) continue;
        for (const auto& name : list_dir(root, st->path)) {
          if (::fnmatch(comp.c_str(), name.c_str(), FNM_PERIOD) == 0)
            next.push_back(path_join(p, name));
        }
      }
    }
    paths = std::move(next);
  }
  std::sort(paths.begin(), paths.end());
  return paths;
}

class ConfParser {
 public:
  explicit ConfParser(const Root& root) : root_(root) {}

  void parse_file(const std::string& path, int depth) {
    if (depth > kMaxIncludeDepth) {
      warn("{}: includes nested more than {} deep; not read", path, kMaxIncludeDepth);
      return;
    }
    if (++files_read_ > kMaxConfFiles) {
      if (files_read_ == kMaxConfFiles + 1) {
        warn("{}: more than {} configuration files; the rest are not read", path, kMaxConfFiles);
      }
      return;
    }
    auto st = root_.resolve(path);
    if (!st) {
      // A missing file is normal (an include that matches nothing literal).
      if (st.error().message != kNoSuchFile) warn("{}: {}", path, st.error().message);
      return;
    }
    // ldconfig fopen()s a directory, reads nothing and says nothing.
    if (st->type == FileType::Directory) return;
    if (std::find(open_.begin(), open_.end(), st->path) != open_.end()) {
      warn("{}: include loop; not read again", path);
      return;
    }
    auto text = root_.read_file(path);
    if (!text) {
      warn("{}: {}", path, text.error().message);
      return;
    }
    open_.push_back(st->path);
    std::string_view rest = *text;
    unsigned lineno = 0;
    while (!rest.empty()) {
      const std::size_t nl = rest.find('\n');
      std::string_view line = rest.substr(0, nl);
      rest = nl == std::string_view::npos ? std::string_view{} : rest.substr(nl + 1);
      ++lineno;
      parse_line(path, lineno, line, depth);
    }
    open_.pop_back();
  }

  LdConf take() { return std::move(out_); }

 private:
  template <class... Args>
  void warn(fmt::format_string<Args...> format, Args&&... args) {
    out_.warnings.push_back(fmt::format(format, std::forward<Args>(args)...));
  }

  void parse_line(const std::string& path, unsigned lineno, std::string_view line, int depth) {
    // ldconfig works on C strings: a NUL ends the line, and so does '#'
    // (the format has no quoting).
    line = line.substr(0, std::min(line.find('\0'), line.find('#')));
    while (!line.empty() && is_space(line.front())) line.remove_prefix(1);
    if (line.empty()) return;
    if (line.size() > 7 && line.substr(0, 7) == "include" && is_blank(line[7])) {
      std::string_view words = line.substr(8);
      while (!words.empty()) {
        const std::size_t end = words.find_first_of(" \t");
        const std::string_view word = words.substr(0, end);
        words = end == std::string_view::npos ? std::string_view{} : words.substr(end + 1);
        if (!word.empty()) include(path, std::string(word), depth);
      }
      return;
    }
    if (line.size() > 5 && is_blank(line[5]) &&
        std::equal(line.begin(), line.begin() + 5, "hwcap", [](char a, char b) {
          return std::tolower(static_cast<unsigned char>(a)) == b;
        })) {
      warn("{}:{}: hwcap directive ignored", path, lineno);
      return;
    }
    add_dir(line);
  }

  void include(const std::string& from, const std::string& pattern, int depth) {
    const std::string full =
        pattern.front() == '/' ? pattern : path_join(path_parent(from), pattern);
    for (const auto& path : expand_glob(root_, full)) parse_file(path, depth + 1);
  }

  void add_dir(std::string_view line) {
    // "DIR=TYPE" names a library type that only libc5-era ldconfig used.
    line = line.substr(0, line.find('='));
    while (!line.empty() && is_space(line.back())) line.remove_suffix(1);
    while (!line.empty() && line.back() == '/') line.remove_suffix(1);
    if (line.empty()) return;  // also "/" itself, as in ldconfig
    std::string dir(line);
    if (seen_.insert(dir).second) out_.directories.push_back(std::move(dir));
  }

  const Root& root_;
  LdConf out_;
  std::set<std::string> seen_;
  std::vector<std::string> open_;  // canonical paths of the files being read
  int files_read_ = 0;
};

// _dl_is_dso: lib*.so*, ld-*.so*, ld.so.*, ld64.so.*.
bool looks_like_dso(std::string_view name) {
  const bool lib_or_ld = name.substr(0, 3) == "lib" || name.substr(0, 3) == "ld-";
  return (lib_or_ld && name.find(".so") != std::string_view::npos) ||
         name.substr(0, 6) == "ld.so." || name.substr(0, 8) == "ld64.so.";
}

// Temporary files left by prelink.
bool is_prelink_temp(std::string_view name) {
  constexpr std::string_view kSuffix = ".#prelink#";
  if (name.size() >= kSuffix.size() && name.substr(name.size() - kSuffix.size()) == kSuffix) {
    return true;
  }
  constexpr std::string_view kTemp = ".#prelink#.XXXXXX";
  return name.size() >= kTemp.size() &&
         name.substr(name.size() - kTemp.size(), 11) == kTemp.substr(0, 11);
}

struct ScanDir {
  std::string path;       // as configured: cache values are built from it
  std::string canonical;  // where it really is inside the root
  std::string hwcaps;     // glibc-hwcaps subdirectory name, or empty
};

struct Library {
  std::string name;    // file name in the directory
  std::string soname;  // the cache key
  bool is_link = false;
};

struct ScanTarget {
  std::uint8_t elf_class;
  std::uint16_t machine;
};

// One directory of search_dir: the libraries ldconfig would record, one per
// soname.
std::vector<Library> scan_libraries(const Root& root, const ScanDir& dir, const ScanTarget& t) {
  std::vector<Library> libs;
  for (const auto& name : list_dir(root, dir.canonical)) {
    if (!looks_like_dso(name) || is_prelink_temp(name)) continue;
    const std::string inside = path_join(dir.canonical, name);
    auto self = root.resolve(inside, false);
    if (!self) continue;
    bool is_link = self->type == FileType::Symlink;
    if (!is_link && self->type != FileType::Regular) continue;
    auto target = is_link ? root.resolve(inside) : self;
    if (!target || target->type != FileType::Regular) continue;
    const fs::path host = root.host(target->path);
    // The header first: reading every foreign library fully would be wasted.
    auto header = read_elf_header(host, inside);
    if (!header || header->elf_class != t.elf_class || header->machine != t.machine) continue;
    auto info = read_elf(host, inside);
    if (!info) continue;
    std::string soname = info->soname && !info->soname->empty() ? *info->soname : name;
    // A symlink counts as one only when it is the soname link or the
    // linker's "libfoo.so"; any other name is treated as a file.
    if (is_link && name != soname) {
      const bool dev_link = name.size() >= 3 && name.substr(name.size() - 3) == ".so" &&
                            soname.compare(0, name.size(), name) == 0;
      if (!dev_link) is_link = false;
    }
    if (is_link) soname = name;
    auto same = std::find_if(libs.begin(), libs.end(),
                             [&](const Library& l) { return l.soname == soname; });
    if (same == libs.end()) {
      libs.push_back({name, std::move(soname), is_link});
    } else if ((!is_link && same->is_link) ||
               (is_link == same->is_link && cache_libcmp(same->name, name) < 0)) {
      same->name = name;
      same->is_link = is_link;
    }
  }
  return libs;
}

}  // namespace

LdConf parse_ld_so_conf(const Root& root, const std::string& path) {
  ConfParser parser(root);
  parser.parse_file(path, 0);
  return parser.take();
}

LdCache emulate_ldconfig(const Root& root, const std::vector<std::string>& directories,
                         std::uint8_t elf_class, std::uint16_t machine, std::int32_t abi_flags) {
  // ldconfig's dir_entries: existing directories once each by identity,
  // every one followed by its glibc-hwcaps subdirectories.
  std::vector<ScanDir> dirs;
  std::set<std::pair<dev_t, ino_t>> seen;
  auto add = [&](std::string path, const FileStat& st, std::string hwcaps) {
    if (!seen.insert({st.dev, st.ino}).second) return false;
    dirs.push_back({std::move(path), st.path, std::move(hwcaps)});
    return true;
  };
  for (std::string dir : directories) {
    while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
    if (dir.empty()) continue;
    auto st = root.resolve(dir);
    if (!st || st->type != FileType::Directory) continue;
    if (!add(dir, *st, "")) continue;
    auto hwcaps_dir = root.resolve(path_join(st->path, "glibc-hwcaps"));
    if (!hwcaps_dir || hwcaps_dir->type != FileType::Directory) continue;
    for (const auto& name : list_dir(root, hwcaps_dir->path)) {
      // ld.so cannot look up names with ':' (its path separator).
      if (name.front() == '.' || name.find(':') != std::string::npos) continue;
      auto sub = root.resolve(path_join(hwcaps_dir->path, name));
      if (!sub || sub->type != FileType::Directory) continue;
      add(path_join(dir, "glibc-hwcaps/" + name), *sub, name);
    }
  }

  const ScanTarget target{elf_class, machine};
  std::vector<CacheEntry> entries;
  for (const auto& dir : dirs) {
    for (auto& lib : scan_libraries(root, dir, target)) {
      CacheEntry e;
      e.flags = abi_flags;
      // Plain directories record DIR/SONAME, relying on the soname link;
      // glibc-hwcaps ones record the file itself.
      e.value = path_join(dir.path, dir.hwcaps.empty() ? lib.soname : lib.name);
      e.key = std::move(lib.soname);
      e.hwcaps_subdir = dir.hwcaps;
      entries.push_back(std::move(e));
    }
  }
  return LdCache::from_entries(std::move(entries));
}

}  // namespace elfprune
