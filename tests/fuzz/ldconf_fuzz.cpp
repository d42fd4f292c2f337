// /etc/ld.so.conf and what it includes come from the tree. The parser reads
// them through a Root, so the input is laid out as files of a scratch root:
// the parts of the input separated by a line `#--` are /etc/ld.so.conf,
// then /etc/ld.so.conf.d/1.conf, 2.conf, ... (at most kMaxParts), beside a
// few fixed entries that includes can reach: a symlink back to ld.so.conf,
// a symlink loop, library directories.
#include <cctype>
#include <filesystem>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "fuzz_targets.hpp"
#include "loader/ldconf.hpp"
#include "test_support.hpp"
#include "tree/root.hpp"

namespace fs = std::filesystem;

namespace elfprune::fuzz {
namespace {

constexpr std::string_view kSeparator = "\n#--\n";
constexpr std::size_t kMaxParts = 8;

class ConfRoot {
 public:
  ConfRoot() {
    const fs::path& r = dir_.path();
    fs::create_directories(r / "etc/ld.so.conf.d");
    fs::create_directories(r / "usr/lib/x86_64-linux-gnu");
    fs::create_symlink("usr/lib", r / "lib");
    fs::create_symlink("../ld.so.conf", r / "etc/ld.so.conf.d/self.conf");
    fs::create_symlink("loop.conf", r / "etc/loop.conf");
    root_ = std::make_unique<Root>(r);
  }

  // Replace the files of the previous input with the parts of this one.
  void lay_out(std::string_view bytes) {
    for (const auto& file : written_) fs::remove(file);
    written_.clear();
    std::size_t part = 0;
    while (part < kMaxParts) {
      const std::size_t end = part + 1 < kMaxParts ? bytes.find(kSeparator) : bytes.npos;
      const fs::path file =
          part == 0 ? dir_.path() / "etc/ld.so.conf" : dir_.path() / part_name(part);
      test::write_file(file, bytes.substr(0, end));
      written_.push_back(file);
      if (end == bytes.npos) break;
      bytes.remove_prefix(end + kSeparator.size());
      ++part;
    }
  }

  const Root& root() const { return *root_; }

 private:
  static std::string part_name(std::size_t part) {
    return "etc/ld.so.conf.d/" + std::to_string(part) + ".conf";
  }

  test::TempDir dir_;
  std::unique_ptr<Root> root_;
  std::vector<fs::path> written_;
};

bool is_space(char c) {
  return std::isspace(static_cast<unsigned char>(c)) != 0;
}

}  // namespace

void ldconf(std::string_view bytes) {
  static ConfRoot conf;
  conf.lay_out(bytes);
  const LdConf parsed = parse_ld_so_conf(conf.root());
  // Directories as ldconfig records them: once each, without what a line
  // may carry besides the name (comments, `=TYPE`, leading blanks, trailing
  // slashes), one line each. Blanks before trailing slashes stay, as in
  // ldconfig's add_dir_1 ("/a /" is "/a ").
  std::set<std::string> seen;
  for (const auto& dir : parsed.directories) {
    FUZZ_CHECK(seen.insert(dir).second);
    FUZZ_CHECK(!dir.empty() && !is_space(dir.front()) && dir.back() != '/');
    FUZZ_CHECK(dir.find_first_of(std::string_view("#=\n\0", 4)) == std::string::npos);
  }
}

}  // namespace elfprune::fuzz
