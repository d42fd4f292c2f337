#include "loader/deps_report.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace elfprune {
namespace {

DepsReport sample() {
  Resolution r;
  r.file = "/usr/bin/node";
  r.realpath = "/usr/bin/node";
  r.interpreter = "/lib64/ld-linux-x86-64.so.2";
  r.libraries.push_back({"libnode.so.108", "/lib/x86_64-linux-gnu/libnode.so.108",
                         "/usr/lib/x86_64-linux-gnu/libnode.so.108", "/usr/bin/node", Via::Cache});
  r.libraries.push_back({"libz.so.1", "/lib/x86_64-linux-gnu/libz.so.1",
                         "/usr/lib/x86_64-linux-gnu/libz.so.1.2.13",
                         "/lib/x86_64-linux-gnu/libnode.so.108", Via::Cache});
  r.missing.push_back({"libfoo.so.1",
                       "/lib/x86_64-linux-gnu/libnode.so.108",
                       {"/lib/x86_64-linux-gnu/libfoo.so.1"},
                       "not found"});
  DepsReport report;
  report.root = "/srv/root";
  report.objects.push_back(r);
  return report;
}

TEST(DepsReport, JsonFollowsTheContract) {
  auto doc = nlohmann::json::parse(render_deps_json(sample()));
  EXPECT_EQ(doc["root"], "/srv/root");
  const auto& obj = doc["objects"][0];
  EXPECT_EQ(obj["file"], "/usr/bin/node");
  EXPECT_EQ(obj["interpreter"], "/lib64/ld-linux-x86-64.so.2");
  const auto& lib = obj["libraries"][0];
  EXPECT_EQ(lib["name"], "libnode.so.108");
  EXPECT_EQ(lib["path"], "/lib/x86_64-linux-gnu/libnode.so.108");
  EXPECT_EQ(lib["realpath"], "/usr/lib/x86_64-linux-gnu/libnode.so.108");
  EXPECT_EQ(lib["needed_by"], "/usr/bin/node");
  EXPECT_EQ(lib["via"], "ld.so.cache");
  EXPECT_EQ(obj["libraries"].size(), 2u);
  EXPECT_EQ(obj["missing"][0]["name"], "libfoo.so.1");
  EXPECT_EQ(obj["missing"][0]["needed_by"], "/lib/x86_64-linux-gnu/libnode.so.108");
}

TEST(DepsReport, ViaNamesAreTheDocumentedOnes) {
  EXPECT_EQ(via_name(Via::Rpath), "rpath");
  EXPECT_EQ(via_name(Via::Runpath), "runpath");
  EXPECT_EQ(via_name(Via::LdLibraryPath), "ld_library_path");
  EXPECT_EQ(via_name(Via::Cache), "ld.so.cache");
  EXPECT_EQ(via_name(Via::Default), "default");
  EXPECT_EQ(via_name(Via::Direct), "direct");
  EXPECT_EQ(via_name(Via::Loaded), "loaded");
}

TEST(DepsReport, JsonSurvivesInvalidUtf8InPaths) {
  DepsReport report = sample();
  report.objects[0].file = "/usr/bin/\xff\xfe";
  auto doc = nlohmann::json::parse(render_deps_json(report));
  EXPECT_TRUE(doc["objects"][0]["file"].is_string());
}

TEST(DepsReport, TextIsATreeTaggedWithTheSource) {
  const std::string text = render_deps_text(sample());
  EXPECT_NE(text.find("/usr/bin/node (interpreter /lib64/ld-linux-x86-64.so.2)\n"),
            std::string::npos);
  EXPECT_NE(text.find("\n    libnode.so.108 => /lib/x86_64-linux-gnu/libnode.so.108 -> "
                      "/usr/lib/x86_64-linux-gnu/libnode.so.108 [ld.so.cache]\n"),
            std::string::npos);
  // libz is under libnode, one level deeper.
  EXPECT_NE(text.find("\n        libz.so.1 => "), std::string::npos);
  EXPECT_NE(text.find("        libfoo.so.1 => not found (not found)\n"), std::string::npos);
  EXPECT_NE(text.find("tried /lib/x86_64-linux-gnu/libfoo.so.1"), std::string::npos);
}

}  // namespace
}  // namespace elfprune
