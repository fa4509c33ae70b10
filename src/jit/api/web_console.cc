#include "jit/api/web_console.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <string_view>
#include <system_error>

#include "jit/api/error_response.h"
#include "jit/api/route_table.h"
#include "jit/base/status.h"

namespace jit {
namespace {

namespace fs = std::filesystem;

constexpr uintmax_t kMaxFileBytes = 16 * 1024 * 1024;
constexpr const char* kImmutable = "public, max-age=31536000, immutable";
constexpr const char* kRevalidate = "no-cache";

const char* ContentTypeOf(std::string_view ext) {
  static const std::map<std::string_view, const char*> kTypes = {
      {".html", "text/html; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".mjs", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".json", "application/json"},
      {".map", "application/json"},
      {".webmanifest", "application/manifest+json"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
      {".ico", "image/x-icon"},
      {".webp", "image/webp"},
      {".woff2", "font/woff2"},
      {".txt", "text/plain; charset=utf-8"},
  };
  auto it = kTypes.find(ext);
  return it == kTypes.end() ? "application/octet-stream" : it->second;
}

bool SafeSegment(std::string_view s) {
  if (s.empty() || s.front() == '.') return false;  // ".", "..", hidden
  return s.find_first_of(std::string_view("\\\0", 2)) == std::string_view::npos;
}

HttpResponse NotBuilt() {
  HttpResponse r;
  r.status = 503;
  r.content_type = "text/plain; charset=utf-8";
  r.body =
      "The jitd web console is not built.\n\n"
      "Build it with `make` in the jitd source tree (needs node and npm),\n"
      "or point `web: {dir: PATH}` in the jitd config at a built console.\n"
      "The REST API under /v1 works without it.\n";
  AddConsoleSecurityHeaders(r);
  return r;
}

HttpResponse NotFound() {
  HttpResponse r;
  r.status = 404;
  r.content_type = "text/plain; charset=utf-8";
  r.body = "not found\n";
  AddConsoleSecurityHeaders(r);
  return r;
}

// The regular file `rel` inside `root` (both canonical), or nullopt.
std::optional<fs::path> Resolve(const fs::path& root, const fs::path& rel) {
  std::error_code ec;
  fs::path full = fs::canonical(root / rel, ec);
  if (ec) return std::nullopt;
  auto [r, f] =
      std::mismatch(root.begin(), root.end(), full.begin(), full.end());
  if (r != root.end()) return std::nullopt;  // escaped through a symlink
  if (!fs::is_regular_file(full, ec) || ec) return std::nullopt;
  return full;
}

std::optional<std::string> ReadSmallFile(const fs::path& p) {
  std::error_code ec;
  uintmax_t size = fs::file_size(p, ec);
  if (ec || size > kMaxFileBytes) return std::nullopt;
  std::ifstream in(p, std::ios::binary);
  if (!in) return std::nullopt;
  std::string out(static_cast<size_t>(size), '\0');
  in.read(out.data(), static_cast<std::streamsize>(size));
  if (static_cast<uintmax_t>(in.gcount()) != size) return std::nullopt;
  return out;
}

HttpResponse FileResponse(const fs::path& file, std::string content,
                          bool hashed) {
  HttpResponse r;
  r.content_type = ContentTypeOf(file.extension().string());
  r.body = std::move(content);
  r.headers["Cache-Control"] = hashed ? kImmutable : kRevalidate;
  AddConsoleSecurityHeaders(r);
  return r;
}

}  // namespace

const char* const kConsoleCsp =
    "default-src 'self'; script-src 'self'; style-src 'self'; "
    "img-src 'self' data:; font-src 'self'; connect-src 'self'; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
    "form-action 'self'";

void AddConsoleSecurityHeaders(HttpResponse& response) {
  response.headers["Content-Security-Policy"] = kConsoleCsp;
  response.headers["Referrer-Policy"] = "no-referrer";
  response.headers["X-Frame-Options"] = "DENY";
  response.headers["Cross-Origin-Opener-Policy"] = "same-origin";
}

HttpResponse WebConsole::Serve(const HttpRequest& http) const {
  if (http.method != "GET") return NotFound();
  std::error_code ec;
  fs::path root = dir_.empty() ? fs::path() : fs::canonical(dir_, ec);
  if (dir_.empty() || ec) return NotBuilt();
  std::optional<fs::path> index = Resolve(root, "index.html");
  if (!index) return NotBuilt();

  fs::path rel;
  for (const std::string& s : PathSegments(http.path)) {
    if (!SafeSegment(s)) return NotFound();
    rel /= s;
  }
  bool has_ext = rel.has_extension();
  std::optional<fs::path> file =
      rel.empty() ? std::nullopt : Resolve(root, rel);
  if (!file && has_ext) return NotFound();
  const fs::path& chosen = file ? *file : *index;
  std::optional<std::string> content = ReadSmallFile(chosen);
  if (!content) return NotFound();
  bool hashed = file && !rel.empty() && *rel.begin() == "assets";
  return FileResponse(chosen, std::move(*content), hashed);
}

}  // namespace jit
