// Formats follow dpkg 1.21 (Debian 12): deb822 stanzas in
// /var/lib/dpkg/status (lib/dpkg/parse.c), one path a line in
// info/<package>.list, or info/<package>:<arch>.list for Multi-Arch: same
// packages (lib/dpkg/db-fsys.c).
#include "facts/dpkg.hpp"

#include <fmt/format.h>
#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <optional>
#include <set>

namespace elfprune {
namespace {

constexpr std::string_view kStatusPath = "/var/lib/dpkg/status";
constexpr std::string_view kInfoDir = "/var/lib/dpkg/info";
// Generous caps: the status file of a full desktop is ~10 MB and the
// largest .list files (kernel images, texlive) a few MB. A bigger file is
// not a dpkg database we should trust, and would only cost memory.
constexpr std::size_t kStatusLimit = 256u << 20;
constexpr std::size_t kListLimit = 64u << 20;
constexpr std::size_t kMaxStanzaWarnings = 20;

bool is_blank(char c) {
  return c == ' ' || c == '\t' || c == '\r';
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_blank(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_blank(s.back())) s.remove_suffix(1);
  return s;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  std::size_t pos = 0;
  for (;;) {
    const std::size_t next = s.find(sep, pos);
    out.push_back(s.substr(pos, next == std::string_view::npos ? next : next - pos));
    if (next == std::string_view::npos) return out;
    pos = next + 1;
  }
}

// `name:any (>= 1.0) [amd64] <!nocheck>` -> `name`.
std::string bare_name(std::string_view alternative) {
  alternative = trim(alternative);
  const std::size_t end = alternative.find_first_of(" \t\n(:[<");
  return std::string(alternative.substr(0, end));
}

// A relationship field (`a (>= 1), b:any | c [arch]`) as alternatives lists.
std::vector<std::vector<std::string>> parse_relations(std::string_view value) {
  std::vector<std::vector<std::string>> out;
  for (std::string_view group : split(value, ',')) {
    std::vector<std::string> alternatives;
    for (std::string_view alternative : split(group, '|')) {
      std::string name = bare_name(alternative);
      if (!name.empty()) alternatives.push_back(std::move(name));
    }
    if (!alternatives.empty()) out.push_back(std::move(alternatives));
  }
  return out;
}

// dpkg's want/eflag/status triple. The files are on disk when the status is
// one of these and nothing went wrong (eflag `ok`); the selection (`install`,
// `hold`, `deinstall`) only says what the admin wants next. `unpacked` and
// `half-configured` packages are left out: their maintainer scripts have not
// run, so the installation is not one to trust.
bool is_installed(std::string_view status) {
  std::vector<std::string_view> words;
  for (std::string_view w : split(status, ' ')) {
    if (!trim(w).empty()) words.push_back(trim(w));
  }
  if (words.size() != 3 || words[1] != "ok") return false;
  return words[2] == "installed" || words[2] == "triggers-pending" ||
         words[2] == "triggers-awaited";
}

struct Stanza {
  std::size_t line = 0;  // 1-based, of its first line
  std::string package, status, section, source, essential, architecture, multi_arch, provides;
  std::string depends;  // Depends and Pre-Depends, joined with ','
  std::string problem;  // why the stanza is malformed, empty when it is not
  std::size_t problem_line = 0;
};

// Stores the fields elfprune needs; the rest (Description, Conffiles...)
// are skipped without copying.
void set_field(Stanza& st, std::string_view name, std::string value) {
  if (iequals(name, "Package")) {
    st.package = std::move(value);
  } else if (iequals(name, "Status")) {
    st.status = std::move(value);
  } else if (iequals(name, "Section")) {
    st.section = std::move(value);
  } else if (iequals(name, "Source")) {
    st.source = std::move(value);
  } else if (iequals(name, "Essential")) {
    st.essential = std::move(value);
  } else if (iequals(name, "Architecture")) {
    st.architecture = std::move(value);
  } else if (iequals(name, "Multi-Arch")) {
    st.multi_arch = std::move(value);
  } else if (iequals(name, "Provides")) {
    st.provides = std::move(value);
  } else if (iequals(name, "Depends") || iequals(name, "Pre-Depends")) {
    if (!st.depends.empty()) st.depends += ',';
    st.depends += value;
  }
}

bool wanted_field(std::string_view name) {
  static constexpr std::array<std::string_view, 10> kNames = {
      "Package",      "Status",     "Section",  "Source",  "Essential",
      "Architecture", "Multi-Arch", "Provides", "Depends", "Pre-Depends"};
  return std::any_of(kNames.begin(), kNames.end(),
                     [name](std::string_view k) { return iequals(k, name); });
}

// Splits the status file into stanzas at blank lines. Continuation lines
// (leading space or tab) extend the previous field; they are joined with a
// space, which is right for the folded relationship fields we keep.
std::vector<Stanza> parse_status(std::string_view text) {
  std::vector<Stanza> out;
  std::optional<Stanza> current;
  std::string field_name;  // the field continuation lines extend, "" when skipped
  std::string field_value;
  auto flush_field = [&] {
    if (current && !field_name.empty()) set_field(*current, field_name, std::move(field_value));
    field_name.clear();
    field_value.clear();
  };
  auto flush_stanza = [&] {
    flush_field();
    if (current) out.push_back(std::move(*current));
    current.reset();
  };

  std::size_t pos = 0;
  std::size_t line_no = 0;
  while (pos < text.size()) {
    std::size_t eol = text.find('\n', pos);
    if (eol == std::string_view::npos) eol = text.size();
    std::string_view line = text.substr(pos, eol - pos);
    pos = eol + 1;
    ++line_no;
    if (trim(line).empty()) {
      flush_stanza();
      continue;
    }
    if (!current) {
      current.emplace();
      current->line = line_no;
    }
    if (line.front() == ' ' || line.front() == '\t') {
      if (!field_name.empty()) {
        field_value += ' ';
        field_value += trim(line);
      } else if (current->line == line_no && current->problem.empty()) {
        current->problem = "continuation line before any field";
        current->problem_line = line_no;
      }
      continue;
    }
    flush_field();
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) {
      if (current->problem.empty()) {
        current->problem = "not a `Field: value` line";
        current->problem_line = line_no;
      }
      continue;
    }
    const std::string_view name = line.substr(0, colon);
    if (wanted_field(name)) {
      field_name = std::string(name);
      field_value = std::string(trim(line.substr(colon + 1)));
    }
  }
  flush_stanza();
  return out;
}

// Canonical directories, memoised: a few thousand distinct directories
// hold the tens or hundreds of thousands of listed paths. Each directory is
// found from its parent's canonical path with one lstat of one component;
// only a symlink (`/lib` on merged-/usr) or an odd spelling goes through
// Root::resolve. A .list names a directory's files one after another, so
// the last answer is kept at hand and most paths cost neither a hash lookup
// nor an allocation.
class DirCanonicalizer {
 public:
  explicit DirCanonicalizer(const Root& root) : root_(root) {}

  // The listed path with its directory part resolved inside the root, when
  // that differs from the listed path; nullopt when it is the same or the
  // directory does not exist (files excluded from the image).
  std::optional<std::string> canonical_if_different(std::string_view listed) {
    const std::size_t slash = listed.rfind('/');
    const std::string_view dir = slash == 0 ? std::string_view("/") : listed.substr(0, slash);
    if (last_ == nullptr || last_->first != dir) last_ = &lookup(dir);
    const std::optional<std::string>& canon_dir = last_->second;
    if (!canon_dir || *canon_dir == dir) return std::nullopt;
    return (*canon_dir == "/" ? std::string() : *canon_dir) + std::string(listed.substr(slash));
  }

 private:
  using Entry = std::pair<const std::string, std::optional<std::string>>;

  // Elements of an unordered_map stay put when it rehashes, so the
  // references handed out (and last_) survive the recursion's insertions.
  Entry& lookup(std::string_view dir) {
    auto it = cache_.find(std::string(dir));
    if (it != cache_.end()) return *it;
    std::optional<std::string> canon = resolve(dir);
    return *cache_.emplace(std::string(dir), std::move(canon)).first;
  }

  std::optional<std::string> resolve(std::string_view dir) {
    if (dir == "/") return std::string("/");
    const std::size_t slash = dir.rfind('/');
    const std::string_view base = dir.substr(slash + 1);
    if (slash == std::string_view::npos || base.empty() || base == "." || base == "..") {
      return full_resolve(dir);
    }
    const std::optional<std::string>& parent =
        lookup(slash == 0 ? std::string_view("/") : dir.substr(0, slash)).second;
    if (!parent) return std::nullopt;
    std::string candidate = (*parent == "/" ? std::string() : *parent) + '/' + std::string(base);
    // `candidate` is a canonical directory plus one plain component, and
    // lstat does not follow it: nothing outside the root is looked at.
    struct stat st {};
    if (::lstat(root_.host(candidate).c_str(), &st) != 0) return std::nullopt;
    if (S_ISDIR(st.st_mode)) return candidate;
    if (S_ISLNK(st.st_mode)) return full_resolve(candidate);
    return std::nullopt;
  }

  std::optional<std::string> full_resolve(std::string_view dir) const {
    auto st = root_.resolve(dir);
    if (st && st->type == FileType::Directory) return st->path;
    return std::nullopt;
  }

  const Root& root_;
  std::unordered_map<std::string, std::optional<std::string>> cache_;
  const Entry* last_ = nullptr;
};

// Reads info/<name>:<arch>.list (Multi-Arch: same) or info/<name>.list,
// trying the other spelling second in case the Multi-Arch field misleads.
std::optional<std::string> read_list(const Root& root, const std::string& name,
                                     const std::string& arch, bool multi_arch_same,
                                     std::vector<std::string>& warnings) {
  std::vector<std::string> candidates;
  candidates.push_back(fmt::format("{}/{}.list", kInfoDir, name));
  if (!arch.empty()) {
    candidates.push_back(fmt::format("{}/{}:{}.list", kInfoDir, name, arch));
    if (multi_arch_same) std::swap(candidates[0], candidates[1]);
  }
  for (const auto& path : candidates) {
    auto data = root.read_file(path, kListLimit);
    if (data) {
      if (data->size() == kListLimit) {
        warnings.push_back(fmt::format("{}: larger than {} bytes, read in part", path, kListLimit));
      }
      return std::move(*data);
    }
    if (data.error().message != "no such file or directory") {
      warnings.push_back(fmt::format("{}: {}", path, data.error().message));
    }
  }
  return std::nullopt;
}

void add_files(DpkgPackage& pkg, std::string_view list) {
  std::size_t pos = 0;
  while (pos < list.size()) {
    std::size_t eol = list.find('\n', pos);
    if (eol == std::string_view::npos) eol = list.size();
    const std::string_view line = list.substr(pos, eol - pos);
    pos = eol + 1;
    // `/.` is every package's first line: the root directory owns nothing.
    if (line.empty() || line == "/." || line.front() != '/') continue;
    pkg.files.emplace_back(line);
  }
}

}  // namespace

const DpkgPackage* DpkgDb::owner_of(const std::string& path) const {
  auto it = owner.find(path);
  if (it == owner.end()) {
    it = canonical.find(path);
    if (it == canonical.end()) return nullptr;
  }
  auto pkg = packages.find(it->second);
  return pkg == packages.end() ? nullptr : &pkg->second;
}

const DpkgPackage* DpkgDb::find(const std::string& name) const {
  // Tolerate `name:arch` from a relationship field that was not cleaned.
  const std::string bare = name.substr(0, name.find(':'));
  if (auto it = packages.find(bare); it != packages.end()) return &it->second;
  if (auto it = provided_by.find(bare); it != provided_by.end()) {
    auto pkg = packages.find(it->second);
    if (pkg != packages.end()) return &pkg->second;
  }
  return nullptr;
}

DpkgDb read_dpkg(const Root& root) {
  DpkgDb db;
  auto status = root.read_file(kStatusPath, kStatusLimit);
  if (!status) {
    if (status.error().message != "no such file or directory") {
      db.present = true;
      db.warnings.push_back(fmt::format("{}: {}", kStatusPath, status.error().message));
    }
    return db;
  }
  db.present = true;
  if (status->size() == kStatusLimit) {
    db.warnings.push_back(
        fmt::format("{}: larger than {} bytes, read in part", kStatusPath, kStatusLimit));
  }

  std::size_t malformed = 0;
  auto warn_stanza = [&](const Stanza& st, std::string_view what) {
    if (++malformed <= kMaxStanzaWarnings) {
      const std::size_t line = st.problem_line != 0 ? st.problem_line : st.line;
      db.warnings.push_back(fmt::format("{}:{}: {}, stanza skipped", kStatusPath, line, what));
    }
  };

  // Multi-Arch: same packages appear once per architecture; their files are
  // merged under the one name (the metadata of the first stanza is kept).
  struct ListRef {
    std::string name, arch;
    bool same = false;  // Multi-Arch: same
    auto operator<=>(const ListRef&) const = default;
  };
  std::vector<ListRef> lists;
  for (Stanza& st : parse_status(*status)) {
    if (!st.problem.empty()) {
      warn_stanza(st, st.problem);
      continue;
    }
    if (st.package.empty()) {
      warn_stanza(st, "no Package field");
      continue;
    }
    if (st.status.empty()) {
      warn_stanza(st, fmt::format("package {} has no Status field", st.package));
      continue;
    }
    if (!is_installed(st.status)) continue;
    lists.push_back({st.package, st.architecture, trim(st.multi_arch) == "same"});
    if (db.packages.count(st.package) != 0) continue;
    DpkgPackage pkg;
    pkg.name = st.package;
    pkg.section = st.section;
    pkg.source = bare_name(st.source);
    if (pkg.source.empty()) pkg.source = pkg.name;
    pkg.essential = iequals(trim(st.essential), "yes");
    pkg.depends = parse_relations(st.depends);
    for (auto& group : parse_relations(st.provides)) {
      for (auto& name : group) pkg.provides.push_back(std::move(name));
    }
    db.packages.emplace(pkg.name, std::move(pkg));
  }
  if (malformed > kMaxStanzaWarnings) {
    db.warnings.push_back(fmt::format("{}: {} more malformed stanzas skipped", kStatusPath,
                                      malformed - kMaxStanzaWarnings));
  }

  std::sort(lists.begin(), lists.end());
  lists.erase(std::unique(lists.begin(), lists.end()), lists.end());
  std::size_t without_list = 0;
  for (const auto& ref : lists) {
    auto list = read_list(root, ref.name, ref.arch, ref.same, db.warnings);
    if (list) {
      add_files(db.packages.at(ref.name), *list);
    } else {
      ++without_list;
    }
  }
  // One line, not one per package: images that strip /var/lib/dpkg/info
  // would otherwise drown every other warning.
  if (without_list != 0) {
    db.warnings.push_back(
        fmt::format("{}: {} installed package(s) have no file list", kInfoDir, without_list));
  }

  // Ownership in package-name order, so that a path listed twice (shared
  // directories, diverted files) goes to the same package on every run.
  std::size_t listed = 0;
  for (const auto& [name, pkg] : db.packages) listed += pkg.files.size();
  db.owner.reserve(listed);
  DirCanonicalizer canon(root);
  for (const auto& [name, pkg] : db.packages) {
    for (const auto& file : pkg.files) {
      db.owner.try_emplace(file, name);
      if (auto c = canon.canonical_if_different(file))
        db.canonical.try_emplace(std::move(*c), name);
    }
    for (const auto& virt : pkg.provides) {
      if (db.packages.count(virt) == 0) db.provided_by.try_emplace(virt, name);
    }
  }
  return db;
}

bool is_install_time_only(const std::string& package) {
  // Each of these runs from maintainer scripts (or builds packages) and is
  // never called by a program at run time, yet nearly every package reaches
  // one through Depends; following them would pull dpkg, debconf's Perl and
  // more into every closure.
  //  - dpkg, dpkg-dev: the package manager and the package build tools;
  //  - debconf, debconf-2.0 (its virtual name), cdebconf: configuration
  //    questions asked by postinst scripts;
  //  - init-system-helpers: deb-systemd-helper, update-rc.d, invoke-rc.d;
  //  - adduser: users created by postinst scripts;
  //  - ucf: configuration file merging on upgrade;
  //  - install-info: the info directory index;
  //  - lsb-base: init-script functions (an empty transitional package in
  //    Debian 12);
  //  - sensible-utils: sensible-editor/-pager/-browser, debconf's helpers;
  //  - usr-is-merged, usrmerge: the /usr merge, done once at install.
  // Not here, though often seen next to them: debianutils (`which`,
  // `run-parts`, `savelog` are called at run time) and perl-base (a runtime
  // interpreter in its own right).
  static const std::set<std::string, std::less<>> kInstallOnly = {"adduser",
                                                                  "cdebconf",
                                                                  "debconf",
                                                                  "debconf-2.0",
                                                                  "dpkg",
                                                                  "dpkg-dev",
                                                                  "init-system-helpers",
                                                                  "install-info",
                                                                  "lsb-base",
                                                                  "sensible-utils",
                                                                  "ucf",
                                                                  "usr-is-merged",
                                                                  "usrmerge"};
  return kInstallOnly.count(package) != 0;
}

}  // namespace elfprune
