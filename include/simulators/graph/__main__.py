"""``python -m include.simulators.graph --port 8803 --tenant-id T --client-id ID --client-secret S``."""

from __future__ import annotations

import argparse

from fastapi import FastAPI

from include.simulators.common.server import serve_main
from include.simulators.graph.app import build_simulator


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--tenant-id", required=True)
    parser.add_argument("--client-id", required=True)
    parser.add_argument("--client-secret", required=True)


def build_app(args: argparse.Namespace) -> FastAPI:
    return build_simulator(args.tenant_id, args.client_id, args.client_secret).app


if __name__ == "__main__":
    serve_main("graph", build_app, 8803, add_arguments)
