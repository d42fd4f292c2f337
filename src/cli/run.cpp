#include <fmt/format.h>
#include <fmt/ostream.h>

#include <CLI/CLI.hpp>
#include <exception>

#include "cli/cli.hpp"
#include "commands.hpp"

namespace elfprune {

int run(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  CLI::App app{
      "elfprune: make root filesystems and package outputs small without breaking them.\n"
      "It resolves what programs load exactly as the dynamic loader would, inside a root."};
  app.name("elfprune");
  app.require_subcommand(1);
  app.set_version_flag("--version", "elfprune 0.1.0");

  cli::DepsOptions deps;
  cli::add_deps_command(app, deps);
  cli::PruneCommandOptions prune;
  cli::add_prune_command(app, prune);
  cli::WhyOptions why;
  cli::add_why_command(app, why);
  cli::TraceOptions trace;
  cli::add_trace_command(app, trace);
  bool rules_json = false;
  cli::add_rules_command(app, rules_json);

  std::vector<const char*> argv;
  argv.push_back("elfprune");
  for (const auto& a : args) argv.push_back(a.c_str());
  try {
    app.parse(static_cast<int>(argv.size()), argv.data());
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e, out, err);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e, out, err);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e, out, err);
  } catch (const CLI::ParseError& e) {
    cli::print_error(err, make_error("", e.what(), ErrorKind::Usage));
    fmt::print(err, "Run 'elfprune --help' for usage.\n");
    return 2;
  }

  // The one handler at the top: errors as values from the subcommands, and
  // anything unexpected reported, not a crash.
  Result<int> status = make_error("", "no subcommand", ErrorKind::Usage);
  try {
    if (app.got_subcommand("deps")) status = cli::run_deps(deps, out, err);
    if (app.got_subcommand("prune")) status = cli::run_prune(prune, out, err);
    if (app.got_subcommand("why")) status = cli::run_why(why, out, err);
    if (app.got_subcommand("trace")) status = cli::run_trace(trace, out, err);
    if (app.got_subcommand("rules")) status = cli::run_rules(rules_json, out);
  } catch (const std::exception& e) {
    status = make_error("", fmt::format("internal error: {}", e.what()), ErrorKind::Failed);
  }
  if (status) return *status;
  cli::print_error(err, status.error());
  return status.error().kind == ErrorKind::Failed ? 1 : 2;
}

namespace cli {

CLI::Option* repeatable(CLI::Option* opt, const char* type) {
  return opt->expected(1)
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)
      ->type_name(type);
}

void print_error(std::ostream& err, const Error& e) {
  if (e.path.empty()) {
    fmt::print(err, "elfprune: error: {}\n", e.message);
  } else {
    fmt::print(err, "elfprune: error: {}: {}\n", e.path, e.message);
  }
}

}  // namespace cli

}  // namespace elfprune
