// The FDO dlopen metadata note: UAPI group, specs/elf_dlopen_metadata.md.
#include "elf/dlopen_note.hpp"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

namespace elfprune {
namespace {

using nlohmann::json;

// Errors name no path: the caller knows which file the note came from.
Error note_error(std::string message) {
  return make_error("", std::move(message));
}

// An optional string member; a member of another type is an error rather
// than silently ignored, since it means the writer meant something else.
Result<std::string> optional_string(const json& object, const char* key, std::size_t index,
                                    std::string fallback) {
  auto it = object.find(key);
  if (it == object.end()) return fallback;
  if (!it->is_string()) {
    return note_error(fmt::format("dlopen note: entry {}: \"{}\" is not a string", index, key));
  }
  return it->get<std::string>();
}

Result<std::vector<std::string>> read_sonames(const json& object, std::size_t index) {
  auto it = object.find("soname");
  if (it == object.end()) {
    return note_error(fmt::format("dlopen note: entry {} has no \"soname\"", index));
  }
  std::vector<std::string> names;
  if (it->is_string()) {
    // The older single-object form.
    names.push_back(it->get<std::string>());
  } else if (it->is_array()) {
    for (const auto& name : *it) {
      if (!name.is_string()) {
        return note_error(
            fmt::format("dlopen note: entry {}: \"soname\" holds a non-string", index));
      }
      names.push_back(name.get<std::string>());
    }
  } else {
    return note_error(
        fmt::format("dlopen note: entry {}: \"soname\" is neither a string nor an array", index));
  }
  if (names.empty()) {
    return note_error(fmt::format("dlopen note: entry {}: \"soname\" is empty", index));
  }
  for (const auto& name : names) {
    if (name.empty()) {
      return note_error(fmt::format("dlopen note: entry {}: empty soname", index));
    }
  }
  return names;
}

Result<DlopenDependency> read_entry(const json& object, std::size_t index) {
  if (!object.is_object()) {
    return note_error(fmt::format("dlopen note: entry {} is not a JSON object", index));
  }
  DlopenDependency dep;
  ELFPRUNE_TRY_ASSIGN(dep.sonames, read_sonames(object, index));
  ELFPRUNE_TRY_ASSIGN(dep.feature, optional_string(object, "feature", index, ""));
  ELFPRUNE_TRY_ASSIGN(dep.description, optional_string(object, "description", index, ""));
  ELFPRUNE_TRY_ASSIGN(std::string priority,
                      optional_string(object, "priority", index, dep.priority));
  if (priority != "required" && priority != "recommended" && priority != "suggested") {
    return note_error(
        fmt::format("dlopen note: entry {}: unknown priority \"{}\"", index, priority));
  }
  dep.priority = std::move(priority);
  return dep;
}

}  // namespace

Result<std::vector<DlopenDependency>> parse_dlopen_note(std::string_view descriptor) {
  // The descriptor is NUL-terminated and padded to 4 bytes.
  if (auto nul = descriptor.find('\0'); nul != std::string_view::npos) {
    descriptor = descriptor.substr(0, nul);
  }
  if (descriptor.find_first_not_of(" \t\r\n") == std::string_view::npos) {
    return note_error("dlopen note: empty payload");
  }
  const json doc = json::parse(descriptor.begin(), descriptor.end(), nullptr, false);
  if (doc.is_discarded()) return note_error("dlopen note: payload is not valid JSON");

  std::vector<DlopenDependency> out;
  if (doc.is_object()) {
    ELFPRUNE_TRY_ASSIGN(DlopenDependency dep, read_entry(doc, 0));
    out.push_back(std::move(dep));
    return out;
  }
  if (!doc.is_array()) return note_error("dlopen note: payload is not a JSON array");
  for (std::size_t i = 0; i < doc.size(); ++i) {
    ELFPRUNE_TRY_ASSIGN(DlopenDependency dep, read_entry(doc[i], i));
    out.push_back(std::move(dep));
  }
  return out;
}

}  // namespace elfprune
