#include "facts/plugin_host.hpp"

#include <fmt/format.h>

#include "facts/shebang.hpp"
#include "util/path.hpp"

namespace elfprune {
namespace {

// The first candidate the root has, as a regular file (symlinks followed).
std::optional<std::string> first_present(const Root& root,
                                         std::initializer_list<std::string> paths) {
  for (const auto& p : paths) {
    auto st = root.resolve(p);
    if (st && st->type == FileType::Regular) return p;
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::string> plugin_host(const Root& root, std::string_view path) {
  const std::string_view name = path.substr(path.rfind('/') + 1);
  // Python: PREFIX/lib/pythonX.Y/<anything>/NAME.so
  if (name.ends_with(".so")) {
    if (auto at = path.find("/lib/python"); at != std::string_view::npos) {
      const std::string_view rest = path.substr(at + 5);  // "pythonX.Y/..."
      const auto slash = rest.find('/');
      const std::string_view version = rest.substr(0, slash);
      if (slash != std::string_view::npos && version.size() > 6 &&
          version.find_first_not_of("python0123456789.") == std::string_view::npos) {
        const std::string prefix(path.substr(0, at));
        return first_present(
            root, {fmt::format("{}/bin/{}", prefix, version), fmt::format("/usr/bin/{}", version)});
      }
    }
    // Perl: PREFIX/lib[/triplet]/{perl/5.N.M,perl5,perl-base}/.../auto/...
    for (std::string_view marker : {"/perl/5.", "/perl5/", "/perl-base/"}) {
      const auto at = path.find(marker);
      if (at == std::string_view::npos || path.find("/auto/", at) == std::string_view::npos)
        continue;
      std::string_view prefix = path.substr(0, at);
      // PREFIX/lib[/triplet]/perl/...: the program is PREFIX/bin/perl.
      if (auto lib = prefix.rfind("/lib"); lib != std::string_view::npos)
        prefix = prefix.substr(0, lib);
      return first_present(root, {fmt::format("{}/bin/perl", prefix), "/usr/bin/perl"});
    }
  }
  if (name.ends_with(".node")) {
    if (auto at = path.find("/lib/node_modules/"); at != std::string_view::npos) {
      if (auto p = first_present(root, {fmt::format("{}/bin/node", path.substr(0, at))})) return p;
    }
    if (auto p = find_on_path(root, "node")) return p;
    return find_on_path(root, "nodejs");
  }
  return std::nullopt;
}

}  // namespace elfprune
