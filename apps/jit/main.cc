// `jit`, the command-line client of jitd (DESIGN.md "CLI").

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <string>
#include <thread>

#include "jit/base/clock.h"
#include "jit/cli/cli.h"

int main(int argc, char** argv) {
  jit::SystemClock clock;
  const char* home = std::getenv("HOME");
  const jit::CliEnv env{
      .get_env = [](const std::string& name) -> std::optional<std::string> {
        const char* value = std::getenv(name.c_str());
        if (value == nullptr) return std::nullopt;
        return std::string(value);
      },
      .home_dir = home != nullptr ? home : "",
      .clock = clock,
      .sleep = [](jit::Duration d) { std::this_thread::sleep_for(d); },
      .stop_requested = [] { return false; },
      .read_line = [](const std::string& prompt) -> std::optional<std::string> {
        // Only a person at a terminal is asked; scripts get the error.
        if (isatty(STDIN_FILENO) == 0) return std::nullopt;
        std::cerr << prompt << std::flush;
        std::string line;
        if (!std::getline(std::cin, line)) return std::nullopt;
        return line;
      },
  };
  return jit::RunCli(argc, argv, std::cout, std::cerr, env);
}
