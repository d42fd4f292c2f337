# e2e.nix.rewrite_ref: a package whose wrapper script and ELF program point
# at a "full node" store path, built with the setup hook and
# elfpruneFlags = "--rewrite-ref FULL=SLIM": its closure then holds the slim
# store path, not the full one, and both programs run.
#
#   nix-build rewrite-ref.nix --argstr hook FILE --argstr elfprune BIN \
#     --argstr nonce N -A app
#
# builtins.derivation and /bin/sh as in npm-hook.nix. The slim name is
# shorter than the full one, so the ELF program's RUNPATH is rewritten as a
# string and the script as text.
{ hook, elfprune, nonce }:
let
  system = builtins.currentSystem;
  PATH = "/usr/bin:/bin";
  greet = word: ''
    printf 'const char *greeting(void) { return "${word}"; }\n' > greet.c
    gcc -shared -fPIC -o $out/lib/libgreet.so greet.c
  '';
  node = { name, word, extra ? "" }: builtins.derivation {
    inherit name system PATH;
    builder = "/bin/sh";
    args = [ "-c" ''
      set -e
      mkdir -p $out/bin $out/lib && cd $TMPDIR
      ln -s /usr/bin/node $out/bin/node
      ${greet word}
      ${extra}
    '' ];
  };
  # The full one carries what a slim build leaves out.
  full = node { name = "nodejs-full-20"; word = "full";
                extra = "head -c 4000000 /dev/zero > $out/lib/headers-and-npm"; };
  slim = node { name = "nodejs-20"; word = "slim"; };
in {
  inherit full slim;
  app = builtins.derivation {
    name = "wrapped-app";
    inherit system PATH hook nonce full slim;
    ELFPRUNE = elfprune;
    elfpruneFlags = "--rewrite-ref ${full}=${slim}";
    builder = "/bin/sh";
    args = [ "-c" ''
      set -e
      mkdir -p $out/bin && cd $TMPDIR
      printf '#!%s/bin/node\nconsole.log("app runs on node " + process.version)\n' "$full" > $out/bin/app
      chmod +x $out/bin/app
      printf '#include <stdio.h>\nconst char *greeting(void);\nint main(void) { puts(greeting()); return 0; }\n' > main.c
      gcc -o $out/bin/greet main.c -L$full/lib -lgreet -Wl,-rpath,$full/lib
      exec /bin/bash -c 'set -e; source "$hook"
        for h in "''${postInstallHooks[@]}"; do "$h"; done'
    '' ];
  };
}
