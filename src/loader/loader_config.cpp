#include "loader/loader_config.hpp"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>

#include <cerrno>
#endif

#include <fmt/format.h>

#include "loader/ldconf.hpp"
#include "util/path.hpp"

namespace elfprune {
namespace {

bool is_path_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-' || c == '.' || c == '/' || c == '+';
}

// glibc compiles its default directories into ld.so as one string of
// NUL-separated absolute directories with trailing slashes (SYSTEM_DIRS in
// elf/dl-load.c). Finding that run in the interpreter's bytes gives the
// root's real defaults without running anything.
std::vector<std::string> find_system_dirs(std::string_view image) {
  std::size_t pos = 0;
  while ((pos = image.find("lib", pos)) != std::string_view::npos) {
    // Back up to the start of this NUL-terminated string.
    std::size_t start = pos;
    while (start > 0 && image[start - 1] != '\0' && is_path_char(image[start - 1])) --start;
    if (start == 0 || image[start - 1] != '\0' || image[start] != '/') {
      pos += 3;
      continue;
    }
    std::vector<std::string> run;
    std::size_t cur = start;
    while (cur < image.size() && image[cur] == '/') {
      std::size_t end = image.find('\0', cur);
      if (end == std::string_view::npos) break;
      std::string_view s = image.substr(cur, end - cur);
      bool ok = s.size() >= 2 && s.back() == '/' && s.find("lib") != std::string_view::npos;
      for (char c : s) ok = ok && is_path_char(c);
      if (!ok) break;
      run.emplace_back(s.substr(0, s.size() - 1));
      cur = end + 1;
    }
    if (run.size() >= 2) return run;
    pos += 3;
  }
  return {};
}

std::string platform_for(std::uint16_t machine, std::uint8_t elf_class) {
  switch (machine) {
    case elfconst::kMachineX86_64:
      return elf_class == elfconst::kClass64 ? "x86_64" : "i686";
    case elfconst::kMachine386:
      return "i686";
    case elfconst::kMachineAarch64:
      return "aarch64";
    default:
      return "";
  }
}

std::int32_t cache_flags_for(std::uint16_t machine, std::uint8_t elf_class) {
  if (machine == elfconst::kMachineX86_64 && elf_class == elfconst::kClass64) {
    return cacheflags::kElfLibc6 | cacheflags::kX8664Lib64;
  }
  if (machine == elfconst::kMachineX86_64) return cacheflags::kElfLibc6 | cacheflags::kX32;
  if (machine == elfconst::kMachineAarch64) {
    return cacheflags::kElfLibc6 | cacheflags::kAarch64Lib64;
  }
  return cacheflags::kElfLibc6;
}

// The host's x86-64 micro-architecture level, judged as glibc's
// cpu_features does: from CPUID and the OS-enabled register state (XCR0),
// not /proc/cpuinfo (which may hide flags such as LZCNT's "abm").
HwcapsLevel host_x86_level() {
#if defined(__x86_64__) || defined(__i386__)
  unsigned a = 0, b = 0, c1 = 0, d = 0;
  if (__get_cpuid(1, &a, &b, &c1, &d) == 0) return HwcapsLevel::Baseline;
  unsigned b7 = 0, c7 = 0, d7 = 0, a7 = 0;
  __get_cpuid_count(7, 0, &a7, &b7, &c7, &d7);
  unsigned a8 = 0, b8 = 0, c8 = 0, d8 = 0;
  __get_cpuid(0x80000001, &a8, &b8, &c8, &d8);
  auto bit = [](unsigned reg, int n) { return ((reg >> n) & 1u) != 0; };
  std::uint64_t xcr0 = 0;
  if (bit(c1, 27)) {  // OSXSAVE: the OS manages extended state
    unsigned lo = 0, hi = 0;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    xcr0 = (static_cast<std::uint64_t>(hi) << 32) | lo;
  }
  const bool v2 = bit(c1, 13) && bit(c8, 0) && bit(c1, 23) && bit(c1, 0) && bit(c1, 19) &&
                  bit(c1, 20) && bit(c1, 9);
  if (!v2) return HwcapsLevel::Baseline;
  const bool ymm = (xcr0 & 0x6) == 0x6;
  const bool v3 = ymm && bit(c1, 28) && bit(b7, 5) && bit(b7, 3) && bit(b7, 8) && bit(c1, 29) &&
                  bit(c1, 12) && bit(c8, 5) && bit(c1, 22);
  if (!v3) return HwcapsLevel::V2;
  const bool zmm = (xcr0 & 0xe6) == 0xe6;
  const bool v4 = zmm && bit(b7, 16) && bit(b7, 30) && bit(b7, 28) && bit(b7, 17) && bit(b7, 31);
  return v4 ? HwcapsLevel::V4 : HwcapsLevel::V3;
#else
  return HwcapsLevel::Baseline;
#endif
}

std::vector<std::string> x86_hwcaps_subdirs(HwcapsLevel level) {
  if (level == HwcapsLevel::Host) level = host_x86_level();
  std::vector<std::string> out;
  if (level >= HwcapsLevel::V4) out.emplace_back("x86-64-v4");
  if (level >= HwcapsLevel::V3) out.emplace_back("x86-64-v3");
  if (level >= HwcapsLevel::V2) out.emplace_back("x86-64-v2");
  return out;
}

void configure_musl(const Root& root, LoaderConfig& cfg) {
  cfg.flavor = LoaderFlavor::Musl;
  // ld-musl-ARCH.so.1 -> ARCH
  const std::string base(path_base(cfg.interpreter));
  std::string arch = base.substr(std::string("ld-musl-").size());
  if (auto dot = arch.find(".so"); dot != std::string::npos) arch.resize(dot);
  // musl looks for <prefix>/etc/ld-musl-ARCH.path where <prefix> is the
  // parent of the loader's directory, taken lexically from its name.
  const std::string_view dir = path_parent(cfg.interpreter);
  std::string prefix(dir == "/" ? std::string_view() : path_parent(dir));
  if (prefix == "/") prefix.clear();
  const std::string path_file = fmt::format("{}/etc/ld-musl-{}.path", prefix, arch);
  auto st = root.resolve(path_file);
  if (!st) {
    if (st.error().errnum == ENOENT) {
      cfg.musl_path = {"/lib", "/usr/local/lib", "/usr/lib"};
      cfg.notes.push_back(fmt::format("{} missing: musl's built-in path", path_file));
    } else {
      cfg.notes.push_back(
          fmt::format("{}: {}: no system directories", path_file, st.error().message));
    }
    return;
  }
  auto text = root.read_file(path_file);
  if (!text) {
    cfg.notes.push_back(fmt::format("{} unreadable: no system directories", path_file));
    return;
  }
  std::size_t i = 0;
  const std::string& s = *text;
  while (i < s.size()) {
    i = s.find_first_not_of(":\n", i);
    if (i == std::string::npos) break;
    std::size_t j = s.find_first_of(":\n", i);
    if (j == std::string::npos) j = s.size();
    cfg.musl_path.push_back(s.substr(i, j - i));
    i = j;
  }
  cfg.notes.push_back(fmt::format("system path from {}", path_file));
}

void configure_glibc(const Root& root, LoaderConfig& cfg, const LoaderOptions& options) {
  cfg.flavor = LoaderFlavor::Glibc;
  std::string image;
  if (auto text = root.read_file(cfg.interpreter, 16u << 20)) image = std::move(*text);

  cfg.default_dirs = find_system_dirs(image);
  if (!cfg.default_dirs.empty()) {
    cfg.notes.push_back(fmt::format("default directories read from {}", cfg.interpreter));
  } else if (cfg.machine == elfconst::kMachineX86_64 && cfg.elf_class == elfconst::kClass64 &&
             !root.is_directory("/usr/lib/x86_64-linux-gnu")) {
    cfg.default_dirs = {"/lib64", "/usr/lib64"};
    cfg.notes.push_back("default directories: glibc's upstream x86_64 ones (interpreter unread)");
  } else {
    cfg.default_dirs = {"/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib", "/usr/lib"};
    cfg.notes.push_back("default directories: Debian's x86_64 ones (interpreter unread)");
  }
  cfg.lib_token = cfg.default_dirs.front().substr(1);
  cfg.platform_token = platform_for(cfg.machine, cfg.elf_class);

  // glibc-hwcaps exist since 2.33; the legacy subdirectories were removed in 2.37.
  const bool has_hwcaps = image.empty() || image.find("glibc-hwcaps") != std::string::npos;
  const bool has_legacy = image.find("Legacy HWCAP") != std::string::npos;
  if (cfg.machine == elfconst::kMachineX86_64 && cfg.elf_class == elfconst::kClass64) {
    if (has_hwcaps) cfg.hwcaps_subdirs = x86_hwcaps_subdirs(options.hwcaps);
    if (has_legacy) {
      // _dl_important_hwcaps on x86_64: platform and hwcap name are both
      // "x86_64", plus "tls"; every combination, most specific first.
      cfg.legacy_hwcaps_subdirs = {"tls/x86_64/x86_64", "tls/x86_64", "tls", "x86_64/x86_64",
                                   "x86_64"};
    }
  }

  cfg.cache_abi_flags = cache_flags_for(cfg.machine, cfg.elf_class);
  if (auto bytes = root.read_file("/etc/ld.so.cache")) {
    auto parsed = LdCache::parse(*bytes);
    if (parsed) {
      cfg.cache = std::move(*parsed);
      cfg.notes.push_back("using /etc/ld.so.cache");
    } else {
      // The loader ignores a cache it cannot use.
      cfg.notes.push_back(fmt::format("/etc/ld.so.cache ignored: {}", parsed.error().message));
    }
  } else if (root.exists("/etc/ld.so.conf")) {
    // A root that has ld.so.conf but no cache yet (a fresh build root) will
    // get one from ldconfig before it runs; without either, the loader uses
    // the default directories only, and so do we.
    LdConf conf = parse_ld_so_conf(root);
    std::vector<std::string> dirs = conf.directories;
    for (const auto& d : cfg.default_dirs) dirs.push_back(d);
    cfg.cache = emulate_ldconfig(root, dirs, cfg.elf_class, cfg.machine, cfg.cache_abi_flags);
    cfg.cache_emulated = true;
    cfg.notes.push_back("no /etc/ld.so.cache: emulating ldconfig from /etc/ld.so.conf");
    for (auto& w : conf.warnings) cfg.notes.push_back(std::move(w));
  }
}

}  // namespace

std::optional<HwcapsLevel> parse_hwcaps_level(std::string_view text) {
  if (text == "host") return HwcapsLevel::Host;
  if (text == "baseline" || text == "none" || text == "v1" || text == "x86-64") {
    return HwcapsLevel::Baseline;
  }
  if (text == "v2" || text == "x86-64-v2") return HwcapsLevel::V2;
  if (text == "v3" || text == "x86-64-v3") return HwcapsLevel::V3;
  if (text == "v4" || text == "x86-64-v4") return HwcapsLevel::V4;
  return std::nullopt;
}

std::string default_interpreter(const Root& root, std::uint8_t elf_class, std::uint16_t machine) {
  struct Candidate {
    std::uint16_t machine;
    std::uint8_t elf_class;
    const char* path;
  };
  static const Candidate kCandidates[] = {
      {elfconst::kMachineX86_64, elfconst::kClass64, "/lib64/ld-linux-x86-64.so.2"},
      {elfconst::kMachineX86_64, elfconst::kClass64, "/lib/ld-musl-x86_64.so.1"},
      {elfconst::kMachineX86_64, elfconst::kClass32, "/libx32/ld-linux-x32.so.2"},
      {elfconst::kMachine386, elfconst::kClass32, "/lib/ld-linux.so.2"},
      {elfconst::kMachine386, elfconst::kClass32, "/lib/ld-musl-i386.so.1"},
      {elfconst::kMachineAarch64, elfconst::kClass64, "/lib/ld-linux-aarch64.so.1"},
      {elfconst::kMachineAarch64, elfconst::kClass64, "/lib/ld-musl-aarch64.so.1"},
  };
  const char* first = nullptr;
  for (const auto& c : kCandidates) {
    if (c.machine != machine || c.elf_class != elf_class) continue;
    if (first == nullptr) first = c.path;
    if (root.exists(c.path)) return c.path;
  }
  return first != nullptr ? first : "/lib64/ld-linux-x86-64.so.2";
}

LoaderConfig detect_loader(const Root& root, const std::string& interpreter, std::uint8_t elf_class,
                           std::uint16_t machine, const LoaderOptions& options) {
  LoaderConfig cfg;
  cfg.interpreter = interpreter;
  cfg.elf_class = elf_class;
  cfg.machine = machine;
  if (path_base(interpreter).rfind("ld-musl-", 0) == 0) {
    configure_musl(root, cfg);
  } else {
    configure_glibc(root, cfg, options);
  }
  return cfg;
}

}  // namespace elfprune
