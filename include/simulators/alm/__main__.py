"""``python -m include.simulators.alm --port 8804 --client-id ID --client-secret SECRET
--refresh-token TOKEN [--seed N --learners N --courses C --completions K ...]
[--template-id UUID ...] [--snapshot file.json] [--webhook-url URL] [--helpful]``."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from fastapi import FastAPI

from include.simulators.alm.app import build_simulator
from include.simulators.alm.generator import generate_world
from include.simulators.alm.webhooks import WebhookConfig
from include.simulators.common.server import serve_main

SIZES = (
    "learners",
    "courses",
    "learning_programs",
    "certifications",
    "badges",
    "retired_badges",
    "completions",
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--client-id", required=True, help="the OAuth client id")
    parser.add_argument("--client-secret", required=True, help="the OAuth client secret")
    parser.add_argument(
        "--refresh-token",
        action="append",
        default=[],
        help="a refresh token valid from the start (repeatable)",
    )
    parser.add_argument(
        "--token-lifetime", type=float, default=7 * 24 * 3600.0, help="access token lifetime (s)"
    )
    parser.add_argument("--seed", type=int, default=0)
    for size in SIZES:
        parser.add_argument(f"--{size.replace('_', '-')}", type=int, help=f"{size} to generate")
    parser.add_argument(
        "--template-id", action="append", default=[], help="Credly template id of the n-th badge (repeatable)"
    )
    parser.add_argument("--snapshot", type=Path, help="load this JSON snapshot instead of generating")
    parser.add_argument("--webhook-url", help="POST webhook envelopes here")
    parser.add_argument(
        "--helpful", action="store_true", help="serve the helpful forms of unconfirmed behaviour (not strict)"
    )


def build_app(args: argparse.Namespace) -> FastAPI:
    simulator = build_simulator(
        args.client_id,
        args.client_secret,
        refresh_tokens=tuple(args.refresh_token),
        token_lifetime=args.token_lifetime,
        webhook=WebhookConfig(url=args.webhook_url),
        strict=not args.helpful,
    )
    if args.snapshot:
        simulator.state.restore(json.loads(args.snapshot.read_text()))
    else:
        sizes = {size: getattr(args, size) for size in SIZES if getattr(args, size) is not None}
        if sizes or args.template_id:  # the sizes not given take generate_world's defaults
            simulator.state.load(generate_world(args.seed, template_ids=args.template_id, **sizes))
    return simulator.app


if __name__ == "__main__":
    serve_main("alm", build_app, 8804, add_arguments)
