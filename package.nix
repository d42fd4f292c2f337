# elfprune for nixpkgs:
#   elfprune = callPackage ./package.nix { };
# and, in a package to be pruned after its install phase:
#   nativeBuildInputs = [ elfprune ];   # sources scripts/nix/setup-hook.sh
#   elfpruneFlags = "--keep /share/myapp/*";   # optional
#
# Not built here: nixpkgs is not reachable from this project's machines, so
# only its evaluation is tested (e2e.nix.package_evaluates). nixpkgs' LIEF
# is newer than the 0.9 that src/elf.cpp, the one file that includes LIEF,
# is written against; that file is what a port would touch.
{ lib, stdenv, cmake, pkg-config, lief, cli11, fmt, nlohmann_json, gtest }:

stdenv.mkDerivation {
  pname = "elfprune";
  version = "0.1.0";

  src = builtins.filterSource
    (path: type: !(type == "directory" && builtins.elem (baseNameOf path)
      [ ".git" "build" "build-sanitize" "build-fuzz" "result" ]))
    ./.;

  nativeBuildInputs = [ cmake pkg-config ];
  buildInputs = [ lief cli11 fmt nlohmann_json ];
  nativeCheckInputs = [ gtest ];

  # The tests build fixture roots from the build machine's glibc and compare
  # with its loader run chrooted; a Nix sandbox has neither.
  cmakeFlags = [ "-DELFPRUNE_BUILD_TESTS=OFF" ];
  doCheck = false;

  # Copied to $out/nix-support/setup-hook with @out@ substituted.
  setupHook = ./scripts/nix/setup-hook.sh;

  meta = {
    description = "Prune root filesystems and package outputs to what their programs need";
    platforms = lib.platforms.linux;
    mainProgram = "elfprune";
  };
}
