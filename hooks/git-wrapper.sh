#!/bin/sh
# ossa-hooks: the `git` an agent process finds first on its PATH (written by the agent runner;
# see ossa_hooks/worktree/guard_git.py). A person's commands, an agent's commands that write
# no worktree, its commands in another repository and its writing commands in its own worktree
# (but checkout, switch, stash, worktree) go straight to the real git; the others (a reset or a
# clean in another worktree, a switch in its own, ...) are first checked against the guard
# rails, before git touches a file.
# ossa-hooks-git-wrapper-version: 2
OSSA_REAL_GIT=${OSSA_REAL_GIT:-@REAL_GIT@}
export OSSA_REAL_GIT
[ -n "${OSSA_AGENT_ID:-}" ] || exec "$OSSA_REAL_GIT" "$@"

# The subcommand: the first word after git's own options (those that take a separate value
# skip it); and whether an option says where git works.
ossa_sub=
ossa_skip=
ossa_where=
for ossa_arg do
    if [ -n "$ossa_skip" ]; then ossa_skip=; continue; fi
    case $ossa_arg in
        -C|--git-dir|--work-tree) ossa_skip=1; ossa_where=1 ;;
        --git-dir=*|--work-tree=*) ossa_where=1 ;;
        -c|--namespace|--super-prefix|--config-env) ossa_skip=1 ;;
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

# When the folder alone decides where git works (no option or GIT_* variable says), find it
# as git does, without starting anything: the first folder upwards with a .git, and the git
# dir it names, as physical paths. Another repository (a clone, a test's scratch repository, a
# submodule) is not the guard's business; in the agent's own worktree only checkout, switch,
# stash and worktree are (and words git does not know: aliases).
if [ -z "$ossa_where${GIT_DIR:-}${GIT_WORK_TREE:-}${GIT_COMMON_DIR:-}" ] \
        && [ -n "${OSSA_GUARD_REPO:-}" ] && cd -P . 2>/dev/null; then
    unset CDPATH
    ossa_cwd=$PWD
    ossa_top=$PWD
    while [ ! -e "$ossa_top/.git" ] && [ -n "$ossa_top" ]; do
        ossa_top=${ossa_top%/*}
    done
    ossa_gitdir=
    if [ -d "$ossa_top/.git" ] && [ ! -e "$ossa_top/.git/commondir" ]; then
        ossa_gitdir=$ossa_top/.git
    elif [ -f "$ossa_top/.git" ]; then
        ossa_line=
        IFS= read -r ossa_line < "$ossa_top/.git" || [ -n "$ossa_line" ]
        case $ossa_line in
            "gitdir: "?*)
                if cd -P -- "$ossa_top" && cd -P -- "${ossa_line#gitdir: }" 2>/dev/null; then
                    ossa_gitdir=$PWD
                fi
                cd -P -- "$ossa_cwd" || exit 1 ;;
        esac
    fi
    if [ -z "$ossa_top" ] && [ ! -e /.git ]; then
        exec "$OSSA_REAL_GIT" "$@"  # in no repository: git says so
    fi
    case $ossa_gitdir in
        "") ;;  # a layout this script does not know: the interpreter decides
        "$OSSA_GUARD_REPO"|"$OSSA_GUARD_REPO"/worktrees/*)
            if [ "$ossa_top" = "${OSSA_GUARD_HOME:-}" ]; then
                case $ossa_sub in
                    checkout|switch|stash|worktree) ;;
                    add|am|apply|bisect|checkout-index|cherry-pick|clean|commit|merge|mv|\
                    pull|read-tree|rebase|reset|restore|revert|rm|sparse-checkout|submodule|\
                    update-index)
                        exec "$OSSA_REAL_GIT" "$@" ;;
                esac
            fi ;;
        *) exec "$OSSA_REAL_GIT" "$@" ;;
    esac
fi
if [ ! -x @PYTHON@ ]; then
    echo "ossa-hooks: guard: refused git $ossa_sub: the guard's interpreter @PYTHON@ is gone; run the agent through \`ossa-hooks agents\` again" >&2
    exit 2
fi
exec @PYTHON@ -c 'import sys
del sys.path[0]  # never import from the repository the agent works in
from ossa_hooks.worktree.guard_git import main
sys.exit(main(sys.argv[1:]))' "$@"
