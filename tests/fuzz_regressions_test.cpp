// Every input a fuzz target once crashed on (fixtures/fuzz-regressions/
// <target>/, minimized) replayed through the same target body, so that the
// normal and the sanitized suites guard the fixes too, not only scripts/fuzz.sh.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <ostream>
#include <sstream>
#include <string>
#include <vector>

#include "fuzz/fuzz_targets.hpp"

namespace fs = std::filesystem;

namespace elfprune::fuzz {

// For gtest's messages: the target's name rather than its bytes (found by
// argument-dependent lookup, so outside the anonymous namespace).
void PrintTo(const Target& target, std::ostream* out);
void PrintTo(const Target& target, std::ostream* out) {
  *out << target.name;
}

namespace {

fs::path regressions_dir() {
  return fs::path(ELFPRUNE_SOURCE_DIR) / "fixtures" / "fuzz-regressions";
}

std::vector<fs::path> inputs_of(std::string_view target) {
  std::vector<fs::path> files;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(regressions_dir() / target, ec)) {
    if (entry.is_regular_file()) files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

std::string contents(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// Only targets that have regression inputs get a test: one that replays
// nothing could not fail.
std::vector<Target> targets_with_inputs() {
  std::vector<Target> out;
  for (const auto& t : kTargets) {
    if (!inputs_of(t.name).empty()) out.push_back(t);
  }
  return out;
}

class FuzzRegressions : public testing::TestWithParam<Target> {};

TEST_P(FuzzRegressions, ReplayWithoutCrashOrBrokenInvariant) {
  for (const auto& file : inputs_of(GetParam().name)) {
    SCOPED_TRACE(file.string());
    // A crash or a broken invariant aborts the test process: the test fails.
    GetParam().run(contents(file));
  }
}

INSTANTIATE_TEST_SUITE_P(Targets, FuzzRegressions, testing::ValuesIn(targets_with_inputs()),
                         [](const testing::TestParamInfo<Target>& param) {
                           return std::string(param.param.name);
                         });

// The targets of src/image/, which a build without ELFPRUNE_IMAGES does not
// have: their inputs wait for a build that does.
bool image_target(std::string_view name) {
#ifdef ELFPRUNE_IMAGES
  (void)name;
  return false;
#else
  return name == "image_config" || name == "layer";
#endif
}

// A directory named after no target would be silently skipped above.
TEST(FuzzRegressionsLayout, EveryDirectoryNamesATarget) {
  for (const auto& entry : fs::directory_iterator(regressions_dir())) {
    const std::string name = entry.path().filename().string();
    if (image_target(name)) continue;
    EXPECT_TRUE(std::any_of(kTargets.begin(), kTargets.end(),
                            [&](const Target& t) { return t.name == name; }))
        << entry.path() << " is not the directory of a fuzz target";
  }
}

}  // namespace
}  // namespace elfprune::fuzz
