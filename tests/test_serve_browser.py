"""`cadenced serve` in a real browser: headless Chromium (Debian's ``chromium`` and
``chromium-driver``) driven by Selenium, against the service's own server on
127.0.0.1, fed by a real sync of the demo calendar.

It opens the health page, follows a person, adds a topic, ticks an item, edits
notes, reloads and sees them (and reads them back from the file); a second tab's
stale save is refused and shown; a form on another origin and a page reached
through another host name (DNS rebinding, with Chromium's resolver mapping a
made-up name to 127.0.0.1) are refused; an event title with ``<script>`` shows as
text. It saves the screenshots used by docs/agenda.md.
"""

from __future__ import annotations

import shutil
import threading
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from daemon.config import LoadedConfig, parse_config
from daemon.service.notify import Notifier
from daemon.service.runner import Runner
from daemon.state.store import Store

selenium = pytest.importorskip("selenium", reason="selenium is not installed (pip install "
                               "-e '.[test]')")
from selenium import webdriver  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.action_chains import ActionChains  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support import expected_conditions  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(
    not (CHROMIUM and CHROMEDRIVER),
    reason="headless Chromium is not installed (Debian: apt-get install chromium "
           "chromium-driver; .ci/run installs them)")

DOCS = Path(__file__).resolve().parent.parent / "docs"
BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 11, 23, 8, 0, tzinfo=BERLIN)  # Jonas's 1:1 is at 14:00 today
JONAS = "jonas@example.com"
HOSTILE = "1:1 Jonas <script>document.title='pwned'</script>"
REBIND = "rebind.example"
PAST = (
    "## Mon 16 Nov 2026 · 14:00–14:45 (45 min)\n"
    "<!-- cadenced:meeting key=jonas-weekly@demo|20261116T130000Z -->\n\n"
    "### Notes\n- the offsite\n\n"
    "### Action items\n- [ ] Jonas: send the on-call draft (due 2026-11-30)\n\n"
)


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """The service's runner (one sync at NOW) with its server, and Jonas's agenda."""
    import tomllib
    from importlib import resources

    base = tmp_path_factory.mktemp("serve")
    folder = resources.files("daemon") / "demo"
    calendar = (folder / "demo.ics").read_text().replace("SUMMARY:1:1 Jonas\n",
                                                          f"SUMMARY:{HOSTILE}\n", 1)
    assert HOSTILE in calendar
    (base / "demo.ics").write_text(calendar)
    data = tomllib.loads((folder / "config.toml").read_text())
    data["sources"][0]["url"] = str(base / "demo.ics")
    data["server"] = {"enabled": True, "port": 0}
    data["agenda"] = {"dir": str(base / "agendas")}
    loaded = LoadedConfig(parse_config(data).config, None, ())
    with Store.open(base / "state") as store:
        runner = Runner(loaded, store, notifier=Notifier(None), runtime_dir=base / "run",
                        reload=lambda: loaded, clock=lambda: NOW, environ={},
                        data_dir=base / "data")
        runner.start_server()
        assert runner.sync_job() is not None
        text = runner.agendas.read(JONAS).text
        # a past meeting written earlier, with notes and an open action item
        marker = "## Mon 23 Nov"
        assert marker in text
        head, _, tail = text.partition(marker)
        runner.agendas.write(JONAS, head + marker + tail + PAST,
                             expected=runner.agendas.read(JONAS).version)
        yield runner
        runner.server.stop()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", "--window-size=1100,1500",
                 f"--user-data-dir={tmp_path_factory.mktemp('chromium')}",
                 f"--host-resolver-rules=MAP {REBIND} 127.0.0.1"):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


def click_and_wait(browser, button) -> None:
    """Click a submit button (or link) and wait until the next page has loaded."""
    page = browser.find_element(By.TAG_NAME, "html")
    button.click()
    WebDriverWait(browser, 15).until(expected_conditions.staleness_of(page))
    WebDriverWait(browser, 15).until(
        lambda b: b.execute_script("return document.readyState") == "complete")


def agenda_file(served) -> str:
    return served.agendas.path(JONAS).read_text()


def open_agenda(browser, served) -> None:
    browser.get(f"{served.server.base_url}/agenda/{JONAS}")
    assert browser.find_element(By.TAG_NAME, "h1").text == "1:1 with Jonas Weber"


def add_topic(browser, text: str) -> None:
    field = browser.find_element(By.ID, "topic")
    label = browser.find_element(By.CSS_SELECTOR, "label[for=topic]")
    assert label.text.startswith("Topic for the 1:1 on Mon 23 Nov, 14:00")
    field.send_keys(text)
    click_and_wait(browser, field.find_element(By.XPATH,
                                               "./ancestor::form//button[@type='submit']"))


def test_health_page_then_a_person_with_a_hostile_title_as_text(browser, served):
    browser.get(f"{served.server.base_url}/")
    assert browser.find_element(By.TAG_NAME, "h1").text == "Your 1:1s"
    attention = browser.find_element(By.ID, "attention").find_element(By.XPATH, "..").text
    assert "Tom Becker" in attention and "Ana Silva" in attention
    rows = browser.find_elements(By.CSS_SELECTOR, "tbody tr")
    assert len(rows) == 6
    strip = rows[0].find_element(By.CSS_SELECTOR, ".strip")
    assert strip.get_attribute("role") == "img"
    assert strip.get_attribute("aria-label").startswith("The last 12 weeks, oldest first:")
    assert "All calendars were read." in browser.page_source
    browser.save_screenshot(str(DOCS / "serve-health.png"))

    click_and_wait(browser, browser.find_element(By.LINK_TEXT, "Jonas Weber"))
    assert browser.find_element(By.TAG_NAME, "h1").text == "1:1s with Jonas Weber"
    history = browser.find_element(By.CSS_SELECTOR, "#history + table").text
    assert "cancelled" in history and "held" in history and "planned" in history
    assert HOSTILE in history  # shown as text ...
    assert browser.title == "1:1s with Jonas Weber"  # ... never run
    assert browser.find_elements(By.TAG_NAME, "script") == []
    plot = browser.find_element(By.CSS_SELECTOR, "svg.plot")
    assert plot.get_attribute("role") == "img"
    assert len(plot.find_elements(By.TAG_NAME, "rect")) == 12
    browser.save_screenshot(str(DOCS / "serve-person.png"))
    click_and_wait(browser, browser.find_element(By.LINK_TEXT, "Open the agenda"))
    assert browser.find_element(By.TAG_NAME, "h1").text == "1:1 with Jonas Weber"


def test_every_field_has_a_label_and_tab_reaches_the_forms_in_order(browser, served):
    open_agenda(browser, served)
    fields = [f for f in browser.find_elements(By.CSS_SELECTOR, "input, textarea")
              if f.get_attribute("type") != "hidden"]
    assert fields
    for field in fields:
        labels = browser.find_elements(By.CSS_SELECTOR, f"label[for='{field.get_attribute('id')}']")
        assert len(labels) == 1 and labels[0].text.strip(), field.get_attribute("name")
    for button in browser.find_elements(By.TAG_NAME, "button"):
        assert button.text.strip() or button.get_attribute("aria-label")
    # Tab order follows the page: the navigation, the agenda's history link, the topic.
    browser.refresh()  # focus at the start of the page
    seen = []
    for _ in range(5):
        ActionChains(browser).send_keys(Keys.TAB).perform()
        active = browser.switch_to.active_element
        seen.append(active.get_attribute("id") or active.text)
    assert seen[:4] == ["Health of your 1:1s", "Overlay calendar (calendar.ics)",
                        "History and health of these 1:1s", "topic"]


def test_add_a_topic_tick_an_item_edit_notes_and_reload(browser, served):
    open_agenda(browser, served)
    add_topic(browser, "how the <migration> feels")
    assert browser.current_url.endswith(f"/agenda/{JONAS}")  # 303 back to the page
    assert "how the <migration> feels" in browser.find_element(By.ID, "document") \
        .find_element(By.XPATH, "..").text
    text = agenda_file(served)
    topics = text.split("### Topics", 1)[1].split("###", 1)[0]
    assert "- how the <migration> feels" in topics  # in the coming meeting's section

    item = browser.find_element(By.XPATH, "//li[span[contains(., 'send the on-call draft')]]")
    button = item.find_element(By.TAG_NAME, "button")
    assert button.text == "Mark done"
    described = browser.find_element(By.ID, button.get_attribute("aria-describedby"))
    assert "send the on-call draft" in described.text
    click_and_wait(browser, button)
    assert "- [x] Jonas: send the on-call draft (due 2026-11-30)" in agenda_file(served)

    field = browser.find_element(By.XPATH, "//label[starts-with(., 'Notes of Mon 16 Nov')]")
    notes = browser.find_element(By.ID, field.get_attribute("for"))
    assert notes.get_attribute("value") == "- the offsite"
    notes.clear()
    notes.send_keys("- the offsite\n- he wants to lead the on-call rotation")
    click_and_wait(browser, notes.find_element(By.XPATH, "./ancestor::form//button"))
    assert "- he wants to lead the on-call rotation\n\n### Action items" in agenda_file(served)

    browser.refresh()
    page = browser.find_element(By.TAG_NAME, "main").text
    assert "how the <migration> feels" in page
    assert "he wants to lead the on-call rotation" in page
    item = browser.find_element(By.XPATH, "//li[span[contains(., 'send the on-call draft')]]")
    assert item.find_element(By.TAG_NAME, "button").text == "Mark open"


def test_a_second_tabs_stale_save_is_refused_and_shown(browser, served):
    open_agenda(browser, served)
    first = browser.current_window_handle
    browser.switch_to.new_window("tab")
    open_agenda(browser, served)
    second = browser.current_window_handle
    browser.switch_to.window(first)
    add_topic(browser, "saved in the first tab")
    browser.switch_to.window(second)
    add_topic(browser, "typed in the stale tab")
    assert browser.find_element(By.TAG_NAME, "h1").text.startswith("Not saved")
    assert browser.find_element(By.ID, "yours").get_attribute("value") == \
        "typed in the stale tab"
    assert "saved in the first tab" in browser.find_element(By.TAG_NAME, "main").text
    assert "typed in the stale tab" not in agenda_file(served)
    click_and_wait(browser, browser.find_element(By.XPATH,
                                                 "//button[starts-with(., 'Save again')]"))
    text = agenda_file(served)
    assert "- saved in the first tab" in text and "- typed in the stale tab" in text
    browser.close()
    browser.switch_to.window(first)


class _Attacker(BaseHTTPRequestHandler):
    form = b""

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.end_headers()
        self.wfile.write(self.form)

    def log_message(self, *args: object) -> None:
        pass


def test_a_form_on_another_origin_is_refused(browser, served):
    open_agenda(browser, served)
    token = browser.find_element(By.NAME, "token").get_attribute("value")
    version = browser.find_element(By.NAME, "version").get_attribute("value")
    before = agenda_file(served)
    # the worst case: a page elsewhere that somehow knows the token and version
    _Attacker.form = (
        f'<form method="post" action="{served.server.base_url}/agenda/{JONAS}/topic">'
        f'<input name="token" value="{token}"><input name="version" value="{version}">'
        '<input name="topic" value="planted"><button id="go">go</button></form>').encode()
    attacker = ThreadingHTTPServer(("127.0.0.1", 0), _Attacker)
    threading.Thread(target=attacker.serve_forever, daemon=True).start()
    try:
        browser.get(f"http://127.0.0.1:{attacker.server_address[1]}/")
        click_and_wait(browser, browser.find_element(By.ID, "go"))
        assert "planted" not in browser.page_source
    finally:
        attacker.shutdown()
        attacker.server_close()
    assert agenda_file(served) == before


def test_another_host_name_is_refused(browser, served):
    """DNS rebinding: a name that resolves to 127.0.0.1 gets an empty 421."""
    browser.get(f"http://{REBIND}:{served.server.port}/{served.server.secret}/")
    assert "Your 1:1s" not in browser.page_source
    assert "Jonas" not in browser.page_source
    browser.get(f"http://localhost:{served.server.port}/{served.server.secret}/")
    assert browser.find_element(By.TAG_NAME, "h1").text == "Your 1:1s"
