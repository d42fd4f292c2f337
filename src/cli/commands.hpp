// One options struct and one function per subcommand; run.cpp wires them
// into CLI11 and owns the single error handler. A subcommand returns its
// exit status, or the Error that ends it (the handler prints it and picks
// the status: 1 for ErrorKind::Failed, 2 otherwise).
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "util/result.hpp"

namespace CLI {
class App;
class Option;
}  // namespace CLI

namespace elfprune::cli {

// One value per flag, repeatable: `--entry A --entry B`, so that a value
// never swallows the ROOT that follows it. TYPE names the value in --help.
CLI::Option* repeatable(CLI::Option* opt, const char* type);

struct DepsOptions {
  std::string root = "/";
  bool json = false;
  std::string ld_library_path;
  std::string hwcaps = "host";
  std::string platform;  // an image ROOT's platform
  bool bind = false;
  std::string host;  // --host PROG: the FILEs are its plugins
  std::vector<std::string> files;
};

void add_deps_command(CLI::App& app, DepsOptions& options);
Result<int> run_deps(const DepsOptions& options, std::ostream& out, std::ostream& err);

// What `prune` and `why` share: which files matter and how paths resolve.
struct SelectionOptions {
  std::vector<std::string> entries;
  std::vector<std::string> keep_globs;
  std::vector<std::string> drop_globs;
  std::vector<std::string> keep_locales;
  std::vector<std::string> dlopen_names;
  std::vector<std::string> excludes;
  std::string sysroot;
  std::vector<std::string> traces;  // --trace FILE
  std::string store_dir = "/nix/store";
  std::string hwcaps = "host";
  // An image ROOT (oci:, oci-archive:, docker-archive:).
  std::string platform;
  bool no_config_entries = false;
};

struct PruneCommandOptions {
  std::string root;
  SelectionOptions selection;
  std::string out_dir;
  bool in_place = false;
  bool allow_live_root = false;
  bool dry_run = false;
  std::string report_file;
  std::vector<std::string> rewrite_refs;  // FROM=TO
  bool shrink_rpath = false;
  std::vector<std::string> checks;  // --check CMD
  unsigned check_timeout = 300;
  bool json = false;
  bool timings = false;
  unsigned jobs = 0;              // 0: not given
  std::string layers = "squash";  // an image --out: squash, keep
  std::string compress = "gzip";  // gzip, zstd, none
};

struct WhyOptions {
  std::string root;
  std::string path;
  SelectionOptions selection;
  bool json = false;
};

struct TraceOptions {
  std::string root;
  std::string output;
  unsigned timeout = 0;  // seconds, 0: none
  std::vector<std::string> env;
  std::string workdir = "/";
  std::vector<std::string> command;
};

void add_trace_command(CLI::App& app, TraceOptions& options);
Result<int> run_trace(const TraceOptions& options, std::ostream& out, std::ostream& err);

void add_prune_command(CLI::App& app, PruneCommandOptions& options);
void add_why_command(CLI::App& app, WhyOptions& options);
void add_rules_command(CLI::App& app, bool& json);
Result<int> run_prune(const PruneCommandOptions& options, std::ostream& out, std::ostream& err);
Result<int> run_why(const WhyOptions& options, std::ostream& out, std::ostream& err);
Result<int> run_rules(bool json, std::ostream& out);

// `elfprune: error: <path>: <what>` (without the path when there is none):
// the one format of every error line, also for the problems a run reports
// and goes on (a missing library of one FILE among several).
void print_error(std::ostream& err, const Error& e);

}  // namespace elfprune::cli
