// Absolute path strings inside file contents (`libc.so.6` names
// /etc/nsswitch.conf; a Nix wrapper names /nix/store/<hash>-node), found at
// memchr speed.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace elfprune {

// Every distinct string in `bytes` that looks like an absolute path.
//
// Path characters are [A-Za-z0-9._+,@%=~/-]; every other byte ends a
// candidate: NUL (strings in .rodata are NUL-separated), blanks, quotes,
// `:` (so the PATH-like list `/bin:/usr/bin` yields `/bin` and `/usr/bin`),
// `;`, brackets, `$`, `*`, and every byte >= 0x80 (a non-ASCII name is cut
// at its first such byte; UTF-16 strings are out of scope).
//
// A candidate starts at a `/` that is at the start of `bytes` or follows a
// byte that is not a path character, or follows `=` (so `PATH=/usr/bin` and
// `--prefix=/opt/x` yield their paths). A `/` after any other path character
// starts nothing: `lib/x86_64` and `~/x` are relative, and `/usr/lib/x`
// yields `/usr/lib/x` once, never also `/lib/x`. The candidate then runs
// over path characters, and
//  - stops before the first `//` (`https://host/x` yields nothing, since its
//    first `/` is directly followed by another; `/usr//lib` yields `/usr`);
//  - loses trailing `/` and `.` characters (`/usr/lib/` and the end of the
//    sentence `see /etc/foo.` both name the file without them);
//  - must keep at least one character after the leading `/`;
//  - is dropped when longer than 4096 bytes (PATH_MAX): nothing that long is
//    a path the kernel accepts.
// `%`-patterns are kept as written (`/usr/share/locale/%L/%N` is a candidate
// that simply will not exist in a root); `.` and `..` components are kept
// for the caller's resolution. Order: first occurrence.
std::vector<std::string> scan_path_strings(std::string_view bytes);

// Nix store paths: `<store_dir>/<hash>-<name>`, where the hash is exactly 32
// characters of Nix base32 (`0123456789abcdfghijklmnpqrsvwxyz`: no e, o, t,
// u) and the name is at least one of [A-Za-z0-9+._?=-]. The store directory
// must start a path as in scan_path_strings (at the start of `bytes`, after a
// non-path character or after `=`). Returned as the store path itself
// (`.../bin/node` after it is dropped), distinct, first occurrence first.
// `store_dir` is usually "/nix/store"; a trailing `/` in it is ignored.
std::vector<std::string> scan_store_paths(std::string_view bytes,
                                          std::string_view store_dir = "/nix/store");

}  // namespace elfprune
