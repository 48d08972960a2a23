"""Headless Chromium through the Airflow UI: log in, open the dashboard, the DAG list, a DAG run
and the "Credly sync" page (inside the UI and on its own), save a PNG of each and return what
they showed. Used by the browser check (tests/distributed/test_ui_browser.py) and by
scripts/screenshots.py (the README's pictures).

Selenium drives Debian's ``chromium`` through Debian's ``chromedriver``, built from the same
source, so the two always match; both paths are given, so Selenium Manager never runs and
nothing is downloaded (``make test-deps`` installs the packages).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, TimeoutException
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
# Headless as root, and quiet: without the background-networking flags Chromium keeps calling
# hosts a closed network refuses.
FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
)
WIDTH, HEIGHT = 1400, 1000
TIMEOUT = 60.0
# The indicator the React UI shows on the dashboard and the DAG list when DAG files (or plugins)
# fail to import: a button labelled "Dag Import Error(s)" / "Plugin Import Error(s)".
DAG_ERRORS, PLUGIN_ERRORS = "/api/v2/importErrors", "/api/v2/plugins/importErrors"
IMPORT_ERROR_INDICATOR = (
    "//*[contains(@aria-label, 'Import Error') or contains(@title, 'Import Error')"
    " or contains(normalize-space(text()), 'Import Error')]"
)


def missing_browser() -> str | None:
    """Why Chromium cannot run here, or None."""
    missing = [str(path) for path in (CHROMIUM, CHROMEDRIVER) if not os.access(path, os.X_OK)]
    if missing:
        packages = "Debian's chromium and chromium-driver"
        return f"{' and '.join(missing)} missing: `make test-deps` installs {packages}"
    return None


@contextmanager
def chromium() -> Iterator[WebDriver]:
    """A headless Chromium WebDriver with a fresh profile, quit (and the profile removed) after."""
    os.environ.setdefault("SE_OFFLINE", "true")  # should Selenium Manager ever run: no downloads
    profile = tempfile.mkdtemp(prefix="credly-sync-chromium-")
    options = Options()
    options.binary_location = str(CHROMIUM)
    for flag in (*FLAGS, f"--window-size={WIDTH},{HEIGHT}", f"--user-data-dir={profile}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


@dataclass
class Seen:
    """What the pages showed."""

    import_error_indicators: int = 0
    dag_ids: set[str] = field(default_factory=set)
    run_id: str = ""
    run_state: str = ""
    counts: dict[str, int] = field(default_factory=dict)  # data-count name -> number on the page
    journal: dict[tuple[str, str], int] = field(default_factory=dict)  # the journal table's cells
    last_runs: dict[str, str] = field(default_factory=dict)  # sync DAG -> run id the page shows
    screenshots: list[Path] = field(default_factory=list)


class AirflowUI:
    """One logged-in browser session on the Airflow UI at ``base_url``; PNGs go to ``out``."""

    def __init__(self, driver: WebDriver, base_url: str, out: Path) -> None:
        self.driver, self.base, self.out = driver, base_url.rstrip("/"), out
        self.seen = Seen()
        out.mkdir(parents=True, exist_ok=True)

    def log_in(self, username: str, password: str) -> None:
        """Through the simple auth manager's form; the UI then keeps the JWT in its ``_token``
        cookie, which the core API and the Credly sync page read."""
        self.driver.get(f"{self.base}/auth/login?next=/")
        self._until("the login form", lambda: self.driver.find_elements(By.NAME, "username"))
        self.driver.find_element(By.NAME, "username").send_keys(username)
        self.driver.find_element(By.NAME, "password").send_keys(password)
        self.driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        self._until(f"a session for {username!r} (wrong password?)", lambda: self.driver.get_cookie("_token"))

    def dashboard(self) -> None:
        self.driver.get(f"{self.base}/")
        self._until(
            "the dashboard's stats",
            lambda: self.driver.find_elements(By.CSS_SELECTOR, "[data-testid=stats-card]"),
        )
        self.seen.import_error_indicators += self._import_error_indicators(DAG_ERRORS, PLUGIN_ERRORS)
        self._screenshot("dashboard.png")

    def dag_list(self) -> None:
        self.driver.get(f"{self.base}/dags")
        cards = self._until(
            "the DAG list", lambda: self.driver.find_elements(By.CSS_SELECTOR, "[data-testid=dag-id]")
        )
        self.seen.dag_ids = {card.text.strip() for card in cards}
        self.seen.import_error_indicators += self._import_error_indicators(DAG_ERRORS)
        self._screenshot("dags.png")

    def dag_run(self, dag_id: str, run_id: str) -> None:
        self.driver.get(f"{self.base}/dags/{quote(dag_id)}/runs/{quote(run_id, safe='')}")

        def state() -> str | None:
            header = self.driver.find_elements(By.CSS_SELECTOR, "[data-testid=header-card]")
            titles = header[0].find_elements(By.TAG_NAME, "h2") if header else []
            if not any(title.text.strip() == run_id for title in titles):
                return None
            badge = header[0].find_elements(By.CSS_SELECTOR, "[data-testid=state-badge]")
            return badge[0].text.strip().lower() if badge else None

        self.seen.run_id, self.seen.run_state = run_id, self._until(f"the header of run {run_id}", state)
        self._screenshot(f"{dag_id}-run.png")

    def credly_sync(self) -> None:
        """The page as the UI's navigation shows it (an iframe under /plugin/credly-sync), its
        numbers read there; then the page on its own, whole, for a readable picture."""
        self.driver.get(f"{self.base}/plugin/credly-sync")
        frame = self._until(
            "the Credly sync view",
            lambda: self.driver.find_elements(By.CSS_SELECTOR, "iframe[title='Credly sync']"),
        )
        self.driver.switch_to.frame(frame[0])
        try:
            self._until("the page's numbers", lambda: self.driver.find_elements(By.ID, "journal"))
            self._read_page()
        finally:
            self.driver.switch_to.default_content()
        self._screenshot("credly-sync-in-airflow.png")
        self.driver.get(f"{self.base}/credly-sync/")
        self._until("the Credly sync page", lambda: self.driver.find_elements(By.ID, "journal"))
        self._screenshot("credly-sync.png", whole=True)

    # --- helpers ------------------------------------------------------------------------------

    def _read_page(self) -> None:
        find = self.driver.find_elements
        self.seen.counts = {
            e.get_attribute("data-count"): int(e.text) for e in find(By.CSS_SELECTOR, "[data-count]")
        }
        self.seen.journal = {
            (cell.get_attribute("data-kind"), cell.get_attribute("data-status")): int(cell.text)
            for cell in find(By.CSS_SELECTOR, "table[data-counts=journal-total] td[data-kind]")
        }
        self.seen.last_runs = {
            e.get_attribute("data-dag-id"): e.get_attribute("data-run-id")
            for e in find(By.CSS_SELECTOR, "[data-run-id]")
        }

    def _import_error_indicators(self, *asked: str) -> int:
        """The UI's import-error indicators on this page, once its own requests for them (API
        paths ``asked``) have been answered."""
        answered = "return performance.getEntriesByType('resource').map(e => new URL(e.name).pathname)"
        self._until(
            f"the UI's answers from {', '.join(asked)}",
            lambda: set(asked) <= set(self.driver.execute_script(answered)),
        )
        # two frames: React renders what the answer said
        self.driver.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "requestAnimationFrame(() => requestAnimationFrame(() => done()));"
        )
        return len(self.driver.find_elements(By.XPATH, IMPORT_ERROR_INDICATOR))

    def _screenshot(self, name: str, *, whole: bool = False) -> None:
        path = self.out / name
        if whole:  # the window as tall as the page, for one picture of all of it
            height = self.driver.execute_script("return document.documentElement.scrollHeight")
            self.driver.set_window_size(WIDTH, max(HEIGHT, int(height)))
        try:
            self.driver.save_screenshot(str(path))
        finally:
            if whole:
                self.driver.set_window_size(WIDTH, HEIGHT)
        self.seen.screenshots.append(path)

    def _until(self, what: str, check: Callable[[], Any]) -> Any:
        try:
            return WebDriverWait(
                self.driver, TIMEOUT, ignored_exceptions=(StaleElementReferenceException,)
            ).until(lambda _: check())
        except TimeoutException:
            self._screenshot("timed-out.png")
            raise TimeoutError(
                f"timed out after {TIMEOUT:.0f}s waiting for {what} at {self.driver.current_url}; "
                f"the page as it was: {self.out / 'timed-out.png'}"
            ) from None


def take_screenshots(
    driver: WebDriver, base_url: str, username: str, password: str, out: Path, run: tuple[str, str]
) -> Seen:
    """Log in, then the dashboard, the DAG list, the DAG run ``run`` (dag id, run id) and the
    Credly sync page, a PNG of each in ``out``."""
    ui = AirflowUI(driver, base_url, out)
    ui.log_in(username, password)
    ui.dashboard()
    ui.dag_list()
    ui.dag_run(*run)
    ui.credly_sync()
    return ui.seen
