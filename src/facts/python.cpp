// What CPython 3.11 does at startup, read from its sources: getpath.py
// finds pyvenv.cfg beside the executable or one directory up (the path as
// run, symlinks not resolved) and the standard library by its landmark
// (lib/pythonX.Y/os.py) above `home` or the real executable; site.py
// builds the site directories from the prefixes (Debian's patched
// getsitepackages() for dist-packages), then reads each one's *.pth files
// in name order: `import` lines are run, other lines are paths joined to
// the site directory and added when they exist.
#include "facts/python.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <set>

#include "util/path.hpp"
#include "util/text.hpp"

namespace elfprune {
namespace {

namespace fs = std::filesystem;

// Generous caps on what a tree may make us read: a real pyvenv.cfg is a
// few lines, a real .pth file a few paths (setuptools' editable installs
// write one per project).
constexpr std::size_t kConfigLimit = 1u << 20;
constexpr std::size_t kPthLimit = 1u << 20;
constexpr std::size_t kMaxPthFiles = 4096;
constexpr std::size_t kMaxPthLines = 4096;
constexpr std::size_t kMaxWarnings = 50;

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return std::isdigit(static_cast<unsigned char>(c));
  });
}

// "3.11.2", "3.11.2.final.0", "3.11" -> "3.11"; "" when it is none of these.
std::string major_minor(std::string_view v) {
  const auto dot = v.find('.');
  if (dot == std::string_view::npos) return "";
  const std::string_view major = v.substr(0, dot);
  std::string_view rest = v.substr(dot + 1);
  const std::string_view minor = rest.substr(0, rest.find('.'));
  if (!all_digits(major) || !all_digits(minor)) return "";
  return fmt::format("{}.{}", major, minor);
}

// The version a name such as python3.11 or python3.13t states, or "".
std::string version_of_name(std::string_view name) {
  if (!is_python_name(name)) return "";
  std::string_view v = name.substr(6);
  if (!v.empty() && std::isalpha(static_cast<unsigned char>(v.back()))) v.remove_suffix(1);
  return major_minor(v);
}

// CPython 3 reads pyvenv.cfg as UTF-8 and fails at startup when it is not.
bool valid_utf8(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    const std::size_t n = c < 0x80           ? 1
                          : (c >> 5) == 0x6  ? 2
                          : (c >> 4) == 0xe  ? 3
                          : (c >> 3) == 0x1e ? 4
                                             : 0;
    if (n == 0 || i + n > s.size()) return false;
    for (std::size_t k = 1; k < n; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) & 0xc0) != 0x80) return false;
    }
    i += n;
  }
  return true;
}

std::vector<std::string_view> lines_of(std::string_view text) {
  std::vector<std::string_view> out;
  for (std::size_t i = 0; i < text.size();) {
    std::size_t j = text.find('\n', i);
    if (j == std::string_view::npos) j = text.size();
    std::string_view line = text.substr(i, j - i);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    out.push_back(line);
    i = j + 1;
  }
  return out;
}

class EnvReader {
 public:
  EnvReader(const Root& root, PythonEnv& env) : root_(root), env_(env) {}

  void read() {
    find_venv();
    find_base();
    find_stdlib();
    find_site_dirs();
    for (const auto& dir : env_.site_dirs) read_pth_files(dir);
  }

 private:
  void warn(std::string text) {
    if (env_.warnings.size() < kMaxWarnings) env_.warnings.push_back(std::move(text));
  }

  bool is_file(const std::string& path) const {
    auto st = root_.resolve(path);
    return st && st->type == FileType::Regular;
  }

  std::optional<std::string> existing_dir(const std::string& path) const {
    auto st = root_.resolve(path);
    if (!st || st->type != FileType::Directory) return std::nullopt;
    return st->path;
  }

  // Names in a directory inside the root, sorted; empty when it cannot be listed.
  std::vector<std::string> list_dir(const std::string& path) const {
    std::vector<std::string> names;
    auto dir = existing_dir(path);
    if (!dir) return names;
    std::error_code ec;
    fs::directory_iterator it(root_.host(*dir), ec);
    for (; !ec && it != fs::directory_iterator(); it.increment(ec)) {
      names.push_back(it->path().filename().string());
    }
    std::sort(names.begin(), names.end());
    return names;
  }

  // site.py: pyvenv.cfg beside the executable, else one directory up.
  void find_venv() {
    const std::string exe_dir(path_parent(env_.interpreter));
    const std::string site_prefix(path_parent(exe_dir));
    for (const auto& candidate :
         {path_join(exe_dir, "pyvenv.cfg"), path_join(site_prefix, "pyvenv.cfg")}) {
      if (!is_file(candidate)) continue;
      env_.venv = true;
      env_.venv_dir = site_prefix;
      env_.pyvenv_cfg = root_.resolve(candidate)->path;
      read_config();
      return;
    }
  }

  void read_config() {
    const std::string& cfg = env_.pyvenv_cfg;
    auto text = root_.read_file(cfg, kConfigLimit);
    if (!text) {
      warn(fmt::format("{}: cannot be read: {}", cfg, text.error().message));
      return;
    }
    if (!valid_utf8(*text)) {
      warn(fmt::format("{}: not UTF-8 text: Python fails reading it at startup", cfg));
    }
    // Missing, CPython includes the system site directories.
    std::string system_site = "true";
    bool has_home = false;
    const auto lines = lines_of(*text);
    for (std::size_t n = 0; n < lines.size(); ++n) {
      const std::string_view line = lines[n];
      const auto eq = line.find('=');
      if (eq == std::string_view::npos) {
        if (!trim_space(line).empty() && trim_space(line).front() != '#') {
          warn(fmt::format("{}: line {} is not `key = value`: ignored", cfg, n + 1));
        }
        continue;
      }
      const std::string key = ascii_lower(trim_space(line.substr(0, eq)));
      const std::string_view value = trim_space(line.substr(eq + 1));
      if (key == "include-system-site-packages") {
        system_site = ascii_lower(value);
      } else if (key == "home") {
        env_.home = std::string(value);
        has_home = true;
      } else if (key == "version" || key == "version_info") {
        const std::string v = major_minor(value);
        if (v.empty()) {
          warn(fmt::format("{}: line {}: {} = {} is not a Python version", cfg, n + 1, key, value));
        } else if (env_.version.empty()) {
          env_.version = v;
        }
      } else if (key == "executable" || key == "base-executable") {
        if (executable_key_.empty()) executable_key_ = std::string(value);
      }
    }
    env_.include_system_site_packages = system_site == "true";
    if (!has_home) warn(fmt::format("{}: no `home`: the base interpreter is unknown", cfg));
  }

  void find_base() {
    if (!env_.venv) {
      env_.base_interpreter = env_.executable;
      return;
    }
    // getpath.py: the real path of a linked executable, else the program
    // of that name in `home` (or python3, or pythonX.Y); venv's own record
    // (`executable`) last.
    if (env_.executable != lexically_absolute(env_.interpreter)) {
      env_.base_interpreter = env_.executable;
      return;
    }
    std::vector<std::string> candidates;
    if (!env_.home.empty()) {
      const std::string home = lexically_absolute(env_.home);
      candidates.push_back(path_join(home, path_base(env_.interpreter)));
      candidates.push_back(path_join(home, "python3"));
      if (!env_.version.empty()) candidates.push_back(path_join(home, "python" + env_.version));
    }
    if (!executable_key_.empty()) candidates.push_back(lexically_absolute(executable_key_));
    for (const auto& c : candidates) {
      if (is_file(c)) {
        env_.base_interpreter = root_.resolve(c)->path;
        return;
      }
    }
    warn(fmt::format("{}: base interpreter not found (home = {}{})", env_.pyvenv_cfg,
                     env_.home.empty() ? "none" : env_.home,
                     executable_key_.empty() ? "" : ", executable = " + executable_key_));
  }

  // getpath.py: the prefix is the first directory, from the executable's
  // own (or `home`) upwards, holding lib/pythonX.Y/os.py or lib/pythonXY.zip.
  void find_stdlib() {
    if (env_.version.empty()) env_.version = version_of_name(path_base(env_.base_interpreter));
    if (env_.version.empty()) env_.version = version_of_name(path_base(env_.executable));
    if (env_.version.empty()) env_.version = version_of_name(path_base(env_.interpreter));
    std::string start;
    if (env_.venv && !env_.home.empty()) {
      start = lexically_absolute(env_.home);
      if (!existing_dir(start))
        warn(fmt::format("{}: home {} does not exist", env_.pyvenv_cfg, start));
    } else if (!env_.base_interpreter.empty()) {
      start = std::string(path_parent(env_.base_interpreter));
    }
    if (!start.empty()) {
      for (std::string dir = start;; dir = std::string(path_parent(dir))) {
        if (holds_stdlib(dir)) {
          env_.base_prefix = dir;
          break;
        }
        if (dir == "/") break;
      }
    }
    // Still no version: the lib/pythonX.Y directory a venv was made with.
    if (env_.version.empty() && env_.venv)
      env_.version = only_version_in(path_join(env_.venv_dir, "lib"));
    if (env_.base_prefix.empty()) {
      warn(fmt::format("{}: standard library not found{}", env_.interpreter,
                       env_.version.empty()
                           ? " (Python version unknown)"
                           : fmt::format(" (no lib/python{}/os.py above {})", env_.version,
                                         start.empty() ? "?" : start)));
      return;
    }
    const std::string nodot = [&] {
      std::string s = env_.version;
      s.erase(std::remove(s.begin(), s.end(), '.'), s.end());
      return s;
    }();
    std::set<std::string> seen;
    for (const auto& candidate :
         {fmt::format("{}/lib/python{}.zip", prefix_dir(env_.base_prefix), nodot),
          fmt::format("{}/lib/python{}", prefix_dir(env_.base_prefix), env_.version),
          fmt::format("{}/lib64/python{}", prefix_dir(env_.base_prefix), env_.version)}) {
      auto st = root_.resolve(candidate);
      if (st && seen.insert(st->path).second) env_.stdlib_dirs.push_back(st->path);
    }
    auto site_py = root_.read_file(
        fmt::format("{}/lib/python{}/site.py", prefix_dir(env_.base_prefix), env_.version),
        kConfigLimit);
    layout_known_ = site_py.ok();
    env_.debian_layout = site_py && site_py->find("dist-packages") != std::string::npos;
  }

  static std::string prefix_dir(const std::string& prefix) { return prefix == "/" ? "" : prefix; }

  // Whether `dir` is a prefix holding the standard library; learns the
  // version from it when nothing told it yet and only one is there.
  bool holds_stdlib(const std::string& dir) {
    const std::string lib = fmt::format("{}/lib", prefix_dir(dir));
    const std::string v = env_.version.empty() ? only_version_in(lib) : env_.version;
    if (v.empty()) return false;
    std::string nodot = v;
    nodot.erase(std::remove(nodot.begin(), nodot.end(), '.'), nodot.end());
    if (!is_file(fmt::format("{}/python{}/os.py", lib, v)) &&
        !is_file(fmt::format("{}/python{}/os.pyc", lib, v)) &&
        !is_file(fmt::format("{}/python{}.zip", lib, nodot))) {
      return false;
    }
    env_.version = v;
    return true;
  }

  // The X.Y of the one lib/pythonX.Y directory in `lib`, or "" when there
  // is none or more than one.
  std::string only_version_in(const std::string& lib) const {
    std::string found;
    for (const auto& name : list_dir(lib)) {
      const std::string v = version_of_name(name);
      if (v.empty() || v.size() + 6 != name.size()) continue;  // python3.11 only, not python3.11d
      if (!existing_dir(path_join(lib, name))) continue;
      if (!found.empty()) return "";
      found = v;
    }
    return found;
  }

  // site.getsitepackages() over the prefixes site.py uses: the venv's, then
  // (with include-system-site-packages) the base's; the base's alone
  // without a venv.
  void find_site_dirs() {
    std::vector<std::string> prefixes;
    if (env_.venv) prefixes.push_back(lexically_absolute(env_.venv_dir));
    if ((!env_.venv || env_.include_system_site_packages) && !env_.base_prefix.empty()) {
      prefixes.push_back(env_.base_prefix);
    }
    const std::string& v = env_.version;
    std::vector<std::string> candidates;
    for (const auto& prefix : prefixes) {
      const std::string p = prefix_dir(prefix);
      const bool debian = env_.debian_layout || !layout_known_;
      const bool upstream = !env_.debian_layout;
      if (debian && !v.empty()) {
        if (env_.venv) candidates.push_back(fmt::format("{}/lib/python{}/site-packages", p, v));
        candidates.push_back(fmt::format("{}/local/lib/python{}/dist-packages", p, v));
      }
      if (debian) candidates.push_back(fmt::format("{}/lib/python3/dist-packages", p));
      if (v.empty()) continue;
      for (std::string_view libdir : {"lib64", "lib"}) {
        if (debian) candidates.push_back(fmt::format("{}/{}/python{}/dist-packages", p, libdir, v));
        if (upstream)
          candidates.push_back(fmt::format("{}/{}/python{}/site-packages", p, libdir, v));
      }
    }
    std::set<std::string> seen;
    for (const auto& c : candidates) {
      if (auto dir = existing_dir(c); dir && seen.insert(*dir).second)
        env_.site_dirs.push_back(*dir);
    }
    if (env_.venv && v.empty()) {
      warn(fmt::format("{}: Python version unknown: the venv's site-packages cannot be named",
                       env_.pyvenv_cfg));
    }
  }

  void read_pth_files(const std::string& site_dir) {
    std::size_t files = 0;
    for (const auto& name : list_dir(site_dir)) {
      if (name.size() <= 4 || !name.ends_with(".pth")) continue;
      if (++files > kMaxPthFiles) {
        warn(fmt::format("{}: more than {} .pth files: the rest are not read", site_dir,
                         kMaxPthFiles));
        return;
      }
      const std::string file = path_join(site_dir, name);
      auto text = root_.read_file(file, kPthLimit);
      if (!text) {
        warn(fmt::format("{}: cannot be read: {}", file, text.error().message));
        continue;
      }
      const auto lines = lines_of(*text);
      for (std::size_t n = 0; n < lines.size() && n < kMaxPthLines; ++n) {
        const std::string_view line = lines[n];
        if (line.starts_with("#") || trim_space(line).empty()) continue;
        if (line.starts_with("import ") || line.starts_with("import\t")) {
          env_.pth_imports.push_back({file, n + 1, std::string(line)});
          continue;
        }
        std::string_view entry = line;
        while (!entry.empty() && std::isspace(static_cast<unsigned char>(entry.back()))) {
          entry.remove_suffix(1);
        }
        if (entry.find('\0') != std::string_view::npos) {
          warn(fmt::format("{}: line {} holds a NUL byte: ignored", file, n + 1));
          continue;
        }
        const std::string path = lexically_absolute(entry, site_dir);
        auto st = root_.resolve(path);
        if (!st) {
          warn(fmt::format("{}: line {} names {}, which does not exist", file, n + 1, path));
          continue;
        }
        const bool known = std::find(env_.site_dirs.begin(), env_.site_dirs.end(), st->path) !=
                               env_.site_dirs.end() ||
                           std::any_of(env_.pth_paths.begin(), env_.pth_paths.end(),
                                       [&](const PthPath& p) { return p.path == st->path; });
        if (!known) env_.pth_paths.push_back({st->path, file, n + 1});
      }
    }
  }

  const Root& root_;
  PythonEnv& env_;
  std::string executable_key_;  // pyvenv.cfg `executable` or `base-executable`
  bool layout_known_ = false;   // site.py was read
};

// ----------------------------------------------------------- source scanning

struct Line {
  std::string_view text;   // without the indentation
  std::size_t indent = 0;  // columns, tabs to the next multiple of 8
  bool code = false;       // not blank, not a comment, not inside a triple-quoted string
};

// Lines with their indentation, and whether each starts inside a
// triple-quoted string (a docstring's example `import setuptools` is no import).
std::vector<Line> code_lines(std::string_view source) {
  std::vector<Line> out;
  std::string_view delim;  // the open triple quote, or empty
  for (std::string_view raw : lines_of(source)) {
    Line line;
    const bool in_string = !delim.empty();
    std::size_t i = 0;
    for (; i < raw.size() && (raw[i] == ' ' || raw[i] == '\t' || raw[i] == '\f'); ++i) {
      line.indent = raw[i] == '\t' ? (line.indent / 8 + 1) * 8 : line.indent + 1;
    }
    line.text = raw.substr(i);
    while (!line.text.empty() && std::isspace(static_cast<unsigned char>(line.text.back()))) {
      line.text.remove_suffix(1);
    }
    line.code = !in_string && !line.text.empty() && line.text.front() != '#';
    // Where the line leaves string state.
    for (std::size_t k = 0; k < raw.size(); ++k) {
      const char c = raw[k];
      if (!delim.empty()) {
        if (c == '\\') {
          ++k;
        } else if (raw.substr(k, 3) == delim) {
          delim = {};
          k += 2;
        }
        continue;
      }
      if (c == '#') break;
      if (c != '"' && c != '\'') continue;
      const std::string_view triple = c == '"' ? "\"\"\"" : "'''";
      if (raw.substr(k, 3) == triple) {
        delim = triple;
        k += 2;
        continue;
      }
      // A one-line string: skip to its end.
      for (++k; k < raw.size() && raw[k] != c; ++k) {
        if (raw[k] == '\\') ++k;
      }
    }
    out.push_back(line);
  }
  return out;
}

bool is_ident(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
}

std::string_view top_module(std::string_view dotted) {
  dotted = trim_space(dotted);
  std::size_t n = 0;
  while (n < dotted.size() && is_ident(dotted[n])) ++n;
  return dotted.substr(0, n);
}

std::optional<std::string_view> tool_of_module(std::string_view module, bool distutils) {
  if (module == "pip") return "pip";
  if (module == "setuptools" || module == "pkg_resources" || module == "_distutils_hack") {
    return "setuptools";
  }
  if (module == "distutils" && distutils) return "setuptools";
  if (module == "wheel") return "wheel";
  return std::nullopt;
}

// The modules one line imports.
std::vector<std::string_view> imported_modules(std::string_view code) {
  std::vector<std::string_view> out;
  // Statements after `;` too (setuptools' .pth line is one line of them).
  for (std::size_t i = 0; i <= code.size();) {
    std::size_t j = code.find(';', i);
    if (j == std::string_view::npos) j = code.size();
    const std::string_view stmt = trim_space(code.substr(i, j - i));
    i = j + 1;
    const auto keyword = [&](std::string_view word) {
      return stmt.size() > word.size() && stmt.starts_with(word) &&
             (stmt[word.size()] == ' ' || stmt[word.size()] == '\t');
    };
    if (keyword("import")) {
      std::string_view rest = stmt.substr(6);
      for (std::size_t a = 0; a <= rest.size();) {
        std::size_t b = rest.find(',', a);
        if (b == std::string_view::npos) b = rest.size();
        if (auto m = top_module(rest.substr(a, b - a)); !m.empty()) out.push_back(m);
        a = b + 1;
      }
    } else if (keyword("from")) {
      const std::string_view rest = trim_space(stmt.substr(4));
      if (!rest.starts_with(".")) {
        if (auto m = top_module(rest); !m.empty()) out.push_back(m);
      }
    }
  }
  // __import__("x") and importlib.import_module("x").
  for (std::string_view call : {"__import__(", "import_module("}) {
    for (std::size_t at = code.find(call); at != std::string_view::npos;
         at = code.find(call, at + 1)) {
      if (at > 0 && is_ident(code[at - 1])) continue;
      std::string_view rest = trim_space(code.substr(at + call.size()));
      if (rest.empty() || (rest.front() != '"' && rest.front() != '\'')) continue;
      if (auto m = top_module(rest.substr(1)); !m.empty()) out.push_back(m);
    }
  }
  return out;
}

bool keyword_line(std::string_view text, std::string_view word) {
  return text.starts_with(word) && (text.size() == word.size() || !is_ident(text[word.size()]));
}

// Whether the `except` clauses after a `try:` at `indent` (its body ends
// before line `from`) catch a failed import.
bool catches_import_error(const std::vector<Line>& lines, std::size_t from, std::size_t indent) {
  for (std::size_t k = from; k < lines.size(); ++k) {
    const Line& l = lines[k];
    if (!l.code || l.indent > indent) continue;
    if (l.indent < indent || !keyword_line(l.text, "except")) return false;
    const std::string_view clause = l.text;
    if (trim_space(clause.substr(6)).starts_with(":") ||
        clause.find("ImportError") != std::string_view::npos ||
        clause.find("ModuleNotFoundError") != std::string_view::npos ||
        clause.find("Exception") != std::string_view::npos) {
      return true;
    }
  }
  return false;
}

// Whether the import on line `at` is in a block that makes it optional
// (try/except ImportError, contextlib.suppress(ImportError)) or never run
// (if TYPE_CHECKING).
bool guarded(const std::vector<Line>& lines, std::size_t at) {
  std::size_t bound = lines[at].indent;
  for (std::size_t k = at; k-- > 0 && bound > 0;) {
    const Line& h = lines[k];
    if (!h.code || h.indent >= bound) continue;
    bound = h.indent;
    const std::string_view t = h.text;
    if (keyword_line(t, "try") && trim_space(t.substr(3)).starts_with(":") &&
        catches_import_error(lines, at + 1, h.indent)) {
      return true;
    }
    if (keyword_line(t, "if") && t.find("TYPE_CHECKING") != std::string_view::npos) return true;
    if (keyword_line(t, "with") && t.find("suppress(") != std::string_view::npos &&
        (t.find("ImportError") != std::string_view::npos ||
         t.find("ModuleNotFoundError") != std::string_view::npos)) {
      return true;
    }
  }
  return false;
}

}  // namespace

bool is_python_name(std::string_view name) {
  if (!name.starts_with("python")) return false;
  std::string_view v = name.substr(6);
  if (v.empty()) return true;
  if (!std::isdigit(static_cast<unsigned char>(v.front()))) return false;
  if (v.back() == 'd' || v.back() == 't' || v.back() == 'm') v.remove_suffix(1);
  return !v.empty() && std::all_of(v.begin(), v.end(), [](char c) {
    return c == '.' || std::isdigit(static_cast<unsigned char>(c));
  });
}

Result<PythonEnv> read_python_env(const Root& root, std::string_view interpreter) {
  PythonEnv env;
  env.interpreter = lexically_absolute(interpreter);
  ELFPRUNE_TRY_ASSIGN(FileStat st, root.resolve(env.interpreter));
  env.executable = st.path;
  EnvReader(root, env).read();
  return env;
}

std::optional<std::string_view> python_build_tool(std::string_view name) {
  if (name == "pip") return "pip";
  if (name == "setuptools" || name == "pkg_resources" || name == "_distutils_hack" ||
      name == "distutils-precedence.pth") {
    return "setuptools";
  }
  if (name == "wheel") return "wheel";
  for (std::string_view suffix : {".dist-info", ".egg-info"}) {
    if (!name.ends_with(suffix)) continue;
    const std::string_view stem = name.substr(0, name.size() - suffix.size());
    const std::string dist = ascii_lower(stem.substr(0, stem.find('-')));
    for (std::string_view tool : kPythonBuildTools) {
      if (dist == tool) return tool;
    }
  }
  return std::nullopt;
}

std::size_t site_dir_component(const std::vector<std::string_view>& components) {
  for (std::size_t i = 0; i < components.size(); ++i) {
    if (components[i] == "site-packages" || components[i] == "dist-packages") return i;
  }
  return std::string_view::npos;
}

std::optional<std::string_view> python_build_tool_at(std::string_view path) {
  std::vector<std::string_view> parts;
  for (std::size_t i = 0; i < path.size();) {
    std::size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    if (j > i) parts.push_back(path.substr(i, j - i));
    i = j + 1;
  }
  const std::size_t site = site_dir_component(parts);
  if (site == std::string_view::npos || site + 1 >= parts.size()) return std::nullopt;
  return python_build_tool(parts[site + 1]);
}

std::optional<std::string_view> python_build_tool_launcher(std::string_view name) {
  const auto versioned = [&](std::string_view stem) {
    if (!name.starts_with(stem)) return false;
    const std::string_view rest = name.substr(stem.size());
    return std::all_of(rest.begin(), rest.end(), [](char c) {
      return c == '.' || c == '-' || std::isdigit(static_cast<unsigned char>(c));
    });
  };
  if (versioned("pip")) return "pip";
  if (versioned("wheel")) return "wheel";
  if (versioned("easy_install")) return "setuptools";
  return std::nullopt;
}

std::vector<ToolImport> python_build_tools_imported(std::string_view source,
                                                    bool distutils_from_setuptools) {
  std::vector<ToolImport> out;
  // Cheap test first: most modules name none of them.
  bool any = false;
  for (std::string_view m :
       {"pip", "setuptools", "pkg_resources", "_distutils_hack", "wheel", "distutils"}) {
    any = any || source.find(m) != std::string_view::npos;
  }
  if (!any) return out;
  const std::vector<Line> lines = code_lines(source);
  for (std::size_t n = 0; n < lines.size(); ++n) {
    if (!lines[n].code) continue;
    for (std::string_view module : imported_modules(lines[n].text)) {
      auto tool = tool_of_module(module, distutils_from_setuptools);
      if (!tool || guarded(lines, n)) continue;
      out.push_back({*tool, std::string(module), n + 1});
    }
  }
  return out;
}

}  // namespace elfprune
