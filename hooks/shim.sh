#!/bin/sh
# ossa-hooks shim: installed by `ossa-hooks install`, removed by `ossa-hooks uninstall`.
# ossa-hooks-shim-version: 3
OSSA_HOOK_TYPE=@HOOK_TYPE@
OSSA_PYTHON=@PYTHON@
OSSA_SYSPATH=@SYSPATH@
# How the hook that was here before runs: "exec" (as a program) or "source" (read by sh with
# $0 set to this hook's own path, for wrappers such as husky's that dispatch on their name).
OSSA_CHAIN=@CHAIN@

# A hook that was here before ossa-hooks is kept as HOOK.ossa-chained (a name no other manager
# uses) and runs first, with the same arguments and stdin; its failure is ours. It is found
# by the hook type, not by $0: pre-commit may run this shim as HOOK.legacy.
case $0 in */*) ossa_dir=${0%/*} ;; *) ossa_dir=. ;; esac
ossa_chained=$ossa_dir/$OSSA_HOOK_TYPE.ossa-chained
ossa_chain() {
    if [ "$OSSA_CHAIN" = source ]; then
        OSSA_CHAINED=$ossa_chained sh -c 'c=$OSSA_CHAINED; unset OSSA_CHAINED; . "$c"' \
            "$ossa_dir/$OSSA_HOOK_TYPE" "$@"
    else
        "$ossa_chained" "$@"
    fi
}
if [ -x "$ossa_chained" ]; then
    if [ "$OSSA_HOOK_TYPE" = pre-push ] || [ "$OSSA_HOOK_TYPE" = reference-transaction ]; then
        ossa_stdin=$(mktemp) || exit 1
        cat > "$ossa_stdin"
        ossa_chain "$@" < "$ossa_stdin" || { ossa_rc=$?; rm -f "$ossa_stdin"; exit "$ossa_rc"; }
        exec < "$ossa_stdin"
        rm -f "$ossa_stdin"
    else
        ossa_chain "$@" || exit $?
    fi
fi

if [ ! -x "$OSSA_PYTHON" ]; then
    if command -v ossa-hooks > /dev/null 2>&1; then
        exec ossa-hooks run "$OSSA_HOOK_TYPE" "$@"
    fi
    echo "ossa-hooks: $OSSA_PYTHON is gone; run \`ossa-hooks install\` again from the environment that has ossa-hooks" >&2
    exit 1
fi
# -S skips site's processing of every .pth file (a third of the interpreter's start-up): the
# module path recorded at install time is put in place instead. If that path no longer finds
# ossa-hooks (the environment changed), the interpreter starts again the ordinary way.
ossa_start() {
exec "$OSSA_PYTHON" -S -c 'import sys
recorded = sys.argv.pop(1)
if recorded:
    sys.path[:1] = recorded.split(":")  # replaces "": nothing is imported from the repository
else:
    del sys.path[0]  # never import from the repository being committed
    import site
    site.main()
try:
    from ossa_hooks.run import shim_main
except ImportError:
    if not recorded:
        raise
    import os
    code = sys.orig_argv[sys.orig_argv.index("-c") + 1]
    os.execv(sys.executable, [sys.executable, "-S", "-c", code, "", *sys.argv[1:]])
sys.exit(shim_main())' "$OSSA_SYSPATH" "$OSSA_HOOK_TYPE" "$@"
}

OSSA_PREFETCH=
export OSSA_PREFETCH
@START@
