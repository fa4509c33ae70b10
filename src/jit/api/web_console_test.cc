#include "jit/api/web_console.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace jit {
namespace {

namespace fs = std::filesystem;

class WebConsoleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    base_ = fs::temp_directory_path() /
            ("jitd-web-console-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(base_);
    dist_ = base_ / "dist";
    fs::create_directories(dist_ / "assets");
    Write(dist_ / "index.html", "<!doctype html><title>jitd</title>");
    Write(dist_ / "assets" / "index-AbC123.js", "console.log(1)");
    Write(dist_ / "assets" / "index-AbC123.css", "body{}");
    Write(dist_ / "favicon.svg", "<svg/>");
    Write(dist_ / ".env", "SECRET=1");
    Write(base_ / "secret.txt", "outside the console directory");
  }
  void TearDown() override { fs::remove_all(base_); }

  static void Write(const fs::path& p, const std::string& text) {
    std::ofstream(p) << text;
  }

  HttpResponse Get(const std::string& path) const {
    HttpRequest http;
    http.method = "GET";
    http.path = path;
    return WebConsole(dist_.string()).Serve(http);
  }

  fs::path base_;
  fs::path dist_;
};

TEST_F(WebConsoleTest, RootAndClientRoutesAnswerIndexHtml) {
  for (const char* path : {"/", "/inbox", "/grants/grt_1", "/assets"}) {
    HttpResponse r = Get(path);
    EXPECT_EQ(r.status, 200) << path;
    EXPECT_EQ(r.content_type, "text/html; charset=utf-8") << path;
    EXPECT_EQ(r.body, "<!doctype html><title>jitd</title>") << path;
    EXPECT_EQ(r.headers["Cache-Control"], "no-cache") << path;
  }
}

TEST_F(WebConsoleTest, HashedAssetsHaveTheirTypeAndALongCache) {
  HttpResponse js = Get("/assets/index-AbC123.js");
  EXPECT_EQ(js.status, 200);
  EXPECT_EQ(js.content_type, "text/javascript; charset=utf-8");
  EXPECT_EQ(js.body, "console.log(1)");
  EXPECT_EQ(js.headers["Cache-Control"], "public, max-age=31536000, immutable");
  HttpResponse css = Get("/assets/index-AbC123.css");
  EXPECT_EQ(css.content_type, "text/css; charset=utf-8");
  HttpResponse svg = Get("/favicon.svg");
  EXPECT_EQ(svg.content_type, "image/svg+xml");
  EXPECT_EQ(svg.headers["Cache-Control"], "no-cache");  // not hashed
}

TEST_F(WebConsoleTest, MissingAssetIs404NotIndexHtml) {
  HttpResponse r = Get("/assets/gone-123.js");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.body.find("<!doctype"), std::string::npos);
}

// THREATS: path traversal out of the console directory.
TEST_F(WebConsoleTest, PathTraversalAndHiddenFilesAreRefused) {
  for (const char* path :
       {"/../secret.txt", "/assets/../../secret.txt", "/..", "/./index.html",
        "/.env", "/assets/..\\..\\secret.txt", "/a\\b.txt"}) {
    HttpResponse r = Get(path);
    EXPECT_EQ(r.status, 404) << path;
    EXPECT_EQ(r.body.find("outside"), std::string::npos) << path;
    EXPECT_EQ(r.body.find("SECRET"), std::string::npos) << path;
  }
}

TEST_F(WebConsoleTest, SymlinkOutOfTheDirectoryIsRefused) {
  fs::create_symlink(base_ / "secret.txt", dist_ / "leak.txt");
  fs::create_directory_symlink(base_, dist_ / "up");
  EXPECT_EQ(Get("/leak.txt").status, 404);
  EXPECT_EQ(Get("/up/secret.txt").status, 404);
}

TEST_F(WebConsoleTest, NoDirectoryListing) {
  HttpResponse r = Get("/assets/");
  EXPECT_EQ(r.body, "<!doctype html><title>jitd</title>");
  EXPECT_EQ(r.body.find("index-AbC123"), std::string::npos);
}

TEST_F(WebConsoleTest, EveryAnswerCarriesTheStrictPolicy) {
  for (const char* path :
       {"/", "/assets/index-AbC123.js", "/../x", "/nope.js"}) {
    HttpResponse r = Get(path);
    const std::string& csp = r.headers["Content-Security-Policy"];
    for (const char* directive :
         {"default-src 'self'", "script-src 'self'", "object-src 'none'",
          "base-uri 'none'", "frame-ancestors 'none'"}) {
      EXPECT_NE(csp.find(directive), std::string::npos) << path << directive;
    }
    EXPECT_EQ(csp.find("unsafe-inline"), std::string::npos);
    EXPECT_EQ(csp.find("unsafe-eval"), std::string::npos);
    EXPECT_EQ(r.headers["Referrer-Policy"], "no-referrer") << path;
  }
}

TEST_F(WebConsoleTest, MissingBuildAnswersHowToBuildIt) {
  for (const std::string& dir : {(base_ / "nothing").string(), std::string()}) {
    HttpRequest http;
    http.method = "GET";
    http.path = "/";
    HttpResponse r = WebConsole(dir).Serve(http);
    EXPECT_EQ(r.status, 503);
    EXPECT_EQ(r.content_type, "text/plain; charset=utf-8");
    EXPECT_NE(r.body.find("make"), std::string::npos);
  }
  fs::remove(dist_ / "index.html");
  EXPECT_EQ(Get("/").status, 503);
}

TEST_F(WebConsoleTest, OnlyGet) {
  HttpRequest http;
  http.method = "POST";
  http.path = "/";
  EXPECT_EQ(WebConsole(dist_.string()).Serve(http).status, 404);
}

}  // namespace
}  // namespace jit
