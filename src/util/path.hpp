// Paths as strings: the one set of helpers every layer uses for paths
// inside a root ("/usr/lib/x"), which are canonical and absolute wherever
// they come from the tree. Lexical only: nothing here touches the file
// system (tree/root.hpp resolves paths against a root).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace elfprune {

// The last component: "/a/b" -> "b", "b" -> "b", "/" -> "".
std::string_view path_base(std::string_view path);

// The directory part, as dirname(3) has it: "/a/b" -> "/a", "/a" -> "/",
// "/" -> "/", "b" -> ".". A view into `path` or a literal.
std::string_view path_parent(std::string_view path);

// `name` appended to the directory `dir`: "/" + "x" -> "/x", "/a" + "x" -> "/a/x".
std::string path_join(std::string_view dir, std::string_view name);

// True when `path` is `dir` or lies below it ("/a/b" is under "/a", "/ab"
// is not); everything absolute is under "/".
bool path_under(std::string_view path, std::string_view dir);

// The non-empty components of a path ("/a//b/" -> {"a", "b"}).
std::vector<std::string> path_components(std::string_view path);

// "/" followed by the components joined with "/" ("/" when there are none).
std::string path_of_components(const std::vector<std::string>& comps, std::size_t n);

// Lexically join `path` onto `base` (an absolute path inside the root) and
// fold `.`, `..` and repeated slashes. `..` stops at `/`. Used only where
// the loader itself folds nothing but the kernel will (no symlinks crossed).
std::string lexically_absolute(std::string_view path, std::string_view base = "/");

}  // namespace elfprune
