#include "write/reference_rewrite.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cstring>

namespace elfprune {
namespace {

// Bytes that continue a path name; anything else ends a reference.
bool path_byte(char c) {
  const auto u = static_cast<unsigned char>(c);
  return std::isalnum(u) != 0 || c == '.' || c == '_' || c == '-' || c == '+' || c == '?' ||
         c == '=' || u >= 0x80;
}

bool absolute_clean(std::string_view p) {
  return !p.empty() && p.front() == '/' && p.find('\0') == std::string_view::npos;
}

std::string strip_slashes(std::string_view p) {
  while (p.size() > 1 && p.back() == '/') p.remove_suffix(1);
  return std::string(p);
}

// The replacement of every reference in `bytes`.
std::string replaced(std::string_view bytes, const std::vector<Reference>& refs) {
  std::string out;
  out.reserve(bytes.size());
  std::size_t pos = 0;
  for (const auto& r : refs) {
    out.append(bytes.substr(pos, r.offset - pos));
    out.append(r.rule->to);
    pos = r.offset + r.rule->from.size();
  }
  out.append(bytes.substr(pos));
  return out;
}

struct NamedSlot {
  const char* field;
  const std::optional<ElfStringSlot>* slot;
  const std::optional<std::string>* value;
};

}  // namespace

Result<PathRewrite> parse_path_rewrite(std::string_view spec) {
  const auto eq = spec.find('=');
  if (eq == std::string_view::npos) {
    return make_error("--rewrite-ref", fmt::format("'{}' is not FROM=TO", spec), ErrorKind::Usage);
  }
  PathRewrite r{strip_slashes(spec.substr(0, eq)), strip_slashes(spec.substr(eq + 1))};
  if (!absolute_clean(r.from) || !absolute_clean(r.to) || r.from == "/" || r.to == "/") {
    return make_error("--rewrite-ref",
                      fmt::format("'{}': FROM and TO must be absolute paths other than /", spec),
                      ErrorKind::Usage);
  }
  if (r.from == r.to) {
    return make_error("--rewrite-ref", fmt::format("'{}': FROM and TO are the same", spec),
                      ErrorKind::Usage);
  }
  return r;
}

std::vector<Reference> find_references(std::string_view bytes,
                                       const std::vector<PathRewrite>& rewrites) {
  std::vector<Reference> refs;
  for (const auto& rule : rewrites) {
    std::size_t pos = 0;
    while ((pos = bytes.find(rule.from, pos)) != std::string_view::npos) {
      const std::size_t end = pos + rule.from.size();
      // A reference starts a path: not preceded by a path byte or a slash.
      const bool starts = pos == 0 || (!path_byte(bytes[pos - 1]) && bytes[pos - 1] != '/');
      const bool ends = end == bytes.size() || bytes[end] == '/' || !path_byte(bytes[end]);
      if (starts && ends) refs.push_back({pos, &rule});
      pos = end;
    }
  }
  std::sort(refs.begin(), refs.end(),
            [](const Reference& a, const Reference& b) { return a.offset < b.offset; });
  // Rules whose FROMs overlap: the first (earliest, then longest) wins.
  std::vector<Reference> kept;
  for (const auto& r : refs) {
    if (!kept.empty() && r.offset < kept.back().offset + kept.back().rule->from.size()) continue;
    kept.push_back(r);
  }
  return kept;
}

std::optional<std::string> rewritten_path(std::string_view path,
                                          const std::vector<PathRewrite>& rewrites) {
  auto refs = find_references(path, rewrites);
  if (refs.empty() || refs.front().offset != 0) return std::nullopt;
  refs.resize(1);
  return replaced(path, refs);
}

std::string_view rewrite_method_name(RewriteMethod m) {
  switch (m) {
    case RewriteMethod::Text:
      return "text";
    case RewriteMethod::SameLength:
      return "same-length";
    case RewriteMethod::ElfStrings:
      return "elf-strings";
  }
  return "?";
}

Result<void> patch_elf_string(std::string& bytes, const ElfInfo& elf, const ElfStringSlot& slot,
                              std::string_view value, std::string_view display) {
  const std::string shown(display);
  if (slot.offset > bytes.size() || slot.capacity >= bytes.size() - slot.offset) {
    return make_error(shown, "string lies outside the file");
  }
  if (value.size() > slot.capacity) {
    return make_error(shown, fmt::format("'{}' needs {} bytes where the file has {}; growing an "
                                         "ELF string needs a new segment, which elfprune does not "
                                         "write",
                                         value, value.size(), slot.capacity));
  }
  // Strings of the dynamic string table: nothing else may point inside.
  if (slot.offset >= elf.dynstr_offset && elf.dynstr_offset > 0) {
    const std::uint64_t start = slot.offset - elf.dynstr_offset;
    auto shares = [&](std::uint64_t ref) { return ref > start && ref <= start + slot.capacity; };
    const auto symbols = dynsym_name_offsets(bytes);
    if (std::any_of(elf.dynstr_refs.begin(), elf.dynstr_refs.end(), shares) ||
        std::any_of(symbols.begin(), symbols.end(), shares)) {
      return make_error(shown,
                        "another dynamic string shares the bytes of the one to change; "
                        "left as it is");
    }
  }
  char* at = bytes.data() + slot.offset;
  std::memset(at, 0, static_cast<std::size_t>(slot.capacity) + 1);
  std::memcpy(at, value.data(), value.size());
  return {};
}

Result<std::optional<RewrittenFile>> rewrite_references(std::string_view bytes, const ElfInfo* elf,
                                                        const std::vector<PathRewrite>& rewrites,
                                                        std::string_view display) {
  const auto refs = find_references(bytes, rewrites);
  if (refs.empty()) return std::optional<RewrittenFile>();
  RewrittenFile out;
  out.references = refs.size();
  const bool same_length = std::all_of(refs.begin(), refs.end(), [](const Reference& r) {
    return r.rule->from.size() == r.rule->to.size();
  });
  // Equal lengths: every occurrence, ELF or not (what Nix's own reference
  // rewriting does with hashes).
  if (same_length || (elf == nullptr && bytes.find('\0') == std::string_view::npos)) {
    out.method = same_length ? RewriteMethod::SameLength : RewriteMethod::Text;
    out.bytes = replaced(bytes, refs);
    return std::optional<RewrittenFile>(std::move(out));
  }
  if (elf == nullptr) {
    return make_error(std::string(display),
                      fmt::format("binary file with {} reference(s) to {}: its length would "
                                  "change, so it cannot be rewritten",
                                  refs.size(), refs.front().rule->from));
  }
  // ELF: references in the strings the loader reads are rewritten as
  // strings; any other reference only when the length stays the same.
  const NamedSlot slots[] = {{"PT_INTERP", &elf->interpreter_slot, &elf->interpreter},
                             {"RPATH", &elf->rpath_slot, &elf->rpath},
                             {"RUNPATH", &elf->runpath_slot, &elf->runpath}};
  auto in_slot = [&](const Reference& r) -> const NamedSlot* {
    for (const auto& s : slots) {
      if (*s.slot && r.offset >= (*s.slot)->offset &&
          r.offset + r.rule->from.size() <= (*s.slot)->offset + (*s.slot)->capacity) {
        return &s;
      }
    }
    return nullptr;
  };
  std::string result(bytes);
  for (const auto& r : refs) {
    if (in_slot(r) != nullptr) continue;
    if (r.rule->from.size() != r.rule->to.size()) {
      return make_error(
          std::string(display),
          fmt::format("reference to {} at offset {:#x} is outside PT_INTERP, RPATH and RUNPATH, "
                      "and {} has another length: it cannot be rewritten",
                      r.rule->from, r.offset, r.rule->to));
    }
    std::memcpy(result.data() + r.offset, r.rule->to.data(), r.rule->to.size());
  }
  out.method = RewriteMethod::ElfStrings;
  for (const auto& s : slots) {
    if (!*s.slot || !*s.value) continue;
    auto local = find_references(**s.value, rewrites);
    if (local.empty()) continue;
    ELFPRUNE_TRY(patch_elf_string(result, *elf, **s.slot, replaced(**s.value, local), display));
    out.fields.emplace_back(s.field);
  }
  out.bytes = std::move(result);
  return std::optional<RewrittenFile>(std::move(out));
}

std::optional<std::string> shrink_search_list(std::string_view list,
                                              const std::vector<std::string>& used) {
  std::vector<std::string> kept;
  std::string_view rest = list;
  while (true) {
    const auto colon = rest.find(':');
    const std::string element(rest.substr(0, colon));
    if (std::find(used.begin(), used.end(), element) != used.end() &&
        std::find(kept.begin(), kept.end(), element) == kept.end()) {
      kept.push_back(element);
    }
    if (colon == std::string_view::npos) break;
    rest.remove_prefix(colon + 1);
  }
  std::string shrunk = fmt::format("{}", fmt::join(kept, ":"));
  if (shrunk == list) return std::nullopt;
  return shrunk;
}

}  // namespace elfprune
