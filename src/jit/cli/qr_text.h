#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "jit/base/status.h"

namespace jit {

// The modules of a QR code for `data` (libqrencode, 8-bit mode, error
// correction level M), row by row; true = dark. Square.
// kInvalidArgument when `data` is too long for a QR code or holds a NUL.
StatusOr<std::vector<std::vector<bool>>> QrModules(std::string_view data);

// `modules` drawn for a terminal with Unicode half blocks, two module rows
// per text line, inside a light quiet zone of 4 modules. Colors are set
// explicitly (ANSI: black on bright white), so the code scans on dark and
// light terminals alike; each line ends with a color reset and '\n'.
std::string QrTerminalText(const std::vector<std::vector<bool>>& modules);

}  // namespace jit
