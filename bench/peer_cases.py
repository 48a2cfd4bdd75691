"""The peers' public test suites as labelled cases: gitleaks' rule tests, detect-secrets' negatives.

gitleaks keeps each rule's true and false positives (``tps``, ``fps``) as Go expressions in
``cmd/generate/config/rules/*.go``: literals, ``utils.GenerateSampleSecrets(id, secret)`` (the
secret written in ~30 syntaxes), ``secrets.NewSecret(regex)`` (a random string matching a
regex), ``fmt.Sprintf``, ``append``. This module evaluates that small subset of Go (and
generates strings from regexes with a seeded random generator); a statement it cannot
evaluate is counted as skipped, never guessed. detect-secrets' negatives are the
``should_flag=False`` rows of its plugin tests, read with ``ast``.

Read from a repository's git directory (``git show HEAD:path``): nothing is copied into ours.
"""

from __future__ import annotations

import ast
import random
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

try:
    import re._parser as sre_parse  # type: ignore[import-not-found]
except ImportError:  # Python 3.10
    import sre_parse


@dataclass(frozen=True)
class Case:
    source: str  # "gitleaks:<rule file>" or "detect-secrets:<test file>"
    text: str
    positive: bool


class Unsupported(Exception):
    """A Go construct this evaluator does not know."""


def git_files(git_dir: Path, folder: str) -> dict[str, str]:
    names = subprocess.run(["git", "--git-dir", str(git_dir), "ls-tree", "--name-only", "HEAD",
                            folder + "/"], capture_output=True, text=True, check=True).stdout
    out = {}
    for name in names.split():
        out[name] = subprocess.run(["git", "--git-dir", str(git_dir), "show", f"HEAD:{name}"],
                                   capture_output=True, text=True, check=True).stdout
    return out


# --- strings from a regex -------------------------------------------------------------------

_CATS = {
    "CATEGORY_DIGIT": "0123456789",
    "CATEGORY_WORD": "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_",
    "CATEGORY_SPACE": " ",
    "CATEGORY_NOT_SPACE": "abcdefXYZ0123",
    "CATEGORY_NOT_DIGIT": "abcdefXYZ",
    "CATEGORY_NOT_WORD": "-.",
}


def generate(regex: str, rng: random.Random) -> str:
    """A string matching ``regex`` (Go syntax close enough to Python's for these patterns)."""
    regex = regex.replace(r"\x60", "`").replace("(?i)", "").replace("[[:alnum:]]", "[a-z0-9]")
    try:
        tree = sre_parse.parse(regex)
    except Exception as e:  # noqa: BLE001 - any parse error: skip this case
        raise Unsupported(f"regex {regex!r}: {e}") from None
    return _gen(list(tree), rng)


def _gen(items: list[tuple[object, object]], rng: random.Random) -> str:
    out = []
    for op, av in items:
        name = str(op)
        if name == "LITERAL":
            out.append(chr(av))  # type: ignore[arg-type]
        elif name == "NOT_LITERAL":
            out.append("a" if chr(av) != "a" else "b")  # type: ignore[arg-type]
        elif name == "ANY":
            out.append(rng.choice("abcdef0123"))
        elif name == "IN":
            out.append(_pick_in(av, rng))  # type: ignore[arg-type]
        elif name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
            lo, hi, sub = av  # type: ignore[misc]
            hi = min(hi, lo + 10) if hi > 10_000 else hi
            n = rng.randint(lo, hi)
            out.extend(_gen(list(sub), rng) for _ in range(n))
        elif name == "SUBPATTERN":
            out.append(_gen(list(av[-1]), rng))  # type: ignore[index]
        elif name == "BRANCH":
            out.append(_gen(list(rng.choice(av[1])), rng))  # type: ignore[index]
        elif name in ("AT", "ASSERT", "ASSERT_NOT"):
            continue
        elif name == "CATEGORY":
            out.append(rng.choice(_CATS.get(str(av), "a")))
        else:
            raise Unsupported(name)
    return "".join(out)


def _pick_in(av: list[tuple[object, object]], rng: random.Random) -> str:
    chars: list[str] = []
    negate = False
    for op, v in av:
        name = str(op)
        if name == "LITERAL":
            chars.append(chr(v))  # type: ignore[arg-type]
        elif name == "RANGE":
            lo, hi = v  # type: ignore[misc]
            chars.extend(chr(c) for c in range(lo, hi + 1))
        elif name == "CATEGORY":
            chars.extend(_CATS.get(str(v), "a"))
        elif name == "NEGATE":
            negate = True
    if negate:
        pool = [c for c in "abcdefghijklmnopqrstuvwxyz0123456789" if c not in chars]
        return rng.choice(pool or ["~"])
    return rng.choice(chars)


# --- a small Go evaluator ---------------------------------------------------------------------

_TOKEN = re.compile(
    r"""(?P<ws>\s+|//[^\n]*|/\*.*?\*/)
    |(?P<raw>`[^`]*`)
    |(?P<str>"(?:[^"\\\n]|\\.)*")
    |(?P<num>\d+)
    |(?P<ident>[A-Za-z_][\w]*(?:\.[A-Za-z_]\w*)*)
    |(?P<op>\.\.\.|:=|[-+*/(){}\[\],=:;.&!<>|])""",
    re.VERBOSE | re.DOTALL,
)

_PATTERNS = {
    "utils.Numeric": "[0-9]{%s}",
    "utils.Hex": "[a-f0-9]{%s}",
    "utils.AlphaNumeric": "[a-z0-9]{%s}",
    "utils.AlphaNumericExtendedShort": "[a-z0-9_-]{%s}",
    "utils.AlphaNumericExtended": r"[a-z0-9=_\-]{%s}",
    "utils.AlphaNumericExtendedLong": r"[a-z0-9\/=_\+\-]{%s}",
}


def _tokens(src: str) -> list[tuple[str, str]]:
    out = []
    pos = 0
    while pos < len(src):
        m = _TOKEN.match(src, pos)
        if m is None:
            out.append(("op", src[pos]))
            pos += 1
            continue
        pos = m.end()
        kind = m.lastgroup or "op"
        if kind != "ws":
            out.append((kind, m.group()))
    return out


def _go_string(tok: str) -> str:
    if tok.startswith("`"):
        return tok[1:-1]
    body = tok[1:-1]
    return re.sub(r"\\(x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|.)", _unescape, body)


def _unescape(m: re.Match[str]) -> str:
    e = m.group(1)
    simple = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\", "'": "'", "a": "\a",
              "b": "\b", "f": "\f", "v": "\v", "0": "\0"}
    if e[0] in ("x", "u"):
        return chr(int(e[1:], 16))
    return simple.get(e, e)


class _Parser:
    def __init__(self, toks: list[tuple[str, str]], env: dict[str, object],
                 rng: random.Random) -> None:
        self.toks = toks
        self.i = 0
        self.env = env
        self.rng = rng

    def peek(self, k: int = 0) -> tuple[str, str]:
        j = self.i + k
        return self.toks[j] if j < len(self.toks) else ("eof", "")

    def take(self, value: str | None = None) -> tuple[str, str]:
        tok = self.peek()
        if value is not None and tok[1] != value:
            raise Unsupported(f"expected {value!r}, got {tok[1]!r}")
        self.i += 1
        return tok

    def expr(self) -> object:
        value = self.primary()
        while self.peek()[1] == "+":
            self.take()
            right = self.primary()
            if not isinstance(value, str) or not isinstance(right, str):
                raise Unsupported("+ on non-strings")
            value = value + right
        return value

    def primary(self) -> object:
        kind, tok = self.peek()
        if kind in ("raw", "str"):
            self.take()
            return _go_string(tok)
        if kind == "num":
            self.take()
            return int(tok)
        if tok == "[":
            self.take("[")
            self.take("]")
            if self.take()[1] != "string":
                raise Unsupported("slice of non-strings")
            self.take("{")
            items: list[str] = []
            while self.peek()[1] != "}":
                v = self.expr()
                if not isinstance(v, str):
                    raise Unsupported("non-string in []string")
                items.append(v)
                if self.peek()[1] == ",":
                    self.take()
            self.take("}")
            return items
        if kind == "ident":
            self.take()
            if self.peek()[1] == "(":
                return self.call(tok)
            if tok in self.env:
                return self.env[tok]
            raise Unsupported(f"unknown name {tok}")
        raise Unsupported(f"unexpected {tok!r}")

    def args(self) -> list[tuple[object, bool]]:
        self.take("(")
        out = []
        while self.peek()[1] != ")":
            v = self.expr()
            spread = False
            if self.peek()[1] == "...":
                self.take()
                spread = True
            out.append((v, spread))
            if self.peek()[1] == ",":
                self.take()
        self.take(")")
        return out

    def call(self, name: str) -> object:
        args = self.args()
        vals = [a for a, _ in args]
        if name in _PATTERNS:
            return _PATTERNS[name] % vals[0]
        if name == "utils.Hex8_4_4_4_12":
            return "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
        if name == "secrets.NewSecret":
            return generate(str(vals[0]), self.rng)
        if name == "utils.GenerateSampleSecret":
            return f'{vals[0]}_api_token = "{vals[1]}"'
        if name == "utils.GenerateSampleSecrets":
            return sample_secrets(str(vals[0]), str(vals[1]))
        if name == "fmt.Sprintf":
            fmt = str(vals[0])
            rest = iter(vals[1:])
            return re.sub(r"%[sdvq]", lambda _m: str(next(rest)), fmt)
        if name == "strings.Repeat":
            return str(vals[0]) * int(vals[1])  # type: ignore[call-overload]
        if name == "strings.ToUpper":
            return str(vals[0]).upper()
        if name == "strings.ToLower":
            return str(vals[0]).lower()
        if name == "append":
            base = list(vals[0])  # type: ignore[call-overload]
            for v, spread in args[1:]:
                base.extend(v if spread else [v])  # type: ignore[arg-type]
            return base
        raise Unsupported(f"call {name}")


_SAMPLES = (  # gitleaks' GenerateSampleSecrets templates ({i} identifier, {I} upper, {s})
    '{i}Token="{s}"', '{i}Token = "{s}"', "{i}Token={s}", "{i}Token = {s}",
    '{\n    "{i}_token": "{s}"\n}', '{"config.ini": "{I}_TOKEN={s}\\nBACKUP_ENABLED=true"}',
    "<{i}Token>\n    {s}\n</{i}Token>", "{i}_token: {s}", "{i}_token: '{s}'",
    '{i}_token: "{s}"', 'string {i}Token = "{s}";', 'var {i}Token string = "{s}"',
    '{i}Token := "{s}"', "{i}Token := `{s}`", 'String {i}Token = "{s}";',
    'var {i}Token = "{s}"', '${i}Token .= "{s}"', "{i}Token = '{s}'", '{i}Token = "{s}"',
    'System.setProperty("{I}_TOKEN", "{s}")', '  "{i}Token" => "{s}"', '{i}_TOKEN = "{s}"',
    '{i}_TOKEN := "{s}"', '{i}_TOKEN ::= "{s}"', '{i}_TOKEN :::= "{s}"', '{i}_TOKEN ?= "{s}"',
)


def sample_secrets(identifier: str, secret: str) -> list[str]:
    return [t.replace("{i}", identifier).replace("{I}", identifier.upper()).replace("{s}", secret)
            for t in _SAMPLES]


_ASSIGN_TARGETS = re.compile(r"^(tps|fps|[a-z]\w*)$")


def gitleaks_cases(git_dir: Path, seed: int = 15) -> tuple[list[Case], int]:
    """The tps (positives) and fps (negatives) of every rule; and how many statements were
    skipped because they use Go this evaluator does not know."""
    cases: list[Case] = []
    skipped = 0
    for name, src in sorted(git_files(git_dir, "cmd/generate/config/rules").items()):
        if not name.endswith(".go") or name.endswith("_test.go"):
            continue
        rng = random.Random(f"{seed}:{name}")
        for body in re.split(r"\nfunc ", src)[1:]:
            env: dict[str, object] = {}
            toks = _tokens(body)
            i = 0
            while i < len(toks):
                kind, tok = toks[i]
                nxt = toks[i + 1][1] if i + 1 < len(toks) else ""
                if kind == "ident" and nxt in (":=", "=") and tok in ("tps", "fps"):
                    p = _Parser(toks, env, rng)
                    p.i = i + 2
                    try:
                        env[tok] = p.expr()
                        i = p.i
                        continue
                    except (Unsupported, StopIteration, TypeError, ValueError, IndexError):
                        skipped += 1
                i += 1
            for label, positive in (("tps", True), ("fps", False)):
                value = env.get(label)
                if isinstance(value, list):
                    cases.extend(Case(f"gitleaks:{name.rsplit('/', 1)[-1]}", t, positive)
                                 for t in value if isinstance(t, str) and t.strip())
    return cases, skipped


# --- detect-secrets' negatives ----------------------------------------------------------------


def detect_secrets_negatives(git_dir: Path) -> list[Case]:
    cases: list[Case] = []
    for name, src in sorted(git_files(git_dir, "tests/plugins").items()):
        if not name.endswith("_test.py"):
            continue
        tree = ast.parse(src)
        consts = {t.id: n.value.value for n in ast.walk(tree) if isinstance(n, ast.Assign)
                  for t in n.targets if isinstance(t, ast.Name)
                  and isinstance(n.value, ast.Constant) and isinstance(n.value.value, str)}
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "parametrize"
                    and len(node.args) >= 2 and isinstance(node.args[0], ast.Constant)):
                continue
            names = [n.strip() for n in str(node.args[0].value).split(",")]
            flag = next((k for k, n in enumerate(names) if n in ("should_flag", "expected")),
                        None)
            if flag is None or not isinstance(node.args[1], ast.List):
                continue
            for row in node.args[1].elts:
                if not isinstance(row, ast.Tuple) or len(row.elts) <= flag:
                    continue
                label = row.elts[flag]
                if not (isinstance(label, ast.Constant) and label.value is False):
                    continue
                text = _py_string(row.elts[0], consts)
                if text and text.strip():
                    cases.append(Case(f"detect-secrets:{name.rsplit('/', 1)[-1]}", text, False))
    return cases


def _py_string(node: ast.expr, consts: dict[str, str]) -> str | None:
    """A literal string, or ``'…'.format(NAME)`` / ``'…' + NAME`` over module constants."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Name):
        return consts.get(node.id)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _py_string(node.left, consts), _py_string(node.right, consts)
        return left + right if left is not None and right is not None else None
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and node.func.attr == "format"):
        base = _py_string(node.func.value, consts)
        args = [_py_string(a, consts) for a in node.args]
        if base is None or any(a is None for a in args) or node.keywords:
            return None
        try:
            return base.format(*args)
        except (IndexError, KeyError, ValueError):
            return None
    return None
