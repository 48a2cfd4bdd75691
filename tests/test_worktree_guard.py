"""The guard's rules (ossa_hooks.worktree.guard) on real repositories: the layout read from the
git dirs, what an agent owns, and each rule's verdict on the updates git would make."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import git
from conftest import imports_beyond_ours

from ossa_hooks import config as config_mod
from ossa_hooks.identity import Identity
from ossa_hooks.worktree import guard
from ossa_hooks.worktree.guard import ZERO
from ossa_hooks.worktree.guard import scope_of
from ossa_hooks.worktree.guard_layout import Layout


@pytest.fixture
def three(committed_repo: Path, tmp_path: Path) -> dict[str, Path]:
    """The main worktree on main and two linked ones on agent branches."""
    trees = {"main": committed_repo}
    for agent in ("a", "b"):
        path = tmp_path / f"wt-{agent}"
        git(committed_repo, "worktree", "add", "-q", "-b", f"agents/{agent}/t", str(path))
        trees[agent] = path
    return trees


def layout_at(path: Path) -> Layout:
    common = git(path, "rev-parse", "--path-format=absolute", "--git-common-dir").stdout.strip()
    git_dir = git(path, "rev-parse", "--path-format=absolute", "--git-dir").stdout.strip()
    return Layout(common, str(path), git_dir)


def agent(trees: dict[str, Path], name: str = "a", **kw: str) -> Identity:
    fields = {"branch": f"agents/{name}/t", "worktree": str(trees[name]), **kw}
    return Identity(f"{name}-1", agent_type=name, **fields)


def head(path: Path) -> str:
    return git(path, "rev-parse", "HEAD").stdout.strip()


def test_the_layout_is_read_from_the_git_dirs(three: dict[str, Path]) -> None:
    lay = layout_at(three["a"])
    assert [t.branch for t in lay.trees] == ["main", "agents/a/t", "agents/b/t"]
    assert lay.here.path == str(three["a"].resolve())
    assert lay.main() is not None and lay.main().path == str(three["main"].resolve())  # type: ignore[union-attr]
    assert lay.holder("agents/b/t").path == str(three["b"].resolve())  # type: ignore[union-attr]
    git(three["b"], "checkout", "-q", "--detach")
    assert layout_at(three["a"]).holder("agents/b/t") is None


def test_namespaces_and_integration_patterns() -> None:
    assert guard.namespace_of("agents/coder/fix") == "agents/coder/"
    assert guard.namespace_of("agents/coder") == ""
    assert guard.namespace_of("feature/x") == ""
    pattern = "{base}-agents-merge-{date}"
    assert guard._matches_integration(pattern, "main-agents-merge-20261201")
    assert not guard._matches_integration(pattern, "main-agents-merge-2026")
    assert not guard._matches_integration("", "main")


def test_env_values_are_read_with_shell_quoting_undone(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    env.write_text("OSSA_BASE_BRANCH='release 1'\nOSSA_INTEGRATION_BRANCH=dev-m\nOTHER=x\n")
    assert guard.read_env_keys(str(env), ("OSSA_BASE_BRANCH", "OSSA_INTEGRATION_BRANCH")) == {
        "OSSA_BASE_BRANCH": "release 1", "OSSA_INTEGRATION_BRANCH": "dev-m"}
    assert guard.read_env_keys(str(tmp_path / "none"), ("X",)) == {}


def test_the_scope_infers_the_worktree_from_the_branch_and_back(three: dict[str, Path]) -> None:
    lay = layout_at(three["a"])
    by_branch = scope_of(Identity("a-1", branch="agents/a/t"), lay, None)
    assert by_branch.worktree == str(three["a"].resolve())
    by_tree = scope_of(Identity("a-1", worktree=str(three["a"])), lay, None)
    assert by_tree.branch == "agents/a/t"
    assert by_tree.protected == {"main": "the main worktree's branch"}


def test_the_base_and_integration_branches_are_protected(three: dict[str, Path]) -> None:
    (three["a"] / ".env").write_text("OSSA_BASE_BRANCH=develop\nOSSA_INTEGRATION_BRANCH=dev-i\n")
    cfg = config_mod.Config(config_mod.parse(b"base_branch: trunk\n", "x"))
    lay = layout_at(three["a"])
    scope = scope_of(agent(three), lay, cfg)
    for name in ("trunk", "develop", "dev-i", "main", "main-agents-merge-20260101"):
        refusal = guard.classify_branch(scope, lay, name, "")
        assert refusal is not None and refusal.rule == "base-branch", name


def test_branch_verdicts(three: dict[str, Path]) -> None:
    lay = layout_at(three["a"])
    scope = scope_of(agent(three), lay, None)
    verdict = {name: guard.classify_branch(scope, lay, name, old)
               for name, old in (("agents/a/t", ""), ("agents/a/scratch", ""),
                                 ("agents/b/t", ""), ("agents/c/t", ""), ("feature", ""),
                                 ("backup/auto-save-1", ZERO), ("backup/auto-save-2", "1" * 40))}
    assert verdict["agents/a/t"] is None
    assert verdict["agents/a/scratch"] is None
    rules = {k: v.rule for k, v in verdict.items() if v is not None}
    assert rules == {"agents/b/t": "other-agent-branch", "agents/c/t": "other-agent-branch",
                     "feature": "outside-namespace", "backup/auto-save-2": "outside-namespace"}
    # A branch of its own namespace that another worktree has checked out is not its own.
    git(three["b"], "switch", "-q", "-c", "agents/a/other")
    assert guard.classify_branch(scope, layout_at(three["a"]), "agents/a/other", "").rule == \
        "other-agent-branch"  # type: ignore[union-attr]


def test_commit_verdicts(three: dict[str, Path]) -> None:
    who = agent(three)
    assert guard.check_commit(scope_of(who, layout_at(three["a"]), None),
                              layout_at(three["a"])) is None
    in_main = guard.check_commit(scope_of(who, layout_at(three["main"]), None),
                                 layout_at(three["main"]))
    assert in_main is not None and in_main.rule == "own-worktree"
    git(three["a"], "checkout", "-q", "--detach")
    detached = guard.check_commit(scope_of(who, layout_at(three["a"]), None),
                                  layout_at(three["a"]))
    assert detached is not None and detached.rule == "own-branch"
    assert "a detached HEAD" in detached.what and "git switch agents/a/t" in detached.instead


def test_ref_update_verdicts(three: dict[str, Path]) -> None:
    lay = layout_at(three["a"])
    scope = scope_of(agent(three), lay, None)
    tip = head(three["a"])
    new = "1" * 40

    def rule(*updates: tuple[str, str, str], moved: bool = False) -> str | None:
        refusal = guard.check_ref_updates(scope, lay, updates, lambda _: moved)
        return None if refusal is None else refusal.rule

    # A commit: HEAD follows its branch.
    assert rule((tip, new, "HEAD"), (tip, new, "refs/heads/agents/a/t")) is None
    # A no-op and bookkeeping refs pass.
    assert rule((tip, tip, "refs/heads/main")) is None
    assert rule((ZERO, new, "ORIG_HEAD"), (ZERO, new, "refs/tags/v1")) is None
    # Detaching HEAD from its branch is refused unless git already wrote the files.
    assert rule((tip, new, "HEAD")) == "leave-branch"
    assert rule((tip, new, "HEAD"), moved=True) is None
    # Other worktrees' refs.
    assert rule((ZERO, new, "main-worktree/HEAD")) == "foreign-worktree"
    assert rule((ZERO, new, "worktrees/wt-b/HEAD")) == "foreign-worktree"
    assert rule((ZERO, new, "worktrees/wt-a/HEAD")) is None
    # The first refusal is the one reported, with the ref and the worktree.
    refusal = guard.check_ref_updates(scope, lay, [(ZERO, new, "refs/heads/main")])
    assert refusal is not None and refusal.detail == {
        "ref": "refs/heads/main", "worktree": str(three["a"].resolve())}
    assert refusal.line().startswith("ossa-hooks: guard: refused [base-branch] agent a-1")


def test_a_rebase_of_its_own_branch_may_move_a_detached_head(three: dict[str, Path]) -> None:
    lay = layout_at(three["a"])
    scope = scope_of(agent(three), lay, None)
    git_dir = Path(lay.here.git_dir)
    (git_dir / "rebase-merge").mkdir()
    (git_dir / "rebase-merge" / "head-name").write_text("refs/heads/agents/a/t\n")
    git(three["a"], "checkout", "-q", "--detach")
    lay = layout_at(three["a"])
    assert guard.check_ref_updates(scope, lay, [(ZERO, "1" * 40, "HEAD")]) is None
    assert guard.check_commit(scope, lay) is None  # `rebase -i` edits commit on the branch


def test_push_verdicts(three: dict[str, Path]) -> None:
    scope = scope_of(agent(three), layout_at(three["a"]), None)
    tip = head(three["a"])
    own = "refs/heads/agents/a/t"
    assert guard.check_push(scope, [(own, tip, own, ZERO)], tip) is None
    assert guard.check_push(scope, [("HEAD", tip, own, ZERO)], tip) is None
    assert guard.check_push(scope, [("(delete)", ZERO, own, tip)], tip) is None
    for pushed in (("refs/heads/agents/b/t", tip, "refs/heads/agents/b/t", ZERO),
                   (own, tip, "refs/heads/main", ZERO),
                   ("refs/tags/v1", tip, "refs/tags/v1", ZERO),
                   ("HEAD", "2" * 40, own, ZERO)):
        refusal = guard.check_push(scope, [pushed], tip)
        assert refusal is not None and refusal.rule == "push-own-branch", pushed
        assert refusal.instead == "git push origin agents/a/t"


def test_checkout_verdicts(three: dict[str, Path]) -> None:
    scope = scope_of(agent(three), layout_at(three["a"]), None)
    assert guard.check_checkout(scope, layout_at(three["a"])) is None
    git(three["a"], "switch", "-q", "-c", "agents/a/side")
    left = guard.check_checkout(scope, layout_at(three["a"]))
    assert left is not None and left.rule == "leave-branch"
    elsewhere = guard.check_checkout(scope, layout_at(three["main"]))
    assert elsewhere is not None and elsewhere.rule == "foreign-worktree"


def test_importing_the_rules_costs_only_os() -> None:
    assert imports_beyond_ours("ossa_hooks.worktree.guard",
                               "ossa_hooks.worktree.guard_hook") == []


def test_configured_patterns_open_branches_but_never_anothers(three: dict[str, Path]) -> None:
    cfg = config_mod.Config(config_mod.parse(b"guard:\n  allow_branches: [worktree-*, main]\n",
                                             "x"))
    lay = layout_at(three["a"])
    scope = scope_of(agent(three), lay, cfg)
    assert guard.classify_branch(scope, lay, "worktree-fix", "") is None
    assert guard.classify_branch(scope, lay, "feature", "").rule == \
        "outside-namespace"  # type: ignore[union-attr]
    # A pattern never opens the base branch or a branch another worktree has checked out.
    assert guard.classify_branch(scope, lay, "main", "").rule == \
        "base-branch"  # type: ignore[union-attr]
    git(three["b"], "switch", "-q", "-c", "worktree-b")
    assert guard.classify_branch(scope, layout_at(three["a"]), "worktree-b", "").rule == \
        "other-agent-branch"  # type: ignore[union-attr]


def test_a_worktree_on_an_allowed_branch_counts_as_the_agents(three: dict[str, Path],
                                                              tmp_path: Path) -> None:
    """An agent that makes a worktree for a subagent of its own (on an allowed branch) may
    commit there; without the pattern it may not."""
    side = three["a"] / ".claude" / "worktrees" / "sub"
    git(three["main"], "worktree", "add", "-q", "-b", "worktree-sub", str(side))
    cfg = config_mod.Config(config_mod.parse(b"guard:\n  allow_branches: [worktree-*]\n", "x"))
    lay = layout_at(side)
    assert guard.check_commit(scope_of(agent(three), lay, cfg), lay) is None
    assert guard.check_checkout(scope_of(agent(three), lay, cfg), lay) is None
    assert guard.classify_branch(scope_of(agent(three), lay, cfg), lay, "worktree-sub", "") \
        is None
    refusal = guard.check_commit(scope_of(agent(three), lay, None), lay)
    assert refusal is not None and refusal.rule == "own-worktree"
    # Outside its own worktree's folder, the same branch pattern opens nothing.
    other = tmp_path / "elsewhere"
    git(three["main"], "worktree", "add", "-q", "-b", "worktree-other", str(other))
    lay = layout_at(other)
    refusal = guard.check_commit(scope_of(agent(three), lay, cfg), lay)
    assert refusal is not None and refusal.rule == "own-worktree"
