#include <cstdio>
#include <cstdlib>

#include "harness.h"

namespace jit::fuzz {

void Check(bool condition, std::string_view what) {
  if (condition) return;
  std::fprintf(stderr, "fuzz property broken: %.*s\n",
               static_cast<int>(what.size()), what.data());
  std::abort();
}

}  // namespace jit::fuzz
