#include "image/reference.hpp"

#include <gtest/gtest.h>

#include <string>

namespace elfprune {
namespace {

ImageReference parse_ok(std::string_view text) {
  auto r = parse_image_reference(text);
  EXPECT_TRUE(r.ok()) << text << ": " << (r.ok() ? "" : r.error().message);
  return r.ok() ? *r : ImageReference{};
}

TEST(Reference, OciDirectory) {
  ImageReference r = parse_ok("oci:/tmp/layout");
  EXPECT_EQ(r.transport, ImageTransport::Oci);
  EXPECT_EQ(r.path, "/tmp/layout");
  EXPECT_EQ(r.tag, "");
  EXPECT_EQ(r.text, "oci:/tmp/layout");
}

TEST(Reference, OciDirectoryWithTag) {
  ImageReference r = parse_ok("oci:layout:v1.2");
  EXPECT_EQ(r.transport, ImageTransport::Oci);
  EXPECT_EQ(r.path, "layout");
  EXPECT_EQ(r.tag, "v1.2");
}

TEST(Reference, OciArchive) {
  ImageReference r = parse_ok("oci-archive:./image.tar");
  EXPECT_EQ(r.transport, ImageTransport::OciArchive);
  EXPECT_EQ(r.path, "./image.tar");
  EXPECT_EQ(r.tag, "");
}

TEST(Reference, OciArchiveWithTag) {
  ImageReference r = parse_ok("oci-archive:image.tar:latest");
  EXPECT_EQ(r.transport, ImageTransport::OciArchive);
  EXPECT_EQ(r.path, "image.tar");
  EXPECT_EQ(r.tag, "latest");
}

TEST(Reference, DockerArchive) {
  ImageReference r = parse_ok("docker-archive:/srv/app.tar");
  EXPECT_EQ(r.transport, ImageTransport::DockerArchive);
  EXPECT_EQ(r.path, "/srv/app.tar");
  EXPECT_EQ(r.tag, "");
}

TEST(Reference, DockerArchiveWithNameAndTag) {
  ImageReference r = parse_ok("docker-archive:app.tar:example/app:1.0");
  EXPECT_EQ(r.transport, ImageTransport::DockerArchive);
  EXPECT_EQ(r.path, "app.tar");
  EXPECT_EQ(r.tag, "example/app:1.0");
}

TEST(Reference, TransportNames) {
  EXPECT_EQ(transport_name(ImageTransport::Oci), "oci");
  EXPECT_EQ(transport_name(ImageTransport::OciArchive), "oci-archive");
  EXPECT_EQ(transport_name(ImageTransport::DockerArchive), "docker-archive");
}

TEST(Reference, EmptyPathIsAUsageError) {
  for (const char* text : {"oci:", "oci-archive:", "docker-archive:", "oci::tag"}) {
    auto r = parse_image_reference(text);
    ASSERT_FALSE(r.ok()) << text;
    EXPECT_EQ(r.error().kind, ErrorKind::Usage) << text;
    EXPECT_EQ(r.error().path, text);
  }
}

TEST(Reference, EmptyTagIsAUsageError) {
  auto r = parse_image_reference("oci:layout:");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::Usage);
}

TEST(Reference, DockerArchiveTagWithoutColonIsAUsageError) {
  auto r = parse_image_reference("docker-archive:app.tar:latest");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::Usage);
  EXPECT_NE(r.error().message.find("NAME:TAG"), std::string::npos) << r.error().message;
}

TEST(Reference, AnythingElseIsNotAReference) {
  auto r = parse_image_reference("/srv/rootfs");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::Usage);
}

TEST(Reference, IsImageReferenceByPrefixOnly) {
  EXPECT_TRUE(is_image_reference("oci:x"));
  EXPECT_TRUE(is_image_reference("oci:"));
  EXPECT_TRUE(is_image_reference("oci-archive:x.tar"));
  EXPECT_TRUE(is_image_reference("docker-archive:x.tar"));
  EXPECT_FALSE(is_image_reference(""));
  EXPECT_FALSE(is_image_reference("oci"));
  EXPECT_FALSE(is_image_reference("/srv/rootfs"));
  EXPECT_FALSE(is_image_reference("./oci:x"));
  EXPECT_FALSE(is_image_reference("docker:x"));
  EXPECT_FALSE(is_image_reference("OCI:x"));
}

}  // namespace
}  // namespace elfprune
