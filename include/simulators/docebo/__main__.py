"""``python -m include.simulators.docebo --port 8802 --client-id ID --client-secret SECRET
[--seed N --learners N --courses C --completions K ...] [--snapshot file.json] [--helpful]``."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from fastapi import FastAPI

from include.simulators.common.server import serve_main
from include.simulators.docebo.app import build_simulator
from include.simulators.docebo.generator import generate_world
from include.simulators.docebo.webhooks import WebhookConfig

SIZES = ("learners", "courses", "learning_plans", "certifications", "completions", "awards")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--client-id", required=True, help="the OAuth2 app's client id")
    parser.add_argument("--client-secret", required=True, help="the OAuth2 app's client secret")
    parser.add_argument("--admin-username", default="superadmin", help="for the password grant")
    parser.add_argument("--admin-password", default="superadmin-password", help="for the password grant")
    parser.add_argument("--token-lifetime", type=float, default=3600.0, help="access token lifetime (s)")
    parser.add_argument("--seed", type=int, default=0)
    for size in SIZES:
        parser.add_argument(f"--{size.replace('_', '-')}", type=int, help=f"{size} to generate")
    parser.add_argument("--snapshot", type=Path, help="load this JSON snapshot instead of generating")
    parser.add_argument("--webhook-url", help="POST webhook messages here")
    parser.add_argument("--webhook-grouped", action="store_true", help="group payloads (payloads array)")
    parser.add_argument(
        "--helpful", action="store_true", help="serve the helpful forms of unconfirmed behaviour (not strict)"
    )


def build_app(args: argparse.Namespace) -> FastAPI:
    simulator = build_simulator(
        args.client_id,
        args.client_secret,
        token_lifetime=args.token_lifetime,
        admin_username=args.admin_username,
        admin_password=args.admin_password,
        webhook=WebhookConfig(url=args.webhook_url, grouped=args.webhook_grouped),
        strict=not args.helpful,
    )
    if args.snapshot:
        simulator.state.restore(json.loads(args.snapshot.read_text()))
    else:
        sizes = {size: getattr(args, size) for size in SIZES if getattr(args, size) is not None}
        if sizes:  # the sizes not given take generate_world's defaults
            simulator.state.load(generate_world(args.seed, **sizes))
    return simulator.app


if __name__ == "__main__":
    serve_main("docebo", build_app, 8802, add_arguments)
