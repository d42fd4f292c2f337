// The bodies of the fuzz targets, one function per parser of untrusted
// bytes. The libFuzzer executables (fuzz_main.cpp, built with
// -DELFPRUNE_FUZZ=ON) and the regression replay of the normal test suite
// (tests/fuzz_regressions_test.cpp) call the same functions, so an input
// checked in under fixtures/fuzz-regressions/<target>/ is replayed exactly as
// the fuzzer ran it.
#pragma once

#include <array>
#include <string_view>

namespace elfprune::fuzz {

// ELF files, through the fast reader and the LIEF adapter.
void elf(std::string_view bytes);
// /etc/ld.so.cache images, parsed and looked up.
void ldcache(std::string_view bytes);
// /etc/ld.so.conf and the files it includes (see ldconf_fuzz.cpp for the
// input's layout).
void ldconf(std::string_view bytes);
// FDO .note.dlopen descriptors.
void dlopen_note(std::string_view bytes);
// The first bytes of a script.
void shebang(std::string_view bytes);
// File contents scanned for path and store path strings.
void pathrefs(std::string_view bytes);
// --rewrite-ref and --shrink-rpath edits of a file's bytes.
void rewrite(std::string_view bytes);
#ifdef ELFPRUNE_IMAGES
// An image config, index or manifest (see image_config_fuzz.cpp).
void image_config(std::string_view bytes);
// A layer blob applied into a staging directory (see layer_fuzz.cpp).
void layer(std::string_view bytes);
#endif

struct Target {
  std::string_view name;  // also the directory of its seeds and regression inputs
  void (*run)(std::string_view bytes);
};

// The image targets exist only in a build with ELFPRUNE_IMAGES (the
// tests' CMake lists define the macro there).
inline constexpr std::array kTargets{
    Target{"elf", elf},
    Target{"ldcache", ldcache},
    Target{"ldconf", ldconf},
    Target{"dlopen_note", dlopen_note},
    Target{"shebang", shebang},
    Target{"pathrefs", pathrefs},
    Target{"rewrite", rewrite},
#ifdef ELFPRUNE_IMAGES
    Target{"image_config", image_config},
    Target{"layer", layer},
#endif
};

// An invariant that must hold for every input is broken: say which and
// abort, which libFuzzer reports as a crash with its reproducer and the
// replay test as a failure.
[[noreturn]] void invariant_failed(const char* condition, const char* file, int line);

}  // namespace elfprune::fuzz

#define FUZZ_CHECK(condition) \
  ((condition) ? (void)0 : ::elfprune::fuzz::invariant_failed(#condition, __FILE__, __LINE__))
