#include "image/digest.hpp"

#include <gtest/gtest.h>

#include <string>

namespace elfprune {
namespace {

// FIPS 180-2's test vectors.
constexpr const char* kEmpty =
    "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
constexpr const char* kAbc =
    "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

TEST(Digest, Sha256OfNothing) {
  EXPECT_EQ(sha256_digest(""), kEmpty);
}

TEST(Digest, Sha256OfAbc) {
  EXPECT_EQ(sha256_digest("abc"), kAbc);
}

TEST(Digest, IncrementalUpdatesGiveTheSameDigest) {
  Sha256 h;
  h.update("a");
  h.update("");
  h.update("bc");
  EXPECT_EQ(h.digest(), kAbc);
}

TEST(Digest, Sha256OfAMillionAs) {
  Sha256 h;
  const std::string chunk(1000, 'a');
  for (int i = 0; i < 1000; ++i) h.update(chunk);
  EXPECT_EQ(h.digest(), "sha256:cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Digest, AcceptsLowerCaseSha256) {
  EXPECT_TRUE(is_sha256_digest(kEmpty));
  EXPECT_TRUE(is_sha256_digest(kAbc));
  EXPECT_EQ(digest_hex(kAbc), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Digest, RefusesAnythingElse) {
  const std::string hex = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
  EXPECT_FALSE(is_sha256_digest(""));
  EXPECT_FALSE(is_sha256_digest(hex));                        // no algorithm
  EXPECT_FALSE(is_sha256_digest("sha256:"));                  // no hex
  EXPECT_FALSE(is_sha256_digest("sha256:" + hex.substr(1)));  // 63 digits
  EXPECT_FALSE(is_sha256_digest("sha256:" + hex + "0"));      // 65 digits
  EXPECT_FALSE(is_sha256_digest("sha512:" + hex));            // another algorithm
  EXPECT_FALSE(is_sha256_digest("SHA256:" + hex));            // upper-case algorithm
  std::string upper = hex;
  upper[0] = 'B';
  EXPECT_FALSE(is_sha256_digest("sha256:" + upper));  // upper-case hex
  EXPECT_FALSE(is_sha256_digest("sha256:" + hex.substr(0, 63) + "g"));
  EXPECT_FALSE(is_sha256_digest("sha256:../../../../etc/passwd" + hex.substr(28)));
  EXPECT_FALSE(is_sha256_digest("sha256:" + hex.substr(0, 63) + "/"));
}

}  // namespace
}  // namespace elfprune
