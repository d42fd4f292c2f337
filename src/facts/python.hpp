// Python environments in a root, as CPython 3 sets one up at startup
// (Modules/getpath.py, Lib/site.py, and Debian's patched site.py): whether
// an interpreter runs a venv, its base interpreter and standard library,
// the site directories on its default sys.path and what their .pth files
// add. And the build tools (pip, setuptools, wheel) a site directory may
// hold, with the imports that show a kept module needs one at run time.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tree/root.hpp"
#include "util/result.hpp"

namespace elfprune {

// A name CPython's interpreter goes by: python, python3, python3.11,
// python3.13t (free-threaded), python3.11d (debug).
bool is_python_name(std::string_view name);

// One line of a .pth file.
struct PthLine {
  std::string file;  // the .pth file, canonical
  std::size_t line = 0;
  std::string text;  // as written, without the line end
};

// A path a .pth file puts on sys.path.
struct PthPath {
  std::string path;  // canonical
  std::string file;  // the .pth file, canonical
  std::size_t line = 0;
};

struct PythonEnv {
  std::string interpreter;  // as named: CPython looks for pyvenv.cfg beside this path, unresolved
  std::string executable;   // the interpreter file, canonical
  bool venv = false;
  std::string venv_dir;    // sys.prefix of the venv, as named ("/app/venv"); "" when no venv
  std::string pyvenv_cfg;  // canonical; "" when no venv
  std::string home;        // pyvenv.cfg `home`, as written
  // The interpreter whose standard library runs: the venv's base (what
  // bin/python links to, else found in `home`, else pyvenv.cfg
  // `executable`), or the interpreter itself. Canonical; "" when missing.
  std::string base_interpreter;
  std::string version;  // "3.11"; "" when nothing tells
  bool include_system_site_packages = false;
  // Debian's site.py: dist-packages, /usr/lib/python3/dist-packages. False
  // for CPython's own layout (site-packages only).
  bool debian_layout = false;
  std::string base_prefix;  // where the standard library lies ("/usr"); "" when not found
  // <base_prefix>/lib/pythonX.Y and its zip: canonical, existing.
  std::vector<std::string> stdlib_dirs;
  // The site directories CPython puts on sys.path, in its order, as
  // directories that exist (canonical, each once). The user's site
  // directory (~/.local) is not among them: whose home it is depends on who
  // runs the program.
  std::vector<std::string> site_dirs;
  std::vector<PthPath> pth_paths;     // what .pth files in them add: existing, each once
  std::vector<PthLine> pth_imports;   // `import` lines, which site.py runs at startup
  std::vector<std::string> warnings;  // "PATH: what is wrong with it"
};

// Describe the environment of the interpreter at `interpreter` (an inside
// path, as a script or the command line names it). An error only when it
// does not resolve; a pyvenv.cfg that does not parse, a base interpreter
// or a standard library that cannot be found, a .pth line naming nothing:
// warnings, and the rest is described as far as it goes.
Result<PythonEnv> read_python_env(const Root& root, std::string_view interpreter);

// --------------------------------------------------------- build tools

// The build tools the rule python-build-tools takes from site directories.
inline constexpr std::string_view kPythonBuildTools[] = {"pip", "setuptools", "wheel"};

// The build tool an entry right inside a site directory belongs to: pip
// for pip/ and pip-*.dist-info; setuptools for setuptools/, pkg_resources/,
// _distutils_hack/, distutils-precedence.pth and setuptools-*.dist-info or
// *.egg-info; wheel for wheel/ and its metadata. nullopt for the rest.
std::optional<std::string_view> python_build_tool(std::string_view name);

// The index of the component of `path` that is a site directory
// (site-packages or dist-packages), or npos.
std::size_t site_dir_component(const std::vector<std::string_view>& components);

// The build tool a path below a site directory belongs to, or nullopt.
std::optional<std::string_view> python_build_tool_at(std::string_view path);

// The build tool whose launcher pip writes in a venv's bin/ under this
// name: pip, pip3, pip3.11 (pip); wheel (wheel); easy_install,
// easy_install-3.11 (setuptools). nullopt for other names.
std::optional<std::string_view> python_build_tool_launcher(std::string_view name);

struct ToolImport {
  std::string_view tool;  // one of kPythonBuildTools
  std::string module;     // the top-level module imported ("pkg_resources")
  std::size_t line = 0;   // 1-based
};

// The build tools Python source (a module, or a .pth file's import lines)
// imports where it fails without them: `import x`, `from x import ...`,
// `__import__("x")`, `importlib.import_module("x")`, at any depth (a
// function's lazy import runs when it is called). Not counted: imports in
// a `try:` whose `except` catches ImportError, ModuleNotFoundError or
// Exception (the code works without the module), under `if TYPE_CHECKING:`
// (never run), in comments and triple-quoted strings, relative imports.
// `distutils` is setuptools' on Python 3.12 and later, where the standard
// library has none: it counts when `distutils_from_setuptools`.
std::vector<ToolImport> python_build_tools_imported(std::string_view source,
                                                    bool distutils_from_setuptools);

}  // namespace elfprune
