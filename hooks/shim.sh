#!/bin/sh
# ossa-hooks shim: installed by `ossa-hooks install`, removed by `ossa-hooks uninstall`.
# ossa-hooks-shim-version: 2
OSSA_HOOK_TYPE=@HOOK_TYPE@
OSSA_PYTHON=@PYTHON@
OSSA_SYSPATH=@SYSPATH@

# A hook that was here before ossa-hooks runs first, with the same arguments and stdin;
# its failure is ours (pre-commit's "migration mode").
if [ -x "$0.legacy" ]; then
    if [ "$OSSA_HOOK_TYPE" = pre-push ] || [ "$OSSA_HOOK_TYPE" = reference-transaction ]; then
        ossa_stdin=$(mktemp) || exit 1
        cat > "$ossa_stdin"
        "$0.legacy" "$@" < "$ossa_stdin" || { ossa_rc=$?; rm -f "$ossa_stdin"; exit "$ossa_rc"; }
        exec < "$ossa_stdin"
        rm -f "$ossa_stdin"
    else
        "$0.legacy" "$@" || exit $?
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
