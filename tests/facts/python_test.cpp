#include "facts/python.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

#include "test_support.hpp"

namespace elfprune {
namespace {

namespace fs = std::filesystem;
using test::make_symlink;
using test::TempDir;
using test::write_file;

using Paths = std::vector<std::string>;

bool warned(const PythonEnv& env, std::string_view needle) {
  return std::any_of(env.warnings.begin(), env.warnings.end(),
                     [&](const std::string& w) { return w.find(needle) != std::string::npos; });
}

// A Debian 12 Python: /usr/bin/python3 -> python3.11, the standard library
// in /usr/lib/python3.11 with Debian's site.py (it names dist-packages).
class PythonEnvTest : public ::testing::Test {
 protected:
  void SetUp() override {
    write_file(tmp_ / "usr/bin/python3.11", "ELF");
    make_symlink(tmp_ / "usr/bin/python3", "python3.11");
    write_file(tmp_ / "usr/lib/python3.11/os.py", "");
    write_file(tmp_ / "usr/lib/python3.11/site.py", "# ... 'dist-packages' ...\n");
  }

  // What `python3 -m venv DIR` makes on Debian 12.
  void venv(const std::string& dir,
            std::string_view extra = "include-system-site-packages = false\n") {
    write_file(tmp_ / (dir + "/pyvenv.cfg"),
               fmt::format("home = /usr/bin\n{}version = 3.11.2\nexecutable = /usr/bin/python3.11\n"
                           "command = /usr/bin/python3 -m venv {}\n",
                           extra, dir));
    make_symlink(tmp_ / (dir + "/bin/python3"), "/usr/bin/python3");
    make_symlink(tmp_ / (dir + "/bin/python"), "python3");
    make_symlink(tmp_ / (dir + "/bin/python3.11"), "python3");
    write_file(tmp_ / (dir + "/lib/python3.11/site-packages/flask/__init__.py"), "");
    make_symlink(tmp_ / (dir + "/lib64"), "lib");
  }

  PythonEnv read(std::string_view interpreter) {
    auto env = read_python_env(Root(tmp_.path()), interpreter);
    EXPECT_TRUE(env.ok()) << (env.ok() ? "" : env.error().message);
    return env.ok() ? *env : PythonEnv{};
  }

  TempDir tmp_;
};

TEST_F(PythonEnvTest, AVenvNamedThroughItsSymlinkIsFoundWhereItIsNamed) {
  venv("/app/venv");
  PythonEnv env = read("/app/venv/bin/python");
  EXPECT_TRUE(env.venv);
  EXPECT_EQ(env.venv_dir, "/app/venv");
  EXPECT_EQ(env.pyvenv_cfg, "/app/venv/pyvenv.cfg");
  EXPECT_EQ(env.executable, "/usr/bin/python3.11");
  EXPECT_EQ(env.home, "/usr/bin");
  EXPECT_EQ(env.base_interpreter, "/usr/bin/python3.11");
  EXPECT_EQ(env.version, "3.11");
  EXPECT_FALSE(env.include_system_site_packages);
  EXPECT_TRUE(env.debian_layout);
  EXPECT_EQ(env.base_prefix, "/usr");
  EXPECT_EQ(env.stdlib_dirs, Paths{"/usr/lib/python3.11"});
  // lib64 -> lib: the same directory, once.
  EXPECT_EQ(env.site_dirs, Paths{"/app/venv/lib/python3.11/site-packages"});
  EXPECT_TRUE(env.warnings.empty()) << env.warnings.front();
}

TEST_F(PythonEnvTest, SystemSitePackagesComeAfterTheVenvsWhenIncluded) {
  venv("/app/venv", "include-system-site-packages = true\n");
  write_file(tmp_ / "usr/lib/python3/dist-packages/six.py", "");
  write_file(tmp_ / "usr/local/lib/python3.11/dist-packages/x.py", "");
  PythonEnv env = read("/app/venv/bin/python3");
  EXPECT_TRUE(env.include_system_site_packages);
  EXPECT_EQ(env.site_dirs,
            (Paths{"/app/venv/lib/python3.11/site-packages",
                   "/usr/local/lib/python3.11/dist-packages", "/usr/lib/python3/dist-packages"}));
}

TEST_F(PythonEnvTest, WithoutTheKeyCPythonIncludesTheSystemSiteDirectories) {
  write_file(tmp_ / "app/venv/pyvenv.cfg", "home = /usr/bin\n");
  make_symlink(tmp_ / "app/venv/bin/python", "/usr/bin/python3.11");
  write_file(tmp_ / "usr/lib/python3/dist-packages/six.py", "");
  PythonEnv env = read("/app/venv/bin/python");
  EXPECT_TRUE(env.include_system_site_packages);
  EXPECT_EQ(env.version, "3.11");  // from the base interpreter's name
  EXPECT_EQ(env.site_dirs, Paths{"/usr/lib/python3/dist-packages"});
}

TEST_F(PythonEnvTest, TheSystemPythonOnDebianUsesDistPackages) {
  write_file(tmp_ / "usr/lib/python3/dist-packages/six.py", "");
  write_file(tmp_ / "usr/local/lib/python3.11/dist-packages/x.py", "");
  write_file(tmp_ / "usr/lib/python3.11/dist-packages/old.py", "");
  write_file(tmp_ / "usr/lib/python3.11/site-packages/not-on-debian.py", "");
  PythonEnv env = read("/usr/bin/python3");
  EXPECT_FALSE(env.venv);
  EXPECT_EQ(env.base_interpreter, "/usr/bin/python3.11");
  EXPECT_EQ(env.version, "3.11");
  EXPECT_EQ(env.site_dirs,
            (Paths{"/usr/local/lib/python3.11/dist-packages", "/usr/lib/python3/dist-packages",
                   "/usr/lib/python3.11/dist-packages"}));
  EXPECT_TRUE(env.warnings.empty());
}

TEST_F(PythonEnvTest, CPythonsOwnLayoutUsesSitePackages) {
  write_file(tmp_ / "usr/local/bin/python3.12", "ELF");
  write_file(tmp_ / "usr/local/lib/python3.12/os.py", "");
  write_file(tmp_ / "usr/local/lib/python3.12/site.py", "# site-packages only\n");
  write_file(tmp_ / "usr/local/lib/python312.zip", "PK");
  write_file(tmp_ / "usr/local/lib/python3.12/site-packages/requests/__init__.py", "");
  PythonEnv env = read("/usr/local/bin/python3.12");
  EXPECT_FALSE(env.debian_layout);
  EXPECT_EQ(env.base_prefix, "/usr/local");
  EXPECT_EQ(env.stdlib_dirs, (Paths{"/usr/local/lib/python312.zip", "/usr/local/lib/python3.12"}));
  EXPECT_EQ(env.site_dirs, Paths{"/usr/local/lib/python3.12/site-packages"});
}

TEST_F(PythonEnvTest, ACopiedInterpreterFindsItsBaseInHome) {
  // python3 -m venv --copies: the interpreter is a file of the venv's own.
  write_file(tmp_ / "app/venv/pyvenv.cfg",
             "home = /usr/bin\ninclude-system-site-packages = false\n");
  write_file(tmp_ / "app/venv/bin/python3", "ELF");
  write_file(tmp_ / "app/venv/lib/python3.11/site-packages/a.py", "");
  PythonEnv env = read("/app/venv/bin/python3");
  EXPECT_EQ(env.executable, "/app/venv/bin/python3");
  EXPECT_EQ(env.base_interpreter, "/usr/bin/python3.11");  // home/python3 -> python3.11
  EXPECT_EQ(env.base_prefix, "/usr");
  EXPECT_EQ(env.site_dirs, Paths{"/app/venv/lib/python3.11/site-packages"});
}

TEST_F(PythonEnvTest, PyvenvCfgBesideTheInterpreterCounts) {
  write_file(tmp_ / "opt/py/pyvenv.cfg", "home = /usr/bin\nversion_info = 3.11.2.final.0\n");
  make_symlink(tmp_ / "opt/py/python", "/usr/bin/python3");
  PythonEnv env = read("/opt/py/python");
  EXPECT_TRUE(env.venv);
  EXPECT_EQ(env.venv_dir, "/opt");  // sys.prefix is still the directory above
  EXPECT_EQ(env.pyvenv_cfg, "/opt/py/pyvenv.cfg");
  EXPECT_EQ(env.version, "3.11");
}

TEST_F(PythonEnvTest, PthFilesAddExistingPathsAndNoteImports) {
  venv("/app/venv");
  const std::string site = "/app/venv/lib/python3.11/site-packages";
  write_file(tmp_ / "srv/src/pkg/__init__.py", "");
  write_file(tmp_ / "app/venv/lib/python3.11/site-packages/extra/m.py", "");
  write_file(tmp_ / (site + "/a-editable.pth"),
             "# comment\n\n/srv/src\nextra\r\nimport os; os.environ.get('X')\n"
             "../../../../missing\n/srv/src\n");
  write_file(tmp_ / (site + "/b.pth"), "  \n" + site + "\n");  // the site dir itself: once
  PythonEnv env = read("/app/venv/bin/python");
  ASSERT_EQ(env.pth_paths.size(), 2u);
  EXPECT_EQ(env.pth_paths[0].path, "/srv/src");
  EXPECT_EQ(env.pth_paths[0].file, site + "/a-editable.pth");
  EXPECT_EQ(env.pth_paths[0].line, 3u);
  EXPECT_EQ(env.pth_paths[1].path, site + "/extra");
  ASSERT_EQ(env.pth_imports.size(), 1u);
  EXPECT_EQ(env.pth_imports[0].file, site + "/a-editable.pth");
  EXPECT_EQ(env.pth_imports[0].line, 5u);
  EXPECT_TRUE(
      warned(env, site + "/a-editable.pth: line 6 names /app/missing, which does not exist"))
      << ::testing::PrintToString(env.warnings);
}

TEST_F(PythonEnvTest, ABrokenPyvenvCfgGivesWarningsNotFailure) {
  write_file(tmp_ / "app/venv/pyvenv.cfg",
             "this is not a config\nversion = three\nhome = /nowhere/bin\n\xff\xfe\n");
  make_symlink(tmp_ / "app/venv/bin/python", "python3");
  write_file(tmp_ / "app/venv/bin/python3", "ELF");
  PythonEnv env = read("/app/venv/bin/python");
  EXPECT_TRUE(env.venv);
  EXPECT_TRUE(warned(env, "/app/venv/pyvenv.cfg: line 1 is not `key = value`"));
  EXPECT_TRUE(warned(env, "/app/venv/pyvenv.cfg: line 2: version = three is not a Python version"));
  EXPECT_TRUE(warned(env, "/app/venv/pyvenv.cfg: not UTF-8 text"));
  EXPECT_TRUE(warned(env, "/app/venv/pyvenv.cfg: home /nowhere/bin does not exist"));
  EXPECT_TRUE(warned(env, "/app/venv/bin/python: standard library not found"));
  EXPECT_TRUE(env.base_prefix.empty());
  EXPECT_TRUE(env.site_dirs.empty());
}

TEST_F(PythonEnvTest, AMissingBaseInterpreterIsAWarning) {
  write_file(tmp_ / "app/venv/pyvenv.cfg", "home = /opt/gone/bin\nversion = 3.11.2\n");
  write_file(tmp_ / "app/venv/bin/python", "ELF");
  write_file(tmp_ / "app/venv/lib/python3.11/site-packages/a.py", "");
  PythonEnv env = read("/app/venv/bin/python");
  EXPECT_TRUE(env.base_interpreter.empty());
  EXPECT_TRUE(
      warned(env, "/app/venv/pyvenv.cfg: base interpreter not found (home = /opt/gone/bin)"));
  // The venv's own site-packages is still known (CPython's layout: no site.py to read).
  EXPECT_EQ(env.site_dirs, Paths{"/app/venv/lib/python3.11/site-packages"});
}

TEST_F(PythonEnvTest, TheVersionComesFromTheVenvsLibDirectoryLast) {
  write_file(tmp_ / "app/venv/pyvenv.cfg", "home = /opt/gone/bin\n");
  write_file(tmp_ / "app/venv/bin/python", "ELF");
  write_file(tmp_ / "app/venv/lib/python3.9/site-packages/a.py", "");
  PythonEnv env = read("/app/venv/bin/python");
  EXPECT_EQ(env.version, "3.9");
  EXPECT_EQ(env.site_dirs, Paths{"/app/venv/lib/python3.9/site-packages"});
}

TEST_F(PythonEnvTest, AnInterpreterThatDoesNotExistIsAnError) {
  auto env = read_python_env(Root(tmp_.path()), "/usr/bin/python9");
  ASSERT_FALSE(env.ok());
  EXPECT_EQ(env.error().path, "/usr/bin/python9");
}

TEST(PythonNames, InterpreterNames) {
  for (std::string_view name : {"python", "python3", "python3.11", "python3.13t", "python3.11d"}) {
    EXPECT_TRUE(is_python_name(name)) << name;
  }
  for (std::string_view name : {"pythonw", "python-config", "python3-config", "python3.11-config",
                                "ipython3", "pydoc3", "python3x"}) {
    EXPECT_FALSE(is_python_name(name)) << name;
  }
}

TEST(PythonBuildTools, WhatBelongsToWhichTool) {
  EXPECT_EQ(python_build_tool("pip"), "pip");
  EXPECT_EQ(python_build_tool("pip-23.0.1.dist-info"), "pip");
  EXPECT_EQ(python_build_tool("pkg_resources"), "setuptools");
  EXPECT_EQ(python_build_tool("_distutils_hack"), "setuptools");
  EXPECT_EQ(python_build_tool("distutils-precedence.pth"), "setuptools");
  EXPECT_EQ(python_build_tool("setuptools-66.1.1.egg-info"), "setuptools");
  EXPECT_EQ(python_build_tool("Setuptools.egg-info"), "setuptools");
  EXPECT_EQ(python_build_tool("wheel-0.38.4.dist-info"), "wheel");
  for (std::string_view other : {"pipx", "pip_audit-2.7.dist-info", "flask", "wheel_filename",
                                 "pip.py", "setuptools_scm-8.0.dist-info"}) {
    EXPECT_EQ(python_build_tool(other), std::nullopt) << other;
  }
  EXPECT_EQ(python_build_tool_at("/app/venv/lib/python3.11/site-packages/pip/_vendor/six.py"),
            "pip");
  EXPECT_EQ(python_build_tool_at("/usr/lib/python3/dist-packages/pkg_resources/__init__.py"),
            "setuptools");
  EXPECT_EQ(python_build_tool_at("/usr/lib/python3.11/venv/pip/x.py"), std::nullopt);
  EXPECT_EQ(python_build_tool_at("/app/venv/lib/python3.11/site-packages"), std::nullopt);
}

std::vector<std::string> imported(std::string_view source, bool distutils = false) {
  std::vector<std::string> out;
  for (const auto& i : python_build_tools_imported(source, distutils)) {
    out.push_back(fmt::format("{}:{}:{}", i.tool, i.module, i.line));
  }
  return out;
}

TEST(PythonBuildTools, ImportsThatFailWithoutTheTool) {
  EXPECT_EQ(imported("import os, pkg_resources as pr\n"), Paths{"setuptools:pkg_resources:1"});
  EXPECT_EQ(imported("from pkg_resources import iter_entry_points\n"),
            Paths{"setuptools:pkg_resources:1"});
  EXPECT_EQ(imported("def f():\n    import setuptools.command\n"),
            Paths{"setuptools:setuptools:2"});
  EXPECT_EQ(imported("from pip._internal.cli.main import main\n"), Paths{"pip:pip:1"});
  EXPECT_EQ(imported("m = importlib.import_module('wheel.bdist_wheel')\n"), Paths{"wheel:wheel:1"});
  // setuptools' own .pth line: statements after `;`, __import__.
  EXPECT_EQ(imported("import os; enabled and __import__('_distutils_hack').add_shim();\n"),
            Paths{"setuptools:_distutils_hack:1"});
  // distutils is setuptools' only where the standard library has none.
  EXPECT_TRUE(imported("from distutils.version import LooseVersion\n").empty());
  EXPECT_EQ(imported("from distutils.version import LooseVersion\n", true),
            Paths{"setuptools:distutils:1"});
}

TEST(PythonBuildTools, ImportsThatMayFailDoNotCount) {
  // werkzeug/testapp.py
  EXPECT_TRUE(imported("def render():\n    try:\n        import pkg_resources\n"
                       "    except ImportError:\n        eggs = ()\n")
                  .empty());
  EXPECT_TRUE(
      imported("try:\n    import x\n    import pip\nexcept (ValueError, ModuleNotFoundError):\n"
               "    pass\n")
          .empty());
  EXPECT_TRUE(
      imported("try:\n    import pip\nexcept ValueError:\n    pass\nexcept Exception:\n    pass\n")
          .empty());
  EXPECT_TRUE(
      imported("if t.TYPE_CHECKING:\n    from pkg_resources import Distribution\n").empty());
  EXPECT_TRUE(imported("with contextlib.suppress(ImportError):\n    import setuptools\n").empty());
  // Text, comments and relative imports are no imports of the tool.
  EXPECT_TRUE(imported("\"\"\"Use it like this:\n\n    import setuptools\n\"\"\"\n"
                       "# import pip\nfrom .pip import x\nimport pipes\nx = 'import wheel'\n")
                  .empty());
  // ... but a try whose except catches something else does not guard.
  EXPECT_EQ(imported("try:\n    import pkg_resources\nexcept KeyError:\n    pass\n"),
            Paths{"setuptools:pkg_resources:2"});
  // ... and after the triple-quoted string ends, code counts again.
  EXPECT_EQ(imported("'''doc\nimport pip\n'''\nimport pip\n"), Paths{"pip:pip:4"});
}

}  // namespace
}  // namespace elfprune
