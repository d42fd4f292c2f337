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
    fmt::print(err, "elfprune: error: {}\n", e.what());
    fmt::print(err, "Run 'elfprune --help' for usage.\n");
    return 2;
  }

  // The one handler at the top: anything unexpected is reported, not a crash.
  try {
    if (app.got_subcommand("deps")) return cli::run_deps(deps, out, err);
    if (app.got_subcommand("prune")) return cli::run_prune(prune, out, err);
    if (app.got_subcommand("why")) return cli::run_why(why, out, err);
    if (app.got_subcommand("rules")) return cli::run_rules(rules_json, out);
  } catch (const std::exception& e) {
    fmt::print(err, "elfprune: error: internal error: {}\n", e.what());
    return 1;
  }
  return 2;
}

}  // namespace elfprune
