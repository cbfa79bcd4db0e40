"""`crm dev` runs the platform locally; `crm test` runs every check CI runs."""

from __future__ import annotations

import argparse
import json
import signal
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Final

from crm_dev.api_client import ApiClient, post_idempotent
from crm_dev.demo_history import DemoHistory, plan_customers, plan_feedback, plan_followups, plan_orders
from crm_dev.infra import free_port
from crm_dev.platform import Platform
from crm_dev.progress import ProgressPrinter
from crm_dev.seed import demo_customers

ROOT = Path(__file__).resolve().parents[3]
DEMO_SLUG = "demo"
DEMO_EMAIL = "admin@demo.example.com"
DEMO_PASSWORD = "demo-password-1"
DEMO_CUSTOMERS = 1000


# A bar on a terminal, plain lines in a log (crm_dev/progress.py).
_progress = ProgressPrinter()


def seed_demo(platform: Platform) -> dict[str, str]:
    """Creates the demo tenant, its admin, an API client, two sales teams, 1,000 customers and three
    years of their history (crm_dev/demo_history.py), once. Resumable: the state file records each
    finished step, and customers already created are not created again."""
    state_file = platform.data_dir / "demo.json"
    state: dict[str, Any] = json.loads(state_file.read_text()) if state_file.exists() else {}

    def save() -> None:
        state_file.write_text(json.dumps(state))

    api = ApiClient(platform.gateway_url)
    started = time.monotonic()
    try:
        if "tenant_id" not in state:
            print("creating the demo tenant...")
            tenant = api.signup(
                DEMO_SLUG, company_name="演示科技有限公司", admin_email=DEMO_EMAIL, admin_password=DEMO_PASSWORD
            )
            state |= {"tenant_id": tenant.id, "admin_id": tenant.admin_id}
            save()
        user_token = api.login_code_flow(DEMO_SLUG, DEMO_EMAIL, DEMO_PASSWORD)["access_token"]
        if "client_id" not in state:
            client = api.create_api_client(
                user_token, "demo-integration", ["customers:read", "customers:write", "tags:read", "reports:read"]
            )
            state |= {"client_id": client["client_id"], "client_secret": client["client_secret"]}
            save()
        history = DemoHistory(api.http, user_token, DEMO_SLUG, DEMO_PASSWORD)
        if "owners" not in state:
            print("creating two sales teams and their users, tags and auto-tag rules...")
            owners = history.organisation()
            history.tag_rules()
            state["owners"] = [o["id"] for o in owners]
            save()
        today = date.today()
        plans = plan_customers(DEMO_CUSTOMERS, len(state["owners"]), today, international=lambda i: i % 10 == 9)
        if "customers_seeded" in state and "customers" not in state:
            print("demo data from an older version: start with a new --data-dir for the history")
            return state
        customers: list[list[str]] = state.setdefault("customers", [])  # [id, code] per created row
        done = len(customers)
        if done < DEMO_CUSTOMERS:
            token = api.client_credentials(state["client_id"], state["client_secret"])
            rows = [row | {"status": plan.created_status, "first_contact_date": plan.first_contact.isoformat(),
                           "source": plan.source, "owner_id": state["owners"][plan.owner]}
                    for row, plan in zip(demo_customers(DEMO_CUSTOMERS), plans, strict=True)]
            print("seeding demo customers...")
            lock = threading.Lock()
            counter = {"done": done}

            def create(numbered: tuple[int, dict[str, str]]) -> list[str]:
                number, row = numbered
                # A stable Idempotency-Key per row: a batch resumed within 24 h creates nothing twice.
                reply = post_idempotent(api.http, "/v1/customers", row, {"Authorization": f"Bearer {token}"},
                                        f"demo-customer-{number}")
                if reply.status_code != 201:
                    raise RuntimeError(f"seeding failed: {reply.status_code} {reply.text[:300]}")
                with lock:
                    counter["done"] += 1
                    _progress(counter["done"], DEMO_CUSTOMERS, "customers")
                return [str(reply.json()["id"]), str(reply.json()["code"])]

            # Batches of 100 so an interrupted seed resumes from the last finished batch.
            for start in range(done, DEMO_CUSTOMERS, 100):
                with ThreadPoolExecutor(max_workers=8) as pool:
                    customers.extend(pool.map(create, enumerate(rows[start : start + 100], start)))
                state["customers_seeded"] = str(len(customers))
                save()
        if not state.get("statuses_moved"):
            print("moving customers along the funnel (mass changes)...")
            # One move each (potential -> intent / lost, intent -> won): every job is independent.
            moves = [(customers[i][0], plan.final_status) for i, plan in enumerate(plans)
                     if plan.created_status != plan.final_status]
            history.move_statuses(moves, lambda n, total: _progress(n, total, "mass changes"))
            state["statuses_moved"] = True
            save()
        if not state.get("orders_seeded"):
            orders = plan_orders(plans, [c[1] for c in customers], today)
            print(f"recording {len(orders)} orders over three years (batches of 1,000)...")
            history.orders(orders, lambda n, total: _progress(n, total, "orders"))
            history.vip([customers[i][0] for i, plan in enumerate(plans) if plan.big])
            state["orders_seeded"] = True
            save()
        if not state.get("followups_seeded"):
            owned = [(customers[i][0], state["owners"][plan.owner]) for i, plan in enumerate(plans)]
            records = plan_followups(owned, datetime.now(UTC))
            print(f"logging {len(records)} follow-up records...")
            history.followups(records, lambda n, total: _progress(n, total, "follow-ups"))
            state["followups_seeded"] = True
            save()
        if not state.get("segments_seeded"):
            print("re-running the time-based tag rules and saving segments...")
            history.segments()
            state["segments_seeded"] = True
            save()
        if not state.get("feedback_seeded"):
            feedback = plan_feedback([c[0] for c in customers], datetime.now(UTC))
            print(f"logging {len(feedback)} pieces of customer feedback (batches of 500)...")
            history.feedback(feedback, lambda n, total: _progress(n, total, "feedback"))
            state["feedback_seeded"] = True
            save()
        print(f"demo data ready in {time.monotonic() - started:.1f}s")
    finally:
        api.close()
    return state


def _usable_port(requested: int) -> int:
    """The requested gateway port, or a free one (said out loud) when something else holds it."""
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", requested))
            return requested
        except OSError:
            pass
    port = free_port()
    print(f"port {requested} is in use; the gateway will listen on {port}")
    return port


# One developer's machine: API rate limits well above the production defaults (settings.py), so the
# demo seed (1,000 customers through the public API) takes seconds, not minutes.
LOCAL_RATE_LIMITS: Final = {
    "CRM_GATEWAY_RATE_LIMIT_CLIENT_PER_SECOND": "200", "CRM_GATEWAY_RATE_LIMIT_CLIENT_BURST": "400",
    "CRM_GATEWAY_RATE_LIMIT_TENANT_PER_SECOND": "400", "CRM_GATEWAY_RATE_LIMIT_TENANT_BURST": "800",
}


def dev(args: argparse.Namespace) -> int:
    platform = Platform(Path(args.data_dir), gateway_port=_usable_port(args.port), extra_env=LOCAL_RATE_LIMITS)
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    try:
        print(f"starting PostgreSQL, NATS, six services and the gateway (data in {platform.data_dir})...")
        started = time.monotonic()
        platform.start()
        print(f"platform up in {time.monotonic() - started:.1f}s")
        state = seed_demo(platform) if not args.no_seed else {}
        url = platform.gateway_url
        print("\n" + "=" * 72)
        print(f"  Web UI      {url}/")
        print(f"  API docs    {url}/docs")
        print(f"  Login       company: {DEMO_SLUG}   email: {DEMO_EMAIL}   password: {DEMO_PASSWORD}")
        if state.get("client_id"):
            print("  API (client credentials):")
            print(f"    TOKEN=$(curl -s -u {state['client_id']}:{state['client_secret']} \\")
            print(
                f"      -d grant_type=client_credentials {url}/oauth/token | python3 -c "
                "'import sys,json;print(json.load(sys.stdin)[\"access_token\"])')"
            )
            print(f"    curl -s -H \"Authorization: Bearer $TOKEN\" '{url}/v1/customers?page_size=3'")
        print(f"  Mail        every email sent goes to the local SMTP server 127.0.0.1:{platform.ports['smtp']},")
        print(f"              kept in {platform.mail_dir} (a Maildir)")
        print(f"  Logs        {platform.log_dir}")
        print("  Ctrl-C stops everything.")
        print("=" * 72, flush=True)
        while not stopping.is_set():
            for name, process in platform.processes.items():
                if process.poll() is not None:
                    print(f"{name} exited ({process.returncode}); last log lines:\n{platform.tail(name)}")
                    return 1
            stopping.wait(1)
    except KeyboardInterrupt:
        pass
    finally:
        print("\nstopping...", flush=True)
        platform.stop()
    return 0


def _run(title: str, command: list[str]) -> None:
    print(f"==> {title}", flush=True)
    subprocess.run(command, cwd=ROOT, check=True)


def test(args: argparse.Namespace) -> int:
    python = sys.executable
    try:
        _run("generated code is current", [python, "scripts/gen_proto.py", "--check"])
        _run("ruff", [python, "-m", "ruff", "check", "."])
        _run("mypy", [python, "-m", "mypy", "libs/crm_platform", "libs/crm_dev", "services", "gateway"])
        _run("pytest", [python, "-m", "pytest", *args.pytest_args])
    except subprocess.CalledProcessError as exc:
        return exc.returncode or 1
    return 0


def rotate_keys(args: argparse.Namespace) -> int:
    """A new token signing key for the platform whose data lives in --data-dir (identity's
    database and master key); the previous keys stay in the JWKS for --retire-after seconds."""
    import asyncio
    from datetime import timedelta

    from crm_identity.keys.service import rotate_signing_keys

    data_dir = Path(args.data_dir)
    if not (data_dir / "secrets.json").exists() or not (data_dir / "ports.json").exists():
        print(f"no platform data in {data_dir} (run `crm dev` first, or pass --data-dir)", file=sys.stderr)
        return 2
    platform = Platform(data_dir)
    import socket

    try:
        socket.create_connection(("127.0.0.1", platform.ports["postgres"]), timeout=2).close()
    except OSError:
        print("that platform's PostgreSQL is not running; start it with `crm dev`", file=sys.stderr)
        return 2
    kid, published = asyncio.run(rotate_signing_keys(
        platform.database_url("identity"), platform.secrets["master_key"], timedelta(seconds=args.retire_after),
        publish_ahead=timedelta(seconds=args.publish_ahead),
    ))
    print(f"new signing key: {kid}")
    print(f"published keys:  {', '.join(published)}")
    print(f"identity signs with the new key in {args.publish_ahead}s; "
          f"previous keys are retired {args.retire_after}s after that")
    return 0


def _operator_platform(data_dir: Path) -> Platform | None:
    """The platform whose data lives in `data_dir`, if it is running (for operator commands)."""
    if not (data_dir / "secrets.json").exists() or not (data_dir / "ports.json").exists():
        print(f"no platform data in {data_dir} (run `crm dev` first, or pass --data-dir)", file=sys.stderr)
        return None
    platform = Platform(data_dir)
    try:
        socket.create_connection(("127.0.0.1", platform.ports["postgres"]), timeout=2).close()
    except OSError:
        print("that platform's PostgreSQL is not running; start it with `crm dev`", file=sys.stderr)
        return None
    return platform


def tenant_status(args: argparse.Namespace) -> int:
    """`crm tenant suspend|resume`: every token of the tenant stops (or resumes) working within
    seconds in every service; identity issues it no tokens while suspended."""
    import asyncio

    from crm_dev.operator import OperatorError, set_tenant_status

    platform = _operator_platform(Path(args.data_dir))
    if platform is None:
        return 2
    status = "suspended" if args.tenant_command == "suspend" else "active"
    try:
        tenant = asyncio.run(set_tenant_status(platform, args.tenant, status, args.reason))
    except OperatorError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    print(f"tenant {tenant.slug} ({tenant.id}) is now {status}")
    return 0


def tenant_offboard(args: argparse.Namespace) -> int:
    """`crm tenant offboard`: suspend, export everything to --export-to, erase everywhere. A job
    in identity's database keeps its state: running it again resumes (or reports it done)."""
    import asyncio

    from crm_dev.operator import OffboardJob, OperatorError

    platform = _operator_platform(Path(args.data_dir))
    if platform is None:
        return 2
    print(f"offboarding {args.tenant}: suspend, export to {args.export_to}, erase everywhere")
    try:
        state = asyncio.run(OffboardJob(platform, args.tenant, Path(args.export_to), _progress).run())
    except OperatorError as exc:
        print(f"\n{exc}\n(run the same command again to resume)", file=sys.stderr)
        return 1
    files = [f for service in state["exported_services"].values() for f in service]
    print(f"\nexported {sum(f['rows'] for f in files)} rows in {len(files)} files to {state['export_to']}")
    print(f"manifest: {Path(state['export_to']) / 'manifest.json'}")
    print(f"tenant {state['slug']} ({state['tenant_id']}) is offboarded; its id and slug are never reused")
    return 0


def tenant_backup(args: argparse.Namespace) -> int:
    """`crm tenant backup`: export all of an active tenant's data into a ZIP archive, erasing nothing."""
    import asyncio

    from crm_dev.operator import BackupJob, OperatorError

    platform = _operator_platform(Path(args.data_dir))
    if platform is None:
        return 2
    print(f"backing up {args.tenant} to {args.to} (nothing is suspended or erased)")
    try:
        state = asyncio.run(BackupJob(platform, args.tenant, Path(args.to), _progress).run())
    except OperatorError as exc:
        print(f"\n{exc}", file=sys.stderr)
        return 1
    files = [f for service in state["exported_services"].values() for f in service]
    print(f"\nbacked up {sum(f['rows'] for f in files)} rows in {len(files)} files to {state['archive']}")
    print(f"sha256: {state['sha256']}")
    return 0


def tenant_restore(args: argparse.Namespace) -> int:
    """`crm tenant restore`: a backup archive loaded into a new tenant (docs/tenancy.md#restore-into-a-new-tenant)."""
    import asyncio

    from crm_dev.operator import OperatorError, RestoreJob

    platform = _operator_platform(Path(args.data_dir))
    if platform is None:
        return 2
    print(f"restoring {args.from_} into the new tenant {args.slug}")
    try:
        report = asyncio.run(RestoreJob(platform, Path(args.from_), args.slug, admin_email=args.admin_email,
                                        admin_password=args.admin_password, progress=_progress).run())
    except OperatorError as exc:
        print(f"\n{exc}", file=sys.stderr)
        return 1
    print(f"\nrestored {sum(report.restored.values())} rows in {len(report.restored)} tables into tenant "
          f"{report.slug} ({report.tenant_id})")
    for table, why in sorted(report.skipped.items()):
        print(f"  not restored: {table}: {why}")
    if report.generated_password:
        print(f"sign in as {report.admin_email} with the one-time password {report.admin_password}"
              " (to be changed at the first sign-in); other users choose a password with 'forgot password'"
              " or a new invitation")
    else:
        print(f"sign in as {report.admin_email} with the password given")
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(prog="crm")
    commands = parser.add_subparsers(dest="command", required=True)
    dev_parser = commands.add_parser("dev", help="run the whole platform locally")
    dev_parser.add_argument("--data-dir", default=str(ROOT / ".crm"))
    dev_parser.add_argument("--port", type=int, default=8000, help="gateway port")
    dev_parser.add_argument("--no-seed", action="store_true")
    dev_parser.set_defaults(func=dev)
    rotate_parser = commands.add_parser(
        "rotate-keys", help="make a new token signing key; the old ones stay published until their tokens expire"
    )
    rotate_parser.add_argument("--data-dir", default=str(ROOT / ".crm"))
    rotate_parser.add_argument(
        "--retire-after", type=int, default=1200,
        help="seconds the previous keys stay in the JWKS; at least the access-token lifetime (900 s) plus leeway",
    )
    rotate_parser.add_argument(
        "--publish-ahead", type=int, default=15,
        help="seconds the new key is published before it signs: more than identity's key reload interval (5 s) "
             "plus the verifiers' JWKS refetch interval (5 s); 0 with --retire-after 0 replaces a compromised key "
             "at once",
    )
    rotate_parser.set_defaults(func=rotate_keys)
    tenant_parser = commands.add_parser("tenant", help="platform-operator actions on a tenant")
    tenant_commands = tenant_parser.add_subparsers(dest="tenant_command", required=True)
    for name, help_text in (
        ("suspend", "every token of the tenant stops working at once; no new tokens are issued"),
        ("resume", "the tenant's tokens work again"),
    ):
        sub = tenant_commands.add_parser(name, help=help_text)
        sub.add_argument("--data-dir", default=str(ROOT / ".crm"))
        sub.add_argument("--tenant", required=True, help="the tenant's company identifier (slug)")
        sub.add_argument("--reason", default="", help="why (logged)")
        sub.set_defaults(func=tenant_status)
    offboard = tenant_commands.add_parser(
        "offboard", help="suspend, export all of the tenant's data, then erase it from every service (resumable)"
    )
    offboard.add_argument("--data-dir", default=str(ROOT / ".crm"))
    offboard.add_argument("--tenant", required=True, help="the tenant's company identifier (slug)")
    offboard.add_argument("--export-to", required=True, help="directory for the JSON-lines files and manifest.json")
    offboard.set_defaults(func=tenant_offboard)
    backup = tenant_commands.add_parser(
        "backup", help="export all of the tenant's data into a ZIP archive (JSON lines + manifest); erases nothing"
    )
    backup.add_argument("--data-dir", default=str(ROOT / ".crm"))
    backup.add_argument("--tenant", required=True, help="the tenant's company identifier (slug)")
    backup.add_argument("--to", required=True, help="the archive to write, e.g. acme-2026-12-07.zip")
    backup.set_defaults(func=tenant_backup)
    restore = tenant_commands.add_parser(
        "restore", help="create a new tenant from a backup archive (ids kept; users must set passwords again)"
    )
    restore.add_argument("--data-dir", default=str(ROOT / ".crm"))
    restore.add_argument("--from", dest="from_", required=True, help="the archive, e.g. acme-2026-12-07.zip")
    restore.add_argument("--slug", required=True, help="the new tenant's company identifier (must be free)")
    restore.add_argument("--admin-email", default="", help="the tenant admin who gets a password (default: the first)")
    restore.add_argument("--admin-password", default="",
                         help="that admin's password (default: a one-time password, printed, changed at sign-in)")
    restore.set_defaults(func=tenant_restore)
    test_parser = commands.add_parser("test", help="lint, type-check and run the tests")
    test_parser.set_defaults(func=test)
    # Anything `crm test` does not know is handed to pytest (e.g. `crm test tests/e2e -x`).
    args, extra = parser.parse_known_args()
    if extra and args.command != "test":
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    args.pytest_args = extra
    sys.exit(args.func(args))
