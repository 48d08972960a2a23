"""``python -m include.simulators.credly --port 8801 --org ORG --token TOKEN [--seed N ...]
[--helpful]``."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from fastapi import FastAPI

from include.simulators.common.server import serve_main
from include.simulators.credly.app import build_simulator
from include.simulators.credly.generator import generate_world
from include.simulators.credly.webhooks import WebhookConfig


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--org", required=True, help="the organisation id the token belongs to")
    parser.add_argument("--token", required=True, help="the authorization token (Basic auth username)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--templates", type=int, default=0, help="templates to generate")
    parser.add_argument("--learners", type=int, default=0, help="learners badges are drawn from")
    parser.add_argument("--badges", type=int, default=0, help="issued badges to generate")
    parser.add_argument(
        "--earner-id-share", type=float, default=1.0, help="share of badges with issuer_earner_id"
    )
    parser.add_argument("--snapshot", type=Path, help="load this JSON snapshot instead of generating")
    parser.add_argument("--webhook-url", help="POST each event's slim body here")
    parser.add_argument("--webhook-retry-base", type=float, help="seconds before the first webhook retry")
    parser.add_argument(
        "--helpful", action="store_true", help="serve the helpful forms of unconfirmed behaviour (not strict)"
    )


def build_app(args: argparse.Namespace) -> FastAPI:
    webhook = WebhookConfig(url=args.webhook_url)
    if args.webhook_retry_base is not None:
        webhook.retry_base = args.webhook_retry_base
    simulator = build_simulator(
        args.org, args.token, seed=args.seed, webhook=webhook, strict=not args.helpful
    )
    if args.snapshot:
        simulator.state.restore(json.loads(args.snapshot.read_text()))
    elif args.templates or args.badges:
        simulator.state.load(
            *generate_world(
                args.seed,
                templates=args.templates,
                learners=args.learners,
                badges=args.badges,
                earner_id_share=args.earner_id_share,
            )
        )
    return simulator.app


if __name__ == "__main__":
    serve_main("credly", build_app, 8801, add_arguments)
