// Removing a directory tree that the program itself made (a staging tree,
// a half-written output), never through a symbolic link.
#pragma once

#include <string>

namespace elfprune {

// `name` in `dirfd` and, for a directory, everything below it. Best
// effort: what cannot be removed stays.
void remove_tree_at(int dirfd, const char* name);

void remove_tree(const std::string& path);

}  // namespace elfprune
