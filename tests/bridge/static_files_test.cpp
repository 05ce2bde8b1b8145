// Unit tests of the bridge's static files (--web-root): path rules, content types, cache lifetimes.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "static_files.hpp"

namespace fs = std::filesystem;
using collab::bridge::StaticFiles;

namespace {

class StaticFilesTest : public ::testing::Test {
  protected:
    void SetUp() override {
        char tmpl[] = "/tmp/static-files-test-XXXXXX";
        ASSERT_NE(mkdtemp(tmpl), nullptr);
        root_ = tmpl;
        write("index.html", "<!doctype html>");
        write("app-A1B2C3D4.js", "js");
        write("assets/logo.svg", "<svg/>");
        write(".env", "secret");
        write("assets/.hidden", "secret");
    }
    void TearDown() override { fs::remove_all(root_); }
    void write(const std::string &rel, const std::string &text) {
        fs::create_directories((fs::path(root_) / rel).parent_path());
        std::ofstream(fs::path(root_) / rel) << text;
    }
    std::string root_;
};

TEST_F(StaticFilesTest, ServesIndexForRootAndFilesByPath) {
    StaticFiles files(root_);
    auto index = files.get("/");
    ASSERT_TRUE(index);
    EXPECT_EQ(index->body, "<!doctype html>");
    EXPECT_EQ(index->content_type, "text/html; charset=utf-8");
    EXPECT_EQ(index->cache_control, "no-cache");
    auto js = files.get("/app-A1B2C3D4.js");
    ASSERT_TRUE(js);
    EXPECT_EQ(js->body, "js");
    EXPECT_EQ(js->cache_control, "public, max-age=31536000, immutable");
    auto svg = files.get("/assets/logo.svg");
    ASSERT_TRUE(svg);
    EXPECT_EQ(svg->content_type, "image/svg+xml");
    EXPECT_EQ(svg->cache_control, "no-cache");
}

TEST_F(StaticFilesTest, RefusesTraversalHiddenFilesDirectoriesAndOddPaths) {
    StaticFiles files(root_);
    for (const char *path : {"/../etc/passwd", "/assets/../index.html", "/.env", "/assets/.hidden", "/assets",
                             "/assets/", "//index.html", "index.html", "", "/a\\b", "/missing.js", "/./index.html"})
        EXPECT_FALSE(files.get(path)) << path;
    EXPECT_FALSE(files.get(std::string("/index.html\0x", 13))) << "NUL";
}

TEST_F(StaticFilesTest, DisabledWithoutRoot) {
    StaticFiles files("");
    EXPECT_FALSE(files.enabled());
    EXPECT_FALSE(files.get("/"));
}

TEST(StaticFilesNames, HashedNamesAndContentTypes) {
    EXPECT_TRUE(StaticFiles::is_hashed("app-3F2A9C1B.js"));
    EXPECT_TRUE(StaticFiles::is_hashed("/chunks/main-ABCDEFGH12.css"));
    EXPECT_FALSE(StaticFiles::is_hashed("index.html"));
    EXPECT_FALSE(StaticFiles::is_hashed("my-app.js"));        // too short to be a hash
    EXPECT_FALSE(StaticFiles::is_hashed("app-3F2A_9C1B.js")); // not letters and digits
    EXPECT_FALSE(StaticFiles::is_hashed("dir-ABCDEFGH/app.js"));
    EXPECT_EQ(StaticFiles::content_type("a.css"), "text/css; charset=utf-8");
    EXPECT_EQ(StaticFiles::content_type("a.js.map"), "application/json");
    EXPECT_EQ(StaticFiles::content_type("a.woff2"), "font/woff2");
    EXPECT_EQ(StaticFiles::content_type("README"), "application/octet-stream");
    EXPECT_EQ(StaticFiles::content_type(".js"), "application/octet-stream");
}

} // namespace
