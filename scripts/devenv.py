#!/usr/bin/env python3
"""Development environment of the Microsoft CSP suite: set-up, ``make run``, ``make test``.

Runs with the machine's ``python3`` and the standard library only. Everything it makes lives in
git-ignored places of the project: ``.venv`` (the suite's virtual environment) and ``.local``
(OCA addons, the embedded PostgreSQL cluster, the effective ``odoo.conf``, simulator state, logs).
Every step is idempotent: a second run checks stamps and running processes and skips what is done.

Configuration through environment variables:
  ODOO_SRC             Odoo 18.0 source tree (addons in ``addons/`` or ``odoo/addons/``);
                       default: the ``odoo`` package that ``python3`` can locate.
  PGHOST PGPORT PGUSER PGPASSWORD
                       use this PostgreSQL server instead of the embedded cluster.
  MS_CSP_PG_PORT       port of the embedded cluster (default 5433, next free one if taken).
  MS_CSP_HTTP_PORT     Odoo's port for ``make run`` (default 8069).
  MS_CSP_SIM_PORT      the Partner Center simulator's port for ``make run`` (default 8770).
"""

import argparse
import configparser
import contextlib
import hashlib
import importlib.util
import json
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOCAL = ROOT / ".local"
VENV = ROOT / ".venv"
ADDONS = ROOT / "addons"
LOGS = LOCAL / "logs"
SUITE_MODULES = (
    "ms_csp_base",
    "ms_catalogue_sync",
    "ms_software_subscriptions",
    "ms_perpetual_assets",
    "ms_csp_simulator",
)
OCA_WHEELS = {"subscription_oca": "odoo-addon-subscription-oca==18.0.1.0.2"}
RUN_DATABASE = "mscsp"
TEST_DATABASE = "mscsp_test"
PG_ROLE = "mscsp"
PG_PASSWORD = "mscsp"  # local cluster on 127.0.0.1 only; not a secret of any deployment
SUPPORTED_PYTHONS = ((3, 10), (3, 11), (3, 12))
BUILD_CONSTRAINTS = "setuptools<81\n"
DEMO_LOGINS = (
    ("internal user (administrator)", "admin", "admin"),
    ("internal user (salesperson)", "demo", "demo"),
    ("portal user", "portal", "portal"),
)


class SetupError(RuntimeError):
    """A set-up step failed; the message says what to do."""


def say(message):
    print(f"[ms-csp] {message}", flush=True)


def banner(message):
    line = "=" * max(60, *(len(part) for part in message.splitlines()))
    print(f"\n{line}\n{message}\n{line}", flush=True)


def run(cmd, check=True, **kwargs):
    """Run a command, echoing it; raise SetupError when it fails and ``check`` is set."""
    shown = " ".join(str(c) for c in cmd)
    say(f"$ {shown}")
    result = subprocess.run([str(c) for c in cmd], check=False, **kwargs)
    if check and result.returncode != 0:
        raise SetupError(f"command failed ({result.returncode}): {shown}")
    return result


# === ODOO ================================================================== #


def odoo_release(src):
    """Return the Odoo major version declared by ``src/odoo/release.py`` (None if absent)."""
    release = Path(src, "odoo", "release.py")
    if not release.is_file():
        return None
    match = re.search(r"^version_info = \((\d+),", release.read_text(), re.MULTILINE)
    return int(match.group(1)) if match else None


def find_odoo():
    """Locate the Odoo 18.0 source tree: ``ODOO_SRC``, else the locatable ``odoo`` package.

    :return: (source root or None, reason when None)
    """
    env_src = os.environ.get("ODOO_SRC")
    if env_src:
        src = Path(env_src).expanduser().resolve()
        version = odoo_release(src)
        if version is None:
            return None, f"ODOO_SRC={env_src} has no odoo/release.py"
        if version != 18:
            return None, f"ODOO_SRC={env_src} is Odoo {version}, the suite needs Odoo 18.0"
        return src, None
    spec = importlib.util.find_spec("odoo")
    if spec is None or not spec.submodule_search_locations:
        return None, "ODOO_SRC is not set and python3 cannot locate an `odoo` package"
    src = Path(list(spec.submodule_search_locations)[0]).resolve().parent
    version = odoo_release(src)
    if version != 18:
        return None, f"the `odoo` package at {src} is Odoo {version}, the suite needs 18.0"
    return src, None


def odoo_addons_dirs(src):
    """Both layouts: official checkouts keep addons in ``addons/``, others in ``odoo/addons/``."""
    dirs = [src / "addons", src / "odoo" / "addons"]
    return [d for d in dirs if d.is_dir() and any(d.glob("*/__manifest__.py"))]


def odoo_requirements_file(src):
    """Odoo's own pinned requirements when the tree carries them, else the project's copy."""
    own = src / "requirements.txt"
    if (
        own.is_file()
        and re.search(r"^psycopg2[=<>~ ;]", own.read_text(), re.MULTILINE)
        and "python_version" in own.read_text()
    ):
        return own
    if sys.version_info[:2] == (3, 11):
        return ROOT / "requirements" / "odoo-18.0-py311.txt"
    raise SetupError(
        f"{src} has no requirements.txt of Odoo's and the project only carries Odoo's pinned "
        "requirements for Python 3.11: use Python 3.11 or an official Odoo 18.0 checkout."
    )


# === VIRTUAL ENVIRONMENT =================================================== #


def venv_python():
    return venv_bin("python")


def venv_bin(name):
    """A program of the virtual environment (its python, a console script)."""
    return VENV / "bin" / name


def in_venv():
    """Whether this interpreter is the virtual environment's."""
    return Path(sys.prefix).resolve() == VENV.resolve()


def run_in_venv(script, args):
    """Set the environment up, then run ``script`` with ``args`` in it: its exit status."""
    setup()
    return run([venv_python(), script, *args], check=False, cwd=ROOT).returncode


def venv_site_packages():
    out = subprocess.run(
        [venv_python(), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    )
    return Path(out.stdout.strip())


def apt_install(packages):
    """Install Debian packages when we may (root and apt-get); True when they installed."""
    if not (os.geteuid() == 0 and shutil.which("apt-get")):
        return False
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    run(["apt-get", "update", "-qq"], check=False, env=env)
    return (
        run(
            ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *packages],
            check=False,
            env=env,
        ).returncode
        == 0
    )


BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def ensure_browser():
    """Headless Chromium for Odoo's tours and browser tests (Debian's package), when missing."""
    if any(shutil.which(name) for name in BROWSERS):
        return
    say("installing Chromium for the browser tests (tours)")
    if not apt_install(["chromium"]):
        say("WARNING: Chromium is missing and could not be installed: browser tests will fail")


def ensure_wkhtmltopdf():
    """wkhtmltopdf, which Odoo prints quotations and invoices as PDF with (Debian's package),
    when missing and we may install it; otherwise say how."""
    if shutil.which("wkhtmltopdf"):
        return
    say("installing wkhtmltopdf (PDF quotations and invoices)")
    if not apt_install(["wkhtmltopdf"]):
        say(
            "WARNING: wkhtmltopdf is missing: Odoo cannot print PDF reports. Install it "
            "(Debian/Ubuntu: apt-get install wkhtmltopdf; Odoo recommends the 0.12.6 build with "
            "patched Qt from github.com/wkhtmltopdf/packaging/releases)"
        )


def system_packages_for_builds(requirement_text):
    """Install the C headers some pinned packages build against, when we may (root + apt)."""
    needs = {}
    if re.search(r"^python-ldap", requirement_text, re.MULTILINE | re.IGNORECASE):
        needs["/usr/include/ldap.h"] = "libldap2-dev"
        needs["/usr/include/sasl/sasl.h"] = "libsasl2-dev"
    if re.search(r"^psycopg2==", requirement_text, re.MULTILINE) and not shutil.which("pg_config"):
        needs["pg_config"] = "libpq-dev"
    missing = sorted(
        {pkg for path, pkg in needs.items() if not Path(path).exists() and not shutil.which(path)}
    )
    if not missing:
        return requirement_text
    if apt_install(missing):
        return requirement_text
    if "libpq-dev" in missing:
        raise SetupError("psycopg2 needs PostgreSQL's client headers: install libpq-dev")
    say(
        f"WARNING: {', '.join(missing)} missing and not installable here: python-ldap "
        "is left out (only Odoo's auth_ldap addon needs it)."
    )
    return re.sub(r"^python-ldap.*$", "", requirement_text, flags=re.MULTILINE | re.IGNORECASE)


def ensure_venv(odoo_src):
    """Create ``.venv`` with Odoo's and the suite's requirements, once per requirement set."""
    odoo_reqs = odoo_requirements_file(odoo_src) if odoo_src else None
    req_files = [ROOT / "requirements.txt", ROOT / "pyproject.toml"]
    req_files += [odoo_reqs] if odoo_reqs else []
    fingerprint = hashlib.sha256()
    for path in req_files:
        fingerprint.update(path.read_bytes())
    fingerprint.update(f"{sys.version_info[:2]}|{odoo_src}".encode())
    stamp = VENV / ".ms-csp-requirements"
    if venv_python().exists() and stamp.exists() and stamp.read_text() == fingerprint.hexdigest():
        say("virtual environment up to date (.venv)")
        return
    if sys.version_info[:2] not in SUPPORTED_PYTHONS:
        version = sys.version.split()[0]
        raise SetupError(f"Python {version} is not supported: use 3.10, 3.11 or 3.12")
    if not venv_python().exists():
        run([sys.executable, "-m", "venv", VENV])
    LOCAL.mkdir(exist_ok=True)
    requirement_text = (ROOT / "requirements.txt").read_text()
    if odoo_reqs:
        odoo_text = system_packages_for_builds(odoo_reqs.read_text())
        requirement_text = f"{odoo_text}\n{requirement_text}"
    merged = LOCAL / "requirements-merged.txt"
    merged.write_text(requirement_text)
    constraints = LOCAL / "build-constraints.txt"
    constraints.write_text(BUILD_CONSTRAINTS)
    # cbor2 5.4.2 builds only with setuptools<81. Older pips pass PIP_CONSTRAINT on to isolated
    # build environments, newer ones read PIP_BUILD_CONSTRAINT instead: set both.
    env = dict(
        os.environ,
        PIP_CONSTRAINT=str(constraints),
        PIP_BUILD_CONSTRAINT=str(constraints),
        PIP_DISABLE_PIP_VERSION_CHECK="1",
    )
    pip = [venv_python(), "-m", "pip", "install", "--quiet"]
    run([*pip, "--upgrade", "wheel", "setuptools<81"], env=env)
    run([*pip, "-r", merged], env=env)
    run(
        [*pip, "--no-deps", "--no-build-isolation", "-e", ROOT],
        env={k: v for k, v in env.items() if k != "PIP_BUILD_CONSTRAINT"},
    )
    stamp.write_text(fingerprint.hexdigest())
    say("virtual environment ready (.venv)")


def link_odoo_into_venv(odoo_src):
    """Make Odoo importable in the venv through a .pth file (Odoo is never copied)."""
    pth = venv_site_packages() / "ms-csp-odoo-src.pth"
    wanted = f"{odoo_src}\n" if odoo_src else ""
    if wanted:
        if not pth.exists() or pth.read_text() != wanted:
            pth.write_text(wanted)
    elif pth.exists():
        pth.unlink()


def ensure_oca_addons():
    """Install the pinned OCA addons as OCA ships them: ``pip install --no-deps`` of their wheels.

    They land in ``odoo/addons`` of the virtual environment's site-packages (``oca_addons_dir``),
    which the Odoo configuration puts on the addons path. ``--no-deps``: their dependency on an
    ``odoo`` distribution, which no index provides, is met by the Odoo tree.
    """
    shutil.rmtree(LOCAL / "oca-addons", ignore_errors=True)  # where earlier set-ups unpacked them
    for module, requirement in OCA_WHEELS.items():
        stamp = VENV / f".oca-{module}"
        if (
            (oca_addons_dir() / module / "__manifest__.py").exists()
            and stamp.exists()
            and stamp.read_text() == requirement
        ):
            continue
        run([venv_python(), "-m", "pip", "install", "--quiet", "--no-deps", requirement])
        stamp.write_text(requirement)
        say(f"OCA addon {module} installed ({requirement})")


def oca_addons_dir():
    """Where pip puts addons packaged as OCA does (``odoo/addons`` of the site-packages)."""
    return venv_site_packages() / "odoo" / "addons"


# === POSTGRESQL ============================================================ #


def port_is_free(port):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def free_port(preferred):
    for port in range(preferred, preferred + 200):
        if port_is_free(port):
            return port
    raise SetupError(f"no free port from {preferred} to {preferred + 199}")


class Postgres:
    """The database server: the embedded cluster, or an external one named by PG* variables."""

    def __init__(self):
        self.external = bool(os.environ.get("PGHOST"))
        self.started_here = False
        if self.external:
            self.host = os.environ["PGHOST"]
            self.port = int(os.environ.get("PGPORT", "5432"))
            self.user = os.environ.get("PGUSER") or pwd.getpwuid(os.getuid()).pw_name
            self.password = os.environ.get("PGPASSWORD", "")
            return
        self.host, self.user, self.password = "127.0.0.1", PG_ROLE, PG_PASSWORD
        self.os_user = self._server_os_user()
        self.datadir = self._data_directory()
        self.port = None

    # The server refuses to run as root: as root, it runs as an unprivileged system user.
    @staticmethod
    def _server_os_user():
        if os.geteuid() != 0:
            return None
        for name in ("postgres", "mscsp"):
            with contextlib.suppress(KeyError):
                pwd.getpwnam(name)
                return name
        run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", "mscsp"])
        return "mscsp"

    def _as_server_user(self, cmd):
        # from "/": the server's user may not be allowed into the current directory
        if not self.os_user:
            return cmd
        return ["runuser", "-u", self.os_user, "--", "env", "-C", "/", *cmd]

    def _data_directory(self):
        """``.local/pg`` when the server's user can reach it, else a directory of its own."""
        preferred = LOCAL / "pg"
        if not self.os_user:
            return preferred
        reachable = (
            subprocess.run(
                self._as_server_user(["test", "-x", str(LOCAL.parent)]), check=False
            ).returncode
            == 0
        )
        if reachable:
            return preferred
        digest = hashlib.sha1(str(ROOT).encode()).hexdigest()[:12]  # noqa: S324 - a name, not security
        fallback = Path("/var/tmp") / f"ms-csp-{digest}" / "pg"
        say(f"user {self.os_user} cannot enter {ROOT}: the cluster lives in {fallback}")
        return fallback

    def _running_port(self):
        pid_file = self.datadir / "postmaster.pid"
        if not pid_file.exists():
            return None
        lines = pid_file.read_text().splitlines()
        try:
            os.kill(int(lines[0]), 0)
        except (OSError, ValueError, IndexError):
            return None
        return int(lines[3]) if len(lines) > 3 else None

    def _initdb(self):
        self.datadir.parent.mkdir(parents=True, exist_ok=True)
        self.datadir.mkdir(mode=0o700, exist_ok=True)
        pwfile = self.datadir.parent / "pg-password"
        pwfile.write_text(PG_PASSWORD + "\n")
        if self.os_user:
            shutil.chown(self.datadir, self.os_user)
            shutil.chown(self.datadir.parent, self.os_user)
            shutil.chown(pwfile, self.os_user)
        run(
            self._as_server_user(
                [
                    "initdb",
                    "-D",
                    str(self.datadir),
                    "-U",
                    PG_ROLE,
                    f"--pwfile={pwfile}",
                    "--auth-host=scram-sha-256",
                    "--auth-local=peer",
                    "-E",
                    "UTF8",
                    "--locale=C",
                ]
            ),
            stdout=subprocess.DEVNULL,
        )
        pwfile.unlink()

    def start(self):
        if self.external:
            say(f"using the PostgreSQL server at {self.host}:{self.port} as {self.user}")
            return
        if not (self.datadir / "PG_VERSION").exists():
            self._initdb()
        running = self._running_port()
        if running:
            self.port = running
            say(f"PostgreSQL cluster already running on 127.0.0.1:{self.port}")
            return
        self.port = free_port(int(os.environ.get("MS_CSP_PG_PORT", "5433")))
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=''"
        run(
            self._as_server_user(
                [
                    "pg_ctl",
                    "-D",
                    str(self.datadir),
                    "-l",
                    str(self.datadir / "server.log"),
                    "-o",
                    options,
                    "-w",
                    "-t",
                    "60",
                    "start",
                ]
            ),
            stdout=subprocess.DEVNULL,
        )
        self.started_here = True
        say(f"PostgreSQL cluster started on 127.0.0.1:{self.port} ({self.datadir})")

    def stop(self):
        if self.started_here:
            run(
                self._as_server_user(
                    ["pg_ctl", "-D", str(self.datadir), "-m", "fast", "-w", "stop"]
                ),
                check=False,
                stdout=subprocess.DEVNULL,
            )
            self.started_here = False

    def psql_value(self, database, sql):
        """One value from a query, through the venv's psycopg2 (no psql client needed)."""
        code = (
            "import json, sys, psycopg2\n"
            "conn = psycopg2.connect(**json.loads(sys.argv[1]))\n"
            "conn.autocommit = True\n"
            "cur = conn.cursor(); cur.execute(sys.argv[2])\n"
            "row = cur.fetchone() if cur.description else None\n"
            "print(json.dumps(row[0] if row else None, default=str))\n"
        )
        params = json.dumps(
            {
                "host": self.host,
                "port": self.port,
                "user": self.user,
                "password": self.password,
                "dbname": database,
            }
        )
        out = subprocess.run(
            [venv_python(), "-c", code, params, sql], check=True, capture_output=True, text=True
        )
        return json.loads(out.stdout)

    def database_exists(self, name):
        sql = f"SELECT 1 FROM pg_database WHERE datname = '{name}'"
        return bool(self.psql_value("postgres", sql))

    def drop_database(self, name):
        self.psql_value("postgres", f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# === ODOO CONFIGURATION ==================================================== #


def write_odoo_conf(odoo_src, pg, http_port, extra=None):
    """Derive the effective config from the embedded ``odoo.conf`` (paths, ports, database)."""
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(ROOT / "odoo.conf")
    options = parser["options"]
    addons = [*odoo_addons_dirs(odoo_src), oca_addons_dir(), ADDONS]
    options.update(
        {
            "addons_path": ",".join(str(p) for p in addons),
            "data_dir": str(LOCAL / "filestore"),
            "db_host": pg.host,
            "db_port": str(pg.port),
            "db_user": pg.user,
            "db_password": pg.password,
            "http_interface": "127.0.0.1",
            "http_port": str(http_port),
        }
    )
    options.update(extra or {})
    conf = LOCAL / "odoo.conf"
    with conf.open("w") as handle:
        parser.write(handle)
    conf.chmod(0o600)
    return conf


def odoo_cmd(conf, *args, command=None):
    """``python -m odoo [command] -c conf args...`` in the suite's virtual environment."""
    return [venv_python(), "-m", "odoo", *([command] if command else []), "-c", conf, *args]


# === PARTNER CENTER SIMULATOR ============================================== #


class SimulatorProcess:
    """The Partner Center simulator as a background process for ``make run``."""

    def __init__(self, port):
        self.port = port
        self.workdir = LOCAL / "simulator"
        self.process = None

    @staticmethod
    def available():
        return (ROOT / "partner_center" / "simulator" / "__main__.py").exists()

    @property
    def base_url(self):
        return f"https://127.0.0.1:{self.port}"

    def start(self):
        self.workdir.mkdir(parents=True, exist_ok=True)
        log = (LOGS / "simulator.log").open("a")
        self.process = subprocess.Popen(
            [
                venv_python(),
                "-m",
                "partner_center.simulator",
                "--port",
                str(self.port),
                "--state",
                str(self.workdir / "state.json"),
                "--cert-dir",
                str(self.workdir),
                "--fulfilment-delay",
                "5",
                "--order-complete-delay",
                "2",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SetupError(f"the simulator stopped at start: see {LOGS / 'simulator.log'}")
            if self.healthy():
                say(f"Partner Center simulator on {self.base_url}")
                return
            time.sleep(0.3)
        raise SetupError(f"the simulator did not answer: see {LOGS / 'simulator.log'}")

    def healthy(self):
        import ssl

        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE  # a readiness probe of our own local process
        try:
            with urllib.request.urlopen(  # noqa: S310 - fixed local https URL
                f"{self.base_url}/admin/health", timeout=2, context=context
            ) as answer:
                return answer.status == 200
        except OSError:
            return False

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()


def addons_fingerprint():
    digest = hashlib.sha256()
    for path in sorted(ADDONS.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            digest.update(str(path.relative_to(ADDONS)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def ensure_run_database(pg, conf):
    """Create ``mscsp`` with the suite and demo data, or update the suite when its code changed."""
    stamp = LOCAL / f"{RUN_DATABASE}.addons"
    fingerprint = f"{','.join(SUITE_MODULES)}\n{addons_fingerprint()}"
    stamped = stamp.read_text() if stamp.exists() else ""
    if pg.database_exists(RUN_DATABASE) and stamped.split("\n")[0] != ",".join(SUITE_MODULES):
        # Addons moved between modules (or joined the suite): updating in place would clash
        # with the old demo records; the demo database is made anew.
        say(f"the suite's set of addons changed: creating {RUN_DATABASE} anew")
        pg.drop_database(RUN_DATABASE)
    if not pg.database_exists(RUN_DATABASE):
        banner(f"Creating the database {RUN_DATABASE} with the suite and its demo data")
        run(
            odoo_cmd(
                conf,
                "-d",
                RUN_DATABASE,
                "-i",
                ",".join(SUITE_MODULES),
                "--stop-after-init",
                "--log-level=warn",
            )
        )
    elif stamped != fingerprint:
        say(f"the addons changed: updating them in {RUN_DATABASE}")
        run(
            odoo_cmd(
                conf,
                "-d",
                RUN_DATABASE,
                "-u",
                ",".join(SUITE_MODULES),
                "--stop-after-init",
                "--log-level=warn",
            )
        )
    stamp.write_text(fingerprint)


DEMO_PREPARATION = """
for line in env["ms.csp.instance"]._ms_prepare_demo():
    print(line)
env.cr.commit()
"""


def prepare_demo(conf):
    """Point the demo instance at this simulator and sync its catalogue once."""
    say("wiring the demo instance to the simulator and syncing its catalogue")
    run(
        odoo_cmd(conf, "-d", RUN_DATABASE, "--no-http", "--log-level=warn", command="shell"),
        input=DEMO_PREPARATION,
        text=True,
    )


# === COMMANDS ============================================================== #

GET_ODOO = """\
How to get Odoo 18.0 (any of these; then run the command again):
  - Odoo's official source, shallow:
      git clone --depth 1 --branch 18.0 https://github.com/odoo/odoo.git ~/odoo-18
      export ODOO_SRC=~/odoo-18
  - Odoo's packaged 18.0 install (nightly.odoo.com, Debian/Ubuntu .deb): its odoo package is
    found by python3 when installed system-wide, or set ODOO_SRC to its directory
  - a tree python3 can import (a .pth file naming it in site-packages) is found as it is"""


def setup():
    """Everything both commands need; returns (odoo source or None, reason)."""
    LOCAL.mkdir(exist_ok=True)
    LOGS.mkdir(exist_ok=True)
    odoo_src, reason = find_odoo()
    if odoo_src:
        say(
            f"Odoo 18.0 found at {odoo_src} (addons: "
            f"{', '.join(str(d) for d in odoo_addons_dirs(odoo_src))})"
        )
    else:
        say(f"Odoo 18.0 not found: {reason}")
        print(GET_ODOO, flush=True)
    ensure_venv(odoo_src)
    link_odoo_into_venv(odoo_src)
    if odoo_src:
        ensure_oca_addons()
    return odoo_src, reason


def cmd_setup(_args):
    setup()
    return 0


def cmd_run(_args):
    odoo_src, reason = setup()
    if not odoo_src:
        raise SetupError(f"`make run` needs Odoo 18.0: {reason}. Set ODOO_SRC to an Odoo 18 tree.")
    ensure_wkhtmltopdf()
    pg = Postgres()
    simulator = SimulatorProcess(int(os.environ.get("MS_CSP_SIM_PORT", "8770")))
    http_port = int(os.environ.get("MS_CSP_HTTP_PORT", "8069"))
    server = None
    stop_on_signals()
    try:
        pg.start()
        extra = {}
        if SimulatorProcess.available():
            simulator.start()
            extra = {
                "ms_csp_simulator_url": simulator.base_url,
                "ms_csp_simulator_ca_file": str(simulator.workdir / "ca.pem"),
            }
        conf = write_odoo_conf(odoo_src, pg, http_port, extra)
        ensure_run_database(pg, conf)
        if SimulatorProcess.available():
            prepare_demo(conf)
        banner(
            f"Odoo: http://127.0.0.1:{http_port}/web/login  (database {RUN_DATABASE})\n"
            + "\n".join(
                f"  {who}: login {login} / password {password}"
                for who, login, password in DEMO_LOGINS
            )
            + "\nCtrl-C stops Odoo, the simulator and the database server."
        )
        # Its own session: a terminal's Ctrl-C reaches this script only, which passes Odoo one
        # SIGINT (two make Odoo force its shutdown).
        server = subprocess.Popen(
            odoo_cmd(conf, "-d", RUN_DATABASE, "--db-filter", f"^{RUN_DATABASE}$"),
            start_new_session=True,
        )
        return server.wait()
    except KeyboardInterrupt:
        say("stopping")
        return 0
    finally:
        if server and server.poll() is None:
            server.send_signal(signal.SIGINT)
            try:
                server.wait(20)
            except subprocess.TimeoutExpired:
                server.kill()
        simulator.stop()
        pg.stop()
        say("stopped")


def stop_on_signals():
    """Ctrl-C and SIGTERM end ``make run`` cleanly, even when started with SIGINT ignored."""

    def interrupt(_signum, _frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, interrupt)
    signal.signal(signal.SIGTERM, interrupt)


# --- make test ------------------------------------------------------------- #


def run_lint(odoo_src):
    """ruff (lint and format), the generated READMEs, manifestoo, pylint-odoo and
    oca-checks-odoo-module; returns the number of failing tools.

    manifestoo reads the manifests of the dependencies (Odoo's, subscription_oca): without Odoo
    it is skipped, and says so.
    """
    banner("Lint: ruff check and format, manifestoo, pylint-odoo, oca-checks-odoo-module")
    addons = sorted(str(p.parent) for p in ADDONS.glob("*/__manifest__.py"))
    # licences compatible with the dependencies', development status no higher than theirs
    manifestoo = [
        venv_bin("manifestoo"),
        "--addons-path-python",
        venv_python(),
        "--addons-path",
        oca_addons_dir(),
        "--select-addons-dir",
        ADDONS,
        "--odoo-series",
        "18.0",
    ]
    checks = [
        [venv_bin("ruff"), "check", ROOT],
        [venv_bin("ruff"), "format", "--check", ROOT],
        [venv_python(), ROOT / "scripts" / "readme.py", "--check"],
        *([[*manifestoo, "check-licenses"], [*manifestoo, "check-dev-status"]] if odoo_src else []),
        [venv_bin("pylint"), "--rcfile", ROOT / ".pylintrc", *addons],
        [venv_bin("oca-checks-odoo-module"), *addons],
    ]
    if not odoo_src:
        say("SKIPPED: manifestoo (licences, development status): it needs Odoo's manifests")
    failed = 0
    for cmd in checks:
        if run(cmd, check=False, cwd=ROOT).returncode != 0:
            failed += 1
    say("lint passed" if not failed else f"lint FAILED ({failed} tool(s))")
    return failed


def run_unit_tests():
    """pytest on tests/unit; returns (passed, failed, skipped, ok)."""
    banner("Unit tests (pytest: partner_center and its simulator, no Odoo)")
    report = LOGS / "pytest-unit.xml"
    result = run(
        [venv_python(), "-m", "pytest", "tests/unit", f"--junitxml={report}"], check=False, cwd=ROOT
    )
    if result.returncode == 5:
        say("ERROR: pytest collected no unit test: that is a failure, not a success")
        return 0, 0, 0, False
    counts = junit_counts(report)
    return (*counts, result.returncode == 0)


def junit_counts(report):
    """(passed, failed, skipped) from a pytest JUnit XML report."""
    import xml.etree.ElementTree as ET  # noqa: S405 - our own pytest's report

    if not report.exists():
        return 0, 0, 0
    suite = ET.parse(report).getroot()  # noqa: S314
    suite = suite if suite.tag == "testsuite" else suite.find("testsuite")
    total = int(suite.get("tests", 0))
    failed = int(suite.get("failures", 0)) + int(suite.get("errors", 0))
    skipped = int(suite.get("skipped", 0))
    return total - failed - skipped, failed, skipped


def odoo_test_modules():
    """Addons of the suite with tests, and the test files of each."""
    return {
        module: sorted(p.name for p in (ADDONS / module / "tests").glob("test_*.py"))
        for module in SUITE_MODULES
    }


# pytest's log file in Odoo's log format (database name included), so that checklog-odoo
# reads its records as it reads Odoo's own log
PYTEST_LOG_FORMAT = (
    f"%(asctime)s,%(msecs)03d %(process)d %(levelname)s {TEST_DATABASE} %(name)s: %(message)s"
)
CHECKLOG_CONFIG = ROOT / "checklog-odoo.cfg"


def run_odoo_tests(odoo_src):
    """Install the suite's addons in a fresh database, then run their tests with pytest-odoo
    (HTTP cases and tours included); counts come from pytest's JUnit XML report.

    :return: (passed, failed, ok)
    """
    banner(f"Odoo integration tests: fresh database {TEST_DATABASE}, real PostgreSQL, pytest-odoo")
    pg = Postgres()
    try:
        pg.start()
        conf = write_odoo_conf(odoo_src, pg, free_port(8169))
        pg.drop_database(TEST_DATABASE)
        install_log, test_log = LOGS / "odoo-install.log", LOGS / "odoo-tests.log"
        install = odoo_cmd(
            conf,
            "-d",
            TEST_DATABASE,
            "-i",
            ",".join(SUITE_MODULES),
            "--stop-after-init",
            "--log-level=info",
            "--no-http",
        )
        say(f"$ {' '.join(str(c) for c in install)}  (log: {install_log})")
        with install_log.open("w") as log:
            installed_ok = (
                subprocess.run(
                    [str(c) for c in install], stdout=log, stderr=subprocess.STDOUT, cwd=ROOT
                ).returncode
                == 0
            )
        installed = (
            pg.psql_value(
                TEST_DATABASE,
                "SELECT json_object_agg(name, state) FROM ir_module_module WHERE name IN "
                f"({', '.join(repr(m) for m in SUITE_MODULES)})",
            )
            or {}
        )
        report = LOGS / "pytest-odoo.xml"
        for stale in (report, test_log):  # judged afterwards: only this run's may be there
            stale.unlink(missing_ok=True)
        tests = [
            venv_python(),
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "-o",
            "testpaths=",
            "-o",
            "addopts=-ra",  # the project's addopts keep pytest-odoo out of the unit tests
            "--odoo-config",
            conf,
            "--odoo-database",
            TEST_DATABASE,
            "--odoo-http",
            "--odoo-log-level=warn",  # pytest-odoo mutes Odoo otherwise: the gate needs its errors
            f"--junitxml={report}",
            f"--log-file={test_log}",
            "--log-file-level=INFO",
            f"--log-file-format={PYTEST_LOG_FORMAT}",
            "--log-file-date-format=%Y-%m-%d %H:%M:%S",
            "-rs",
            *(ADDONS / module / "tests" for module in SUITE_MODULES),
        ]
        tests_ok = installed_ok and run(tests, check=False, cwd=ROOT).returncode == 0
        return report_odoo_tests(report, installed, [install_log, test_log], tests_ok)
    finally:
        with contextlib.suppress(Exception):
            pg.drop_database(TEST_DATABASE)
        pg.stop()


def report_odoo_tests(report, installed, logs, ok):
    """Judge the run: every addon installed and tested, nothing skipped (a tour that did not
    run is skipped, and is a failure), no unexpected warning or error in the logs, judged by
    checklog-odoo as in OCA's CI (expected ones are muted in the tests; what the environment
    says, not the suite, is ignored in ``checklog-odoo.cfg``)."""
    passed, failed, skipped = junit_counts(report)
    per_module = junit_per_module(report)
    for module in SUITE_MODULES:
        state = installed.get(module, "absent")
        say(f"{module}: {state} in {TEST_DATABASE}, {per_module.get(module, 0)} test(s) run")
        if state != "installed":
            say(f"ERROR: {module} is not installed in the fresh database")
            ok = False
        if not per_module.get(module):
            say(f"ERROR: no integration test of {module} ran")
            ok = False
    if skipped:
        say(
            f"ERROR: {skipped} Odoo test(s) skipped (see pytest's reasons above): a test that did "
            "not run, a tour without Chromium or websocket-client included, is a failure"
        )
        failed += skipped
    for path in logs:
        checked = run(
            [venv_bin("checklog-odoo"), "--no-echo", "--config", CHECKLOG_CONFIG, path],
            check=False,
            cwd=ROOT,
        )
        if checked.returncode:
            say(f"ERROR: unexpected warnings or errors in {path} (checklog-odoo, above)")
            ok = False
    if not ok:
        failed = max(failed, 1)
    return passed, failed, ok and failed == 0


def junit_per_module(report):
    """Tests run per addon, from the JUnit report's class names (``addons.<module>.tests...``)."""
    import xml.etree.ElementTree as ET  # noqa: S405 - our own pytest's report

    if not report.exists():
        return {}
    counts = {}
    for case in ET.parse(report).getroot().iter("testcase"):  # noqa: S314
        parts = case.get("classname", "").split(".")
        if len(parts) > 1 and parts[0] == "addons":
            counts[parts[1]] = counts.get(parts[1], 0) + 1
    return counts


def cmd_test(args):
    odoo_src, reason = setup()
    lint_failed = 0 if args.no_lint else run_lint(odoo_src)
    passed, failed, skipped, unit_ok = run_unit_tests()
    odoo_passed = odoo_failed = 0
    odoo_ok = True
    if odoo_src:
        ensure_browser()
        odoo_passed, odoo_failed, odoo_ok = run_odoo_tests(odoo_src)
    ok = unit_ok and odoo_ok and not lint_failed
    banner("Summary")
    lint_state = "not run" if args.no_lint else ("FAILED" if lint_failed else "passed")
    say(f"lint: {lint_state}")
    say(f"unit tests: {passed} passed, {failed} failed, {skipped} skipped")
    if odoo_src:
        say(f"Odoo integration tests: {odoo_passed} passed, {odoo_failed} failed")
    else:
        tests = odoo_test_modules()
        names = "; ".join(
            f"{module}: {', '.join(files) or 'no test files'}" for module, files in tests.items()
        )
        say("!" * 78)
        say(f"SKIPPED: all Odoo integration tests ({names}).")
        say(f"Why: {reason}. Enable them with ODOO_SRC=/path/to/odoo-18.0 make test")
        say("!" * 78)
    say("RESULT: " + ("PASSED (only what ran)" if ok else "FAILED"))
    print(
        f"{passed + odoo_passed} passed, {failed + odoo_failed} failed, {skipped} skipped",
        flush=True,
    )
    return 0 if ok else 1


def cmd_lint(_args):
    odoo_src, _reason = setup()
    return 1 if run_lint(odoo_src) else 0


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("setup", help="virtual environment, packages, OCA addons").set_defaults(
        func=cmd_setup
    )
    sub.add_parser(
        "run", help="Odoo with the suite and demo data, wired to the simulator"
    ).set_defaults(func=cmd_run)
    test = sub.add_parser("test", help="lint, unit tests, Odoo integration tests")
    test.add_argument("--no-lint", action="store_true", help="skip the lint step")
    test.set_defaults(func=cmd_test)
    sub.add_parser("lint", help="ruff, pylint-odoo, oca-checks-odoo-module").set_defaults(
        func=cmd_lint
    )
    args = parser.parse_args()
    os.environ["TZ"] = "UTC"  # what odoo-bin sets before importing Odoo
    try:
        return args.func(args)
    except SetupError as error:
        say(f"ERROR: {error}")
        return 2


if __name__ == "__main__":
    sys.exit(main())
