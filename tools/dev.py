#!/usr/bin/env python3
"""Development loop of the add-on: find Odoo 19, run a throwaway PostgreSQL,
run the tests, serve the demo.  Called by the Makefile; see the README.

Odoo is found by importing it.  When the machine's ``python3`` cannot
import Odoo 19, a project virtualenv under ``.devenv/venv`` is tried, and
when that has no Odoo either it is built from ``ODOO_SOURCE`` (a folder or
archive of the official Odoo 19.0 source, by default Odoo's nightly source
archive).  Everything this script makes lives under ``.devenv/``.
"""

import argparse
import contextlib
import hashlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODULE = "sale_weekly_subscription"
DEVENV = ROOT / ".devenv"
VENV = DEVENV / "venv"
PGDATA = DEVENV / "pg"
PGRUN = DEVENV / "pgrun"
# The addons path needs a folder named after the add-on.  It is a symlink to
# this repository, kept outside it so that nothing walking the add-on (the
# i18n export, linters) loops through .devenv back into it.
LINK_DIR = Path(tempfile.gettempdir()) / f"swsub-addons-{hashlib.sha1(str(ROOT).encode()).hexdigest()[:10]}"
PGPORT = int(os.environ.get("DEV_PGPORT", "54329"))
DB_USER = "odoo"
DEFAULT_SOURCE = "https://nightly.odoo.com/19.0/nightly/src/odoo_19.0.latest.tar.gz"
SKIPPED = "Odoo tests: SKIPPED (Odoo 19 not importable)"
PROBE = "import odoo.release as r, sys; sys.exit(0 if r.version_info[0] == 19 else 3)"


class Unavailable(Exception):
    """Odoo 19 cannot be had on this machine; the message says why."""


def say(message):
    print(f"[dev] {message}", flush=True)


def run(cmd, **kwargs):
    return subprocess.run([str(part) for part in cmd], check=True, **kwargs)


# -- Odoo ----------------------------------------------------------------------

def odoo_python(bootstrap=True):
    """An interpreter that imports Odoo 19: the machine's, the project venv's, or a new venv."""
    for python in (sys.executable, VENV / "bin" / "python"):
        if Path(python).exists() and subprocess.run(
                [str(python), "-c", PROBE], capture_output=True, check=False).returncode == 0:
            return str(python)
    if not bootstrap:
        raise Unavailable("Odoo 19 is not importable and bootstrapping is off")
    try:
        return bootstrap_venv()
    except (subprocess.CalledProcessError, tarfile.TarError, OSError) as error:
        raise Unavailable(f"installing Odoo 19 from ODOO_SOURCE failed ({error})") from None


def bootstrap_venv():
    source = os.environ.get("ODOO_SOURCE", DEFAULT_SOURCE)
    say(f"Odoo 19 is not importable: installing it into {VENV} from ODOO_SOURCE={source}")
    folder = fetch_source(source)
    run([sys.executable, "-m", "venv", VENV])
    python = str(VENV / "bin" / "python")
    pip = [python, "-m", "pip", "install", "-q", "--prefer-binary"]
    requirements = loosened_requirements(folder / "requirements.txt")
    run([*pip, "-r", requirements])
    if Path(source).is_dir():
        use_in_place(python, folder)
    else:
        run([*pip, folder])
    run([*pip, "-r", ROOT / "requirements.txt"])
    if subprocess.run([python, "-c", PROBE], check=False).returncode:
        raise Unavailable(f"{source} did not give an importable Odoo 19")
    return python


def use_in_place(python, folder):
    """A source folder (a git clone of Odoo 19.0) is run where it is, as odoo-bin runs it: pip would
    copy the Python package without the addons' data files (FileNotFoundError: .../uom_data.xml)."""
    site = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    Path(site, "odoo-source.pth").write_text(f"{Path(folder).resolve()}\n")
    say(f"Odoo runs from {Path(folder).resolve()} itself (odoo-source.pth in the virtualenv)")


def fetch_source(source):
    """A folder holding Odoo's source (setup.py, requirements.txt) from a folder, archive or URL."""
    path = Path(source)
    if path.is_dir():
        return path
    if not path.exists():
        path = download(source)
    target = Path(tempfile.mkdtemp(prefix="odoo-src-", dir=DEVENV))
    with tarfile.open(path) as archive:
        archive.extractall(target, filter="data")
    found = [setup.parent for setup in target.glob("*/setup.py")] + \
        [setup.parent for setup in target.glob("setup.py")]
    if not found:
        raise Unavailable(f"{source} holds no Odoo source (no setup.py)")
    return found[0]


def download(url):
    if not re.match(r"^https?://", url):
        raise Unavailable(f"ODOO_SOURCE={url} is neither a folder, an archive nor a URL")
    DEVENV.mkdir(exist_ok=True)
    target = DEVENV / "odoo-source.tar.gz"
    try:
        with urllib.request.urlopen(url, timeout=10) as response, open(target, "wb") as out:
            shutil.copyfileobj(response, out)
    except OSError as error:
        raise Unavailable(f"cannot reach ODOO_SOURCE={url} ({error})") from None
    return target


def loosened_requirements(path):
    """Odoo's pins, minus the ones that do not build on this Python (python-ldap, psycopg2 sources)."""
    lines = []
    for line in path.read_text().splitlines():
        name = re.split(r"[=<>~; ]", line.strip(), maxsplit=1)[0].lower()
        if name in ("python-ldap", "psycopg2"):
            continue
        if name == "cbor2":
            line = "cbor2"
        lines.append(line)
    lines.append("psycopg2-binary")
    target = DEVENV / "odoo-requirements.txt"
    target.write_text("\n".join(lines) + "\n")
    return target


def addons_path(python):
    """Odoo's own addons folders, then a folder where this repository is named as the add-on."""
    code = ("import os, odoo.release; pkg = os.path.dirname(odoo.release.__file__);"
            "print(','.join(p for p in (os.path.join(os.path.dirname(pkg), 'addons'), "
            "os.path.join(pkg, 'addons')) if os.path.isdir(p)))")
    odoo_paths = subprocess.run([python, "-c", code], capture_output=True, text=True,
                                check=True).stdout.strip()
    return f"{odoo_paths},{module_link()}"


def module_link():
    """The folder that holds a ``sale_weekly_subscription`` symlink to this repository."""
    LINK_DIR.mkdir(parents=True, exist_ok=True)
    link = LINK_DIR / MODULE
    if link.is_symlink() and link.resolve() != ROOT:
        link.unlink()
    if not link.exists():
        link.symlink_to(ROOT, target_is_directory=True)
    return LINK_DIR


# -- PostgreSQL ----------------------------------------------------------------

def pg_bin():
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"),
                        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0)
    if candidates:
        return candidates[-1].parent
    found = shutil.which("pg_ctl")
    if not found:
        raise SystemExit("PostgreSQL 15+ is needed: no pg_ctl found (apt-get install postgresql)")
    return Path(found).parent


def as_pg_owner(cmd):
    """Run a PostgreSQL program; as root it runs as the 'postgres' user.  A failure stops the command
    with PostgreSQL's own last words, not a Python traceback."""
    cmd = [str(part) for part in cmd]
    if os.geteuid() == 0:
        cmd = ["runuser", "-u", "postgres", "--", *cmd]
    try:
        return subprocess.run(cmd, check=True, capture_output=True, text=True)
    except subprocess.CalledProcessError as error:
        said = (error.stderr or error.stdout or "").strip().splitlines()
        raise SystemExit(f"[dev] {Path(cmd[cmd.index('--') + 1] if '--' in cmd else cmd[0]).name} failed: "
                         f"{said[-1] if said else f'exit code {error.returncode}'}") from None


def postgres_can_enter(folder):
    """Whether the 'postgres' user (who runs the cluster when we are root) can reach ``folder``."""
    return subprocess.run(["runuser", "-u", "postgres", "--", "test", "-x", str(folder)],
                          capture_output=True, check=False).returncode == 0


def place_cluster():
    """The cluster lives in .devenv, unless we are root and the 'postgres' user cannot enter the
    checkout (a mode-700 temporary folder, root's home): then in a folder of its own that it can."""
    global PGDATA, PGRUN
    if os.geteuid() != 0 or postgres_can_enter(DEVENV):
        return
    for base in (Path("/var/tmp"), Path("/tmp")):
        if base.is_dir() and postgres_can_enter(base):
            home = base / f"swsub-pg-{hashlib.sha1(str(ROOT).encode()).hexdigest()[:10]}"
            home.mkdir(exist_ok=True)
            shutil.chown(home, "postgres", "postgres")
            PGDATA, PGRUN = home / "pg", home / "pgrun"
            say(f"the 'postgres' user cannot enter {ROOT}: the throwaway cluster lives in {home}")
            return
    raise SystemExit(f"[dev] the 'postgres' user cannot enter {ROOT}, nor /var/tmp or /tmp: move the checkout to "
                     "a folder every user can enter (e.g. under /srv or /opt), or run the tooling as a user who "
                     "owns a PostgreSQL server.")


def running_port():
    """The port the cluster's running server listens on (the 4th line of its postmaster.pid)."""
    try:
        return int((PGDATA / "postmaster.pid").read_text().splitlines()[3])
    except (OSError, IndexError, ValueError):
        return None


def start_postgres():
    """A throwaway cluster under .devenv/pg, listening on a socket in .devenv/pgrun."""
    bindir = pg_bin()
    DEVENV.mkdir(exist_ok=True)
    place_cluster()
    for folder in (PGDATA, PGRUN):
        folder.mkdir(exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(folder, "postgres", "postgres")
    if not (PGDATA / "PG_VERSION").exists():
        say(f"creating a throwaway PostgreSQL cluster in {PGDATA}")
        as_pg_owner([bindir / "initdb", "-D", PGDATA, "-A", "trust", "-U", "postgres", "-E", "UTF8",
                     "--locale=C.UTF-8"])
    status = subprocess.run(
        (["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else [])
        + [str(bindir / "pg_ctl"), "-D", str(PGDATA), "status"], capture_output=True, check=False)
    running = status.returncode == 0
    if running and running_port() != PGPORT:
        # started by an earlier command with another DEV_PGPORT: restarted on this one
        as_pg_owner([bindir / "pg_ctl", "-D", PGDATA, "-m", "fast", "-w", "stop"])
        running = False
    if not running:
        options = f"-c listen_addresses='' -c unix_socket_directories='{PGRUN}' -p {PGPORT} " \
                  "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        as_pg_owner([bindir / "pg_ctl", "-D", PGDATA, "-l", PGDATA / "server.log", "-w", "-o", options,
                     "start"])
    psql = [bindir / "psql", "-h", PGRUN, "-p", PGPORT, "-U", "postgres", "-d", "postgres", "-tAc"]
    exists = as_pg_owner([*psql, f"SELECT 1 FROM pg_roles WHERE rolname = '{DB_USER}'"]).stdout.strip()
    if not exists:
        as_pg_owner([*psql, f"CREATE ROLE {DB_USER} LOGIN SUPERUSER"])
    return bindir


def drop_database(bindir, name):
    as_pg_owner([bindir / "dropdb", "-h", PGRUN, "-p", PGPORT, "-U", "postgres", "--if-exists",
                 "--force", name])


def free_port():
    """A TCP port nobody listens on now: the tests' HTTP server (tours, HttpCase) takes it, so that two
    checkouts (or a demo server on 8069) can run side by side"""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def write_config(python, extra=""):
    conf = DEVENV / "odoo.conf"
    conf.write_text(
        "[options]\n"
        f"addons_path = {addons_path(python)}\n"
        f"db_host = {PGRUN}\n"
        f"db_port = {PGPORT}\n"
        f"db_user = {DB_USER}\n"
        f"data_dir = {DEVENV / 'filestore'}\n"
        "admin_passwd = admin\n"
        "http_interface = 127.0.0.1\n"
        f"http_port = {os.environ.get('DEV_HTTP_PORT') or free_port()}\n"
        + extra
    )
    return conf


def odoo(python, conf, *args, log=None):
    """Run Odoo; with ``log`` its output is copied to that file and the return code returned."""
    cmd = [python, "-m", "odoo", "server", "-c", str(conf), *args]
    if log is None:
        return subprocess.run(cmd, check=False).returncode
    with open(log, "w", buffering=1) as out:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for line in proc.stdout:
            out.write(line)
            sys.stdout.write(line)
        return proc.wait()


# -- the log -------------------------------------------------------------------

LOG_LINE = re.compile(
    r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ \d+ (?P<level>[A-Z]+) (?P<db>\S+) (?P<logger>\S+): ")


def log_problems(path, during_tests=False):
    """Lines at WARNING or ERROR that come from this add-on (or name it)."""
    problems = []
    for line in Path(path).read_text(errors="replace").splitlines():
        match = LOG_LINE.match(line)
        if not match or match["level"] not in ("WARNING", "ERROR", "CRITICAL"):
            continue
        if MODULE in line:
            problems.append(line)
        elif during_tests and match["level"] in ("ERROR", "CRITICAL") and "odoo.addons." in match["logger"]:
            problems.append(line)
    return problems


def test_summary(path):
    text = Path(path).read_text(errors="replace")
    found = re.findall(r"(\d+) failed, (\d+) error\(s\) of (\d+) tests", text)
    return tuple(int(x) for x in found[-1]) if found else None


# -- commands ------------------------------------------------------------------

BROWSER_DID_NOT_START = "Chrome headless failed to start"
# the browser tours: the portal pause, the main back-office flow, and ending on the portal
TOUR_TESTS = ("TestPortal.test_portal_pause_tour", "TestBackofficeTour.test_backoffice_flow_tour",
              "TestPortalEndTour.test_portal_end_tour")
TOUR_TEST = ",".join(f"/{MODULE}:{test}" for test in TOUR_TESTS)


def tour_succeeded(path):
    """Whether the log shows every browser tour run to its end."""
    text = Path(path).read_text(errors="replace")
    return all(re.search(rf"{test.split('.')[1]}\.browser: tour succeeded", text) for test in TOUR_TESTS)


def cmd_test(args):
    try:
        python = odoo_python()
    except Unavailable as reason:
        say(str(reason))
        print("\n" + "*" * 72 + f"\n*** {SKIPPED}\n" + "*" * 72, flush=True)
        return 0
    bindir = start_postgres()
    conf = write_config(python)
    ensure_browser()  # the portal tour runs in headless Chromium
    db = "swsub_test"
    drop_database(bindir, db)
    log = DEVENV / "test.log"
    tags = args.tags or f"/{MODULE}"
    say(f"installing {MODULE} with its tests in a fresh database '{db}' (log: {log})")
    started = time.time()
    rc = odoo(python, conf, "-d", db, "-i", MODULE, "--test-enable", "--test-tags", tags,
              "--stop-after-init", "--workers=0", "--max-cron-threads=0",
              log=log)
    summary = test_summary(log)
    problems = log_problems(log, during_tests=True)
    if problems and all(BROWSER_DID_NOT_START in line for line in problems) and rc == 0:
        # Odoo skips a tour (with a WARNING) when Chromium does not start within 10 s, which
        # happens on a busy machine; a skipped tour is never a pass, so it runs again alone
        say("Chromium did not start in time, a tour was skipped; running the tours again alone")
        retry_log = DEVENV / "tour-retry.log"
        rc = odoo(python, conf, "-d", db, "--test-enable", "--test-tags", TOUR_TEST,
                  "--stop-after-init", "--workers=0", "--max-cron-threads=0", log=retry_log)
        retry = test_summary(retry_log)
        problems = log_problems(retry_log, during_tests=True)
        if rc or problems or not retry or retry[0] or retry[1] or not tour_succeeded(retry_log):
            problems.append(f"the browser tours did not pass when run again: see {retry_log}")
        else:
            say("the browser tours passed when run again alone")
            log = retry_log
    if not args.tags and not tour_succeeded(log):
        # Odoo skips a tour silently in some cases (no browser, no websocket-client): never a pass
        problems.append(f"a browser tour ({', '.join(TOUR_TESTS)}) did not run to its end: see {log}")
    failed = rc != 0 or summary is None or summary[0] or summary[1] or not summary[2] or problems
    say("upgrading the add-on (-u) and checking its log stays clean")
    upgrade_log = DEVENV / "upgrade.log"
    urc = odoo(python, conf, "-d", db, "-u", MODULE, "--stop-after-init", "--workers=0",
               "--max-cron-threads=0", log=upgrade_log)
    upgrade_problems = log_problems(upgrade_log)
    # then the Belgian French, Belgian Dutch and German translations are loaded: a broken or
    # incomplete .po shows as a WARNING naming the add-on, which fails the run
    say("loading fr_BE, nl_BE and de_DE and checking the log stays clean")
    languages_log = DEVENV / "languages.log"
    urc = urc or odoo(python, conf, "-d", db, "--load-language=fr_BE,nl_BE,de_DE", "--stop-after-init",
                      "--workers=0", "--max-cron-threads=0", log=languages_log)
    if languages_log.exists():
        upgrade_problems += log_problems(languages_log)
    print("\n" + "=" * 72)
    for line in problems + upgrade_problems:
        print(f"LOG: {line}")
    if summary:
        print(f"Odoo tests: {summary[2]} tests, {summary[0]} failed, {summary[1]} errors "
              f"({time.time() - started:.0f} s, real Odoo 19, database '{db}')")
    else:
        print("Odoo tests: no test summary in the log: the install failed")
    if failed or urc or upgrade_problems:
        print("Odoo tests: FAILED")
        return 1
    print("Odoo tests: PASSED")
    return 0


def cmd_demo(args):
    db = os.environ.get("DEMO_DB", "swsub_demo")
    try:
        python, conf, rc = install_fresh(db, DEVENV / "demo.log", "--with-demo",
                                         "--load-language=fr_BE,nl_BE,de_DE")
    except Unavailable as reason:
        print(f"\nmake demo: {reason}.\nSet ODOO_SOURCE to a folder or .tar.gz of the Odoo 19.0 "
              "source (e.g. a git clone of github.com/odoo/odoo, branch 19.0), or install Odoo 19 "
              "so that `python3 -c 'import odoo.release'` works, then run `make demo` again.",
              file=sys.stderr)
        return 2
    if rc:
        print(f"make demo: the install failed, see {DEVENV / 'demo.log'}", file=sys.stderr)
        return rc
    if f"Module {MODULE} demo data failed to install" in (DEVENV / "demo.log").read_text(errors="replace"):
        # Odoo goes on without the demo data, with the reason in its log only
        print(f"make demo: the demo data failed to load, see the traceback in {DEVENV / 'demo.log'}",
              file=sys.stderr)
        return 1
    summary = subprocess.run(
        [python, "-m", "odoo", "shell", "-c", str(conf), "-d", db, "--no-http", "--log-level=warn"],
        input=(ROOT / "tools" / "demo_summary.py").read_text(), text=True, check=False,
        env={**os.environ, "SWSUB_OUT": str(ROOT / "out")})
    if summary.returncode:
        return summary.returncode
    if os.environ.get("SERVE", "1") == "0":
        return 0
    say("serving Odoo at http://localhost:8069 (login admin / password admin); Ctrl-C stops it")
    try:
        return odoo(python, conf, "-d", db, "--db-filter", f"^{db}$", "--http-port", "8069",
                    "--http-interface", "0.0.0.0")
    except KeyboardInterrupt:
        return 0


IDS_SCRIPT = """
import json
ref = lambda xmlid: env.ref("sale_weekly_subscription." + xmlid).id
batch = env["sale.recurring.sepa.batch"].search([], order="id desc", limit=1)
print("IDS=" + json.dumps({"subscription": ref("sub_van_damme_meal_demo"), "pause": ref("pause_van_damme_demo"),
                           "running_subscription": ref("sub_de_smet_coffee_demo"),
                           "portal_subscription": ref("sub_peeters_meal_demo"), "batch": batch.id,
                           "backdated_quotation": ref("sub_dubois_backdated_demo"),
                           "mandate": ref("mandate_van_damme_demo")}))
"""


def cmd_screenshots(args):
    """The demo database (``make demo`` first), served on a spare port, captured in headless Chromium."""
    db = os.environ.get("DEMO_DB", "swsub_demo")
    os.environ["SERVE"] = "0"
    if os.environ.get("REUSE_DEMO") != "1":  # REUSE_DEMO=1: the demo database made last time
        rc = cmd_demo(args)
        if rc:
            return rc
    python = odoo_python()
    conf = write_config(python)
    ensure_browser()
    shell = subprocess.run([python, "-m", "odoo", "shell", "-c", str(conf), "-d", db, "--no-http",
                            "--log-level=warn"], input=IDS_SCRIPT, text=True, capture_output=True, check=False)
    ids = next(line[4:] for line in shell.stdout.splitlines() if line.startswith("IDS="))
    port = 8071
    server = subprocess.Popen([python, "-m", "odoo", "server", "-c", str(conf), "-d", db, "--db-filter", f"^{db}$",
                               "--http-port", str(port), "--max-cron-threads=0", "--log-level=warn"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        for _attempt in range(120):
            try:
                if urllib.request.urlopen(f"{base}/web/login", timeout=2).status == 200:
                    break
            except OSError:
                time.sleep(0.5)
        say("capturing the screens in headless Chromium")
        return subprocess.run([python, str(ROOT / "tools" / "screenshots.py"), base, db, ids],
                              check=False).returncode
    finally:
        server.terminate()
        server.wait(timeout=30)


def ensure_browser():
    """Chromium and websocket-client, installed when missing (browser tests and screenshots)."""
    if not any(shutil.which(name) for name in ("chromium", "chromium-browser", "google-chrome")):
        ensure_debian_package("chromium")
    try:
        import websocket  # noqa: F401
    except ImportError:
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "websocket-client"], check=False)
    warm_up_browser()


def warm_up_browser():
    """Start Chromium once before the tests: its first start on a fresh machine (font and profile
    caches) can take longer than the 10 s Odoo's test browser waits for it."""
    # the same order as Odoo's test browser (odoo.tests.common._find_executable)
    names = ("google-chrome", "chromium", "chromium-browser", "google-chrome-stable")
    binary = next((shutil.which(name) for name in names if shutil.which(name)), None)
    if not binary:
        return
    with tempfile.TemporaryDirectory() as profile:
        started = time.time()
        try:
            subprocess.run([binary, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                            "--disable-background-networking", "--disable-component-update",
                            f"--user-data-dir={profile}", "--dump-dom", "about:blank"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120, check=False)
        except subprocess.TimeoutExpired:
            say("Chromium did not answer within 120 s; the browser tour may be skipped and fail the run")
            return
        say(f"Chromium answered in {time.time() - started:.1f} s")


def cmd_lint(args):
    """ruff on everything, pylint-odoo (the OCA checker) on the add-on, both with zero findings."""
    ruff = subprocess.run([sys.executable, "-m", "ruff", "check", str(ROOT)], check=False).returncode
    link_dir = module_link()
    pylint = subprocess.run([sys.executable, "-m", "pylint", f"--rcfile={ROOT / '.pylintrc'}", MODULE],
                            cwd=link_dir, check=False).returncode
    verdict = {0: "clean"}
    print(f"Lint: ruff {verdict.get(ruff, 'FAILED')}, pylint-odoo {verdict.get(pylint, 'FAILED')}")
    return 1 if ruff or pylint else 0


def install_fresh(db, log, *options):
    """Odoo's interpreter and config, and the return code of installing the add-on into a fresh ``db``."""
    python = odoo_python()
    bindir = start_postgres()
    conf = write_config(python)
    drop_database(bindir, db)
    say(f"installing {MODULE} into a fresh database '{db}' (log: {log})")
    rc = odoo(python, conf, "-d", db, "-i", MODULE, "--stop-after-init", "--workers=0",
              "--max-cron-threads=0", *options, log=log)
    return python, conf, rc


def cmd_pot(args):
    """Regenerate i18n/sale_weekly_subscription.pot with Odoo's own export."""
    db = "swsub_i18n"
    python, conf, rc = install_fresh(db, DEVENV / "i18n.log")
    if rc:
        return rc
    with aside(OCA_DIR, OCA_PYTHON_DIR, DEVENV / "previous"):
        return subprocess.run([python, "-m", "odoo", "i18n", "export", "-c", str(conf), "-d", db, MODULE],
                              check=False).returncode


@contextlib.contextmanager
def aside(*folders):
    """Move ``folders`` (under .devenv) out of the add-on's tree for a while: Odoo's export reads the
    source of every file under the add-on, and OCA's add-ons or the previous release are not its own."""
    away = Path(tempfile.mkdtemp(prefix="swsub-aside-"))
    moved = []
    try:
        for folder in folders:
            if folder.exists():
                shutil.move(str(folder), str(away / folder.name))
                moved.append(folder)
        yield
    finally:
        for folder in moved:
            shutil.move(str(away / folder.name), str(folder))
        shutil.rmtree(away, ignore_errors=True)


def cmd_bench(args):
    """The pure pain.008 builder against plain lxml, then the billing run against plain Odoo's
    floor in a fresh database (see tools/bench_sepa.py and tools/bench.py)."""
    rc = subprocess.run([sys.executable, str(ROOT / "tools" / "bench_sepa.py")], check=False).returncode
    if rc:
        return rc
    db = "swsub_bench"
    python, conf, rc = install_fresh(db, DEVENV / "bench-install.log")
    if rc:
        return rc
    sizes = os.environ.get("BENCH_SIZES", "1000,10000")
    send = os.environ.get("BENCH_SEND", "0")
    if send != "0" and not shutil.which("wkhtmltopdf"):
        ensure_debian_package("wkhtmltopdf")  # the invoice PDFs of the sending measure
    return subprocess.run([python, str(ROOT / "tools" / "bench.py"), "-c", str(conf), "-d", db,
                           "--sizes", sizes, "--send", send, "--sepa", os.environ.get("BENCH_SEPA", "10000"),
                           "--broken", os.environ.get("BENCH_BROKEN", "2"),
                           *(["--only", os.environ["BENCH_ONLY"]] if os.environ.get("BENCH_ONLY") else [])],
                          check=False).returncode


# -- next to OCA ---------------------------------------------------------------

OCA_WHEELS = [f"odoo-addon-{name}==19.0.*" for name in (
    "account-banking-sepa-direct-debit", "account-banking-pain-base", "account-banking-mandate",
    "account-payment-order", "account-payment-mode", "contract", "subscription-oca")]
OCA_MODULES = ("account_banking_sepa_direct_debit", "account_banking_pain_base", "account_banking_mandate",
               "account_payment_order", "account_payment_mode", "contract", "subscription_oca")
OCA_DIR = DEVENV / "oca"
OCA_PYTHON_DIR = DEVENV / "oca-python"
COEXIST_SKIPPED = "Next to OCA: SKIPPED (OCA's 19.0 wheels could not be installed from PyPI)"
COEXIST_TAGS = f"coexistence/{MODULE}"


def ensure_oca():
    """OCA's 19.0 add-ons from their PyPI wheels in .devenv/oca, and unidecode (which
    account_banking_pain_base imports) in .devenv/oca-python; None when PyPI can't be reached.
    The wheels are kept in .devenv/oca-wheels; the two folders exist only while ``coexist`` runs,
    since Odoo's translation export reads every file under the add-on, .devenv included."""
    addons = OCA_DIR / "odoo" / "addons"
    wheels = DEVENV / "oca-wheels"
    pip = [sys.executable, "-m", "pip", "-q", "--disable-pip-version-check"]
    have = [path.name.lower() for path in wheels.glob("*.whl")]
    needed = [wheel.split("==")[0].replace("-", "_") for wheel in OCA_WHEELS] + ["unidecode"]
    if not all(any(name.startswith(f"{prefix}-") for name in have) for prefix in needed):
        say(f"downloading OCA's 19.0 add-ons from PyPI into {wheels}")
        done = subprocess.run([*pip, "download", "--no-deps", "--dest", str(wheels), *OCA_WHEELS, "unidecode"],
                              check=False, capture_output=True, text=True)
        if done.returncode:
            say(f"pip failed: {(done.stderr or done.stdout).strip().splitlines()[-1:]}")
            return None
    for target, names in ((OCA_DIR, [w.split("==")[0] for w in OCA_WHEELS]), (OCA_PYTHON_DIR, ["unidecode"])):
        shutil.rmtree(target, ignore_errors=True)
        done = subprocess.run([*pip, "install", "--no-deps", "--no-index", "--find-links", str(wheels),
                               "--target", str(target), *names], check=False, capture_output=True, text=True)
        if done.returncode:
            say(f"pip failed: {(done.stderr or done.stdout).strip().splitlines()[-1:]}")
            return None
    return addons


def log_naming(path, names):
    """WARNING and ERROR lines that name one of ``names`` (add-ons)."""
    problems = []
    for line in Path(path).read_text(errors="replace").splitlines():
        match = LOG_LINE.match(line)
        if match and match["level"] in ("WARNING", "ERROR", "CRITICAL") and any(
                name in line for name in names):
            problems.append(line)
    return problems


def skipped(text):
    """Say loudly that a step was skipped: never a pass."""
    print("\n" + "*" * 72 + f"\n*** {text}\n" + "*" * 72, flush=True)


def verdict(tag, title, failures, passed):
    """Print the failures of a step, or what passed; 1 when it failed."""
    print("\n" + "=" * 72)
    for line in failures:
        print(f"{tag}: {line}")
    if failures:
        print(f"{title}: FAILED")
        return 1
    print(f"{title}: PASSED ({passed})")
    return 0


def cmd_coexist(args):
    """Install the add-on before OCA's SEPA and subscription add-ons, and after them, each time in
    a fresh database; then run its coexistence tests there.  Any WARNING or ERROR naming either
    side fails."""
    try:
        python = odoo_python()
    except Unavailable as reason:
        say(str(reason))
        skipped("Next to OCA: SKIPPED (Odoo 19 not importable)")
        return 0
    oca = ensure_oca()
    if oca is None:
        skipped(COEXIST_SKIPPED)
        return 0
    try:
        return coexist(python, oca)
    finally:
        shutil.rmtree(OCA_DIR, ignore_errors=True)
        shutil.rmtree(OCA_PYTHON_DIR, ignore_errors=True)


def coexist(python, oca):
    start_postgres()
    conf = DEVENV / "odoo-oca.conf"
    conf.write_text(write_config(python).read_text().replace(
        "addons_path = ", f"addons_path = {oca},", 1))
    os.environ["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(OCA_PYTHON_DIR), os.environ.get("PYTHONPATH", "")]))
    oca_modules = ",".join(OCA_MODULES)
    started = time.time()
    failures, counts = [], []
    for label, first, second in (("before", MODULE, oca_modules), ("after", oca_modules, MODULE)):
        say(f"the add-on {label} OCA's: installing {first}, then {second}, in a fresh database")
        failed, count = scenario(python, conf, f"coexist-{label}", (first, second), COEXIST_TAGS,
                                 (MODULE, *OCA_MODULES))
        failures += failed
        counts.append(count)
    return verdict("COEXIST", "Next to OCA", failures, f"installed before and after {oca_modules}, logs clean; "
                   f"{' + '.join(map(str, counts))} coexistence tests; {time.time() - started:.0f} s")


def scenario(python, conf, label, installs, tags, names):
    """Install ``installs`` one after the other in a fresh database, then run the tests of ``tags``
    there; the failures (Odoo's exit code, WARNING and ERROR lines naming one of ``names``, tests
    that did not pass) and the number of tests."""
    db = f"swsub_{label.replace('-', '_')}"
    drop_database(pg_bin(), db)
    common = ["--stop-after-init", "--workers=0", "--max-cron-threads=0"]
    steps = [(f"install-{index}", ["-i", modules]) for index, modules in enumerate(installs, 1)]
    steps.append(("tests", ["--test-enable", "--test-tags", tags]))
    failures, count = [], 0
    for step, options in steps:
        log = DEVENV / f"{label}-{step}.log"
        rc = odoo(python, conf, "-d", db, *options, *common, log=log)
        if rc:
            failures.append(f"{label}/{step}: Odoo exited with {rc}, see {log}")
        failures.extend(f"{label}/{step}: {line}" for line in log_naming(log, names))
        if step == "tests":
            summary = test_summary(log)
            if not summary or summary[0] or summary[1] or not summary[2]:
                failures.append(f"{label}/{step}: the tests did not pass: {summary}, see {log}")
            else:
                count = summary[2]
        if rc:
            break
    return failures, count


PEPPOL_MODULES = ("l10n_be", "account_peppol")
PEPPOL_TAGS = f"peppol/{MODULE}"


def cmd_peppol(args):
    """A Belgian database with Odoo Community's l10n_be and account_peppol, then the add-on: its
    Peppol sending and structured-communication tests run there."""
    try:
        python = odoo_python()
    except Unavailable as reason:
        say(str(reason))
        skipped("Peppol and l10n_be: SKIPPED (Odoo 19 not importable)")
        return 0
    start_postgres()
    conf = write_config(python)
    started = time.time()
    say(f"installing {', '.join(PEPPOL_MODULES)}, then {MODULE}, in a fresh database")
    failures, count = scenario(python, conf, "peppol", (",".join(PEPPOL_MODULES), MODULE), PEPPOL_TAGS,
                               (MODULE, *PEPPOL_MODULES))
    return verdict("PEPPOL", "Peppol and l10n_be", failures, f"{count} tests with {', '.join(PEPPOL_MODULES)} "
                   f"installed, log clean; {time.time() - started:.0f} s")


# -- the upgrade from the previous release ------------------------------------

# the last commit of release 19.0.1.2.0: its database is upgraded to this one
PREVIOUS_RELEASE = ("19.0.1.2.0", "22db1d4245c9a824a3e7d5adfae0aa9d3df8f3ee")
MIGRATION_SKIPPED = "Upgrade from the previous release: SKIPPED ({})"

BEFORE_UPGRADE = """
import json
mandates = env["sale.recurring.mandate"].search([], order="id")
# one amendment waiting to be told, as a running database has: the original IBAN is kept
amended = mandates.filtered(lambda m: m.state == "active")[:1]
amended.iban = "BE71096123456769"
env.cr.commit()
env.cr.execute("SELECT id, partner_id, iban, bic, original_iban FROM sale_recurring_mandate ORDER BY id")
rows = env.cr.fetchall()
print("BEFORE=" + json.dumps({
    "mandates": rows, "amended": amended.id,
    "creditor": {c.id: c.sepa_creditor_identifier for c in env["res.company"].search([])},
    "method": env.ref("sale_weekly_subscription.account_payment_method_sepa_direct_debit").code,
    "method_lines": env["account.payment.method.line"].search_count(
        [("payment_method_id.code", "=", "sepa_direct_debit")]),
}))
"""

AFTER_UPGRADE = """
import json
before = BEFORE
problems = []
Mandate = env["sale.recurring.mandate"].with_context(active_test=False)
for mandate_id, partner_id, iban, bic, original_iban in before["mandates"]:
    mandate = Mandate.browse(mandate_id)
    account = mandate.bank_account_id
    if (account.sanitized_acc_number, account.partner_id.id) != (iban, partner_id):
        problems.append(f"mandate {mandate.name}: account {account.sanitized_acc_number} of {account.partner_id.id}, "
                        f"expected {iban} of {partner_id}")
    if bic and account.bank_id.bic != bic:
        problems.append(f"mandate {mandate.name}: BIC {account.bank_id.bic}, expected {bic}")
    if (mandate.original_iban or None) != original_iban:
        problems.append(f"mandate {mandate.name}: original {mandate.original_iban}, expected {original_iban}")
for column in ("iban", "bic", "original_iban"):
    env.cr.execute("SELECT 1 FROM information_schema.columns WHERE table_name = 'sale_recurring_mandate' "
                   "AND column_name = %s", [column])
    if env.cr.fetchone():
        problems.append(f"the old column sale_recurring_mandate.{column} is still there")
if not any(before["creditor"].values()) or not before["amended"]:
    problems.append("the previous release's demo data has no creditor identifier or no active mandate to amend")
for company_id, value in before["creditor"].items():
    company = env["res.company"].browse(int(company_id))
    if (company.recurring_sepa_creditor_identifier or None) != (value or None):
        problems.append(f"company {company.name}: creditor identifier {company.recurring_sepa_creditor_identifier}, "
                        f"expected {value}")
method = env.ref("sale_weekly_subscription.account_payment_method_sepa_direct_debit")
lines = env["account.payment.method.line"].search_count([("payment_method_id", "=", method.id)])
if method.code != "sale_recurring_sdd" or lines != before["method_lines"]:
    problems.append(f"payment method {method.code} on {lines} journals, expected sale_recurring_sdd on "
                    f"{before['method_lines']}")
# the amendment is told with the next collection, from the original account
amended = Mandate.browse(before["amended"])
if amended and not amended.original_bank_account_id:
    problems.append(f"mandate {amended.name}: the amendment was lost")
# 19.0.1.5.0: the return reasons shipped before get their ISO definition, the full ISO list is there
am04 = env.ref("sale_weekly_subscription.return_reason_am04")
if not am04.definition:
    problems.append("return reason AM04: no ISO definition after the upgrade")
if env["sale.recurring.return.reason"].search_count([]) < 100:
    problems.append("the ISO list of return reasons was not loaded by the upgrade")
# 19.0.1.6.0: the failed-collection e-mail, never edited, gets the suspension paragraph in every language;
# big files are told of by a scheduled action
template = env.ref("sale_weekly_subscription.mail_template_direct_debit_failed")
for lang, _name in env["res.lang"].get_installed():
    if "recurring_suspended_from" not in (template.with_context(lang=lang).body_html or ""):
        problems.append(f"the direct-debit-failed e-mail ({lang}) was not reset to the new body")
if not env.ref("sale_weekly_subscription.ir_cron_sepa_failure_followup", raise_if_not_found=False):
    problems.append("the scheduled action telling of failed direct debits was not created by the upgrade")
print("AFTER=" + json.dumps({"mandates": len(before["mandates"]), "problems": problems}))
"""


def cmd_migration(args):
    """Install the previous release (its commit, with demo data), upgrade it to this one, and check
    that every mandate now points to a bank account with its IBAN, BIC and original IBAN."""
    version, commit = PREVIOUS_RELEASE
    try:
        python = odoo_python()
    except Unavailable as reason:
        skipped(MIGRATION_SKIPPED.format(reason))
        return 0
    previous = DEVENV / "previous"
    shutil.rmtree(previous, ignore_errors=True)
    (previous / MODULE).mkdir(parents=True)
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", commit], capture_output=True, check=False)
    if archive.returncode:
        skipped(MIGRATION_SKIPPED.format(f"commit {commit[:10]} of {version} is not in this checkout's history"))
        return 0
    subprocess.run(["tar", "-x", "-C", str(previous / MODULE)], input=archive.stdout, check=True)
    bindir = start_postgres()
    current = write_config(python)
    old_conf = DEVENV / "odoo-previous.conf"
    old_conf.write_text(current.read_text().replace(str(module_link()), str(previous)))
    db = "swsub_migration"
    drop_database(bindir, db)
    common = ["--stop-after-init", "--workers=0", "--max-cron-threads=0"]
    started = time.time()
    say(f"installing release {version} ({commit[:10]}) with its demo data in a fresh database '{db}'")
    failures = []
    rc = odoo(python, old_conf, "-d", db, "-i", MODULE, "--with-demo", *common, log=DEVENV / "migration-install.log")
    if rc:
        failures.append(f"the install of {version} failed: see {DEVENV / 'migration-install.log'}")
    before = None
    if not failures:
        shell = subprocess.run([python, "-m", "odoo", "shell", "-c", str(old_conf), "-d", db, "--no-http",
                                "--log-level=warn"], input=BEFORE_UPGRADE, text=True, capture_output=True,
                               check=False)
        before = next((line[7:] for line in shell.stdout.splitlines() if line.startswith("BEFORE=")), None)
        if not before:
            failures.append(f"reading the {version} database failed: {shell.stderr[-2000:]}")
    result = {}
    if not failures:
        say(f"upgrading '{db}' to this checkout (-u {MODULE})")
        log = DEVENV / "migration-upgrade.log"
        rc = odoo(python, current, "-d", db, "-u", MODULE, *common, log=log)
        failures += [f"upgrade: {line}" for line in log_naming(log, (MODULE,))]
        if rc:
            failures.append(f"the upgrade failed: see {log}")
        else:
            script = f"import json\nBEFORE = json.loads({before!r})\n" + AFTER_UPGRADE
            shell = subprocess.run([python, "-m", "odoo", "shell", "-c", str(current), "-d", db, "--no-http",
                                    "--log-level=warn"], input=script, text=True, capture_output=True, check=False)
            line = next((line[6:] for line in shell.stdout.splitlines() if line.startswith("AFTER=")), None)
            if not line:
                failures.append(f"checking the upgraded database failed: {shell.stderr[-2000:]}")
            else:
                result = json.loads(line)
                failures += result["problems"]
    shutil.rmtree(previous, ignore_errors=True)  # not a second copy of the add-on in its own tree
    return verdict("MIGRATION", f"Upgrade from {version}", failures,
                   f"{result.get('mandates')} mandates of the demo data moved to their bank accounts, an amendment "
                   f"kept, creditor identifier and payment method kept; log clean; {time.time() - started:.0f} s")


def ensure_debian_package(name):
    if os.geteuid() == 0 and shutil.which("apt-get"):
        say(f"installing the Debian package {name}")
        subprocess.run(["apt-get", "install", "-y", "-q", name], check=False, capture_output=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("lint", help="ruff and pylint-odoo")
    sub.add_parser("pot", help="regenerate the .pot file with Odoo's export")
    sub.add_parser("bench", help="benchmark the billing run against plain Odoo (BENCH_SIZES=1000,10000)")
    test = sub.add_parser("test", help="install the add-on in a fresh database and run its Odoo tests")
    test.add_argument("--tags", help="test tags (default: /sale_weekly_subscription)")
    sub.add_parser("coexist", help="install the add-on before and after OCA's SEPA and subscription add-ons")
    sub.add_parser("peppol", help="install l10n_be and account_peppol, then the add-on, and run its Peppol tests")
    sub.add_parser("migration", help="upgrade a database of the previous release to this checkout")
    sub.add_parser("demo", help="create the demo database, print a summary, serve Odoo")
    sub.add_parser("screenshots", help="capture the README and app-page screenshots from the demo database")
    args = parser.parse_args()
    commands = {"test": cmd_test, "demo": cmd_demo, "lint": cmd_lint, "pot": cmd_pot, "bench": cmd_bench,
                "screenshots": cmd_screenshots, "coexist": cmd_coexist, "migration": cmd_migration,
                "peppol": cmd_peppol}
    return commands[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
