#pragma once

// The documented `tcptune export > /etc/sysctl.d/90-tcptune.conf && sysctl
// --system` must not install a truncated file: every verb's output is flushed
// and checked before tcptune exits, and a failed write (full disk, /dev/full,
// a closed pipe) turns the exit status into 1 with a message on stderr.

namespace tcptune::cli {

// Flushes std::cout and stdout; returns `exit_code` when everything written
// reached the file, else kExitFailure after saying why on stderr.
int finish_stdout(int exit_code);

}  // namespace tcptune::cli
