// jitd: the just-in-time privilege elevation daemon.
#include "jit/server/main.h"

int main(int argc, char** argv) { return jit::JitdMain(argc, argv); }
