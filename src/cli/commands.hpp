// One options struct and one function per subcommand; run.cpp wires them
// into CLI11 and owns the single error handler.
#pragma once

#include <ostream>
#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace elfprune::cli {

struct DepsOptions {
  std::string root = "/";
  bool json = false;
  std::string ld_library_path;
  std::string hwcaps = "host";
  std::vector<std::string> files;
};

void add_deps_command(CLI::App& app, DepsOptions& options);
int run_deps(const DepsOptions& options, std::ostream& out, std::ostream& err);

}  // namespace elfprune::cli
