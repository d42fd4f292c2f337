// The first bytes of any file of the tree are offered to the `#!` parser.
#include <string_view>

#include "facts/shebang.hpp"
#include "fuzz_targets.hpp"

namespace elfprune::fuzz {

void shebang(std::string_view bytes) {
  const auto parsed = parse_shebang(bytes);
  if (!parsed) return;
  // As the kernel reads it: a `#!` line within BINPRM_BUF_SIZE (256 bytes),
  // an interpreter that ends at a blank, NUL or newline, C strings.
  FUZZ_CHECK(bytes.starts_with("#!"));
  const std::string& interp = parsed->interpreter;
  FUZZ_CHECK(!interp.empty() && interp.size() < 256);
  FUZZ_CHECK(interp.find_first_of(std::string_view(" \t\n\0", 4)) == std::string::npos);
  FUZZ_CHECK(parsed->argument.size() < 256);
  FUZZ_CHECK(parsed->argument.find_first_of(std::string_view("\n\0", 2)) == std::string::npos);
  const std::string& program = parsed->env_program;
  FUZZ_CHECK(program.empty() || parsed->argument.find(program) != std::string::npos);
  FUZZ_CHECK(program.find_first_of(" \t\n\v\f\r") == std::string::npos);
}

}  // namespace elfprune::fuzz
