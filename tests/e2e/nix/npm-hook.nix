# e2e.nix.setup_hook: an npm project with a native addon and node-gyp, whose
# Python scripts' shebangs point at a "python" store path (as nixpkgs'
# patchShebangs would make them), built twice: as it is (control) and with
# scripts/nix/setup-hook.sh sourced and its postInstallHooks run.
#
#   nix-build npm-hook.nix --argstr tree DIR --argstr hook FILE \
#     --argstr elfprune BIN --argstr nonce N -A control|pruned
#
# Written with builtins.derivation and /bin/sh, since nixpkgs is not
# available; built with --option sandbox false, so the builders read the
# host's /bin, /usr/bin and the given paths. `nonce` changes with the
# elfprune binary and the hook, so a changed elfprune is really rebuilt.
{ tree, hook, elfprune, nonce }:
let
  system = builtins.currentSystem;
  PATH = "/usr/bin:/bin";
  python = builtins.derivation {
    name = "python3-for-node-gyp";
    inherit system PATH;
    builder = "/bin/sh";
    args = [ "-c" "mkdir -p $out/bin && ln -s /usr/bin/python3 $out/bin/python3" ];
  };
  package = { name, withHook }: builtins.derivation {
    inherit name system PATH tree hook python nonce;
    ELFPRUNE = elfprune;
    withHook = if withHook then "1" else "";
    builder = "/bin/sh";
    args = [ "-c" ''
      set -e
      mkdir -p $out/lib
      cp -R "$tree" $out/lib/app
      # patchShebangs, by hand: Python scripts run the store's python.
      grep -rlZ '^#!/usr/bin/env python3' $out/lib/app | \
        xargs -0 sed -i "1s|^#!/usr/bin/env python3|#!$python/bin/python3|"
      if [ -n "$withHook" ]; then
        # What stdenv's `runHook postInstall` does with the hook sourced.
        exec /bin/bash -c 'set -e; source "$hook"
          for h in "''${postInstallHooks[@]}"; do "$h"; done'
      fi
    '' ];
  };
in {
  inherit python;
  control = package { name = "lambda-app-control"; withHook = false; };
  pruned = package { name = "lambda-app-pruned"; withHook = true; };
}
