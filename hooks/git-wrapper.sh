#!/bin/sh
# ossa-hooks: the `git` an agent process finds first on its PATH (written by the agent runner;
# see ossa_hooks/worktree/guard_git.py). A person's commands, and an agent's commands that
# write no worktree, go straight to the real git; an agent's checkout, switch, reset, clean,
# stash, merge, ... is first checked against the guard rails, before git touches a file.
# ossa-hooks-git-wrapper-version: 1
OSSA_REAL_GIT=${OSSA_REAL_GIT:-@REAL_GIT@}
export OSSA_REAL_GIT
[ -n "${OSSA_AGENT_ID:-}" ] || exec "$OSSA_REAL_GIT" "$@"

# The subcommand: the first word after git's own options (those that take a separate value
# skip it).
ossa_sub=
ossa_skip=
for ossa_arg do
    if [ -n "$ossa_skip" ]; then ossa_skip=; continue; fi
    case $ossa_arg in
        -C|-c|--git-dir|--work-tree|--namespace|--super-prefix|--config-env) ossa_skip=1 ;;
        -*) ;;
        *) ossa_sub=$ossa_arg; break ;;
    esac
done
case $ossa_sub in
    # Read-only, or judged by the hooks before any ref moves (branch, tag, update-ref, push).
    ""|status|log|diff|show|rev-parse|rev-list|ls-files|ls-tree|ls-remote|cat-file|\
    for-each-ref|show-ref|symbolic-ref|describe|blame|grep|shortlog|reflog|config|var|\
    version|help|branch|tag|update-ref|push|fetch|remote|notes|merge-base|name-rev|\
    diff-index|diff-files|diff-tree|hash-object|count-objects|check-ignore|check-attr|\
    check-ref-format|fsck|gc|prune|pack-refs|repack|whatchanged|format-patch|archive|\
    range-diff|cherry|show-branch|verify-commit|verify-tag|mktree|mktag|commit-tree|\
    write-tree|unpack-objects|pack-objects|index-pack|credential|send-pack|upload-pack|\
    receive-pack|maintenance|annotate|difftool|request-pull|bugreport|init|clone)
        exec "$OSSA_REAL_GIT" "$@" ;;
esac
if [ ! -x @PYTHON@ ]; then
    echo "ossa-hooks: guard: refused git $ossa_sub: the guard's interpreter @PYTHON@ is gone; run the agent through \`ossa-hooks agents\` again" >&2
    exit 2
fi
exec @PYTHON@ -c 'import sys
del sys.path[0]  # never import from the repository the agent works in
from ossa_hooks.worktree.guard_git import main
sys.exit(main(sys.argv[1:]))' "$@"
