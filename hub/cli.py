"""`hub` command line: serve, migrate, agent add, check-config, nlp train."""
from __future__ import annotations

import argparse
import asyncio
import logging
import os
import secrets
import signal
import subprocess
import sys
from typing import Any

from hub import audit, nlp_cli
from hub.config import Config, ConfigError

CLI_ACTOR = "command line"  # the audit log's actor for what `hub agent ...` does (whoever runs it holds the config)


def _config(args: argparse.Namespace) -> Config:
    from hub import logsafe
    from hub.registry import load_config

    config = load_config(args.config)
    logsafe.install(config.model_dump())  # from here on, this config's secrets are masked in every log line
    return config


def _use_uvloop() -> None:
    try:
        import uvloop
    except ImportError:
        return
    uvloop.install()


def cmd_serve(args: argparse.Namespace) -> int:
    config = _config(args)
    workers = args.workers or config.server.workers
    if workers > 1 and not os.environ.get("HUB_WORKER"):
        return _supervise(args, workers)
    from aiohttp import web

    from hub.web.app import build_app

    _use_uvloop()
    # One thread for the sentence encoder unless told otherwise: a server has its own concurrency (the event loop,
    # the classifier's process), and the encoder's OpenMP threads spinning on every core only take it from them.
    os.environ.setdefault("HUB_NLP_THREADS", "1")
    app = build_app(config)
    host, port = config.server.host, args.port if args.port is not None else config.server.port
    reuse = bool(os.environ.get("HUB_WORKER"))
    if not reuse:  # one announcement, not one per worker process
        app.on_startup.append(lambda app: _announce(app, args, port))
    # After the hub has started (the cleanup context runs first): see hub.gcpolicy for why.
    app.on_startup.append(_settle_gc)
    web.run_app(app, host=host, port=port, reuse_port=reuse or None, access_log=None, print=lambda *_: logging.getLogger("hub").info("serving on http://%s:%s", host, port))
    return 0


async def _settle_gc(app: Any) -> None:
    from hub import gcpolicy

    gcpolicy.settle()


async def _announce(app: Any, args: argparse.Namespace, port: int) -> None:
    """What someone who just ran `make run` needs next: where each page is and, with no agent yet, how to add one."""
    from sqlalchemy import func, select

    from hub.links import listen_base
    from hub.services import HUB
    from hub.store.schema import agents

    hub = app[HUB]
    server = hub.config.server
    base = (server.public_url or listen_base(server.model_copy(update={"port": port}))).rstrip("/")
    pages = [("Chat widget demo", "/chat"), ("Agent console", "/console"), ("Contact form", "/contact")]
    if "callback" in hub.channels:
        pages.append(("Call-back booking", "/callback"))
    lines = ["", "Feedback hub is running:"] + [f"  {name:<18} {base}{path}" for name, path in pages]
    async with hub.db.read() as conn:
        n = (await conn.execute(select(func.count()).select_from(agents).where(agents.c.active))).scalar_one()
    if not n:
        config = f" --config {args.config}" if args.config else ""
        lines += ["", "No agent can log in to the console yet. Create the first one (a password is printed once):",
                  f"  {_hub_command()}{config} agent add \"Your Name\" --email you@example.com "
                  "--role admin --department " + hub.config.default_department]
    print("\n".join(lines) + "\n", flush=True)


def _hub_command() -> str:
    """How this `hub` was started, so the printed command runs as is (".venv/bin/hub" after make run)."""
    exe = sys.argv[0]
    if exe.endswith("hub") and os.path.sep in exe:
        rel = os.path.relpath(exe)
        return rel if not rel.startswith("..") else exe
    return "hub"


def _supervise(args: argparse.Namespace, workers: int) -> int:
    """N worker processes sharing the port (SO_REUSEPORT); the first applies migrations before the others start."""
    base = [sys.executable, "-m", "hub.cli"] + (["--config", args.config] if args.config else [])
    subprocess.run(base + ["migrate"], check=True)
    env = dict(os.environ, HUB_WORKER="1")
    procs = [subprocess.Popen(base + ["serve"] + (["--port", str(args.port)] if args.port is not None else []), env=env) for _ in range(workers)]

    def forward(signum: int, _frame: Any) -> None:
        for p in procs:
            p.send_signal(signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    return max(p.wait() for p in procs)


def cmd_migrate(args: argparse.Namespace) -> int:
    from hub.store.db import Database
    from hub.store.migrate import migrate

    config = _config(args)

    async def run() -> None:
        db = Database(config.database.url)
        try:
            await migrate(db)
        finally:
            await db.close()

    asyncio.run(run())
    print("database is at the latest schema")
    return 0


def _password(args: argparse.Namespace) -> str | None:
    """The --password given, checked against the one password policy, or a generated one; None when refused."""
    from hub.auth import password_problem

    if args.password is not None and (problem := password_problem(args.password)):
        print(f"error: --password: {problem}", file=sys.stderr)
        return None
    return args.password or secrets.token_urlsafe(12)


def _in_database(config: Config, work: Any) -> int:
    """Run `work(conn)` in one write transaction on the migrated database; its result is the exit code."""
    from hub.store.db import Database
    from hub.store.migrate import migrate

    async def run() -> int:
        db = Database(config.database.url)
        try:
            await migrate(db)
            async with db.write() as conn:
                return int(await work(conn))
        finally:
            await db.close()

    return asyncio.run(run())


def _show_generated(args: argparse.Namespace, password: str) -> None:
    if not args.password:
        print(f"password: {password}")  # shown this once, on the terminal only; only its hash is stored


def cmd_agent_add(args: argparse.Namespace) -> int:
    from sqlalchemy import select

    from hub.auth import add_agent, normal_email
    from hub.clock import utcnow
    from hub.store.schema import agents

    config = _config(args)
    for d in args.department or []:
        if config.department(d) is None:
            print(f"error: --department: unknown department {d!r} (configured: {', '.join(x.name for x in config.departments)})", file=sys.stderr)
            return 2
    password = _password(args)
    if password is None:
        return 2

    async def work(conn: Any) -> int:
        if (await conn.execute(select(agents.c.id).where(agents.c.email == normal_email(args.email)))).first():
            print(f"error: an agent with email {args.email} exists", file=sys.stderr)
            return 1
        now = utcnow()
        aid = await add_agent(conn, name=args.name, email=args.email, password=password, role=args.role,
                              departments=args.department or [], capacity=args.capacity, now=now)
        await audit.record(conn, "agent.create", actor=None, actor_name=CLI_ACTOR, source="local", target_type="agent",
                           target_id=aid, at=now, detail={"role": args.role, "departments": args.department or []})
        print(f"agent {aid} {args.email} ({args.role}) added")
        return 0

    code = _in_database(config, work)
    if code == 0:
        _show_generated(args, password)
    return code


def cmd_agent_password(args: argparse.Namespace) -> int:
    """Set an agent's password (generated and printed once when --password is not given); its sessions end."""
    from sqlalchemy import select

    from hub.auth import normal_email, set_password
    from hub.clock import utcnow
    from hub.store.schema import agents

    config = _config(args)
    password = _password(args)
    if password is None:
        return 2

    async def work(conn: Any) -> int:
        aid = (await conn.execute(select(agents.c.id).where(agents.c.email == normal_email(args.email)))).scalar()
        if aid is None:
            print(f"error: no agent with email {args.email}", file=sys.stderr)
            return 1
        await set_password(conn, aid, password)
        await audit.record(conn, "agent.password", actor=None, actor_name=CLI_ACTOR, source="local",
                           target_type="agent", target_id=aid, at=utcnow())
        print(f"password of agent {aid} {args.email} set; its sessions are ended")
        return 0

    code = _in_database(config, work)
    if code == 0:
        _show_generated(args, password)
    return code


def cmd_check(args: argparse.Namespace) -> int:
    config = _config(args)
    preflight(config)
    print("config is valid")
    return 0


def preflight(config: Config) -> None:
    """What `serve` refuses at start, found without starting: the whole app is built (channels, knowledge base,
    callbacks, routing), the database file's folder must exist, and a Telegram webhook needs server.public_url."""
    from hub.web.app import build_app

    build_app(config, run_migrations=False)
    url = config.database.url
    if url.startswith("sqlite+aiosqlite:///"):
        folder = os.path.dirname(url[len("sqlite+aiosqlite:///"):].split("?", 1)[0])
        if folder and not os.path.isdir(folder):
            raise ConfigError(f"database.url: the folder {folder} does not exist")
    telegram = config.channels.get("telegram") or {}
    if isinstance(telegram, dict) and telegram.get("enabled") and telegram.get("mode") == "webhook" and not config.server.public_url:
        raise ConfigError("server.public_url: required when channels.telegram.mode is webhook")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="hub", description="Omnichannel feedback hub")
    parser.add_argument("--config", help="config file (default: $HUB_CONFIG, else ./config.yaml)")
    sub = parser.add_subparsers(dest="cmd", required=True)
    serve = sub.add_parser("serve", help="run the hub")
    serve.add_argument("--config", dest="sub_config")
    serve.add_argument("--port", type=int)
    serve.add_argument("--workers", type=int, default=0, help="processes sharing the port (PostgreSQL + Redis)")
    mig = sub.add_parser("migrate", help="apply database migrations")
    mig.add_argument("--config", dest="sub_config")
    chk = sub.add_parser("check-config", help="validate the config and exit")
    chk.add_argument("--config", dest="sub_config")
    agent = sub.add_parser("agent", help="manage agents")
    agent_sub = agent.add_subparsers(dest="agent_cmd", required=True)
    add = agent_sub.add_parser("add", help="add an agent")
    add.add_argument("--config", dest="sub_config")
    add.add_argument("name")
    add.add_argument("--email", required=True)
    add.add_argument("--password")
    add.add_argument("--role", choices=["agent", "supervisor", "admin"], default="agent")
    add.add_argument("--department", action="append")
    add.add_argument("--capacity", type=int, default=5)
    pw = agent_sub.add_parser("password", help="set an agent's password (generated when --password is not given)")
    pw.add_argument("--config", dest="sub_config")
    pw.add_argument("email")
    pw.add_argument("--password")
    nlp_cli.add_parser(sub)
    args = parser.parse_args(argv)
    if getattr(args, "sub_config", None):
        args.config = args.sub_config
    logging.basicConfig(level=os.environ.get("HUB_LOG_LEVEL", "INFO"), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)  # one line per migration step is noise at every start
    from hub import logsafe

    logsafe.install()
    handlers = {"serve": cmd_serve, "migrate": cmd_migrate, "check-config": cmd_check}
    try:
        if args.cmd == "agent":
            return cmd_agent_password(args) if args.agent_cmd == "password" else cmd_agent_add(args)
        if args.cmd == "nlp":
            return nlp_cli.cmd_nlp(args)
        return handlers[args.cmd](args)
    except ConfigError as exc:
        print(f"config error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
