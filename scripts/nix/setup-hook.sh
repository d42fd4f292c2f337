# elfprune's setup hook: prune every output of a derivation after its
# install phase. A builder sources it (nixpkgs does so for a package in
# nativeBuildInputs); it registers elfprunePostInstall in postInstallHooks,
# which `runHook postInstall` runs.
#
#   elfpruneFlags  extra arguments, split on whitespace ("--keep /share/x/*
#                  --rewrite-ref /nix/store/...-node=/nix/store/...-node-slim")
#   dontElfprune   set to a non-empty value to skip pruning
#   ELFPRUNE       the elfprune binary, when this file is used without
#                  nixpkgs' substitution of @out@ (tests, hand-written builders)
#
# Each output is pruned with `elfprune prune DIR --in-place --sysroot /`
# (and `--jobs $NIX_BUILD_CORES` when that is a positive number and the
# flags name no --jobs of their own):
# without entries every file stays a root, so only the artefact rules remove
# anything (headers, static libraries, node-gyp and its Python, docs...), and
# RUNPATHs into other store paths resolve where they point. The summary goes
# to the build log; a failure (exit 1: the pruned output would not resolve;
# 2: bad usage) fails the build, and in that case nothing was removed.

elfprunePostInstall() {
    if [ -n "${dontElfprune-}" ]; then
        echo "elfprune: dontElfprune is set; outputs left as they are"
        return 0
    fi
    local elfprune="@out@/bin/elfprune"
    # An unsubstituted @out@ means the hook was sourced as it is in the
    # source tree.
    case "$elfprune" in
        @*) elfprune="${ELFPRUNE:-elfprune}" ;;
    esac
    # Split on whitespace, as nixpkgs does for *Flags strings, but never
    # glob: "--keep /share/x/*" is a pattern for elfprune.
    local -a flags=()
    read -r -a flags <<<"${elfpruneFlags-}"
    local -a jobs=()
    case " ${flags[*]-} " in
        *" --jobs"* | *" -j"*) ;;
        *) if [[ "${NIX_BUILD_CORES-}" =~ ^[1-9][0-9]*$ ]]; then jobs=(--jobs "$NIX_BUILD_CORES"); fi ;;
    esac
    local output dir
    for output in ${outputs:-out}; do
        dir="${!output-}"
        if [ -z "$dir" ] || [ ! -d "$dir" ]; then
            continue
        fi
        echo "elfprune: pruning output $output ($dir)${jobs[0]:+ with ${jobs[*]}}"
        # Nix gives builders a terminal (TERM=xterm-256color); a progress
        # line would only litter the build log.
        TERM=dumb "$elfprune" prune "$dir" --in-place --sysroot / "${jobs[@]}" "${flags[@]}" || {
            local status=$?
            echo "elfprune: pruning $dir failed (exit $status); set dontElfprune=1 to skip" >&2
            return "$status"
        }
    done
}

postInstallHooks+=(elfprunePostInstall)
