"""The embedded local stack: `make run` (`python -m chalicelib.local run`).

Starts moto's server on loopback (Step Functions execution on), provisions every resource of
`chalicelib.topology`, creates (or reuses) the dev issuer, seeds demo data, serves the API
with `chalice local --no-autoreload` in a child process, and runs in another child process
(`chalicelib.local.triggers`) the stand-ins for what AWS would trigger: an SQS poller per queue, a
poller on the table's stream, and a scheduler for the schedules; this process serves the embedded
AWS. SIGINT/SIGTERM stop all of it.

IAM is enforced as in AWS: provisioning is free, then the server checks every request against
its caller's policies. Each function has a moto role with the policy the CDK app deploys
(`chalicelib.functions`); the API (`chalice local`, the authorizer included) and each poller's
or schedule's worker process (`chalicelib.local.worker`) run with their function's role
credentials. The pollers' process, standing in for Lambda's pollers and Scheduler, and a
developer's tools act as the account's operator (`testing`/`testing`).

State lives in the state directory (default `.local/`, gitignored): `issuer.json` (the dev
issuer's key, so `make token` works while and after the stack runs) and `stack.json` (URLs
and ports, while the stack runs).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

from ..topology import TOPOLOGY, Topology
from .credentials import OPERATOR_CREDENTIALS, function_environment, write_config
from .issuer import DevIssuer
from .server import LOOPBACK, ChaliceProcess, MotoServer, PortInUse, configure_logging, port_is_free

log = logging.getLogger("chalicelib.local")

PROJECT_DIR = Path(__file__).resolve().parents[2]
DEFAULT_STATE_DIR = PROJECT_DIR / ".local"
ISSUER_FILE = "issuer.json"
STACK_FILE = "stack.json"
WEBHOOK_SECRETS_FILE = "webhook-secrets.json"
REGION = "eu-west-1"
AWS_CONFIG_FILE = "aws-config"  # a profile per function, assuming its role (chalicelib.local.credentials)
# Anything that could route boto3 away from the embedded server, or to a real account.
UNSAFE_AWS_VARIABLES = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
    "AWS_ROLE_ARN",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
)
READY_LINE = "Waybill is running"


@dataclass
class Options:
    api_port: int = 8000
    admin_port: int = 8001  # the admin page (0: any free port)
    moto_port: int = 0  # 0: any free port
    host: str = LOOPBACK
    state_dir: Path = DEFAULT_STATE_DIR
    seed: bool = True
    schedule_scale: float = 1.0
    stage: str = "dev"
    ready_timeout_s: float = 60.0


def issuer_path(state_dir: Path) -> Path:
    return state_dir / ISSUER_FILE


def load_or_create_issuer(state_dir: Path) -> DevIssuer:
    """The dev issuer of this state directory; created once, so tokens outlive restarts."""
    path = issuer_path(state_dir)
    if path.exists():
        try:
            return DevIssuer.load(path)
        except (ValueError, KeyError, OSError):
            log.warning("%s is unreadable; creating a new dev issuer", path)
    issuer = DevIssuer.generate()
    issuer.save(path)
    return issuer


def chalice_environment(project_dir: Path, stage: str) -> dict[str, str]:
    """The environment variables `.chalice/config.json` gives the functions of `stage`
    (what Lambda would set, and what `chalice local` sets for the API)."""
    path = project_dir / ".chalice" / "config.json"
    if not path.exists():
        return {}
    config = json.loads(path.read_text())
    env = dict(config.get("environment_variables") or {})
    env.update((config.get("stages", {}).get(stage) or {}).get("environment_variables") or {})
    return {k: str(v) for k, v in env.items()}


def running_stack(state_dir: Path) -> dict[str, Any] | None:
    """The stack.json of a stack that still runs from this state directory, if any."""
    path = state_dir / STACK_FILE
    try:
        info = json.loads(path.read_text())
        pid = int(info["pid"])
        os.kill(pid, 0)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    with contextlib.suppress(OSError):
        if b"chalicelib.local" not in Path(f"/proc/{pid}/cmdline").read_bytes():
            return None  # the pid was reused by something else
    return info if pid != os.getpid() else None


@dataclass
class Stack:
    options: Options
    topology: Topology = TOPOLOGY
    project_dir: Path = PROJECT_DIR
    stop: threading.Event = field(default_factory=threading.Event)
    moto: MotoServer | None = None
    chalice: ChaliceProcess | None = None
    bank: Any = None  # the sandbox bank (chalicelib.local.sandbox_bank)
    gateway: Any = None  # the sandbox payment gateway (chalicelib.local.sandbox_gateway)
    admin: Any = None  # the admin page's host (chalicelib.local.admin_site)
    triggers: Any = None  # the pollers' and scheduler's process (chalicelib.local.triggers)
    roles: dict[str, str] = field(default_factory=dict)  # function name -> its role's ARN
    env: dict[str, str] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)
    aws_config: Path = Path()
    _starting: bool = False

    # ------------------------------------------------------------ signals

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        name = signal.Signals(signum).name
        if self.stop.is_set():
            log.info("%s again: still stopping", name)
            return
        log.info("%s: stopping", name)
        self.stop.set()
        if self._starting:
            raise KeyboardInterrupt  # abandon start-up; `run` cleans up whatever was started

    # ------------------------------------------------------------ start

    def _environment(self, endpoint: str, moto_port: int) -> dict[str, str]:
        o = self.options
        env = {k: v for k, v in os.environ.items() if k not in UNSAFE_AWS_VARIABLES and not k.startswith("AWS_ENDPOINT_URL_")}
        env.update(OPERATOR_CREDENTIALS)
        env.update(
            {
                "AWS_ENDPOINT_URL": endpoint,
                "MOTO_PORT": str(moto_port),
                "AWS_DEFAULT_REGION": REGION,
                "AWS_REGION": REGION,
                "WAYBILL_PUBLIC_URL": f"http://{o.host}:{o.api_port}",
            }
        )
        if o.admin_port:  # e-mail links open the site's pages (with any free port, the API's URL stands in)
            env["WAYBILL_SITE_URL"] = f"http://{o.host}:{o.admin_port}"
        env.setdefault("POWERTOOLS_METRICS_DISABLED", "true")  # no EMF lines on the console per call
        # The demo's orders are small: a lower approval threshold lets a complaint's plan reach an admin (the
        # cheapest bolt line, 18.00, is above it whichever order the walk ships last).
        env.setdefault("WAYBILL_COMPLAINT_APPROVAL_THRESHOLD_CENTS", "1500")
        env.update(chalice_environment(self.project_dir, o.stage))
        return env

    def _apply_environment(self, env: dict[str, str]) -> None:
        for key in [k for k in os.environ if k not in env]:
            del os.environ[key]
        os.environ.update(env)
        self.env = env
        from ..config import settings

        settings.cache_clear()  # settings are read once per process: read them again

    def start(self) -> None:
        o = self.options
        if info := running_stack(o.state_dir):
            raise RuntimeError(
                f"a local stack from {o.state_dir} is already running (pid {info['pid']}, "
                f"API {info.get('api_url')}); stop it, or use another --state-dir"
            )
        if not port_is_free(o.api_port, o.host):
            raise PortInUse(
                f"API port {o.api_port} is already in use (another `make run`?); pick another with ARGS='--api-port <port>'"
            )
        if o.admin_port and not port_is_free(o.admin_port, o.host):
            raise PortInUse(f"admin port {o.admin_port} is already in use; pick another with ARGS='--admin-port <port>'")
        started = time.monotonic()

        self.moto = MotoServer(port=o.moto_port, host=o.host)
        endpoint = self.moto.start()
        log.info("moto server on %s (Step Functions execution on)", endpoint)
        self._apply_environment(self._environment(endpoint, self.moto.port))

        from .provision import OPERATOR, provision, provision_operator, provision_roles, provision_states_identity
        from .server import STATES_CREDENTIALS, admit_access_key

        provisioned = provision(self.topology, region=REGION)
        provision_operator(region=REGION)
        admit_access_key(OPERATOR, OPERATOR_CREDENTIALS["AWS_ACCESS_KEY_ID"], OPERATOR_CREDENTIALS["AWS_SECRET_ACCESS_KEY"])
        admit_access_key(provision_states_identity(provisioned, region=REGION), *STATES_CREDENTIALS)
        self.roles = provision_roles(provisioned, region=REGION)
        self.aws_config = write_config(o.state_dir / AWS_CONFIG_FILE, endpoint=endpoint, roles=self.roles, region=REGION)
        self.moto.enforce_iam()
        log.info("IAM enforced: %d function role(s), each function runs with its own", len(self.roles))
        log.info(
            "provisioned table %s, bus %s, %d queue(s), %d bucket(s)",
            provisioned.table_name,
            self.topology.bus,
            len(provisioned.queue_urls),
            len(provisioned.buckets),
        )

        issuer = load_or_create_issuer(o.state_dir)
        self._apply_environment(
            {
                **self.env,
                **issuer.environment(),
                "WAYBILL_TABLE_STREAM_ARN": provisioned.stream_arn,
                **{
                    f"WAYBILL_{m.definition.upper()}_ARN": provisioned.state_machine_arns.get(m.name, "")
                    for m in self.topology.state_machines
                },
            }
        )
        self._install_webhook_secrets()
        self._apply_environment(
            {
                **self.env,
                "WAYBILL_BANK_URL": self._start_sandbox_bank(),
                "WAYBILL_PAYMENT_GATEWAY_URL": self._start_sandbox_gateway(),
            }
        )

        from ..functions import API_HANDLER

        api_env = function_environment(self.env, config_file=self.aws_config, function=API_HANDLER)
        self.chalice = ChaliceProcess(project_dir=self.project_dir, port=o.api_port, env=api_env, host=o.host, stage=o.stage)
        self.chalice.start()

        seeded = None
        if o.seed:  # before the pollers start: they then work through the seed's events, like any others
            from .seed import seed

            t0 = time.monotonic()
            seeded = seed()
            log.info("seeded %d orders %s in %.1f s", seeded.orders, seeded.statuses, time.monotonic() - t0)
        self._start_triggers(provisioned)

        self.chalice.wait_ready(o.ready_timeout_s, self.stop)
        from ..services.supplier_access import dev_sign_in_users
        from .admin_site import DEV_USERS, AdminSite

        self.admin = AdminSite(
            host=o.host,
            port=o.admin_port,
            api_url=self.chalice.url,
            issuer=issuer,
            users=DEV_USERS,
            invited_users=dev_sign_in_users,
        )
        self.admin.start()
        self.info = {
            "pid": os.getpid(),
            "api_url": self.chalice.url,
            "api_port": o.api_port,
            "admin_url": self.admin.url,
            "moto_endpoint": endpoint,
            "moto_port": self.moto.port,
            "region": REGION,
            "state_dir": str(o.state_dir),
            "issuer_file": str(issuer_path(o.state_dir)),
            "table": provisioned.table_name,
            "stream_arn": provisioned.stream_arn,
            "bus": self.topology.bus,
            "queues": provisioned.queue_urls,
            "dead_letter_queues": provisioned.dlq_urls,
            "failure_queues": provisioned.failure_queue_urls,
            "function_roles": self.roles,
            "bank_url": self.bank.url if self.bank else None,
            "payment_gateway_url": self.gateway.url if self.gateway else None,
            "buckets": provisioned.buckets,
            "chalice_pid": self.chalice.proc.pid if self.chalice.proc else None,
            "triggers_pid": self.triggers.pid if self.triggers else None,
            "schedule_scale": o.schedule_scale,
            "started_at": datetime.now(UTC).isoformat(),
            "startup_seconds": round(time.monotonic() - started, 2),
            "seed": seeded.as_dict() if seeded else None,
        }
        path = o.state_dir / STACK_FILE
        path.write_text(json.dumps(self.info, indent=2) + "\n")

    def _install_webhook_secrets(self) -> None:
        """Signing secrets for every carrier and every seeded supplier system, in the inbound-webhooks
        secret (as operators would set them) and in `<state dir>/webhook-secrets.json`, which the
        demo, `make track` and the benchmark sign with. Local only: fresh ones every start."""
        import boto3

        from ..domain.shipments import CARRIERS
        from .carrier_sim import new_secret
        from .seed import SUPPLIERS

        senders = [f"carrier:{c}" for c in CARRIERS] + [f"supplier:{sid}" for sid, _, _ in SUPPLIERS]
        fresh = {sender: [new_secret()] for sender in senders}
        sm = boto3.session.Session(region_name=REGION).client("secretsmanager")
        name = self.topology.secrets[0].name
        current = json.loads(sm.get_secret_value(SecretId=name)["SecretString"] or "{}")
        sm.put_secret_value(SecretId=name, SecretString=json.dumps({**current, **fresh}))
        path = self.options.state_dir / WEBHOOK_SECRETS_FILE
        path.write_text(json.dumps({sender: keys[0] for sender, keys in fresh.items()}, indent=2) + "\n")
        path.chmod(0o600)
        log.info("webhook signing secrets for %d sender(s) in %s", len(fresh), path)

    def _start_sandbox_bank(self) -> str:
        """A fresh signing secret in the inbound-webhooks secret, and the sandbox bank that uses it
        to settle payments through the API's POST /webhooks/bank. Returns the bank's URL."""
        import boto3

        from .sandbox_bank import SandboxBank, new_secret

        secret = new_secret()
        sm = boto3.session.Session(region_name=REGION).client("secretsmanager")
        name = self.topology.secrets[0].name  # inbound webhooks: {"<sender>": ["whsec_..."]}
        current = json.loads(sm.get_secret_value(SecretId=name)["SecretString"] or "{}")
        sm.put_secret_value(SecretId=name, SecretString=json.dumps({**current, "bank": [secret]}))
        o = self.options
        self.bank = SandboxBank(webhook_url=f"http://{o.host}:{o.api_port}/webhooks/bank", secret=secret, host=o.host)
        url = self.bank.start()
        log.info("sandbox bank on %s (settles through POST /webhooks/bank)", url)
        return url

    def _start_sandbox_gateway(self) -> str:
        """The sandbox payment gateway (captures and refunds, idempotent by key). Returns its URL."""
        from .sandbox_gateway import SandboxGateway

        self.gateway = SandboxGateway(host=self.options.host)
        url = self.gateway.start()
        log.info("sandbox payment gateway on %s (declines a reference containing 'decline')", url)
        return url

    def _start_triggers(self, provisioned: Any) -> None:
        """The pollers and the scheduler, in their own process (chalicelib.local.triggers)."""
        from .triggers import TriggerSpec, TriggersProcess

        spec = TriggerSpec.from_provisioned(
            provisioned, project_dir=self.project_dir, roles=self.roles, schedule_scale=self.options.schedule_scale
        )
        self.triggers = TriggersProcess(spec, env=self.env, cwd=self.project_dir)
        self.triggers.start(self.options.ready_timeout_s, self.stop)
        log.info("pollers and scheduler running in process %s", self.triggers.pid)

    # ------------------------------------------------------------ stop

    def shutdown(self) -> None:
        self.stop.set()
        if self.admin is not None:
            self.admin.stop()
        if self.bank is not None:
            self.bank.stop()
        if self.gateway is not None:
            self.gateway.stop()
        if self.chalice is not None:
            code = self.chalice.stop()
            log.info("chalice local stopped (exit code %s)", code)
        if self.triggers is not None:
            code = self.triggers.stop()
            log.info("pollers stopped (exit code %s)", code)
        if self.moto is not None:
            self.moto.stop()
            log.info("moto server stopped")
        with contextlib.suppress(OSError):
            path = self.options.state_dir / STACK_FILE
            if json.loads(path.read_text()).get("pid") == os.getpid():
                path.unlink()

    # ------------------------------------------------------------ run

    def banner(self) -> str:
        o, info = self.options, self.info
        api = info["api_url"]
        if o.state_dir == DEFAULT_STATE_DIR:
            token, supplier = "make -s token ROLE={role} SUB={sub}", "SUPPLIER=acme"
        else:
            token = f"{sys.executable} -m chalicelib.local token --state-dir {o.state_dir} --role {{role}} --sub {{sub}}"
            supplier = "--supplier-id acme"
        seed = info.get("seed") or {}
        campaign = seed.get("live_campaign_id", "<campaign id>")
        lines = [
            "",
            f"{READY_LINE} (started in {info['startup_seconds']:.1f} s)",
            f"  API            {api}   (OpenAPI: {api}/openapi.json)",
            f"  admin page     {info['admin_url']}/   (sign in as a demo staff user)",
            f"  order page     {info['admin_url']}/track/   (from a customer's e-mail link, or by reference + e-mail)",
            f"  front office   {info['admin_url']}/supplier/   (sign in as a demo supplier user)",
            f"  embedded AWS   {info['moto_endpoint']}   (moto; AWS_ENDPOINT_URL={info['moto_endpoint']} aws ...)",
            f"  state          {o.state_dir}/{STACK_FILE}",
        ]
        if seed:
            lines.append(
                f"  demo data      live campaign {campaign}, suppliers {', '.join(seed['suppliers'])}, "
                f"customers cust-01..cust-{len(seed['customers']):02d} ({seed['orders']} orders)"
            )
        lines += [
            "",
            "  a token:       " + token.format(role="buyer", sub="bea"),
            f"                 roles: customer, supplier ({supplier}), buyer, customer_care, accounting, logistics, admin",
            "  try:",
            f'    curl -s -H "Authorization: Bearer $({token.format(role="buyer", sub="bea")})" '
            f"'{api}/staff/orders?status=on_hold'",
            f'    curl -s -X POST -H "Authorization: Bearer $({token.format(role="customer", sub="cust-01")})" '
            f"-H 'Content-Type: application/json' "
            f'-d \'{{"campaign_id": "{campaign}", "lines": [{{"sku": "MUG-1", "quantity": 2}}]}}\' {api}/orders',
            "",
            "Press Ctrl-C to stop.",
        ]
        return "\n".join(lines)

    def run(self) -> int:
        previous = {s: signal.signal(s, self._on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
        code = 0
        try:
            self._starting = True
            try:
                self.start()
            finally:
                self._starting = False
            print(self.banner(), flush=True)
            while not self.stop.wait(0.5):
                if self.chalice is not None and not self.chalice.running():
                    log.error(
                        "chalice local exited (code %s); stopping the stack",
                        self.chalice.proc.returncode if self.chalice.proc else None,
                    )
                    code = 1
                    break
                if self.triggers is not None and not self.triggers.running():
                    log.error("the pollers' process exited; stopping the stack")
                    code = 1
                    break
        except KeyboardInterrupt:
            code = 0 if self.stop.is_set() else 130
        except Exception as exc:
            log.error("the local stack could not start: %s", exc, exc_info=not isinstance(exc, RuntimeError | TimeoutError))
            code = 1
        finally:
            self._starting = False
            self.stop.set()
            self.shutdown()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        print("Waybill stopped", flush=True)
        return code


def run(options: Options) -> int:
    configure_logging()
    options.state_dir.mkdir(parents=True, exist_ok=True)
    code = Stack(options).run()
    leftovers = [t for t in threading.enumerate() if t is not threading.main_thread() and t.is_alive() and not t.daemon]
    if leftovers:  # e.g. a Step Functions execution still waiting inside moto: do not hang on exit
        log.info("leaving %d background thread(s) behind", len(leftovers))
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return code
