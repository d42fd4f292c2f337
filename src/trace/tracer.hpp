// The tracer: ptrace, limited by a seccomp-bpf filter to the file-related
// system calls, so that every other call runs at full speed. It runs as
// the sandbox's PID 1 (trace/sandbox.cpp), inside the chroot, so the paths
// /proc gives it (a cwd, a dirfd) are already the root's own.
//
// The filter is written by hand (a few dozen BPF instructions) rather than
// with libseccomp: the portable, fully static binary then needs no other
// library, and the filter is simple enough to read whole.
#pragma once

#include <sys/types.h>

namespace elfprune {

// In the child that will exec the command, before exec: become traced by
// the parent, stop until it is ready, and install the filter (which also
// makes io_uring_setup fail with ENOSYS: io_uring's file operations would
// bypass the tracer). System calls only. Returns 0, or the errno of the
// step that failed.
int become_traced();

// In the parent (the sandbox's PID 1): trace `child` and everything it
// starts (fork, vfork, clone, exec) until `child` exits, writing one line
// per event to `trace_fd` (trace/trace_file.hpp); reaps orphans on the way.
// Returns the child's exit status (128 + N for signal N). Events are
// written before each blocking wait, so a kill at the timeout loses none.
int trace_processes(pid_t child, int trace_fd);

}  // namespace elfprune
