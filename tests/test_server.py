"""The server the README starts (`tablero serve --demo`) answers GraphQL over real HTTP."""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

TABLERO = Path(sys.executable).parent / "tablero"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def served(tmp_path):
    port = free_port()
    env = dict(os.environ, TABLERO_DATABASE_URL=f"sqlite:///{tmp_path / 'tablero.sqlite3'}")
    process = subprocess.Popen(
        [str(TABLERO), "serve", "--demo", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    tokens: dict[str, str] = {}
    output: list[str] = []
    deadline = time.monotonic() + 240
    try:
        while len(tokens) < 4 and time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                if process.poll() is not None:
                    break
                continue
            output.append(line)
            profile, _, token = line.strip().partition(": ")
            if profile in ("ADMIN", "OPERATOR", "VIEWER", "AGENT") and token.count(".") == 2:
                tokens[profile] = token
        assert len(tokens) == 4, "".join(output)
        base = f"http://127.0.0.1:{port}"
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        yield base, tokens
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def test_readme_server_answers_graphql_over_http(served):
    base, tokens = served
    response = httpx.post(
        f"{base}/graphql",
        json={"query": "{ me { organization profile } }"},
        headers={"Authorization": f"Bearer {tokens['ADMIN']}"},
        timeout=30,
    )
    assert response.status_code == 200
    assert response.json() == {"data": {"me": {"organization": "demo", "profile": "ADMIN"}}}
    # GraphiQL is served to a browser
    page = httpx.get(f"{base}/graphql", headers={"Accept": "text/html"}, timeout=10)
    assert page.status_code == 200 and "graphiql" in page.text.lower()
    # each printed token carries its profile
    for profile in ("OPERATOR", "VIEWER", "AGENT"):
        body = httpx.post(
            f"{base}/graphql",
            json={"query": "{ me { profile } }"},
            headers={"Authorization": f"Bearer {tokens[profile]}"},
            timeout=30,
        ).json()
        assert body == {"data": {"me": {"profile": profile}}}
