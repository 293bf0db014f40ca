"""Model sources: bundled, local, HuggingFace cache, Hub (a local HTTP server
stands in for it), toy nets, Python factories, and the errors of each."""

from __future__ import annotations

import hashlib
import http.server
import json
import shutil
import threading
import time

import pytest

from modelprof.models import hub
from modelprof.models.resolver import resolve
from modelprof.profilers.errors import BadInput

from .conftest import BUNDLED, run_console

GPT2 = json.loads((BUNDLED / "gpt2" / "config.json").read_text())


def make_cache(root, hub_id: str, config: dict, revision: str = "0123abcd"):
    """Lay out ``config`` the way huggingface_hub caches it under ``root``."""
    repo = root / ("models--" + hub_id.replace("/", "--"))
    snapshot = repo / "snapshots" / revision
    snapshot.mkdir(parents=True)
    (snapshot / "config.json").write_text(json.dumps(config))
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(revision)
    return snapshot / "config.json"


def test_bundled_by_hub_id_and_alias():
    assert resolve("meta-llama/Llama-2-7b-hf").kind == "bundled"
    assert resolve("llama-2-7b").location == resolve("meta-llama/Llama-2-7b-hf").location


def test_local_file_and_folder(tmp_path, cli):
    folder = tmp_path / "my-model"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps(GPT2))
    assert resolve(str(folder)).kind == "local"
    assert resolve(str(folder / "config.json")).config["n_embd"] == 768
    payload = cli("params", str(folder), "-d", "0", "-f", "json").json()
    assert payload["model"]["source"] == "local"
    assert payload["params"]["total"] == 124_439_808


def test_hf_home_cache(isolated_hf, cli):
    config = dict(GPT2, n_layer=2)
    make_cache(isolated_hf / "hub", "someone/tiny-gpt2", config)
    source = resolve("someone/tiny-gpt2")
    assert source.kind == "cache"
    payload = cli("params", "someone/tiny-gpt2", "-d", "0", "-f", "json").json()
    # 50257*768 + 1024*768 + 2*(12*768^2 + 13*768) + 2*768
    assert payload["params"]["total"] == 50257 * 768 + 1024 * 768 + 2 * (12 * 768**2 + 13 * 768) + 2 * 768
    assert payload["model"]["source"] == "cache"


def test_hf_hub_cache_variable_wins(tmp_path, monkeypatch):
    cache = tmp_path / "elsewhere"
    path = make_cache(cache, "org/model", dict(GPT2, n_layer=1))
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    assert resolve("org/model").location == str(path)


def test_cache_without_ref_uses_newest_snapshot(isolated_hf):
    path = make_cache(isolated_hf / "hub", "org/noref", GPT2)
    shutil.rmtree(path.parent.parent.parent / "refs")
    assert resolve("org/noref").location == str(path)



class FakeHub:
    """A local HTTP server answering like huggingface.co for config.json:
    HEAD gives the metadata huggingface_hub needs (commit, ETag, size), GET
    the body; every request is logged with its headers. ``redirect_to``
    answers with a 302 to another server instead (as the Hub does for files
    kept on a CDN)."""

    def __init__(self, configs: dict, delay_s: float = 0.0, redirect_to: str | None = None):
        self.requests: list[tuple[str, str, dict]] = []  # (method, path, headers with lower-case names)
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _answer(self, with_body: bool):
                outer.requests.append((self.command, self.path, {k.lower(): v for k, v in self.headers.items()}))
                time.sleep(delay_s)
                repo = self.path.split("/resolve/")[0].lstrip("/")
                if repo not in configs:
                    self.send_response(404)
                    self.send_header("X-Error-Code", "RepoNotFound")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                body = json.dumps(configs[repo]).encode()
                etag = '"' + hashlib.sha256(body).hexdigest() + '"'
                if redirect_to:
                    self.send_response(302)
                    self.send_header("Location", redirect_to + self.path)
                    self.send_header("X-Linked-Etag", etag)
                    self.send_header("X-Linked-Size", str(len(body)))
                    self.send_header("Content-Length", "0")
                else:
                    self.send_response(200)
                    self.send_header("ETag", etag)
                    self.send_header("Content-Length", str(len(body)))
                self.send_header("X-Repo-Commit", "0" * 40)
                self.end_headers()
                if with_body and not redirect_to:
                    self.wfile.write(body)

            def do_HEAD(self):  # noqa: N802 (http.server's name)
                self._answer(with_body=False)

            def do_GET(self):  # noqa: N802
                self._answer(with_body=True)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def fake_hub(monkeypatch):
    servers = []

    def start(configs: dict, **options) -> FakeHub:
        server = FakeHub(configs, **options)
        servers.append(server)
        monkeypatch.setenv("HF_ENDPOINT", server.url)
        monkeypatch.delenv("HF_HUB_OFFLINE")
        return server

    yield start
    for server in servers:
        server.close()


def cached_files(root) -> list[str]:
    return sorted(p.name for p in root.rglob("*") if p.is_file() and "snapshots" in p.parts)


def test_hub_config_only_into_the_cache(fake_hub, isolated_hf):
    server = fake_hub({"org/remote-gpt2": dict(GPT2, n_layer=1)})
    result = run_console("params", "org/remote-gpt2", "-d", "0", "-f", "json")
    payload = json.loads(result.stdout)
    assert payload["model"]["source"] == "hub"
    assert payload["params"]["total"] == 50257 * 768 + 1024 * 768 + (12 * 768**2 + 13 * 768) + 2 * 768
    # of the model's repository only config.json is asked for (huggingface_hub may also ask /api/ for its own use)
    assert {path for _, path, _ in server.requests if path.startswith("/org/")} == {"/org/remote-gpt2/resolve/main/config.json"}
    assert cached_files(isolated_hf) == ["config.json"]  # huggingface_hub's cache layout; nothing but the config
    again = run_console("params", "org/remote-gpt2", "-d", "0", "-f", "json", env={"HF_HUB_OFFLINE": "1"})
    assert json.loads(again.stdout)["model"]["source"] == "cache"


def test_hub_token_is_sent_to_the_hub_and_never_to_another_host(fake_hub):
    cdn = FakeHub({"org/redirected": GPT2})
    try:
        server = fake_hub({"org/redirected": GPT2}, redirect_to=cdn.url.replace("127.0.0.1", "localhost"))
        result = run_console("params", "org/redirected", "-d", "0", "-f", "json", env={"HF_TOKEN": "hf_secret"})
        assert result.returncode == 0, result.stderr
        to_hub = [h for _, path, h in server.requests if path.startswith("/org/")]
        assert to_hub and all(h.get("authorization") == "Bearer hf_secret" for h in to_hub)
        assert to_hub[0]["user-agent"].startswith("modelprof/")
        assert cdn.requests, "the redirect was never followed"
        assert not [h for _, _, h in cdn.requests if "authorization" in h]
    finally:
        cdn.close()


def test_hub_not_found_names_closest(fake_hub):
    fake_hub({})
    result = run_console("params", "org/missing")
    assert result.returncode == 2
    assert "has no such model" in result.stderr and result.stderr.count("\n") == 1


def test_hub_offline_is_respected(fake_hub, monkeypatch):
    server = fake_hub({"org/remote": GPT2})
    result = run_console("params", "org/remote", env={"HF_HUB_OFFLINE": "1"})
    assert result.returncode == 2 and "HF_HUB_OFFLINE" in result.stderr
    assert server.requests == []


def test_hub_that_hangs_times_out(fake_hub):
    fake_hub({"org/slow": GPT2}, delay_s=5)
    started = time.monotonic()
    result = run_console("params", "org/slow", env={"MODELPROF_HUB_TIMEOUT": "0.5"})
    assert result.returncode == 2 and "did not answer within 0.5 s" in result.stderr
    assert time.monotonic() - started < 5 + 3  # not the 8 s default: well under the server's delay plus start-up


@pytest.mark.parametrize("endpoint", ["notaurl", "ftp://example.org", "http://"])
def test_hub_endpoint_that_is_not_a_url(monkeypatch, endpoint):
    monkeypatch.delenv("HF_HUB_OFFLINE")
    result = run_console("params", "org/anything", env={"HF_ENDPOINT": endpoint})
    assert result.returncode == 2
    assert f"HF_ENDPOINT={endpoint!r} is not an http(s) URL" in result.stderr and result.stderr.count("\n") == 1


def test_unknown_model_suggests_closest(cli):
    result = cli("params", "bert-base-uncasd")
    assert result.code == 2
    assert "did you mean bert-base-uncased" in result.err
    assert result.err.count("\n") == 1 and "Traceback" not in result.err


def test_unknown_toy_suggests_toys(cli):
    result = cli("params", "toy:lstn")
    assert result.code == 2 and "toy:lstm" in result.err


@pytest.mark.parametrize(
    "content, message",
    [
        ("{not json", "malformed JSON at line 1"),
        ("[1, 2]", "expected a JSON object"),
        (json.dumps({"hidden_size": 8}), "field 'model_type' is missing"),
        (json.dumps(dict(json.loads((BUNDLED / "bert-base-uncased" / "config.json").read_text()), hidden_size=-768)),
         "field 'hidden_size' must be positive, got -768"),
        (json.dumps(dict(GPT2, n_layer="twelve")), "field 'n_layer' must be a number"),
        (json.dumps({"model_type": "no-such-family"}), "unknown to transformers"),
    ],
)
def test_bad_configs_are_one_line_errors(tmp_path, cli, content, message):
    path = tmp_path / "config.json"
    path.write_text(content)
    result = cli("params", str(path))
    assert result.code == 2
    assert message in result.err and str(path) in result.err
    assert result.err.count("\n") == 1 and "Traceback" not in result.err


def test_missing_local_path(cli):
    result = cli("params", "./nowhere/config.json")
    assert result.code == 2 and "no such file" in result.err


TINY_FACTORY = """
import torch
import torch.nn as nn

def make():
    return nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 4))

def with_inputs():
    return make(), (torch.zeros(2, 8),)

def not_a_module():
    return 42

def broken():
    raise RuntimeError("boom")
"""


def test_python_file_factory(tmp_path, cli, monkeypatch):
    # Python would write bytecode here but for modelprof (the test environment may say otherwise)
    monkeypatch.delenv("PYTHONDONTWRITEBYTECODE", raising=False)
    monkeypatch.setattr("sys.dont_write_bytecode", False)
    path = tmp_path / "nets.py"
    path.write_text(TINY_FACTORY)
    payload = cli("params", f"{path}:make", "-f", "json").json()
    assert payload["model"]["source"] == "python"
    # (8*16 + 16) + (16*4 + 4)
    assert payload["params"]["total"] == 144 + 68
    assert cli("params", f"{path}:with_inputs", "-f", "json").json()["params"]["total"] == 212
    assert not (tmp_path / "__pycache__").exists()  # the user's folder is left as it was


def test_python_module_factory(tmp_path, monkeypatch, cli):
    package = tmp_path / "mynets"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "zoo.py").write_text(TINY_FACTORY)
    monkeypatch.syspath_prepend(str(tmp_path))
    payload = cli("params", "mynets.zoo:make", "-f", "json").json()
    assert payload["params"]["total"] == 212


@pytest.mark.parametrize(
    "attribute, message",
    [("not_a_module", "returned int, expected an nn.Module"), ("broken", "raised RuntimeError: boom"), ("absent", "no callable 'absent'")],
)
def test_python_factory_errors(tmp_path, cli, attribute, message):
    path = tmp_path / "nets.py"
    path.write_text(TINY_FACTORY)
    result = cli("params", f"{path}:{attribute}")
    assert result.code == 2 and message in result.err and result.err.count("\n") == 1


REMOTE_CONFIG = {
    "model_type": "tiny-remote",
    "architectures": ["TinyRemoteModel"],
    "auto_map": {"AutoConfig": "configuration_tiny.TinyRemoteConfig", "AutoModel": "modeling_tiny.TinyRemoteModel"},
    "width": 6,
}
REMOTE_CONFIG_CODE = """
from transformers import PretrainedConfig

class TinyRemoteConfig(PretrainedConfig):
    model_type = "tiny-remote"

    def __init__(self, width=4, **kwargs):
        self.width = width
        super().__init__(**kwargs)
"""
REMOTE_MODEL_CODE = """
import torch.nn as nn
from transformers import PreTrainedModel
from .configuration_tiny import TinyRemoteConfig

class TinyRemoteModel(PreTrainedModel):
    config_class = TinyRemoteConfig

    def __init__(self, config):
        super().__init__(config)
        self.proj = nn.Linear(config.width, config.width)
        self.post_init()

    def forward(self, x):
        return self.proj(x)
"""


def test_remote_code_needs_the_flag(tmp_path, cli):
    folder = tmp_path / "remote"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps(REMOTE_CONFIG))
    (folder / "configuration_tiny.py").write_text(REMOTE_CONFIG_CODE)
    (folder / "modeling_tiny.py").write_text(REMOTE_MODEL_CODE)
    refused = cli("params", str(folder))
    assert refused.code == 2 and "--trust-remote-code" in refused.err
    allowed = cli("params", str(folder), "--trust-remote-code", "-f", "json")
    assert allowed.code == 0, allowed.err
    # Linear(6, 6): 36 + 6
    assert allowed.json()["params"]["total"] == 42
    assert allowed.json()["model"]["class"] == "TinyRemoteModel"


def test_custom_code_for_a_model_type_transformers_knows(tmp_path, cli):
    """auto_map beside a model_type transformers knows: its own class is built
    (and the output says so) unless --trust-remote-code asks for the repository's code."""
    folder = tmp_path / "known"
    folder.mkdir()
    config = dict(GPT2, n_layer=1, architectures=["TinyRemoteModel"], auto_map=REMOTE_CONFIG["auto_map"], width=6)
    (folder / "config.json").write_text(json.dumps(config))
    (folder / "configuration_tiny.py").write_text(REMOTE_CONFIG_CODE)
    (folder / "modeling_tiny.py").write_text(REMOTE_MODEL_CODE)
    native = cli("params", str(folder), "-f", "json").json()
    assert native["model"]["class"] == "GPT2Model"
    # one GPT-2 layer: wte 50257·768 + wpe 1024·768 + 12·768² + 13·768 + final norm 2·768
    assert native["params"]["total"] == 50257 * 768 + 1024 * 768 + 12 * 768**2 + 13 * 768 + 2 * 768
    assert any("custom code (auto_map)" in note and "--trust-remote-code" in note for note in native["notes"])
    custom = cli("params", str(folder), "--trust-remote-code", "-f", "json").json()
    assert custom["model"]["class"] == "TinyRemoteModel" and custom["params"]["total"] == 42  # Linear(6, 6)


@pytest.mark.parametrize("name", ["a" * 100_000, "a/" * 3000, "bad\0name"])
def test_names_the_os_cannot_look_up_are_unknown_models(cli, name):
    result = cli("params", name)
    assert result.code == 2
    assert result.err.startswith("modelprof: error: unknown model") and result.err.count("\n") == 1
    assert len(result.err) < 300  # the name is cut, not echoed whole


def test_broken_pipe_ends_quietly():
    """`modelprof list | head -1`: exit 141 like a program killed by SIGPIPE, nothing on stderr."""
    import subprocess

    from .conftest import console_script

    listing = subprocess.Popen([console_script(), "list"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    listing.stdout.readline()
    listing.stdout.close()  # the reader goes away
    assert listing.wait(timeout=60) == 141
    assert listing.stderr.read() == b""
