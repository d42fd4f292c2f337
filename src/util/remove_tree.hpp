// Removing a directory tree that the program itself made (a staging tree,
// a half-written output), never through a symbolic link.
#pragma once

#include <string>
#include <string_view>

namespace elfprune {

// `name` in `dirfd` and, for a directory, everything below it. Best
// effort: what cannot be removed stays.
void remove_tree_at(int dirfd, const char* name);

void remove_tree(const std::string& path);

// A temporary name that says which process made it: PREFIX<pid>-XXXXXX,
// for mkdtemp. remove_stale() removes, in `dir`, those of processes that
// are gone (killed before they could clean up), so that an interrupted run
// costs the next one nothing; a live process's names are left alone.
std::string temp_template(const std::string& dir, std::string_view prefix);
void remove_stale(const std::string& dir, std::string_view prefix);

}  // namespace elfprune
