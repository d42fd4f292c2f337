#include "loader/deps_report.hpp"

#include <fmt/format.h>

#include <map>
#include <nlohmann/json.hpp>

namespace elfprune {

std::string render_deps_json(const DepsReport& report) {
  nlohmann::ordered_json doc;
  doc["root"] = report.root;
  doc["objects"] = nlohmann::ordered_json::array();
  for (const Resolution& r : report.objects) {
    nlohmann::ordered_json obj;
    obj["file"] = r.file;
    obj["realpath"] = r.realpath;
    obj["interpreter"] = r.interpreter ? nlohmann::ordered_json(*r.interpreter) : nullptr;
    obj["interpreter_implied"] = r.interpreter_implied;
    obj["loader"] = r.flavor == LoaderFlavor::Musl ? "musl" : "glibc";
    auto& libs = obj["libraries"] = nlohmann::ordered_json::array();
    for (const LoadedLibrary& l : r.libraries) {
      libs.push_back({{"name", l.name},
                      {"path", l.path},
                      {"realpath", l.realpath},
                      {"needed_by", l.needed_by},
                      {"via", std::string(via_name(l.via))}});
    }
    auto& missing = obj["missing"] = nlohmann::ordered_json::array();
    for (const MissingLibrary& m : r.missing) {
      missing.push_back({{"name", m.name},
                         {"needed_by", m.needed_by},
                         {"reason", m.reason},
                         {"searched", m.searched}});
    }
    auto& versions = obj["missing_versions"] = nlohmann::ordered_json::array();
    for (const MissingVersion& v : r.missing_versions) {
      versions.push_back(
          {{"version", v.version}, {"library", v.library}, {"needed_by", v.needed_by}});
    }
    if (r.bound) {
      auto& undefined = obj["undefined"] = nlohmann::ordered_json::array();
      for (const UndefinedSymbol& u : r.undefined) {
        undefined.push_back({{"symbol", u.symbol},
                             {"version", u.version.empty() ? nlohmann::ordered_json(nullptr)
                                                           : nlohmann::ordered_json(u.version)},
                             {"library", u.library.empty() ? nlohmann::ordered_json(nullptr)
                                                           : nlohmann::ordered_json(u.library)},
                             {"needed_by", u.needed_by},
                             {"library_unversioned", u.library_unversioned}});
      }
    }
    obj["warnings"] = r.warnings;
    doc["objects"].push_back(std::move(obj));
  }
  auto& errors = doc["errors"] = nlohmann::ordered_json::array();
  for (const Error& e : report.errors) errors.push_back({{"path", e.path}, {"error", e.message}});
  // Paths from a tree need not be UTF-8: replace invalid bytes, never throw.
  return doc.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
}

namespace {

void render_children(std::string& out, const Resolution& r, const std::string& parent, int depth,
                     std::map<std::string, bool>& shown) {
  const std::string indent(static_cast<std::size_t>(depth) * 4, ' ');
  for (const LoadedLibrary& l : r.libraries) {
    if (l.needed_by != parent) continue;
    std::string where = l.path == l.realpath ? l.path : fmt::format("{} -> {}", l.path, l.realpath);
    out += fmt::format("{}{} => {} [{}]\n", indent, l.name, where, via_name(l.via));
    // An object's own dependencies are shown once, under its first load.
    if (l.via == Via::Loaded || shown[l.path]) continue;
    shown[l.path] = true;
    render_children(out, r, l.path, depth + 1, shown);
  }
  for (const MissingLibrary& m : r.missing) {
    if (m.needed_by != parent) continue;
    out += fmt::format("{}{} => not found ({})\n", indent, m.name, m.reason);
    for (const auto& s : m.searched) out += fmt::format("{}    tried {}\n", indent, s);
  }
}

}  // namespace

std::string render_deps_text(const DepsReport& report) {
  std::string out;
  for (const Resolution& r : report.objects) {
    std::string head = r.file;
    if (r.realpath != r.file) head += fmt::format(" -> {}", r.realpath);
    if (r.interpreter) {
      head += fmt::format(" (interpreter {}{})", *r.interpreter,
                          r.interpreter_implied ? ", implied" : "");
    }
    out += head + "\n";
    std::map<std::string, bool> shown;
    render_children(out, r, r.file, 1, shown);
    for (const auto& v : r.missing_versions) {
      out += fmt::format("    version {} not found in {} ({}), required by {}\n", v.version,
                         v.library, v.found_at, v.needed_by);
    }
    if (r.bound && !r.undefined.empty()) {
      out += fmt::format("    {} undefined symbol{}:\n", r.undefined.size(),
                         r.undefined.size() == 1 ? "" : "s");
      std::string last;
      for (const auto& u : r.undefined) {
        if (u.needed_by != last) out += fmt::format("      in {}:\n", u.needed_by);
        last = u.needed_by;
        std::string what = u.symbol;
        if (!u.version.empty()) what += fmt::format("@{} ({})", u.version, u.library);
        if (u.library_unversioned)
          what += ": that library has no version information (the loader stops)";
        out += fmt::format("        {}\n", what);
      }
    } else if (r.bound) {
      out += "    every symbol binds\n";
    }
    for (const auto& w : r.warnings) out += fmt::format("    warning: {}\n", w);
  }
  return out;
}

}  // namespace elfprune
