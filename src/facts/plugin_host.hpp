// Which program loads a shared object as a plugin: a Python extension
// module, a Perl XS module, a Node addon. A plugin leaves undefined the
// symbols its host supplies, so it is bound against the host's scope
// (ResolveRequest::host), as dlopen() would bind it.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "tree/root.hpp"

namespace elfprune {

// The inside path of the program that would dlopen `path`, when `path` is
// a plugin of one that `root` has:
//   - PREFIX/lib/pythonX.Y/... (lib-dynload, site-packages, a venv's
//     site-packages): PREFIX/bin/pythonX.Y, else /usr/bin/pythonX.Y;
//   - PREFIX/lib[/triplet]/{perl/5.N.M,perl5,perl-base}/.../auto/...: the
//     `perl` of PREFIX/bin, else /usr/bin/perl;
//   - a `.node` file: PREFIX/bin/node when it lies under
//     PREFIX/lib/node_modules, else the `node` on the default PATH.
// nullopt for anything else, or when the host is not in the root.
std::optional<std::string> plugin_host(const Root& root, std::string_view path);

}  // namespace elfprune
