#include "image/image_source.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <unordered_map>

#include "image/archive_io.hpp"
#include "image/digest.hpp"
#include "util/dir_chain.hpp"
#include "util/fd.hpp"
#include "util/path.hpp"

namespace elfprune {
namespace {

using json = nlohmann::json;

constexpr std::size_t kMaxJson = 16u << 20;  // an index, manifest or config

constexpr std::string_view kOciIndex = "application/vnd.oci.image.index.v1+json";
constexpr std::string_view kDockerList =
    "application/vnd.docker.distribution.manifest.list.v2+json";

Result<std::string> read_small(const std::string& host, const std::string& display) {
  ELFPRUNE_TRY_ASSIGN(PreadFile f, open_regular_file(host.c_str(), display, O_NOFOLLOW));
  if (f.size() > kMaxJson) {
    return make_error(display, fmt::format("{} bytes: too large for image metadata", f.size()));
  }
  auto bytes = f.read(0, f.size());
  if (!bytes) return make_error(display, "cannot read");
  return std::move(*bytes);
}

// Deeper than any index, manifest or config: nlohmann parses and frees
// without recursion, but dump() and copies recurse, and a hostile config a
// million arrays deep would overflow the stack when written back.
constexpr int kMaxJsonDepth = 256;

Result<json> parse_json(const std::string& bytes, const std::string& where) {
  bool too_deep = false;
  json doc = json::parse(
      bytes,
      [&too_deep](int depth, json::parse_event_t /*event*/, json& /*value*/) {
        if (depth > kMaxJsonDepth) too_deep = true;
        return !too_deep;
      },
      /*allow_exceptions=*/false);
  if (too_deep)
    return make_error(where, fmt::format("nested deeper than {} levels", kMaxJsonDepth));
  if (doc.is_discarded()) return make_error(where, "not valid JSON");
  if (!doc.is_object() && !doc.is_array()) return make_error(where, "not a JSON object");
  return doc;
}

std::string string_at(const json& obj, const char* key) {
  if (!obj.is_object()) return {};
  auto it = obj.find(key);
  return it != obj.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::vector<std::string> strings_at(const json& obj, const char* key) {
  std::vector<std::string> out;
  if (!obj.is_object()) return out;
  auto it = obj.find(key);
  if (it == obj.end() || !it->is_array()) return out;
  for (const auto& v : *it) {
    if (v.is_string()) out.push_back(v.get<std::string>());
  }
  return out;
}

struct Descriptor {
  std::string media_type;
  std::string digest;
  std::uint64_t size = 0;
  std::string platform;  // os/arch[/variant], "" when not given
  std::string ref_name;
  bool attestation = false;
};

Result<Descriptor> read_descriptor(const json& d, const std::string& where) {
  if (!d.is_object()) return make_error(where, "a descriptor is not an object");
  Descriptor out;
  out.media_type = string_at(d, "mediaType");
  out.digest = string_at(d, "digest");
  if (!is_sha256_digest(out.digest)) {
    return make_error(where, fmt::format("digest '{}' is not sha256:<64 hex digits>", out.digest));
  }
  auto size = d.find("size");
  if (size == d.end() || !size->is_number_unsigned()) {
    return make_error(where, fmt::format("descriptor {} has no size", out.digest));
  }
  out.size = size->get<std::uint64_t>();
  if (auto p = d.find("platform"); p != d.end() && p->is_object()) {
    out.platform = string_at(*p, "os") + "/" + string_at(*p, "architecture");
    if (auto v = string_at(*p, "variant"); !v.empty()) out.platform += "/" + v;
    out.attestation = string_at(*p, "os") == "unknown";
  }
  if (auto a = d.find("annotations"); a != d.end() && a->is_object()) {
    out.ref_name = string_at(*a, "org.opencontainers.image.ref.name");
    if (string_at(*a, "vnd.docker.reference.type") == "attestation-manifest") {
      out.attestation = true;
    }
  }
  return out;
}

// "linux/amd64" matches "linux/amd64" and "linux/amd64/v1"; a variant asked
// for must be there.
bool platform_matches(const std::string& have, const std::string& want) {
  if (have == want) return true;
  return have.rfind(want + "/", 0) == 0;
}

class Layout {
 public:
  explicit Layout(std::string dir) : dir_(std::move(dir)) {}

  std::string blob_path(const std::string& digest) const {
    return fmt::format("{}/blobs/sha256/{}", dir_, digest_hex(digest));
  }

  // A small blob (index, manifest, config), checked against its descriptor.
  Result<std::string> read_blob(const Descriptor& d) const {
    const std::string where = fmt::format("blob {}", d.digest);
    auto bytes = read_small(blob_path(d.digest), where);
    if (!bytes && bytes.error().errnum == ENOENT)
      return make_error(where, "missing from the image");
    ELFPRUNE_TRY(bytes);
    if (bytes->size() != d.size) {
      return make_error(
          where, fmt::format("{} bytes where the descriptor says {}", bytes->size(), d.size));
    }
    if (sha256_digest(*bytes) != d.digest) {
      return make_error(where, "content does not match its digest");
    }
    return std::move(*bytes);
  }

  const std::string& dir() const { return dir_; }

 private:
  std::string dir_;
};

Result<std::vector<Descriptor>> index_manifests(const json& index, const std::string& where) {
  auto it = index.find("manifests");
  if (!index.is_object() || it == index.end() || !it->is_array()) {
    return make_error(where, "no \"manifests\" list");
  }
  std::vector<Descriptor> out;
  for (const auto& m : *it) {
    ELFPRUNE_TRY_ASSIGN(Descriptor d, read_descriptor(m, where));
    out.push_back(std::move(d));
  }
  return out;
}

bool is_index(const Descriptor& d) {
  return d.media_type == kOciIndex || d.media_type == kDockerList;
}

// The manifest for `platform` among an index's entries, descending into
// nested indexes (a tag naming a multi-platform image).
Result<Descriptor> choose_manifest(const Layout& layout, std::vector<Descriptor> manifests,
                                   const std::string& tag, const std::string& platform,
                                   const std::string& where, int depth) {
  if (depth > 4) return make_error(where, "indexes nested too deep");
  if (!tag.empty() && depth == 0) {
    std::vector<Descriptor> tagged;
    std::vector<std::string> tags;
    for (auto& d : manifests) {
      if (!d.ref_name.empty()) tags.push_back(d.ref_name);
      if (d.ref_name == tag) tagged.push_back(d);
    }
    if (tagged.empty()) {
      return make_error(
          where,
          fmt::format("no manifest tagged '{}' (tags: {})", tag,
                      tags.empty() ? "none" : fmt::format("{}", fmt::join(tags, ", "))),
          ErrorKind::Usage);
    }
    manifests = std::move(tagged);
  }
  std::vector<Descriptor> usable;
  std::vector<std::string> seen;
  for (auto& d : manifests) {
    if (d.attestation) continue;
    if (!d.platform.empty()) seen.push_back(d.platform);
    const std::string want = platform.empty() ? "linux/amd64" : platform;
    if (d.platform.empty() || platform_matches(d.platform, want)) usable.push_back(d);
  }
  if (usable.empty()) {
    return make_error(where,
                      fmt::format("no manifest for {} (platforms: {}); choose one with --platform",
                                  platform.empty() ? "linux/amd64" : platform,
                                  seen.empty() ? "none" : fmt::format("{}", fmt::join(seen, ", "))),
                      ErrorKind::Usage);
  }
  if (usable.size() > 1) {
    // Several images without platforms to tell them apart: a tag must say.
    std::size_t with_platform = 0;
    for (const auto& d : usable) with_platform += d.platform.empty() ? 0 : 1;
    if (with_platform == 0 || tag.empty()) {
      std::vector<std::string> tags;
      for (const auto& d : usable) {
        if (!d.ref_name.empty()) tags.push_back(d.ref_name);
      }
      if (with_platform == 0) {
        return make_error(
            where,
            fmt::format("{} images and no tag to choose one (tags: {})", usable.size(),
                        tags.empty() ? "none" : fmt::format("{}", fmt::join(tags, ", "))),
            ErrorKind::Usage);
      }
    }
  }
  Descriptor chosen = usable.front();
  if (is_index(chosen)) {
    ELFPRUNE_TRY_ASSIGN(std::string bytes, layout.read_blob(chosen));
    const std::string inner = fmt::format("index {}", chosen.digest);
    ELFPRUNE_TRY_ASSIGN(json doc, parse_json(bytes, inner));
    ELFPRUNE_TRY_ASSIGN(auto list, index_manifests(doc, inner));
    return choose_manifest(layout, std::move(list), "", platform, inner, depth + 1);
  }
  return chosen;
}

Result<void> read_config(ImageSource& src, const std::string& where) {
  std::vector<std::string> diff_ids;
  ELFPRUNE_TRY_ASSIGN(src.run, parse_image_config(src.config, &diff_ids, &src.platform, where));
  if (diff_ids.size() != src.layers.size()) {
    return make_error(where,
                      fmt::format("{} diff_ids for {} layers", diff_ids.size(), src.layers.size()));
  }
  for (std::size_t i = 0; i < diff_ids.size(); ++i) {
    if (!is_sha256_digest(diff_ids[i])) {
      return make_error(where,
                        fmt::format("diff_id '{}' is not sha256:<64 hex digits>", diff_ids[i]));
    }
    src.layers[i].diff_id = diff_ids[i];
  }
  return {};
}

void check_platform(ImageSource& src, const std::string& platform) {
  const std::string want = platform.empty() ? "linux/amd64" : platform;
  if (!src.platform.empty() && !platform_matches(src.platform, want)) {
    src.warnings.push_back(
        fmt::format("{}: the image is {}, not {}", src.ref.text, src.platform, want));
  }
}

Result<ImageSource> open_layout(const ImageReference& ref, const std::string& dir,
                                const std::string& platform) {
  ImageSource src;
  src.ref = ref;
  Layout layout(dir);
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) return errno_error(dir, errno, ErrorKind::Usage);
  if (!S_ISDIR(st.st_mode))
    return make_error(dir, "not a directory (an OCI layout is one)", ErrorKind::Usage);
  if (::access((dir + "/oci-layout").c_str(), F_OK) != 0) {
    return make_error(dir, "not an OCI image layout (no oci-layout file)", ErrorKind::Input);
  }
  const std::string index_where = fmt::format("{}: index.json", ref.text);
  ELFPRUNE_TRY_ASSIGN(std::string index_bytes, read_small(dir + "/index.json", index_where));
  ELFPRUNE_TRY_ASSIGN(json index, parse_json(index_bytes, index_where));
  ELFPRUNE_TRY_ASSIGN(auto manifests, index_manifests(index, index_where));
  ELFPRUNE_TRY_ASSIGN(Descriptor chosen, choose_manifest(layout, std::move(manifests), ref.tag,
                                                         platform, index_where, 0));
  src.tag = ref.tag.empty() ? chosen.ref_name : ref.tag;
  const std::string mwhere = fmt::format("{}: manifest {}", ref.text, chosen.digest);
  ELFPRUNE_TRY_ASSIGN(src.manifest, layout.read_blob(chosen));
  ELFPRUNE_TRY_ASSIGN(json manifest, parse_json(src.manifest, mwhere));
  if (!manifest.is_object() || !manifest.contains("config")) {
    return make_error(mwhere, "not an image manifest (no config)");
  }
  ELFPRUNE_TRY_ASSIGN(Descriptor config, read_descriptor(manifest["config"], mwhere));
  src.config_digest = config.digest;
  auto layers = manifest.find("layers");
  if (layers == manifest.end() || !layers->is_array()) return make_error(mwhere, "no layers list");
  for (const auto& l : *layers) {
    ELFPRUNE_TRY_ASSIGN(Descriptor d, read_descriptor(l, mwhere));
    LayerBlob blob;
    blob.file = layout.blob_path(d.digest);
    blob.name = d.digest;
    blob.digest = d.digest;
    blob.size = d.size;
    blob.media_type = d.media_type;
    src.layers.push_back(std::move(blob));
  }
  ELFPRUNE_TRY_ASSIGN(src.config, layout.read_blob(config));
  ELFPRUNE_TRY(read_config(src, fmt::format("{}: config {}", ref.text, config.digest)));
  check_platform(src, platform);
  return src;
}

// An archive's members as files under `scratch`; symbolic links between
// members (legacy docker-archive layer.tar links) remembered, not made.
class UnpackedArchive {
 public:
  Result<void> unpack(const std::string& file, const std::string& scratch,
                      const std::string& what) {
    ArchiveReader a(archive_read_new());
    archive_read_support_format_tar(a.get());
    support_image_filters(a.get());
    if (archive_read_open_filename(a.get(), file.c_str(), 1 << 16) != ARCHIVE_OK) {
      int err = archive_errno(a.get());
      if (err == ENOENT) return errno_error(file, err, ErrorKind::Usage);
      return make_error(file, fmt::format("cannot read {}: {}", what, archive_message(a.get())));
    }
    Fd base(::open(scratch.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!base.ok()) return errno_error(scratch, errno, ErrorKind::Failed);
    DirChain chain(base.get());
    archive_entry* e = nullptr;
    int r = 0;
    std::string buf(1 << 16, '\0');
    while ((r = archive_read_next_header(a.get(), &e)) == ARCHIVE_OK || r == ARCHIVE_WARN) {
      const std::string raw = archive_entry_pathname(e) != nullptr ? archive_entry_pathname(e) : "";
      auto name = member_path(raw);
      if (!name)
        return make_error(file, fmt::format("{} member '{}': {}", what, raw, name.error().message));
      if (name->empty()) continue;
      const auto type = archive_entry_filetype(e);
      if (archive_entry_hardlink(e) != nullptr) {
        auto target = member_path(archive_entry_hardlink(e));
        if (target && !target->empty()) links_[*name] = "/" + *target;
        continue;
      }
      if (type == AE_IFLNK) {
        const char* t = archive_entry_symlink(e);
        if (t != nullptr) {
          std::string dir = "/";
          dir += path_parent(*name);
          links_[*name] = lexically_absolute(t, dir);
        }
        continue;
      }
      if (type != AE_IFREG) continue;
      auto comps = path_components(*name);
      auto step = chain.open(comps, comps.size() - 1, &created_);
      if (step.err != 0) {
        return make_error(
            file, fmt::format("{} member '{}': {}", what, raw, chain_message(chain, comps, step)));
      }
      ::unlinkat(step.fd, comps.back().c_str(), 0);
      // O_PATH chain fds cannot be written through: reopen by the full path
      // below the scratch directory, which holds nothing but what we made.
      const std::string host = scratch + "/" + *name;
      Fd out(::open(host.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
      if (!out.ok()) return errno_error(host, errno, ErrorKind::Failed);
      for (;;) {
        la_ssize_t n = archive_read_data(a.get(), buf.data(), buf.size());
        if (n < 0)
          return make_error(file,
                            fmt::format("{} member '{}': {}", what, raw, archive_message(a.get())));
        if (n == 0) break;
        ELFPRUNE_TRY(
            write_all(out.get(), std::string_view(buf.data(), static_cast<std::size_t>(n)), host));
      }
      files_.insert({*name, host});
    }
    if (r != ARCHIVE_EOF) {
      return make_error(file, fmt::format("cannot read {}: {}", what, archive_message(a.get())));
    }
    return {};
  }

  // The host file of a member named by the archive's own metadata, links
  // followed inside the archive.
  std::optional<std::string> find(const std::string& member) const {
    std::string p = lexically_absolute(member, "/");
    for (int hops = 0; hops < 40; ++hops) {
      if (auto f = files_.find(p.substr(1)); f != files_.end()) return f->second;
      auto l = links_.find(p.substr(1));
      if (l == links_.end()) return std::nullopt;
      p = l->second;
    }
    return std::nullopt;
  }

 private:
  std::vector<std::size_t> created_;
  std::unordered_map<std::string, std::string> files_;  // member → host path
  std::unordered_map<std::string, std::string> links_;  // member → "/target"
};

Result<ImageSource> open_docker_archive(const ImageReference& ref, const std::string& platform,
                                        const std::string& scratch) {
  UnpackedArchive ar;
  ELFPRUNE_TRY(ar.unpack(ref.path, scratch, "docker-archive"));
  const std::string where = fmt::format("{}: manifest.json", ref.text);
  auto mfile = ar.find("manifest.json");
  if (!mfile) return make_error(ref.path, "not a docker-archive (no manifest.json)");
  ELFPRUNE_TRY_ASSIGN(std::string mbytes, read_small(*mfile, where));
  ELFPRUNE_TRY_ASSIGN(json doc, parse_json(mbytes, where));
  if (!doc.is_array() || doc.empty()) return make_error(where, "not a list of images");
  const json* chosen = nullptr;
  std::vector<std::string> tags;
  for (const auto& image : doc) {
    auto repo_tags = strings_at(image, "RepoTags");
    tags.insert(tags.end(), repo_tags.begin(), repo_tags.end());
    if (ref.tag.empty()) continue;
    for (const auto& t : repo_tags) {
      if (t == ref.tag || t == "docker.io/" + ref.tag || t == "docker.io/library/" + ref.tag ||
          t == "localhost/" + ref.tag) {
        chosen = &image;
      }
    }
  }
  if (ref.tag.empty()) {
    if (doc.size() > 1) {
      return make_error(where,
                        fmt::format("{} images; name one as FILE:NAME:TAG (tags: {})", doc.size(),
                                    fmt::join(tags, ", ")),
                        ErrorKind::Usage);
    }
    chosen = &doc.front();
  }
  if (chosen == nullptr) {
    return make_error(where,
                      fmt::format("no image tagged '{}' (tags: {})", ref.tag,
                                  tags.empty() ? "none" : fmt::format("{}", fmt::join(tags, ", "))),
                      ErrorKind::Usage);
  }
  ImageSource src;
  src.ref = ref;
  auto repo_tags = strings_at(*chosen, "RepoTags");
  src.tag = ref.tag.empty() && !repo_tags.empty() ? repo_tags.front() : ref.tag;
  const std::string config_name = string_at(*chosen, "Config");
  auto config_file = ar.find(config_name);
  if (config_name.empty() || !config_file) {
    return make_error(where, fmt::format("config '{}' is missing from the archive", config_name));
  }
  const std::string cwhere = fmt::format("{}: {}", ref.text, config_name);
  ELFPRUNE_TRY_ASSIGN(src.config, read_small(*config_file, cwhere));
  src.config_digest = sha256_digest(src.config);
  // Where the name says what the digest is (legacy "<hex>.json", Docker
  // 25's "blobs/sha256/<hex>"), it must be it.
  std::string named = std::string(path_base(config_name));
  if (named.size() == 69 && named.substr(64) == ".json")
    named = "sha256:" + named.substr(0, 64);
  else
    named = "sha256:" + named;
  if (is_sha256_digest(named) && named != src.config_digest) {
    return make_error(cwhere, "content does not match its digest");
  }
  for (const auto& layer : strings_at(*chosen, "Layers")) {
    auto file = ar.find(layer);
    if (!file)
      return make_error(where, fmt::format("layer '{}' is missing from the archive", layer));
    LayerBlob blob;
    blob.file = *file;
    blob.name = layer;
    if (layer.rfind("blobs/sha256/", 0) == 0 && is_sha256_digest("sha256:" + layer.substr(13))) {
      blob.digest = "sha256:" + layer.substr(13);
    }
    src.layers.push_back(std::move(blob));
  }
  ELFPRUNE_TRY(read_config(src, cwhere));
  check_platform(src, platform);
  json manifest = {{"schemaVersion", 2}};
  src.manifest = manifest.dump();
  return src;
}

}  // namespace

Result<ImageRunConfig> parse_image_config(const std::string& bytes,
                                          std::vector<std::string>* diff_ids, std::string* platform,
                                          const std::string& where) {
  ELFPRUNE_TRY_ASSIGN(json doc, parse_json(bytes, where));
  if (!doc.is_object()) return make_error(where, "not a JSON object");
  ImageRunConfig run;
  if (auto c = doc.find("config"); c != doc.end() && c->is_object()) {
    run.entrypoint = strings_at(*c, "Entrypoint");
    run.cmd = strings_at(*c, "Cmd");
    run.env = strings_at(*c, "Env");
    run.working_dir = string_at(*c, "WorkingDir");
    run.user = string_at(*c, "User");
  }
  if (platform != nullptr) {
    *platform = string_at(doc, "os") + "/" + string_at(doc, "architecture");
    if (auto v = string_at(doc, "variant"); !v.empty()) *platform += "/" + v;
    if (*platform == "/") platform->clear();
  }
  if (diff_ids != nullptr) {
    auto rootfs = doc.find("rootfs");
    if (rootfs == doc.end() || !rootfs->is_object()) return make_error(where, "no rootfs");
    *diff_ids = strings_at(*rootfs, "diff_ids");
  }
  return run;
}

Result<ImageSource> open_image(const ImageReference& ref, const std::string& platform,
                               const std::string& scratch) {
  ELFPRUNE_TRY(load_image_libraries());
  switch (ref.transport) {
    case ImageTransport::Oci:
      return open_layout(ref, ref.path, platform);
    case ImageTransport::OciArchive: {
      UnpackedArchive ar;
      ELFPRUNE_TRY(ar.unpack(ref.path, scratch, "oci-archive"));
      return open_layout(ref, scratch, platform);
    }
    case ImageTransport::DockerArchive:
      return open_docker_archive(ref, platform, scratch);
  }
  return make_error(ref.text, "unknown transport");
}

}  // namespace elfprune
