#!/bin/sh
# ossa-hooks shim: installed by `ossa-hooks install`, removed by `ossa-hooks uninstall`.
# ossa-hooks-shim-version: 1
OSSA_HOOK_TYPE=@HOOK_TYPE@
OSSA_PYTHON=@PYTHON@

# A hook that was here before ossa-hooks runs first, with the same arguments and stdin;
# its failure is ours (pre-commit's "migration mode").
if [ -x "$0.legacy" ]; then
    if [ "$OSSA_HOOK_TYPE" = pre-push ]; then
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
exec "$OSSA_PYTHON" -c 'import sys
from ossa_hooks.run import shim_main
sys.exit(shim_main())' "$OSSA_HOOK_TYPE" "$@"
