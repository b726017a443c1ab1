"""Schemathesis against /api/openapi.yaml on a real `hub serve`: every operation, examples, coverage, fuzzing and
stateful sequences, as an admin; no request may answer 5xx.  Bounded (HUB_FUZZ_API_EXAMPLES per operation, a
fixed seed) so it finishes in a few minutes; a failure found here is fixed and kept as a test in test_bad_input."""
from __future__ import annotations

import asyncio
import os
import shutil
import sys
from typing import Any

import aiohttp

from tests.services import need
from tests.test_scale_support import Node, add_agent, login

EXAMPLES = os.environ.get("HUB_FUZZ_API_EXAMPLES", "25")


async def test_no_operation_answers_a_server_error(tmp_path: Any) -> None:
    exe = shutil.which("schemathesis", path=os.path.dirname(sys.executable)) or shutil.which("schemathesis")
    need("schemathesis", exe is not None)
    config = {
        "database": {"url": f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}"},
        "channels": {"webchat": {"enabled": True}, "callback": {"enabled": True}},
        "departments": [{"name": "support", "default": True}, {"name": "callbacks"}],
        "rate_limits": {"enabled": False},  # 429s would hide what the fuzzer is after
        "bot": {"enabled": False},
    }
    node = Node(config, "fuzz", workdir=str(tmp_path))
    try:
        await node.start()
        await add_agent(node, "admin@example.com", role="admin")
        async with aiohttp.ClientSession() as session:
            token = await login(session, node, "admin@example.com")
            chat = await session.ws_connect(f"{node.url}/ws/chat")  # some data for the stateful phase to find
            await chat.send_json({"type": "hello", "name": "Fuzz"})
            await chat.receive_json(timeout=5)
            await chat.send_json({"type": "message", "client_id": "c1", "text": "hello"})
            await chat.receive_json(timeout=5)
            await chat.close()
        proc = await asyncio.create_subprocess_exec(
            exe or "schemathesis", "--no-color", "run", f"{node.url}/api/openapi.yaml",
            "--checks", "not_a_server_error", "--max-examples", EXAMPLES, "--seed", os.environ.get("HUB_FUZZ_SEED", "20250113"),
            # One worker: hypothesis describes strategies by parsing their source, and two threads compiling at once can
            # trip CPython 3.11's "AST constructor recursion depth mismatch", a crash of the fuzzer, not of the hub.
            "--phases", "examples,coverage,fuzzing,stateful", "--workers", "1", "--request-timeout", "20",
            # Logging out or deactivating would end the session the rest of the run needs.
            "--exclude-path", "/api/auth/logout", "--exclude-path-regex", "^/ws/",
            "--header", f"Authorization: Bearer {token}", "--suppress-health-check", "all",
            cwd=str(tmp_path), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        )
        out, _ = await asyncio.wait_for(proc.communicate(), 480)  # inside the suite's per-test timeout
        text = out.decode(errors="replace")
        assert proc.returncode == 0, text[-12000:] + "\n--- hub log ---\n" + node.tail(60)
    finally:
        node.stop()
