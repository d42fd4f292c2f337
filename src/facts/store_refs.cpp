#include "facts/store_refs.hpp"

#include "facts/pathrefs.hpp"

namespace elfprune {

StoreReferences::StoreReferences(std::string store_dir) : store_dir_(std::move(store_dir)) {
  while (store_dir_.size() > 1 && store_dir_.back() == '/') store_dir_.pop_back();
}

bool StoreReferences::in_store(std::string_view path) const {
  return path.size() > store_dir_.size() + 1 && path.substr(0, store_dir_.size()) == store_dir_ &&
         path[store_dir_.size()] == '/';
}

void StoreReferences::add(const std::string& path, std::string_view bytes, std::uint64_t size,
                          bool kept) {
  // The file's own store path: <store>/<hash>-<name>/...
  const auto own_end = path.find('/', store_dir_.size() + 1);
  const std::string_view own = std::string_view(path).substr(0, own_end);
  for (auto& p : scan_store_paths(bytes, store_dir_)) {
    if (p == own) continue;
    StoreReference& r = refs_[p];
    r.store_path = p;
    if (kept) {
      r.kept_by.push_back(path);
      r.kept_bytes += size;
    } else {
      r.removed_by.push_back(path);
    }
  }
}

std::vector<StoreReference> StoreReferences::result() const {
  std::vector<StoreReference> out;
  for (const auto& [path, ref] : refs_) {
    StoreReference r = ref;
    if (r.kept_by.empty()) {
      r.flag = "only-removed-files";
    } else if (r.kept_by.size() == 1 && r.kept_bytes < kSmallReferrer) {
      r.flag = "one-small-file";
    }
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace elfprune
