"""The rule set (ossa_hooks/secrets/ruleset.py and rules/*.toml): each provider family finds
tokens built from its documented format and leaves look-alikes alone; rule files are checked
when loaded, errors naming the file and the rule. Fake tokens come from deterministic
generators: no real secret is committed."""

from __future__ import annotations

import string
from pathlib import Path

import pytest
from test_secrets_plugins import ALNUM
from test_secrets_plugins import B64
from test_secrets_plugins import HEX
from test_secrets_plugins import LOWER
from test_secrets_plugins import UPPER
from test_secrets_plugins import URLSAFE
from test_secrets_plugins import kinds
from test_secrets_plugins import rnd

from ossa_hooks.errors import OssaError
from ossa_hooks.secrets import ruleset

BECH32 = "qpzry9x8gf2tvdw0s3jn54khce6mua7l".upper()


def uuid(seed: str) -> str:
    h = rnd(32, HEX, seed)
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


# (family, file, content, expected kind): one or more per rule file.
POSITIVES = [
    ("cloud", "deploy.sh", f"export AWS_ACCESS_KEY_ID=AKIA{rnd(16, UPPER, 'a1')}\n",
     "AWS Access Key"),
    ("cloud", "app.py", f'aws_secret_key = "{rnd(40, B64, "a2")}"\n', "AWS Secret Access Key"),
    ("cloud", "maps.js", f"const k = 'AIza{rnd(35, URLSAFE, 'g')}';\n", "Google API Key"),
    ("cloud", "auth.py", f'client = "GOCSPX-{rnd(28, URLSAFE, "gc")}"\n',
     "Google OAuth Client Secret"),
    ("cloud", "azure.env", f"AZURE_CLIENT_SECRET={rnd(3, ALNUM, 'az')}8Q~{rnd(34, ALNUM, 'az2')}\n",
     "Azure AD Client Secret"),
    ("cloud", "app.config",
     f"DefaultEndpointsProtocol=https;AccountName=a;AccountKey={rnd(86, B64, 'st')}==;\n",
     "Azure Storage Account Key"),
    ("cloud", "ali.py", f'key_id = "LTAI{rnd(20, LOWER, "ali")}"\n', "Alibaba Cloud AccessKey ID"),
    ("cloud", "do.sh", f"TOKEN=dop_v1_{rnd(64, HEX, 'do')}\n", "DigitalOcean Token"),
    ("cloud", "heroku.yml", f"heroku_api_key: {uuid('her')}\n", "Heroku API Key"),
    ("devops", "dd.yaml", f"datadog_api_key: {rnd(32, HEX, 'dd')}\n", "Datadog Access Token"),
    ("devops", "sentry.py", f'SENTRY = "sntryu_{rnd(64, HEX, "se")}"\n', "Sentry Token"),
    ("devops", "grafana.ini", f"token = glsa_{rnd(32, ALNUM, 'gf')}_{rnd(8, HEX, 'gf2')}\n",
     "Grafana API Key"),
    ("payments", "sq.py", f'SQ = "sq0atp-{rnd(22, URLSAFE, "sq")}"\n', "Square Access Token"),
    ("messaging", "bot.js", f"const t = 'xoxb-{rnd(12, string.digits, 's1')}-"
     f"{rnd(13, string.digits, 's2')}-{rnd(24, ALNUM, 's3')}';\n", "Slack Token"),
    ("messaging", "hook.py", f'URL = "https://hooks.slack.com/services/T{rnd(8, UPPER, "w1")}/'
     f'B{rnd(8, UPPER, "w2")}/{rnd(24, ALNUM, "w3")}"\n', "Slack Webhook"),
    ("messaging", "bot.yaml", f"telegram_bot_token: {rnd(10, string.digits, 't')}:A"
     f"{rnd(34, URLSAFE, 't2')}\n", "Telegram Bot Token"),
    ("registries", "gem.sh", f"GEM=rubygems_{rnd(48, HEX, 'rg')}\n", "RubyGems API Token"),
    ("registries", "docker.sh", f"TOKEN=dckr_pat_{rnd(27, URLSAFE, 'dk')}\n",
     "Docker Hub Personal Access Token"),
    ("ai", "groq.env", f"GROQ=gsk_{rnd(52, ALNUM, 'gq')}\n", "Groq API Key"),
    ("saas", "notion.py", f'N = "ntn_{rnd(11, string.digits, "n1")}{rnd(35, ALNUM, "n2")}"\n',
     "Notion API Token"),
    ("saas", "lin.py", f'L = "lin_api_{rnd(40, ALNUM, "li")}"\n', "Linear API Key"),
    ("saas", "pm.py", f'P = "PMAK-{rnd(24, HEX, "pm1")}-{rnd(34, HEX, "pm2")}"\n',
     "Postman API Token"),
    ("structural", "age.txt", f"AGE-SECRET-KEY-1{rnd(58, BECH32, 'age')}\n", "age Secret Key"),
    ("structural", "README.md",
     f"curl -u deploy:{rnd(14, ALNUM, 'cu')} https://ci.internal/api\n",
     "Basic Auth Credentials"),
    ("structural", "call.sh",
     f"curl -H 'Authorization: Bearer {rnd(40, URLSAFE, 'bearer')}' https://api.internal/\n",
     "HTTP Authorization Header"),
    ("structural", "db.properties",
     f"url=jdbc:sqlserver://db:1433;user=app;password={rnd(14, ALNUM, 'jd')};\n",
     "Connection String Password"),
    ("structural", "nuget.config",
     f'<add key="ClearTextPassword" value="{rnd(16, ALNUM, "ng")}" />\n',
     "NuGet Config Password"),
]


@pytest.mark.parametrize(("family", "path", "content", "kind"), POSITIVES,
                         ids=[f"{p[0]}-{p[3]}-{i}" for i, p in enumerate(POSITIVES)])
def test_family_finds_its_tokens(family: str, path: str, content: str, kind: str) -> None:
    assert kind in kinds(path, content)


NEGATIVES = [
    # A key's letters inside a base64 blob are not a key (word boundaries on prefixes).
    ("blob.txt", f"data = '{rnd(30, B64, 'b1')}AKIA{rnd(16, UPPER, 'b2')}{rnd(20, B64, 'b3')}'\n"),
    ("blob.txt", f"{rnd(40, B64, 'g1')}AIza{rnd(35, URLSAFE, 'g2')}{rnd(10, B64, 'g3')}\n"),
    # Documented examples, placeholders and masks.
    ("aws.py", 'AWS_ACCESS_KEY_ID = "AKIAIOSFODNN7EXAMPLE"\n'),
    ("slack.py", 'token = "xoxb-12345-abcd234"\n'),
    ("slack.py", '"token4": "xoxp-572370529330-573807301142-572331691188-####################"\n'),
    ("firebase.js", "apiKey: 'AIzaSyabcdefghijklmnopqrstuvwxyz1234567'\n"),
    ("curl.sh", "curl -u <user:password> https://test.com/endpoint\n"),
    ("curl.sh", 'curl -sL --user "$GITHUB_USERNAME:$GITHUB_PASSWORD" "$URL"\n'),
    ("auth.py", "headers = {'Authorization': v4auth_header}\n"),
    ("docs.md", 'proxy_url="socks5h://<username>:<password>@proxy-host"\n'),
    # Symbols only, names in code, identifiers.
    ("conf.py", 'password = "********"\n'),
    ("conf.py", 'PASSWORD_MASK = "=>=>=>"\n'),
    ("wiki.py", "getPagesInConfluenceSpace,searchConfluenceUsingCql\n"),
    ("ops.py", "rookTable = 0023452Lllk2KqjLBvaxANWEgTd7bqjsxjo8aZj0wd\n"),
]


@pytest.mark.parametrize(("path", "content"), NEGATIVES)
def test_look_alikes_are_not_findings(path: str, content: str) -> None:
    assert kinds(path, content) == set()


# --- keyword assignments in every common syntax --------------------------------------------------

VALUE = rnd(32, ALNUM, "kw") + "9"
SYNTAXES = [
    ("main.go", f'var apiToken string = "{VALUE}"\n'),
    ("main.go", f"apiToken := `{VALUE}`\n"),
    ("index.php", f'$apiToken .= "{VALUE}";\n'),
    ("Makefile", f'API_TOKEN ?= "{VALUE}"\n'),
    ("Makefile", f'API_TOKEN ::= "{VALUE}"\n'),
    ("run.sh", f"export API_TOKEN={VALUE}\n"),
    ("app.xml", f'<entry name="apiToken" value="{VALUE}"/>\n'),
    ("app.xml", f"<apiToken>\n    {VALUE}\n</apiToken>\n"),
    ("app.json", f'{{"config.ini": "API_TOKEN={VALUE}\\nDEBUG=true"}}\n'),
    ("app.yaml", f"api_token: {VALUE}\n"),
    ("app.toml", f'api_token = "{VALUE}"\n'),
    ("app.properties", f"api.token={VALUE}\n"),
    ("app.ini", f"[auth]\napi_token = {VALUE}\n"),
    ("main.tf", f'  api_token = "{VALUE}"\n'),
    ("App.java", f'System.setProperty("API_TOKEN", "{VALUE}");\n'),
    ("notes.txt", f"apiToken={VALUE}\n"),  # unquoted in code: found because it looks generated
]


@pytest.mark.parametrize(("path", "content"), SYNTAXES, ids=[s[0] + str(i)
                                                             for i, s in enumerate(SYNTAXES)])
def test_keyword_assignment_in_each_syntax(path: str, content: str) -> None:
    assert kinds(path, content), content


def test_unquoted_reference_in_code_is_not_a_secret() -> None:
    assert kinds("app.py", "api_token = settings_module_api_token_value\n") == set()


# --- the rule files ------------------------------------------------------------------------------


def test_every_builtin_rule_loads_and_compiles() -> None:
    rules = ruleset.load_paths(ruleset.builtin_files())
    assert len(rules.rules) >= 150
    assert all(r.regex.pattern for r in rules.rules)
    families = {Path(r.source).stem for r in rules.rules}
    assert families >= {"cloud", "devops", "payments", "messaging", "registries", "ai", "saas",
                        "structural"}


@pytest.mark.parametrize(("body", "message"), [
    ('[[rule]]\nid = "x-1"\nregex = "(unclosed"\nkeywords = ["x"]\n', "rule x-1: invalid regex"),
    ('[[rule]]\nid = "x-2"\nregex = "a"\ncolour = "red"\n', "rule x-2: unknown key(s) colour"),
    ('[[rule]]\nid = "x-3"\nregex = "a"\nnames = ["b"]\nsecret = "c"\n',
     "rule x-3: give either regex"),
    ('[[rule]]\nid = "x-4"\nregex = "a"\nentropy = 12\n', "rule x-4: entropy must be"),
    ('[[rule]]\nid = "x-5"\nregex = "(a)"\ngroup = 3\n', "rule x-5: group must be 0..1"),
    ('[[rule]]\nregex = "a"\n', "a rule has no valid id"),
    ('[[rule]]\nid = "dup"\nregex = "a"\n[[rule]]\nid = "dup"\nregex = "b"\n',
     "rule dup is defined twice"),
    ("[[rule]\n", "not valid TOML"),
])
def test_rule_file_errors_name_the_file_and_the_rule(tmp_path: Path, body: str,
                                                     message: str) -> None:
    path = tmp_path / "custom.toml"
    path.write_text(body)
    with pytest.raises(OssaError) as e:
        ruleset.load_paths([str(path)])
    assert "custom.toml" in str(e.value) and message in str(e.value)


def test_assignment_rule_from_names_and_secret(tmp_path: Path) -> None:
    path = tmp_path / "acme.toml"
    path.write_text('[[rule]]\nid = "acme"\nname = "Acme Key"\nnames = ["acme"]\n'
                    "secret = '''[a-f0-9]{24}'''\n")
    rules = ruleset.load_paths([str(path)])
    (rule,) = rules.rules
    assert rule.keywords == ("acme",)
    value = rnd(24, HEX, "acme")
    for line in (f'acme_key = "{value}"', f"ACME_TOKEN: {value}", f"<acmeKey>{value}</acmeKey>"):
        assert rule.find(line) == [value], line
    assert rule.find(f'other_key = "{value}"') == []
