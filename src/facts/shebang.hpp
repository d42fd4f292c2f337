// `#!` lines of scripts: the interpreter, and `env NAME` resolved on PATH.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tree/root.hpp"

namespace elfprune {

struct Shebang {
  std::string interpreter;  // as written, e.g. /usr/bin/env
  std::string argument;     // the rest of the line, trimmed (Linux passes it as one argument)
  // For `/usr/bin/env NAME` or `env -S NAME ...`: NAME (empty otherwise).
  // May contain a slash (`env /opt/x/bin/python3`).
  std::string env_program;
};

// Parse the start of a file exactly as the kernel's binfmt_script does
// (Linux >= 5.1). Only the first 256 bytes (BINPRM_BUF_SIZE) are looked at;
// `head` may be longer or shorter (shorter reads as NUL-padded).
//  - nullopt when it does not start with `#!`, the interpreter is empty, or
//    no blank, NUL or newline follows the interpreter within 256 bytes (a
//    truncated interpreter path: the kernel fails with ENOEXEC);
//  - the interpreter ends at a blank (space, tab), NUL or newline only, so a
//    CRLF line `#!/bin/sh\r\n` has the interpreter `/bin/sh\r`, and
//    `#!/bin/sh -e\r\n` the argument `-e\r`, as exec sees them;
//  - the argument is the rest of the line with surrounding spaces and tabs
//    trimmed, cut at a NUL, and cut at byte 255 when the line has no newline
//    within the buffer (the kernel truncates arguments silently).
// env_program: when the interpreter's basename is `env`, the argument is
// split on blanks (as `-S` would; without it Linux hands env one word, so
// `env python3 -u` fails at run time, but `python3` is what was meant), GNU
// env's options (-i, -, -v, -0, -u NAME, -C DIR, -S, their long forms) and
// NAME=value assignments are skipped, and the next word is the program.
// -S's quoting and escapes are not interpreted.
std::optional<Shebang> parse_shebang(std::string_view head);

// The default PATH `env` searches when the environment is clean.
inline constexpr std::string_view kDefaultPath =
    "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

// Find `program` on `path` inside `root`, as execvp would: the first
// directory holding a regular file of that name with any execute bit
// (symlinks followed inside the root). Returns the path as found
// (dir/program, dir as written in `path`). Empty and relative PATH entries
// (the working directory to execvp) are skipped: the directory a program
// will run in is unknown here. A `program` containing a slash is not
// searched for: it is checked as is (relative to `/`) and returned in
// absolute form.
std::optional<std::string> find_on_path(const Root& root, std::string_view program,
                                        std::string_view path = kDefaultPath);

}  // namespace elfprune
