// The libFuzzer entry point of one target executable; CMake names the
// target's function in ELFPRUNE_FUZZ_TARGET (elfprune::fuzz::elf, ...).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz_targets.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  ELFPRUNE_FUZZ_TARGET(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
