"""Every provider is found, and every kind of look-alike stays quiet.

Tokens are built at run time from a seeded hash (never written out in full), so this file
does not itself look like a leak to a scanner.
"""

from __future__ import annotations

import base64
import hashlib
import json
import string

import pytest

from ossa_hooks.secrets import engine as secrets
from ossa_hooks.secrets import scanner
from ossa_hooks.secrets.plugins import PROVIDERS
from ossa_hooks.secrets.plugins import anchor_groups
from ossa_hooks.secrets.plugins import filters
from ossa_hooks.secrets.plugins.keyword import KeywordDetector

ALNUM = string.ascii_letters + string.digits
UPPER = string.ascii_uppercase + string.digits
LOWER = string.ascii_lowercase + string.digits
HEX = "0123456789abcdef"
B64 = ALNUM + "+/"
URLSAFE = ALNUM + "-_"


def rnd(n: int, alphabet: str = ALNUM, seed: str = "s") -> str:
    out: list[str] = []
    i = 0
    while len(out) < n:
        digest = hashlib.sha256(f"{seed}:{i}".encode()).digest()
        out.extend(alphabet[b % len(alphabet)] for b in digest)
        i += 1
    return "".join(out[:n])


def b64url(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def scan(path: str, text: str | bytes) -> list[tuple[str, int, str]]:
    data = text.encode() if isinstance(text, str) else text
    result = secrets.Engine().scan_patch(secrets.as_patch(path, data))
    return [(f.kind, f.line, f.secret) for f in result.findings]


def kinds(path: str, text: str) -> set[str]:
    return {k for k, _, _ in scan(path, text)}


JWT = (b64url({"alg": "HS256", "typ": "JWT"}) + "." + b64url({"sub": "1234567890", "admin": True})
       + "." + rnd(43, URLSAFE, "jwt"))
PEM_BODY = "\n".join(rnd(64, B64, f"pem{i}") for i in range(3))

# (name, file, content, expected kind)
PROVIDER_CASES = [
    ("aws key id", "deploy.py", f'AWS_ACCESS_KEY_ID = "AKIA{rnd(16, UPPER, "aws")}"\n',
     "AWS Access Key"),
    ("aws secret", "deploy.py", f'aws_secret_access_key = "{rnd(40, ALNUM, "awss")}"\n',
     "AWS Secret Access Key"),
    ("github classic", "ci.sh", f"export GH=ghp_{rnd(36, ALNUM, 'gh')}\n", "GitHub Token"),
    ("github oauth", "ci.sh", f"T=gho_{rnd(36, ALNUM, 'gho')}\n", "GitHub Token"),
    ("github fine-grained", "ci.yml",
     f"token: github_pat_{rnd(22, ALNUM, 'fg1')}_{rnd(59, ALNUM, 'fg2')}\n",
     "GitHub Fine-grained Token"),
    ("gitlab", "ci.py", f'GL = "glpat-{rnd(20, ALNUM, "gl")}"\n', "GitLab Token"),
    ("slack token", "bot.js",
     f"const t = 'xoxb-{rnd(12, string.digits, 's1')}-{rnd(13, string.digits, 's2')}-"
     f"{rnd(24, LOWER, 's3')}';\n", "Slack Token"),
    ("slack webhook", "notify.py",
     f'URL = "https://hooks.slack.com/services/T{rnd(8, UPPER, "w1")}/B{rnd(8, UPPER, "w2")}/'
     f'{rnd(24, ALNUM, "w3")}"\n', "Slack Webhook"),
    ("stripe live", "pay.rb", f"Stripe.api_key = 'sk_live_{rnd(24, ALNUM, 'st')}'\n",
     "Stripe Secret Key"),
    ("stripe restricted test", "pay.rb", f"KEY = 'rk_test_{rnd(40, ALNUM, 'rk')}'\n",
     "Stripe Secret Key"),
    ("openai legacy", "ai.py",
     f'client = OpenAI(api_key="sk-{rnd(20, ALNUM, "o1")}T3BlbkFJ{rnd(20, ALNUM, "o2")}")\n',
     "OpenAI Token"),
    ("openai project", "ai.py",
     f'KEY = "sk-proj-{rnd(74, URLSAFE, "op1")}T3BlbkFJ{rnd(74, URLSAFE, "op2")}"\n',
     "OpenAI Project Key"),
    ("anthropic", "ai.ts",
     f'const key = "sk-ant-api03-{rnd(93, URLSAFE, "an")}AA";\n', "Anthropic API Key"),
    ("google api", "maps.js", f"var k = 'AIza{rnd(35, URLSAFE, 'g')}';\n", "Google API Key"),
    ("sendgrid", "mail.py",
     f'SG = "SG.{rnd(22, URLSAFE, "sg1")}.{rnd(43, URLSAFE, "sg2")}"\n', "SendGrid API Key"),
    ("npm token", "publish.sh", f"NPM=npm_{rnd(36, ALNUM, 'npm')}\n", "npm Access Token"),
    ("npmrc", ".npmrc", f"//registry.npmjs.org/:_authToken={rnd(8, HEX, 'n1')}-"
     f"{rnd(4, HEX, 'n2')}-{rnd(4, HEX, 'n3')}-{rnd(4, HEX, 'n4')}-{rnd(12, HEX, 'n5')}\n",
     "npm Access Token"),
    ("pypi", ".pypirc", f"password = pypi-AgEIcHlwaS5vcmc{rnd(80, URLSAFE, 'py')}\n",
     "PyPI Token"),
    ("mailchimp", "mail.py", f'MC = "{rnd(32, HEX, "mc")}-us14"\n', "Mailchimp Access Key"),
    ("twilio", "sms.py", f'SID = "AC{rnd(32, HEX, "tw")}"\n', "Twilio API Key"),
    ("hugging face", "hf.py", f'HF = "hf_{rnd(34, string.ascii_letters, "hf")}"\n',
     "Hugging Face Token"),
    ("shopify", "shop.py", f'T = "shpat_{rnd(32, HEX, "sh")}"\n', "Shopify Token"),
    ("databricks", "db.py", f'T = "dapi{rnd(32, HEX, "db")}"\n', "Databricks Token"),
    ("telegram", "bot.py", f'BOT = "{rnd(10, string.digits, "tg1").replace("0", "1")}:AA'
     f'{rnd(33, URLSAFE, "tg2")}"\n', "Telegram Bot Token"),
    ("discord", "bot.py",
     f'discord_bot = "M{rnd(23, ALNUM, "d1")}.{rnd(6, ALNUM, "d2")}.{rnd(27, ALNUM, "d3")}"\n',
     "Discord Bot Token"),
    ("jwt", "auth_test.py", f'HEADER = "{JWT}"\n', "JSON Web Token"),
    ("azure storage", "app.config",
     f"conn = DefaultEndpointsProtocol=https;AccountName=acme;AccountKey="
     f"{rnd(86, B64, 'az')}==;EndpointSuffix=core.windows.net\n",
     "Azure Storage Account Key"),
    ("rsa key", "id_rsa.txt",
     f"-----BEGIN RSA PRIVATE KEY-----\n{PEM_BODY}\n-----END RSA PRIVATE KEY-----\n",
     "Private Key"),
    ("ec key", "ec.pem",
     f"-----BEGIN EC PRIVATE KEY-----\n{PEM_BODY}\n-----END EC PRIVATE KEY-----\n", "Private Key"),
    ("openssh key", "key",
     f"-----BEGIN OPENSSH PRIVATE KEY-----\n{PEM_BODY}\n-----END OPENSSH PRIVATE KEY-----\n",
     "Private Key"),
    ("pgp key", "key.asc",
     f"-----BEGIN PGP PRIVATE KEY BLOCK-----\nVersion: GnuPG v2\n\n{PEM_BODY}\n"
     "-----END PGP PRIVATE KEY BLOCK-----\n", "Private Key"),
    ("pkcs8 key", "k.pem",
     f"-----BEGIN PRIVATE KEY-----\n{PEM_BODY}\n-----END PRIVATE KEY-----\n", "Private Key"),
    ("one-line key in json", "sa.json",
     f'{{"private_key": "-----BEGIN PRIVATE KEY-----\\n{rnd(64, B64, "pk")}\\n'
     '-----END PRIVATE KEY-----\\n"}\n', "Private Key"),
    ("password in url", "settings.py",
     f'DATABASE_URL = "postgres://app:{rnd(14, ALNUM, "url")}@db.internal:5432/app"\n',
     "Basic Auth Credentials"),
    ("python password", "settings.py", f'DB_PASSWORD = "{rnd(14, ALNUM, "pw")}!"\n',
     "Secret Keyword"),
    ("python token kwarg", "client.py",
     f'client = Client(token="{rnd(20, ALNUM, "tk")}")\n', "Secret Keyword"),
    ("yaml secret", "config.yaml", f"database:\n  password: {rnd(16, ALNUM, 'y')}\n",
     "Secret Keyword"),
    ("yaml quoted", "values.yml", f"api_key: '{rnd(24, ALNUM, 'yq')}'\n", "Secret Keyword"),
    ("json secret", "creds.json", f'{{"client_secret": "{rnd(24, ALNUM, "js")}"}}\n',
     "Secret Keyword"),
    ("ini secret", "app.ini", f"[db]\nsecret = {rnd(18, ALNUM, 'ini')}\n", "Secret Keyword"),
    ("dotenv", ".env.local", f"STRIPE_SECRET={rnd(30, ALNUM, 'env')}\n", "Secret Keyword"),
    ("shell export", "run.sh", f"export API_TOKEN={rnd(30, ALNUM, 'sh')}\n", "Secret Keyword"),
    ("js object", "cfg.js", f"module.exports = {{ password: '{rnd(12, ALNUM, 'jo')}#1' }};\n",
     "Secret Keyword"),
    ("go assign", "main.go", f'apiKey := "{rnd(24, ALNUM, "go")}"\n', "Secret Keyword"),
    ("php define", "wp-config.php", f"define( 'DB_PASSWORD', '{rnd(16, ALNUM, 'wp')}' );\n",
     "Secret Keyword"),
    ("environment write", "boot.py", f'os.environ["API_TOKEN"] = "{rnd(20, ALNUM, "ew")}"\n',
     "Secret Keyword"),
    ("properties", "app.properties", f"spring.datasource.password={rnd(14, ALNUM, 'sp')}\n",
     "Secret Keyword"),
    ("compose env", "docker-compose.yml",
     f"    environment:\n      - POSTGRES_PASSWORD={rnd(14, ALNUM, 'dc')}\n", "Secret Keyword"),
    ("high entropy session key", "app.py",
     f'app.session_key = "{rnd(40, B64, "he")}"\n', "Base64 High Entropy String"),
]


@pytest.mark.parametrize(("name", "path", "content", "kind"), PROVIDER_CASES,
                         ids=[c[0] for c in PROVIDER_CASES])
def test_provider_detected(name: str, path: str, content: str, kind: str) -> None:
    assert kind in kinds(path, content), scan(path, content)


def test_every_provider_has_a_case() -> None:
    covered = {c[3] for c in PROVIDER_CASES}
    engine = secrets.Engine()
    for i, p in enumerate(PROVIDERS):
        if p.name in ("SquareOAuthDetector",):
            continue  # detect-secrets' own, kept because it is cheap; not in the issue's list
        detector = engine.detector(i)
        assert getattr(detector, "secret_type", None) in covered, p.target


QUIET_CASES = [
    ("git sha", "release.py", f'commit = "{rnd(40, HEX, "c")}"\n'),
    ("sha256 hex", "lock.py", f'sha256 = "{rnd(64, HEX, "h")}"\n'),
    ("hex under key name", "cache.py", f'cache_key = "{rnd(64, HEX, "ck")}"\n'),
    ("sha512 hex", "x.py", f'digest = "{rnd(128, HEX, "d")}"\n'),
    ("sri", "package-lock.json",
     f'      "integrity": "sha512-{rnd(86, B64, "sri")}==",\n'),
    ("pip hash", "requirements.txt",
     f"requests==2.31.0 --hash=sha256:{rnd(64, HEX, 'pip')}\n"),
    ("uuid", "ids.py", 'api_key = "123e4567-e89b-42d3-a456-426614174000"\n'),
    ("css colour", "theme.py", 'token_color = "#a1b2c3"\nsecret_bg = "#fff"\n'),
    ("css var", "site.css", ".secret { color: #ff00aa; }\n"),
    ("aws documented", "README.md",
     "aws_access_key_id = AKIAIOSFODNN7EXAMPLE\n"
     "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n"),
    ("stripe documented", "docs.py", 'stripe.api_key = "sk_test_4eC39HqLyjWDarjtT1zdp7dc"\n'),
    ("placeholder angle", "cfg.py", 'api_key = "<YOUR_API_KEY>"\n'),
    ("placeholder env", "cfg.yaml", "password: ${DB_PASSWORD}\n"),
    ("placeholder jinja", "cfg.yaml", "token: '{{ secrets.TOKEN }}'\n"),
    ("changeme", "cfg.py", 'password = "changeme"\n'),
    ("masked", "cfg.py", 'password = "********"\n'),
    ("your key here", ".env.example", "API_KEY=your-api-key-here\n"),
    ("environment read", "cfg.py", 'password = os.environ["DB_PASSWORD"]\n'),
    ("getenv default", "cfg.py", 'token = os.getenv("TOKEN", "dev-only-9f8e7d")\n'),
    ("process env", "cfg.js", "const token = process.env.GITHUB_TOKEN;\n"),
    ("settings read", "cfg.py", "api_key = settings.API_KEY\n"),
    ("code reference", "auth.py", "password = get_password(user)\nself.token = token\n"),
    ("comparison", "auth.py", 'if password == "":\n    raise ValueError\n'),
    ("word value", "auth.py", 'password = "password"\ntoken_type = "Bearer"\n'),
    ("field name", "forms.py", 'password_field = "s3cr3tX1"\nTOKEN_URL = "https://x/tok"\n'),
    ("prose", "forms.py", 'password_help = "Enter your password"\nsecret = "not set yet"\n'),
    ("path", "cfg.py", 'secret_file = "/etc/app/secret.key"\nkey_path = "./keys/id_rsa"\n'),
    ("number", "cfg.py", "token_ttl = 3600\npassword_min_length = 12\n"),
    ("regex", "detect.py", "SECRET = r'(?:key|pwd|pass)[a-z]{24}'\n"),
    ("yaml tag", "cf.yaml", "password: !Ref DbPassword\n"),
    ("url without password", "cfg.py", 'URL = "https://user@example.com/path"\n'),
    ("url placeholder password", "doc.py", 'url = "http://username:password@host.com:80/"\n'),
    ("private key talk", "ssh.py", 'if line.startswith("-----BEGIN RSA PRIVATE KEY-----"):\n'),
    ("sequential", "cfg.py", 'password = "abcdefgh123"\n'),
    ("repeated", "cfg.py", f'KEY = "ghp_{"0" * 36}"\n'),
    ("bare value in code", "cfg.py", "password = DEFAULT_PASSWORD\n"),
]


@pytest.mark.parametrize(("name", "path", "content"), QUIET_CASES, ids=[c[0] for c in QUIET_CASES])
def test_precision_case_quiet(name: str, path: str, content: str) -> None:
    assert scan(path, content) == []


def test_pragma_allowlist_same_and_next_line() -> None:
    value = rnd(20, ALNUM, "pr")
    text = (f'PASSWORD = "{value}"  # pragma: allowlist secret\n'
            f"# pragma: allowlist nextline secret\nTOKEN = '{value}x'\n"
            f"SECRET = '{value}y'\n")
    found = scan("p.py", text)
    assert [(k, line) for k, line, _ in found] == [("Secret Keyword", 4)]


def test_line_numbers_and_crlf() -> None:
    value = rnd(20, ALNUM, "crlf")
    text = f"a = 1\r\nb = 2\r\npassword = '{value}'\r\n"
    assert scan("w.py", text) == [("Secret Keyword", 3, value)]


def test_non_utf8_line_still_scanned() -> None:
    token = "ghp_" + rnd(36, ALNUM, "latin")
    data = b"# caf\xe9 \xff\n" + f"T = '{token}'  # \xe9t\xe9\n".encode("latin-1")
    assert scan("l.py", data) == [("GitHub Token", 2, token)]


def test_huge_line_scanned_in_windows() -> None:
    token = "ghp_" + rnd(36, ALNUM, "huge")
    line = "x" * 1_200_000 + f" '{token}' " + "y" * 300_000
    assert scan("min.js", line + "\n") == [("GitHub Token", 1, token)]


def test_two_providers_one_token_reported_once() -> None:
    key = "sk_live_" + rnd(24, ALNUM, "dup")
    assert len(scan("p.py", f'STRIPE_KEY = "{key}"\n')) == 1


def test_keyword_detector_without_entropy() -> None:
    line = f'app.session_key = "{rnd(40, B64, "ne")}"'
    assert list(KeywordDetector(entropy=True).scan_line("a.py", line))
    assert not list(KeywordDetector(entropy=False).scan_line("a.py", line))


def test_anchor_groups_cover_every_anchor() -> None:
    groups = anchor_groups()
    n = sum(len(alts) for _, _, alts in groups)
    assert n == len({a for p in PROVIDERS for a in p.anchors})


def test_filters_each_one_reason() -> None:
    assert filters.documented_example("AKIAIOSFODNN7EXAMPLE", "")
    assert filters.placeholder("<TOKEN>", "") and filters.placeholder("${X}", "")
    assert filters.uuid("123e4567-e89b-42d3-a456-426614174000", "")
    assert filters.css_colour("#abc", "") and not filters.css_colour("#abcde", "")
    assert filters.hex_digest(rnd(40, HEX), "")
    assert filters.digest_syntax("sha384-" + rnd(64, B64), "")
    assert filters.sequential("xx12345678", "") and not filters.sequential(rnd(20), "")
    assert filters.low_variety("abababababab", "") and not filters.low_variety(rnd(20), "")
    assert filters.env_or_settings_read("x", "pw = os.getenv('X', 'x')")
    assert 3.9 < filters.shannon_entropy("0123456789abcdef") <= 4.0


def test_mask_never_shows_the_whole_value() -> None:
    assert secrets.mask("ghp_abcdefgh") == "ghp_…"
    assert secrets.mask("abcdef") == "ab…"
    assert secrets.mask("ab") == "…"


def test_two_processes_find_the_same_as_one(monkeypatch: pytest.MonkeyPatch) -> None:
    files = {f"m{i}.py": f"x = {i}\npassword = '{rnd(14, ALNUM, f'par{i}')}'\n" for i in range(6)}
    header = b"".join(b":000000 100644 0 0 A\0" + n.encode() + b"\0" for n in files)
    body = b"".join(
        f"diff --git a/{n} b/{n}\nnew file mode 100644\n--- /dev/null\n+++ b/{n}\n"
        f"@@ -0,0 +1,2 @@\n".encode() + b"".join(b"+" + line.encode() + b"\n"
                                                 for line in text.splitlines())
        for n, text in files.items()
    )
    patch = header + b"\0" + body
    one = secrets.Engine().scan_patch(patch).findings
    monkeypatch.setattr(scanner, "PARALLEL_BYTES", 0)
    two = secrets.Engine().scan_patch(patch).findings
    assert len(one) == 6 and sorted(two, key=repr) == sorted(one, key=repr)


def test_ordinary_code_never_imports_detect_secrets() -> None:
    """The hook's fast path: lines of ordinary code reach no detect-secrets plugin."""
    import subprocess
    import sys
    from pathlib import Path

    import ossa_hooks

    # The rules' cache, as any commit after the first finds it: built by a process of its own
    # (this one may hold the rules in memory from an earlier test, with another cache folder).
    subprocess.run([sys.executable, "-c", "from ossa_hooks.secrets.ruleset import default_rules;"
                    " default_rules()"], check=True)
    sample = Path(ossa_hooks.__file__).parent / "config.py"
    code = (
        "import sys\nbefore = 're' in sys.modules\n"
        "from ossa_hooks.secrets import engine as secrets\n"
        f"data = open({str(sample)!r}, 'rb').read()\n"
        "r = secrets.Engine().scan_patch(secrets.as_patch('m.py', data))\n"
        "print(len(r.findings), 'detect_secrets' in sys.modules,\n"
        "      not before and 're' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    # Neither detect-secrets nor even the regex engine: the quick pass said no line can hold
    # a secret.
    assert out.split() == ["0", "False", "False"]
