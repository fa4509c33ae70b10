#pragma once

namespace jit {

// The jitd daemon: `jitd --config FILE [--listen HOST:PORT] [--data-dir DIR]`.
// `jitd --init DIR [--listen HOST:PORT] [--data-dir DIR]` instead writes a
// starter config (init_config.h), prints its admin token and exits: 0 when
// written, 1 when DIR/jitd.yaml exists or cannot be written.
// Runs until SIGINT/SIGTERM; SIGHUP reloads the config. Returns the exit
// code: 0 after a clean stop, 1 when the config does not load or the server
// cannot start (the reason on stderr with file and line).
int JitdMain(int argc, char** argv);

}  // namespace jit
