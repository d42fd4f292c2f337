# e2e.nix.package_evaluates: package.nix evaluates as callPackage would call
# it, with stand-ins for the nixpkgs arguments (nixpkgs is not reachable
# here), and names a setup hook that registers elfprune's postInstall hook.
let
  stub = name: { inherit name; };
  pkg = import ../../../package.nix {
    lib = { licenses = { }; platforms.linux = [ "x86_64-linux" ]; };
    stdenv.mkDerivation = attrs: attrs;
    cmake = stub "cmake"; pkg-config = stub "pkg-config"; lief = stub "lief";
    cli11 = stub "cli11"; fmt = stub "fmt"; nlohmann_json = stub "nlohmann_json";
    gtest = stub "gtest";
  };
  hook = builtins.readFile pkg.setupHook;
in {
  inherit (pkg) pname version;
  inputs = map (p: p.name) (pkg.nativeBuildInputs ++ pkg.buildInputs);
  hookRegisters = builtins.match ".*postInstallHooks\\+=\\(elfprunePostInstall\\).*" hook != null;
  hookUsesOut = builtins.match ".*@out@/bin/elfprune.*" hook != null;
}
