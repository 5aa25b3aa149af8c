"""`python -m chalicelib.local run|token`: the embedded local stack and its dev tokens.

run     start the stack (`make run`, flags through ARGS="...")
token   print a token from the dev issuer of the state directory (`make token ROLE=buyer SUB=bea`)
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path


def _port(value: str) -> int:
    port = int(value)
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{value} is not a port")
    return port


def _positive(value: str) -> float:
    number = float(value)
    if number <= 0:
        raise argparse.ArgumentTypeError("must be greater than 0")
    return number


def parser() -> argparse.ArgumentParser:
    from .stack import DEFAULT_STATE_DIR

    p = argparse.ArgumentParser(
        prog="python -m chalicelib.local", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = p.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="start the embedded local stack (Ctrl-C stops it)")
    run.add_argument("--api-port", type=_port, default=8000, help="port of the API (default 8000)")
    run.add_argument("--admin-port", type=_port, default=8001, help="port of the admin page (default 8001; 0: any)")
    run.add_argument("--moto-port", type=_port, default=0, help="port of the embedded AWS (default: any free port)")
    run.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    run.add_argument(
        "--state-dir",
        type=Path,
        default=DEFAULT_STATE_DIR,
        help=f"where the dev issuer and stack.json live (default {DEFAULT_STATE_DIR})",
    )
    run.add_argument("--no-seed", dest="seed", action="store_false", help="start with empty tables")
    run.add_argument(
        "--schedule-scale",
        type=_positive,
        default=1.0,
        help="multiply schedule rates by this (0.01: a 5-minute schedule runs every 3 s)",
    )
    run.add_argument("--stage", default="dev", help="Chalice stage whose config the API and handlers get (default dev)")
    run.add_argument("--ready-timeout", type=_positive, default=60.0, help="seconds to wait for the API to answer")

    tok = sub.add_parser("token", help="print a bearer token from the local dev issuer")
    tok.add_argument(
        "--role",
        action="append",
        required=True,
        help="customer, supplier, buyer, customer_care, accounting, logistics, admin (repeat, or comma-separate, for several) "
        "or storefront (a machine token; --sub is its client id)",
    )
    tok.add_argument("--sub", required=True, help="the subject (user id)")
    tok.add_argument("--supplier-id", help="the supplier a supplier user works for (required for role supplier)")
    tok.add_argument("--email", help="e-mail claim (default: <sub>@example.com for customers, <sub>@waybill.example for staff)")
    tok.add_argument("--name", help="display name claim")
    tok.add_argument("--ttl", type=int, default=12 * 3600, help="lifetime in seconds (default 12 h)")
    tok.add_argument(
        "--state-dir", type=Path, default=DEFAULT_STATE_DIR, help=f"state directory of the stack (default {DEFAULT_STATE_DIR})"
    )
    demo = sub.add_parser("demo", help="walk the seeded campaign through every supplier stage (needs `make run`)")
    demo.add_argument("--supplier-id", default="acme", help="whose purchase order to walk (default acme)")
    demo.add_argument(
        "--state-dir",
        type=Path,
        default=DEFAULT_STATE_DIR,
        help=f"state directory of the running stack (default {DEFAULT_STATE_DIR})",
    )
    return p


def token(args: argparse.Namespace) -> int:
    from ..domain.permissions import STAFF_ROLES, Role
    from .stack import load_or_create_issuer

    names = [r.strip() for value in args.role for r in value.split(",") if r.strip()]
    unknown = [r for r in names if r not in {role.value for role in Role}]
    if unknown:
        print(f"unknown role(s): {', '.join(unknown)}; choose from {', '.join(r.value for r in Role)}", file=sys.stderr)
        return 2
    roles = [Role(r) for r in names]
    if Role.SUPPLIER in roles and not args.supplier_id:
        print("a supplier token needs --supplier-id (make token ROLE=supplier SUPPLIER=acme)", file=sys.stderr)
        return 2
    issuer = load_or_create_issuer(args.state_dir)
    if Role.STOREFRONT in roles:
        if len(roles) > 1:
            print("a storefront token is a machine's: it holds no other role", file=sys.stderr)
            return 2
        print(issuer.storefront_token(args.sub, ttl_seconds=args.ttl))  # --sub: the storefront's client id
        return 0
    email = args.email
    if email is None:
        email = f"{args.sub}@waybill.example" if set(roles) & STAFF_ROLES else f"{args.sub}@example.com"
    print(
        issuer.token(
            args.sub, [r.value for r in roles], email=email, supplier_id=args.supplier_id, name=args.name, ttl_seconds=args.ttl
        )
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.command == "token":
        return token(args)
    if args.command == "demo":
        from .demo import Demo

        Demo(args.state_dir.resolve()).run(args.supplier_id)
        return 0
    from .stack import Options, run

    return run(
        Options(
            api_port=args.api_port,
            admin_port=args.admin_port,
            moto_port=args.moto_port,
            host=args.host,
            state_dir=args.state_dir.resolve(),
            seed=args.seed,
            schedule_scale=args.schedule_scale,
            stage=args.stage,
            ready_timeout_s=args.ready_timeout,
        )
    )


if __name__ == "__main__":
    code = main()
    # Everything the stack started is stopped by now; skip tearing down moto's in-memory
    # state object by object (seconds, for memory the OS takes back at once anyway).
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
