#include "prune/report.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>

namespace elfprune {

std::string human_bytes(std::uint64_t bytes) {
  if (bytes < 1000) return fmt::format("{} B", bytes);
  const char* units[] = {"kB", "MB", "GB", "TB"};
  double v = static_cast<double>(bytes);
  int u = -1;
  while (v >= 1000 && u < 3) {
    v /= 1000;
    ++u;
  }
  return v < 10 ? fmt::format("{:.1f} {}", v, units[u]) : fmt::format("{:.0f} {}", v, units[u]);
}

namespace {

std::string percent(std::uint64_t part, std::uint64_t whole) {
  if (whole == 0) return "-";
  return fmt::format("{:.1f}%", 100.0 * static_cast<double>(part) / static_cast<double>(whole));
}

void largest(std::string& out, const std::vector<ReportItem>& items, std::string_view title,
             std::size_t n) {
  std::vector<const ReportItem*> sorted;
  for (const auto& i : items) {
    if (i.bytes > 0) sorted.push_back(&i);
  }
  if (sorted.empty()) return;
  // Only the first n in order: a whole system has hundreds of thousands.
  const auto first = sorted.begin() + static_cast<std::ptrdiff_t>(std::min(n, sorted.size()));
  std::partial_sort(sorted.begin(), first, sorted.end(), [](auto* a, auto* b) {
    return a->bytes != b->bytes ? a->bytes > b->bytes : a->path < b->path;
  });
  sorted.erase(first, sorted.end());
  out += fmt::format("\n{}:\n", title);
  for (const auto* i : sorted) {
    out += fmt::format("  {:>9}  {}  ({})\n", human_bytes(i->bytes), i->path, i->reason);
  }
}

void totals_table(std::string& out, const std::map<std::string, Totals, std::less<>>& table,
                  std::string_view title, std::size_t limit) {
  if (table.empty()) return;
  std::vector<std::pair<std::string, Totals>> rows(table.begin(), table.end());
  std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) {
    return a.second.bytes != b.second.bytes ? a.second.bytes > b.second.bytes : a.first < b.first;
  });
  out += fmt::format("\n{}:\n", title);
  std::size_t shown = 0;
  for (const auto& [name, t] : rows) {
    if (shown++ == limit) {
      out += fmt::format("  ... {} more\n", rows.size() - limit);
      break;
    }
    out += fmt::format("  {:>9}  {:>6} files  {}\n", human_bytes(t.bytes), t.files, name);
  }
}

nlohmann::ordered_json totals_json(const Totals& t) {
  return {{"files", t.files}, {"bytes", t.bytes}};
}

// The items as the last members of the document, written one at a time:
// one document holding every item of a whole system took more memory than
// the rest of the run. Each item is dumped as the whole document would
// have dumped it (its lines indented for its depth), so the text is the
// same byte for byte.
void append_items(std::string& out, std::string_view key, const std::vector<ReportItem>& items,
                  bool with_rule, bool last) {
  out += fmt::format(" \"{}\": ", key);
  if (items.empty()) {
    out += "[]";
  } else {
    out += "[\n";
    for (std::size_t k = 0; k < items.size(); ++k) {
      const ReportItem& i = items[k];
      nlohmann::ordered_json o{{"path", i.path}, {"bytes", i.bytes}, {"reason", i.reason}};
      if (with_rule) {
        o["rule"] =
            i.rule.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(i.rule);
      }
      if (!i.group.empty()) o["group"] = i.group;
      out += "  ";
      for (const char c : o.dump(1, ' ', false, nlohmann::ordered_json::error_handler_t::replace)) {
        out += c;
        if (c == '\n') out += "  ";  // raw newlines are the dump's own: strings escape theirs
      }
      out += k + 1 < items.size() ? ",\n" : "\n";
    }
    out += " ]";
  }
  out += last ? "\n" : ",\n";
}

// Store paths the kept files name (nix why-depends --precise for the whole
// output), then those only removed files named: pruning releases them.
void render_store_references(const PruneReport& r, std::string& out) {
  std::size_t kept = 0;
  for (const auto& s : r.store_references) kept += s.kept_by.empty() ? 0 : 1;
  if (kept > 0) {
    out += fmt::format("\nstore paths the kept files name ({}):\n", kept);
    for (const auto& s : r.store_references) {
      if (s.kept_by.empty()) continue;
      out += fmt::format("  {}  by {} file{}: {}{}\n", s.store_path, s.kept_by.size(),
                         s.kept_by.size() == 1 ? "" : "s", s.kept_by.front(),
                         s.kept_by.size() > 1 ? ", ..." : "");
      if (s.flag == "one-small-file") {
        out += fmt::format("      held alive by one file of {}: is that reference needed?\n",
                           human_bytes(s.kept_bytes));
      }
    }
  }
  std::vector<const StoreReference*> released;
  for (const auto& s : r.store_references)
    if (s.kept_by.empty()) released.push_back(&s);
  if (!released.empty()) {
    out += fmt::format("\nstore paths only removed files named, now out of the closure ({}):\n",
                       released.size());
    for (const auto* s : released) {
      out += fmt::format("  {}  (by {} removed file{}, e.g. {})\n", s->store_path,
                         s->removed_by.size(), s->removed_by.size() == 1 ? "" : "s",
                         s->removed_by.front());
    }
  }
}

}  // namespace

static void render_image(const ImageReport& image, const char* verb, std::string& out) {
  out += fmt::format("\nimage {} ({}){}\n", image.input, image.platform,
                     image.output.empty()
                         ? ""
                         : fmt::format(" -> {} ({} layers)", image.output, image.layer_mode));
  for (const auto& e : image.entries) out += fmt::format("  entry {}  <- {}\n", e.path, e.from);
  for (const auto& n : image.notes) out += fmt::format("  note: {}\n", n);
  // As dive shows layers: what each had, and what it lost.
  out += fmt::format("  {:<5} {:<19} {:>9} {:>9} {:>12}\n", "layer", "digest", "blob", "content",
                     verb);
  for (std::size_t i = 0; i < image.layers.size(); ++i) {
    const auto& l = image.layers[i];
    out +=
        fmt::format("  {:<5} {:<19} {:>9} {:>9} {:>12}\n", i + 1,
                    l.digest.substr(0, std::min<std::size_t>(l.digest.size(), 19)),
                    human_bytes(l.blob_size), human_bytes(l.bytes), human_bytes(l.removed_bytes));
    for (std::size_t k = 0; k < l.largest.size() && k < 3; ++k) {
      out += fmt::format("  {:>58}  {}\n", human_bytes(l.largest[k].bytes), l.largest[k].path);
    }
  }
  if (!image.output.empty()) {
    out += fmt::format("  image: {} in, {} out ({} of the bytes)", human_bytes(image.input_bytes),
                       human_bytes(image.output_bytes),
                       percent(image.output_bytes, image.input_bytes));
    std::size_t reused = 0;
    for (const auto& l : image.output_layers) reused += l.reused ? 1 : 0;
    if (image.layer_mode == "keep") {
      out +=
          fmt::format("; {} of {} layers reused as they were", reused, image.output_layers.size());
    }
    out += "\n";
  }
}

static nlohmann::ordered_json image_json(const ImageReport& image) {
  nlohmann::ordered_json doc;
  doc["input"] = image.input;
  if (!image.output.empty()) doc["output"] = image.output;
  doc["platform"] = image.platform;
  auto entries = nlohmann::ordered_json::array();
  for (const auto& e : image.entries) entries.push_back({{"path", e.path}, {"from", e.from}});
  doc["entries"] = entries;
  doc["notes"] = image.notes;
  auto layers = nlohmann::ordered_json::array();
  for (const auto& l : image.layers) {
    auto largest = nlohmann::ordered_json::array();
    for (const auto& x : l.largest) largest.push_back({{"path", x.path}, {"bytes", x.bytes}});
    layers.push_back({{"digest", l.digest},
                      {"diff_id", l.diff_id},
                      {"blob_size", l.blob_size},
                      {"bytes", l.bytes},
                      {"removed_files", l.removed_files},
                      {"removed_bytes", l.removed_bytes},
                      {"largest_removed", largest}});
  }
  doc["layers"] = layers;
  doc["input_bytes"] = image.input_bytes;
  if (!image.output.empty()) {
    doc["layer_mode"] = image.layer_mode;
    doc["output_manifest"] = image.output_manifest;
    doc["output_bytes"] = image.output_bytes;
    auto out = nlohmann::ordered_json::array();
    for (const auto& l : image.output_layers) {
      out.push_back({{"digest", l.digest}, {"size", l.size}, {"reused", l.reused}});
    }
    doc["output_layers"] = out;
  }
  return doc;
}

std::string render_report_text(const PruneReport& r) {
  std::string out;
  const char* verb = r.mode == "dry-run" ? "would remove" : "removed";
  out += fmt::format("elfprune prune {} ({}{})\n", r.root, r.mode,
                     r.out_dir.empty() ? "" : fmt::format(" -> {}", r.out_dir));
  if (!r.entries.empty()) out += fmt::format("entries: {}\n", fmt::join(r.entries, " "));
  for (const auto& e : r.implied_entries) out += fmt::format("entry {}: {}\n", e.path, e.reason);
  if (r.trace) {
    const TraceSummary& t = *r.trace;
    out += fmt::format(
        "trace: {} events in {}: {} paths of the root kept from them; {} search paths found "
        "nothing (not kept){}\n",
        t.events, fmt::join(t.files, ", "), t.paths_kept, t.search_paths.size(),
        t.not_in_root.empty()
            ? ""
            : fmt::format("; {} paths not in the root (made by the workload, or /proc, /dev)",
                          t.not_in_root.size()));
  }
  out += fmt::format("before: {} in {} files\n", human_bytes(r.before.bytes), r.before.files);
  out += fmt::format("after:  {} in {} files ({} of the bytes)\n", human_bytes(r.after.bytes),
                     r.after.files, percent(r.after.bytes, r.before.bytes));
  out += fmt::format("{}: {} in {} files\n", verb,
                     human_bytes(r.before.bytes - std::min(r.before.bytes, r.after.bytes)),
                     r.before.files - std::min(r.before.files, r.after.files));
  totals_table(out, r.removed_by_rule, fmt::format("{} by rule", verb), 30);
  totals_table(out, r.kept_by_group, "kept by package", 15);
  totals_table(out, r.removed_by_group, fmt::format("{} by package", verb), 15);
  largest(out, r.kept, "largest kept", 15);
  largest(out, r.removed, fmt::format("largest {}", r.mode == "dry-run" ? "to remove" : "removed"),
          15);
  if (!r.hints.empty()) {
    out += "\nhints:\n";
    for (const auto& h : r.hints) out += fmt::format("  {}\n", h);
  }
  if (!r.removed_packages.empty()) {
    out += fmt::format("\n{} npm packages ({}):\n", verb, r.removed_packages.size());
    std::size_t n = 0;
    for (const auto& p : r.removed_packages) {
      if (n++ == 10) {
        out += fmt::format("  ... {} more (see the JSON report)\n", r.removed_packages.size() - 10);
        break;
      }
      out += fmt::format("  {:>9}  {}: {}\n", human_bytes(p.bytes), p.path, p.reason);
    }
  }
  if (!r.kept_whole.empty()) {
    out += fmt::format("\nkept whole ({} directories):\n", r.kept_whole.size());
    std::size_t n = 0;
    for (const auto& k : r.kept_whole) {
      if (n++ == 15) {
        out += fmt::format("  ... {} more (see the JSON report)\n", r.kept_whole.size() - 15);
        break;
      }
      out += fmt::format("  {:>9}  {} ({}{})\n", human_bytes(k.bytes), k.path, k.reason,
                         k.programs_as_data ? "; its programs only where something runs them" : "");
    }
  }
  if (!r.warnings.empty()) {
    out += fmt::format("\nwarnings ({}):\n", r.warnings.size());
    std::size_t n = 0;
    for (const auto& w : r.warnings) {
      if (n++ == 20) {
        out += fmt::format("  ... {} more (see the JSON report)\n", r.warnings.size() - 20);
        break;
      }
      out += fmt::format("  {}\n", w);
    }
  }
  render_store_references(r, out);
  if (!r.edits.empty()) {
    out += fmt::format("\nedits ({}{}):\n", r.edits.size(),
                       r.edits_written ? ", written and verified" : ", not written");
    for (const auto& e : r.edits) out += fmt::format("  {}: {}\n", e.path, e.what);
  }
  if (r.image) render_image(*r.image, verb, out);
  if (!r.checks.empty()) {
    out += fmt::format("\nchecks ({}):\n", r.checks.size());
    for (const auto& c : r.checks) {
      const std::string how = c.passed()         ? "passed"
                              : c.sandbox_failed ? "could not run"
                              : c.timed_out      ? "timed out"
                                                 : fmt::format("FAILED (exit {})", c.status);
      out += fmt::format("  {}: {}\n", how, c.command);
      if (c.passed()) continue;
      // Its last lines: what a person needs to see why.
      std::vector<std::string_view> lines;
      std::string_view rest = c.output;
      while (!rest.empty()) {
        const auto nl = rest.find('\n');
        lines.push_back(rest.substr(0, nl));
        rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
      }
      for (std::size_t i = lines.size() > 10 ? lines.size() - 10 : 0; i < lines.size(); ++i) {
        out += fmt::format("    | {}\n", lines[i]);
      }
    }
  }
  if (!r.problems.empty()) {
    out += fmt::format("\nPROBLEMS ({}): the result is broken\n", r.problems.size());
    for (const auto& p : r.problems) out += fmt::format("  {}\n", p);
  } else if (r.verified) {
    out +=
        "\nverified: every kept program still resolves, no kept symlink dangles, every kept "
        "script has its interpreter\n";
  }
  return out;
}

static nlohmann::ordered_json store_references_json(const PruneReport& r) {
  auto refs = nlohmann::ordered_json::array();
  for (const auto& s : r.store_references) {
    refs.push_back({{"store_path", s.store_path},
                    {"kept_by", s.kept_by},
                    {"removed_by", s.removed_by},
                    {"flag", s.flag}});
  }
  return refs;
}

std::string render_report_json(const PruneReport& r) {
  nlohmann::ordered_json doc;
  doc["root"] = r.root;
  if (!r.sysroot.empty()) doc["sysroot"] = r.sysroot;
  doc["mode"] = r.mode;
  if (!r.out_dir.empty()) doc["out"] = r.out_dir;
  doc["entries"] = r.entries;
  auto implied = nlohmann::ordered_json::array();
  for (const auto& e : r.implied_entries)
    implied.push_back({{"path", e.path}, {"reason", e.reason}});
  doc["implied_entries"] = std::move(implied);
  if (r.trace) {
    doc["trace"] = {{"files", r.trace->files},
                    {"events", r.trace->events},
                    {"paths_kept", r.trace->paths_kept},
                    {"search_paths", r.trace->search_paths},
                    {"not_in_root", r.trace->not_in_root}};
  }
  doc["before"] = totals_json(r.before);
  doc["after"] = totals_json(r.after);
  auto by_rule = nlohmann::ordered_json::object();
  for (const auto& [k, t] : r.removed_by_rule) by_rule[k] = totals_json(t);
  doc["removed_by_rule"] = by_rule;
  auto kept_by = nlohmann::ordered_json::object();
  for (const auto& [k, t] : r.kept_by_group) kept_by[k] = totals_json(t);
  doc["kept_by_package"] = kept_by;
  auto removed_by = nlohmann::ordered_json::object();
  for (const auto& [k, t] : r.removed_by_group) removed_by[k] = totals_json(t);
  doc["removed_by_package"] = removed_by;
  doc["hints"] = r.hints;
  auto whole = nlohmann::ordered_json::array();
  for (const auto& k : r.kept_whole) {
    whole.push_back({{"path", k.path},
                     {"reason", k.reason},
                     {"programs_as_data", k.programs_as_data},
                     {"files", k.files},
                     {"bytes", k.bytes}});
  }
  doc["kept_whole"] = whole;
  auto packages = nlohmann::ordered_json::array();
  for (const auto& p : r.removed_packages) {
    packages.push_back(
        {{"path", p.path}, {"reason", p.reason}, {"files", p.files}, {"bytes", p.bytes}});
  }
  doc["removed_packages"] = packages;
  doc["warnings"] = r.warnings;
  doc["problems"] = r.problems;
  doc["verified"] = r.verified;
  auto checks = nlohmann::ordered_json::array();
  for (const auto& c : r.checks) {
    checks.push_back({{"command", c.command},
                      {"passed", c.passed()},
                      {"status", c.status},
                      {"timed_out", c.timed_out},
                      {"sandbox_failed", c.sandbox_failed},
                      {"output", c.output}});
  }
  doc["checks"] = checks;
  auto edits = nlohmann::ordered_json::array();
  for (const auto& e : r.edits) edits.push_back({{"path", e.path}, {"edit", e.what}});
  doc["edits"] = edits;
  doc["edits_written"] = r.edits_written;
  doc["store_references"] = store_references_json(r);
  if (r.image) doc["image"] = image_json(*r.image);
  std::string out = doc.dump(1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
  // The document so far ends "\n}": the items go before that brace.
  out.resize(out.size() - 2);
  out += ",\n";
  append_items(out, "removed", r.removed, true, false);
  append_items(out, "kept", r.kept, false, true);
  out += "}\n";
  return out;
}

}  // namespace elfprune
