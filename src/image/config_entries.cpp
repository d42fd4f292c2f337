#include "image/config_entries.hpp"

#include <fmt/format.h>

#include <array>
#include <set>

#include "facts/shebang.hpp"
#include "util/path.hpp"

namespace elfprune {
namespace {

// Directories that hold a system, not an application: a WorkingDir of
// "/" (the default) or /usr is no application directory to keep whole.
bool system_directory(const std::string& dir) {
  static constexpr std::array<std::string_view, 18> kSystem = {
      "/",     "/bin",  "/boot", "/dev", "/etc", "/home", "/lib", "/lib64", "/opt",
      "/proc", "/root", "/sbin", "/srv", "/sys", "/tmp",  "/usr", "/var",   "/usr/local"};
  for (auto s : kSystem) {
    if (dir == s) return true;
  }
  return false;
}

std::string env_value(const std::vector<std::string>& env, std::string_view name) {
  std::string out;
  for (const auto& e : env) {
    if (e.size() > name.size() && e.compare(0, name.size(), name) == 0 && e[name.size()] == '=') {
      out = e.substr(name.size() + 1);  // the last one wins, as in execve's environment
    }
  }
  return out;
}

std::vector<std::string> split_words(std::string_view s) {
  std::vector<std::string> out;
  std::string word;
  for (char c : s) {
    if (c == ' ' || c == '\t' || c == '\n') {
      if (!word.empty()) out.push_back(std::move(word));
      word.clear();
    } else {
      word += c;
    }
  }
  if (!word.empty()) out.push_back(std::move(word));
  return out;
}

class Collector {
 public:
  Collector(const ImageRunConfig& run, const Root& root) : run_(run), root_(root) {
    path_ = env_value(run.env, "PATH");
    if (path_.empty()) path_ = std::string(kDefaultPath);
    workdir_ = run.working_dir.empty() ? "/" : lexically_absolute(run.working_dir);
  }

  ConfigEntries take() && { return std::move(out_); }

  void add(const std::string& path, std::string from) {
    if (!seen_.insert(path).second) return;
    out_.entries.push_back({path, std::move(from)});
  }

  // argv[0]: looked up on PATH as execvp would, or relative to WorkingDir
  // when it holds a slash.
  void program(const std::string& word, const std::string& from) {
    std::optional<std::string> found;
    if (word.find('/') != std::string::npos) {
      const std::string p = lexically_absolute(word, workdir_);
      if (root_.exists(p)) found = p;
    } else {
      found = find_on_path(root_, word, path_);
    }
    if (found) {
      add(*found, from);
    } else if (handler_module(word, from)) {
      // A Lambda image whose base's entrypoint runs the handler named in
      // Cmd: `index.handler` is a module, not a program.
    } else {
      out_.notes.push_back(fmt::format("{} '{}' is not in the image (PATH {})", from, word, path_));
    }
  }

  // `index.handler` names index.js, .mjs, .cjs or index.py in
  // LAMBDA_TASK_ROOT (or WorkingDir): that module is an entry.
  bool handler_module(const std::string& word, const std::string& from) {
    const auto dot = word.rfind('.');
    if (dot == std::string::npos || dot == 0 || word.find('/') != std::string::npos) return false;
    const std::string module = word.substr(0, dot);
    const std::string task_root = env_value(run_.env, "LAMBDA_TASK_ROOT");
    const std::string base = task_root.empty() ? workdir_ : lexically_absolute(task_root);
    for (const char* ext : {".js", ".mjs", ".cjs", ".py"}) {
      const std::string file = path_join(base, module + ext);
      if (root_.exists(file)) {
        out_.notes.push_back(
            fmt::format("{} '{}' is a handler name: its module {} is an entry", from, word, file));
        add(file, fmt::format("{} (handler '{}')", from, word));
        return true;
      }
    }
    return false;
  }

  // An argument that names a file of the image (absolute, or relative to
  // WorkingDir) is an entry; a Lambda handler (`index.handler`) names the
  // module index.js/.mjs/.cjs or index.py beside it.
  void argument(const std::string& word, const std::string& from) {
    if (word.empty() || word.front() == '-' || word.find('=') != std::string::npos) return;
    const std::string p = lexically_absolute(word, workdir_);
    if (p != "/" && root_.exists(p) && !root_.is_directory(p)) {
      add(p, from);
      return;
    }
    const auto dot = word.rfind('.');
    if (dot == std::string::npos || dot == 0 || word.find('/') != std::string::npos) return;
    if (handler_module(word, from)) return;
    out_.notes.push_back(
        fmt::format("{} '{}' is a handler or a name, not a file of the image", from, word));
  }

  void directory(const std::string& dir, const std::string& from) {
    if (dir.empty()) return;
    const std::string p = lexically_absolute(dir, workdir_);
    if (system_directory(p)) return;
    if (!root_.is_directory(p)) {
      out_.notes.push_back(fmt::format("{} {} is not a directory of the image", from, p));
      return;
    }
    add(p, from);
  }

  void command(const std::vector<std::string>& argv, const std::vector<std::string>& names) {
    if (argv.empty()) return;
    program(argv[0], names[0]);
    const std::string shell(path_base(argv[0]));
    const bool shell_form =
        (shell == "sh" || shell == "bash" || shell == "dash" || shell == "ash") &&
        argv.size() >= 3 && argv[1] == "-c";
    if (shell_form) {
      // `/bin/sh -c "exec node index.js"`: the shell, and the command's first
      // word (after `exec`), and its file arguments.
      auto words = split_words(argv[2]);
      std::size_t i = 0;
      while (i < words.size() && (words[i] == "exec" || words[i].find('=') != std::string::npos))
        ++i;
      if (i < words.size()) {
        program(words[i], names[2] + " (shell command)");
        for (std::size_t k = i + 1; k < words.size(); ++k)
          argument(words[k], names[2] + " (shell command)");
      }
      return;
    }
    for (std::size_t k = 1; k < argv.size(); ++k) argument(argv[k], names[k]);
  }

 private:
  const ImageRunConfig& run_;
  const Root& root_;
  std::string path_;
  std::string workdir_;
  std::set<std::string> seen_;
  ConfigEntries out_;
};

}  // namespace

ConfigEntries entries_from_config(const ImageRunConfig& run, const Root& root) {
  Collector c(run, root);
  std::vector<std::string> argv;
  std::vector<std::string> names;
  for (std::size_t i = 0; i < run.entrypoint.size(); ++i) {
    argv.push_back(run.entrypoint[i]);
    names.push_back(fmt::format("Entrypoint[{}]", i));
  }
  for (std::size_t i = 0; i < run.cmd.size(); ++i) {
    argv.push_back(run.cmd[i]);
    names.push_back(fmt::format("Cmd[{}]", i));
  }
  c.command(argv, names);
  c.directory(run.working_dir, "WorkingDir");
  for (const char* var : {"LAMBDA_TASK_ROOT", "NODE_PATH", "PYTHONPATH"}) {
    std::string value = env_value(run.env, var);
    std::size_t start = 0;
    while (start <= value.size() && !value.empty()) {
      auto colon = value.find(':', start);
      std::string part =
          value.substr(start, colon == std::string::npos ? std::string::npos : colon - start);
      c.directory(part, fmt::format("Env {}", var));
      if (colon == std::string::npos) break;
      start = colon + 1;
    }
  }
  return std::move(c).take();
}

}  // namespace elfprune
