#include "prune/image_prune.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>

#include "image/reference.hpp"
#include "util/path.hpp"
#include "util/remove_tree.hpp"

namespace elfprune {

namespace {

// The bytes an image's files take as given: an archive's size, or a
// layout's blobs.
std::uint64_t input_bytes(const ImageReference& ref) {
  struct stat st {};
  if (ref.transport != ImageTransport::Oci) {
    return ::stat(ref.path.c_str(), &st) == 0 ? static_cast<std::uint64_t>(st.st_size) : 0;
  }
  std::uint64_t total = 0;
  const std::string blobs = ref.path + "/blobs/sha256";
  if (DIR* d = ::opendir(blobs.c_str())) {
    while (dirent* de = ::readdir(d)) {
      if (::fstatat(::dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode)) {
        total += static_cast<std::uint64_t>(st.st_size);
      }
    }
    ::closedir(d);
  }
  return total;
}

// Where the staging tree goes: $TMPDIR when set; otherwise memory
// (/dev/shm) when it has room for four times the input (unpacked layers
// are commonly 2-3 times their gzip blobs) plus 1 GiB to spare, as a disk
// costs the writes and, mounted with discard, seconds to delete them;
// otherwise /var/tmp.
std::string staging_parent(const ImageReference& ref) {
  if (const char* tmp = std::getenv("TMPDIR"); tmp != nullptr && *tmp != '\0') return tmp;
  struct statfs fs {};
  if (::statfs("/dev/shm", &fs) == 0 && fs.f_type == TMPFS_MAGIC &&
      ::access("/dev/shm", W_OK) == 0) {
    const auto free_bytes =
        static_cast<std::uint64_t>(fs.f_bavail) * static_cast<std::uint64_t>(fs.f_bsize);
    if (free_bytes > 4 * input_bytes(ref) + (std::uint64_t{1} << 30)) return "/dev/shm";
  }
  return "/var/tmp";
}

}  // namespace

Result<std::unique_ptr<ImageWorkspace>> ImageWorkspace::open(
    const std::string& reference, const std::string& platform,
    const std::function<void(std::string_view, std::size_t, std::size_t)>& progress) {
  ELFPRUNE_TRY_ASSIGN(ImageReference ref, parse_image_reference(reference));
  const std::string base = staging_parent(ref);
  remove_stale(base, "elfprune-image-");
  std::string tmpl = temp_template(base, "elfprune-image-");
  if (::mkdtemp(tmpl.data()) == nullptr) return errno_error(tmpl, errno, ErrorKind::Failed);
  std::unique_ptr<ImageWorkspace> ws(new ImageWorkspace());
  ws->dir_ = tmpl;
  const std::string scratch = tmpl + "/scratch";
  const std::string rootfs = tmpl + "/rootfs";
  if (::mkdir(scratch.c_str(), 0700) != 0 || ::mkdir(rootfs.c_str(), 0755) != 0) {
    return errno_error(tmpl, errno, ErrorKind::Failed);
  }
  if (progress) progress("read image", 0, 0);
  ELFPRUNE_TRY_ASSIGN(ws->source_, open_image(ref, platform, scratch));
  ELFPRUNE_TRY_ASSIGN(ws->tree_,
                      apply_layers(ws->source_, rootfs, [&](std::size_t done, std::size_t total) {
                        if (progress) progress("layers", done, total);
                      }));
  return ws;
}

ImageWorkspace::~ImageWorkspace() {
  if (!dir_.empty()) remove_tree(dir_);
}

namespace {

std::string relative(std::string_view inside) {
  return std::string(inside.size() > 1 ? inside.substr(1) : std::string_view());
}

std::string_view layer_mode_name(LayerMode m) {
  return m == LayerMode::Squash ? "squash" : "keep";
}

void fill_layers(ImageReport& r, const ImageWorkspace& ws,
                 const std::unordered_set<std::string>& removed) {
  const auto& src = ws.source();
  const auto& tree = ws.tree();
  r.layers.resize(tree.layers.size());
  for (std::size_t i = 0; i < tree.layers.size(); ++i) {
    r.layers[i].digest = tree.layers[i].digest;
    r.layers[i].diff_id = tree.layers[i].diff_id;
    r.layers[i].blob_size = tree.layers[i].blob_size;
    r.layers[i].bytes = tree.layers[i].file_bytes;
    r.input_bytes += tree.layers[i].blob_size;
  }
  r.input_bytes += src.config.size() + src.manifest.size();
  for (const auto& p : removed) {
    auto it = tree.nodes.find(p);
    if (it == tree.nodes.end() || it->second.meta.type != TarType::Regular ||
        !it->second.hardlink.empty()) {
      continue;
    }
    auto& l = r.layers[it->second.layer];
    l.removed_files += 1;
    l.removed_bytes += it->second.meta.size;
    l.largest.push_back({"/" + p, it->second.meta.size});
  }
  for (auto& l : r.layers) {
    std::sort(l.largest.begin(), l.largest.end(), [](const auto& a, const auto& b) {
      return std::tie(b.bytes, a.path) < std::tie(a.bytes, b.path);
    });
    if (l.largest.size() > 5) l.largest.resize(5);
  }
}

}  // namespace

Result<ImagePrune> prune_image(PruneOptions options, const ImageOptions& image, bool plan_only) {
  const std::string reference = options.root;
  std::optional<ImageReference> out;
  if (!image.out.empty()) {
    ELFPRUNE_TRY_ASSIGN(ImageReference o, parse_image_reference(image.out));
    ELFPRUNE_TRY(check_image_output(o));
    out = std::move(o);
  }
  ImagePrune result;
  const auto read_start = std::chrono::steady_clock::now();
  ELFPRUNE_TRY_ASSIGN(result.workspace,
                      ImageWorkspace::open(reference, image.platform, options.progress));
  const std::chrono::duration<double> read_took = std::chrono::steady_clock::now() - read_start;
  const ImageWorkspace& ws = *result.workspace;
  auto report = std::make_shared<ImageReport>();
  report->input = reference;
  report->output = image.out;
  report->platform = ws.source().platform;
  report->notes = ws.source().warnings;
  report->notes.insert(report->notes.end(), ws.tree().warnings.begin(), ws.tree().warnings.end());
  if (image.config_entries) {
    Root root(ws.root());
    ConfigEntries from_config = entries_from_config(ws.source().run, root);
    for (auto& e : from_config.entries) {
      report->entries.push_back({e.path, e.from});
      if (std::find(options.entries.begin(), options.entries.end(), e.path) ==
          options.entries.end()) {
        options.entries.push_back(e.path);
      }
    }
    report->notes.insert(report->notes.end(), from_config.notes.begin(), from_config.notes.end());
  }
  for (const auto& e : options.entries) {
    const bool from_config = std::any_of(report->entries.begin(), report->entries.end(),
                                         [&](const auto& c) { return c.path == e; });
    if (!from_config) report->entries.push_back({e, "--entry"});
  }
  options.root = ws.root();
  options.sysroot.clear();
  const bool edits = !options.rewrites.empty() || options.shrink_rpath;
  // The staging tree is ours: edits are made in it (in place), and with
  // none the plan alone says what the new image leaves out.
  options.mode = !plan_only && out && edits ? EmitMode::InPlace : EmitMode::DryRun;
  if (plan_only) {
    ELFPRUNE_TRY_ASSIGN(result.context, plan_prune(std::move(options)));
  } else {
    ELFPRUNE_TRY_ASSIGN(result.context, prune(std::move(options)));
  }
  PruneContext& ctx = *result.context;
  ctx.timings.insert(ctx.timings.begin(), PassTiming{"read image", read_took.count()});
  std::unordered_set<std::string> removed;
  for (std::size_t i = 0; i < ctx.inventory.entries.size() && i < ctx.plan.decisions.size(); ++i) {
    if (!ctx.plan.decisions[i].keep) removed.insert(relative(ctx.inventory.entries[i].path));
  }
  std::unordered_set<std::string> edited;
  for (const auto& e : ctx.edited.edits) edited.insert(relative(e.path));
  fill_layers(*report, ws, removed);
  ctx.report.root = reference;
  if (out) {
    report->layer_mode = std::string(layer_mode_name(image.layers));
    ctx.report.mode = "out";
    ctx.report.out_dir = image.out;
    if (!ctx.report.problems.empty()) {
      ctx.report.warnings.push_back(
          fmt::format("the result failed verification: {} was not written", image.out));
    } else {
      ImageWriteOptions wo;
      wo.out = *out;
      wo.layers = image.layers;
      wo.compression = image.compression;
      wo.source_date_epoch = image.source_date_epoch;
      wo.created_by = image.created_by;
      if (ctx.options.progress) ctx.options.progress("write image", 0, 0);
      const auto write_start = std::chrono::steady_clock::now();
      ELFPRUNE_TRY_ASSIGN(WrittenImage written,
                          write_image(ws.source(), ws.tree(), removed, edited, wo));
      const std::chrono::duration<double> write_took =
          std::chrono::steady_clock::now() - write_start;
      ctx.timings.push_back(PassTiming{"write image", write_took.count()});
      report->output_manifest = written.manifest_digest;
      report->output_bytes = written.bytes;
      for (const auto& l : written.layers)
        report->output_layers.push_back({l.digest, l.size, l.reused});
    }
  }
  ctx.report.image = report;
  return result;
}

}  // namespace elfprune
