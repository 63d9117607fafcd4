"""Browser tests: Debian's headless Chromium driven by Selenium against the app on a real HTTP server.

Skipped only when chromium or chromedriver is not installed (`.ci/run` installs them).
"""
from __future__ import annotations

import os
import shutil
import tempfile
import threading
from dataclasses import replace
from pathlib import Path

import pytest

from tests.helpers import SHUTDOWN_POLL

CHROMIUM, CHROMEDRIVER = shutil.which("chromium") or "/usr/bin/chromium", shutil.which("chromedriver") or "/usr/bin/chromedriver"
# A test run leaves `git status` clean: screenshots go to a temporary folder unless REFRESH_SCREENSHOTS=1
# asks to refresh the ones the docs show.
SCREENSHOTS = (Path(__file__).resolve().parents[2] / "docs" / "screenshots" if os.environ.get("REFRESH_SCREENSHOTS") == "1"
               else Path(tempfile.gettempdir()) / f"youthbot-screenshots-{os.getpid()}")

if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
    pytest.skip("chromium and chromium-driver are not installed", allow_module_level=True)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items):
    """Every browser test starts (or shares) a real Chromium: slow, left out of `pytest -m "not slow"`."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def driver():
    """One headless Chromium for the run, with a fresh profile."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="youthbot-chromium-")
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", f"--user-data-dir={profile}", "--window-size=1280,900", "--lang=zh-CN"):
        opts.add_argument(flag)
    opts.add_experimental_option("prefs", {"download.default_directory": str(Path(profile) / "downloads"),
                                           "download.prompt_for_download": False})
    drv = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    drv.implicitly_wait(0)
    drv.download_dir = Path(profile) / "downloads"
    yield drv
    drv.quit()
    shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def site(settings, redis_client, fake_wechat):
    """The whole app (webhook and console) on a real HTTP server, its WeChat API the fake one."""
    from werkzeug.serving import make_server

    from bot.app import create_app

    base, state = fake_wechat
    app = create_app(replace(settings, wechat_api_base_url=base + "/cgi-bin/"), redis_client)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, args=(SHUTDOWN_POLL,), daemon=True).start()
    yield Site(f"http://127.0.0.1:{server.server_port}", app, state, base)
    server.shutdown()


class Site:
    def __init__(self, url: str, app, fake, fake_url: str):
        self.url, self.app, self.fake, self.fake_url = url, app, fake, fake_url
        self.bot = app.extensions["youthbot"]


@pytest.fixture
def browser(driver, site):
    """The shared Chromium, cookies cleared, with helpers bound to this test's site."""
    driver.delete_all_cookies()
    driver.set_window_size(1280, 900)
    for f in driver.download_dir.glob("*") if driver.download_dir.exists() else []:
        f.unlink()
    return Browser(driver, site)


class Browser:
    def __init__(self, driver, site):
        self.d, self.site = driver, site

    def open(self, path: str):
        self.d.get(self.site.url + path)
        return self

    def fill(self, field_id: str, value: str):
        from selenium.webdriver.common.by import By

        el = self.d.find_element(By.ID, field_id)
        el.clear()
        el.send_keys(value)
        return self

    def click(self, text: str, navigates: bool = True):
        """Click the button or link showing `text`, and wait for the page it leads to (a download: none)."""
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support.ui import WebDriverWait

        xpath = f"//button[normalize-space()='{text}'] | //a[normalize-space()='{text}'] | //input[@type='submit' and @value='{text}']"
        page = self.d.find_element(By.TAG_NAME, "html")
        self.d.find_element(By.XPATH, xpath).click()
        if navigates:
            WebDriverWait(self.d, 10).until(lambda _: _gone(page))
        return self

    def text(self) -> str:
        from selenium.webdriver.common.by import By

        return self.d.find_element(By.TAG_NAME, "body").text

    def path(self) -> str:
        return self.d.current_url[len(self.site.url):]

    def login(self, name: str, password: str):
        self.open("/admin/login").fill("name", name).fill("password", password).click("登录")
        return self

    def shot(self, name: str, width: int = 1280):
        """Save a screenshot of the whole page as NAME.png (into docs/screenshots/ when REFRESH_SCREENSHOTS=1)."""
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        self.d.set_window_size(width, 900)
        height = self.d.execute_script("return document.documentElement.scrollHeight")
        self.d.set_window_size(width, min(max(height, 600), 3000))
        self.d.save_screenshot(str(SCREENSHOTS / f"{name}.png"))
        self.d.set_window_size(1280, 900)

    def wait_for(self, predicate, timeout: float = 10):
        from selenium.webdriver.support.ui import WebDriverWait

        return WebDriverWait(self.d, timeout).until(lambda _: predicate())


def _gone(element) -> bool:
    """The page element belongs to a page that has been replaced. Chromium sometimes reports a node of the old
    page as not belonging to the document (a plain WebDriverException) instead of as stale: the same thing."""
    from selenium.common.exceptions import StaleElementReferenceException, WebDriverException

    try:
        element.is_enabled()
        return False
    except StaleElementReferenceException:
        return True
    except WebDriverException as exc:
        if "does not belong to the document" in str(exc):
            return True
        raise
