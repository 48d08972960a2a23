"""``make demo``: set up a local credly-sync, run the main jobs once on the simulators, and follow
one webhook event; the terminal tells what each DAG did, ``.airflow/demo.log`` has every log.

Each run starts a fresh demo world (simulators from their seeds, a new warehouse file, an empty
mail folder; Airflow's metadata database and its run history are kept), so it can be run again.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

from include.processes import free_port
from scripts.demo import ROOT, as_admin_process, world
from scripts.demo.console import Console
from scripts.demo.processes import Processes, interrupt_on_signals, require_free
from scripts.demo.runs import RunRecord, dag_test
from scripts.demo.summary import (
    describe_run,
    failure_lines,
    read_mail,
    run_operations,
    warehouse_lines,
)
from scripts.demo.webhook import start_api_server, travel
from scripts.demo.world import shown


def retire_template() -> list[str]:
    world.delete_template(world.DELETED_TEMPLATE)
    return [f"{world.DELETED_TEMPLATE!r} deleted in Credly"]


# (dag id, run conf, what people do in the simulated services first): templates, the dropdown,
# the first (full) batch syncs, then a template deletion and its notice.
MAIN_DAGS: tuple[tuple[str, dict[str, Any] | None, Callable[[], list[str]] | None], ...] = (
    ("credly_templates", None, None),
    ("credly_lms_dropdown", None, None),
    ("lms_to_credly", {"full_reconcile": True}, world.pick_course_badges),
    ("credly_to_lms", {"full_reconcile": True}, None),
    ("credly_templates", None, retire_template),
)


def main() -> int:
    as_admin_process()
    console = Console(world.HOME / "demo.log")
    say = console.say
    interrupt_on_signals()
    processes = Processes()
    try:
        require_free(world.ports())
        console.capture()
        say(f"credly-sync demo: every Airflow log goes to {shown(console.log_path)}")
        world.prepare_airflow(console)
        world.write_env_file()
        world.fresh_warehouse(console)
        from credly_sync.warehouse.engine import warehouse_engine

        engine = warehouse_engine()
        world.start_simulators(processes)
        api_port = free_port()
        server = start_api_server(processes, api_port)  # boots while the batch runs
        say(
            f"set up: Airflow home {shown(world.HOME)}, fresh warehouse {shown(world.WAREHOUSE)} with the "
            f"sample settings and mappings, simulators Credly :{world.CREDLY_PORT}, "
            f"Docebo :{world.DOCEBO_PORT}, SMTP :{world.SMTP_PORT}"
        )
        say()
        for number, (dag_id, conf, before) in enumerate(MAIN_DAGS, start=1):
            if before:
                for line in before():
                    say(f"   (demo) {line}")
            sent_before = set(world.MAILDIR.glob("*.eml"))
            record, offset = dag_test(console, dag_id, conf)
            mails = read_mail(set(world.MAILDIR.glob("*.eml")) - sent_before)
            for index, line in enumerate(
                describe_run(record, run_operations(engine, record.run_id), mails, root=ROOT)
            ):
                say(f"{number}. {line}" if index == 0 else line)
            if record.state != "success":
                return _failed(console, record, offset)
        say()
        say("One webhook event, from a completion in Docebo to a badge in Credly:")
        journey = travel(console, engine, server, api_port)
        for line in journey.lines:
            say(f"   {line}")
        processes.stop("api-server")
        if journey.run is not None and journey.run.state != "success":
            return _failed(console, journey.run, journey.log_offset)
        if not journey.ok:
            say(f"The event did not arrive as a badge; see {shown(console.log_path)}")
            return 1
        world.save_snapshots()
        _finish(console, engine)
        return 0
    except world.STOP_ERRORS as error:
        console.stopped("The demo", error, shown(console.log_path))
        return 1
    except Exception as error:  # a bug: say so on the terminal, not only in the log
        console.crashed("The demo", error)
        return 1
    except KeyboardInterrupt:
        say("\ninterrupted; stopping what the demo started")
        return 130
    finally:
        processes.stop()


def _failed(console: Console, record: RunRecord, offset: int) -> int:
    console.say()
    for line in failure_lines(record, console.relevant_lines(offset), shown(console.log_path)):
        console.say(line)
    return 1


def _finish(console: Console, engine: Any) -> None:
    say = console.say
    mails = list(world.MAILDIR.glob("*.eml"))
    say()
    say("Warehouse (python -m credly_sync status shows it all):")
    for line in warehouse_lines(engine):
        say(f"   {line}")
    count = f"{len(mails)} message{'' if len(mails) == 1 else 's'}"
    say(f"Mail: {count} in {shown(world.MAILDIR)}/ (the SMTP sink keeps what the DAGs send)")
    say()
    say("Next:")
    ui = f"http://127.0.0.1:{world.UI_PORT}"
    say(f"   make ui          the Airflow UI on this data, {ui}/ (it prints the login),")
    say(f"                    with the Credly sync page {ui}/credly-sync/")
    say(f"   . {shown(world.HOME / 'env.sh')} && .venv/bin/python -m credly_sync status")
    say("                    the warehouse: journal, failures with reasons, webhook inbox")
    say("   make test        the test suite")
    say(f"Done in {console.elapsed():.0f} s. Run it again at will: each run starts a fresh demo world.")


if __name__ == "__main__":
    sys.exit(main())
