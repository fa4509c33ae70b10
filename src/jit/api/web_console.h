#pragma once

#include <string>

#include "jit/api/http.h"

namespace jit {

// Serves the built web console (`web/`, config `web: {dir: PATH}`) as
// static files. GET only; the caller routes everything under /v1 to the API
// first.
//
// - `/` and any path without a file extension that names no file answer
//   index.html, so the console's own routes (/inbox, /grants) load it.
// - A path with an extension that names no file is 404 (a missing script
//   must not come back as HTML).
// - No directory listings; a segment that is empty after decoding, `.`,
//   `..`, hidden (leading dot) or holds a backslash is refused 404, and the
//   resolved file must lie inside the directory (symlinks included), so no
//   path leaves it (THREATS "path traversal").
// - Content-Type from the extension; `assets/` (content-hashed names from
//   the build) are cached for a year, everything else is revalidated.
// - Every answer carries the console's strict Content-Security-Policy and
//   Referrer-Policy (ConsoleSecurityHeaders).
// - When the directory or its index.html is missing, every page answers 503
//   with a short text saying how to build the console.
//
// Thread-safe (const; reads files per request). Never throws.
class WebConsole {
 public:
  explicit WebConsole(std::string dir) : dir_(std::move(dir)) {}
  HttpResponse Serve(const HttpRequest& http) const;

 private:
  const std::string dir_;
};

// Adds the headers every console page needs: CSP (only same-origin
// scripts, styles, images and connections; no inline script, eval, plugins,
// <base>, framing or foreign form targets), Referrer-Policy no-referrer,
// X-Frame-Options DENY for browsers without frame-ancestors.
void AddConsoleSecurityHeaders(HttpResponse& response);

// The CSP value sent on console pages.
extern const char* const kConsoleCsp;

}  // namespace jit
