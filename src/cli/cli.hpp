// The command-line entry point. main() forwards here; tests call it too,
// so the whole tool runs in-process with the same parsing and error handling.
#pragma once

#include <ostream>
#include <string>
#include <vector>

namespace elfprune {

// `args` excludes the program name. Returns the exit status of docs/json-contracts.md:
// 0 success, 1 the work failed, 2 bad usage or input.
int run(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace elfprune
