"""Driving the web app in Debian's Chromium: starting it, signing in, and what a page must pass.

The browser tests (tests/browser/) get a driver from their conftest; these helpers take
that driver. Fields are found by their label, as a screen reader would, never by id or
CSS class: a field a test cannot find by its label is a field a blind caseworker cannot
find either.

What a page must pass, each a function returning what it found (empty is good):
- ``axe_violations``: axe-core (vendored, tests/browser/vendor/) with the WCAG 2.0, 2.1
  and 2.2 A and AA rules and the best practices;
- ``third_party_requests``: every request the page made to another origin than the app's;
- ``csp_violations``: what the Content-Security-Policy refused.
The last two read the browser's logs, which each read empties: they report what happened
since the previous read (the ``browser`` fixture empties them before each test).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import Select, WebDriverWait

ROOT = Path(__file__).resolve().parent.parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
AXE = ROOT / "tests" / "browser" / "vendor" / "axe-4.14.1.min.js"
WINDOW_SIZE = (1280, 900)
# .ci/run sets this after installing chromium: there a missing browser fails instead of skipping.
REQUIRED = os.environ.get("COALITION_REQUIRE_BROWSER", "") == "1"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]
# How long a page may take to answer before a wait gives up (the live server is local).
WAIT_SECONDS = 10
CONTROLS = "input:not([type=hidden]), select, textarea"


# --- starting the browser -----------------------------------------------------------------


def browser_missing() -> str | None:
    """Why the browser tests cannot run here, or None when Chromium and its driver are installed."""
    missing = [path for path in (CHROMIUM, CHROMEDRIVER) if not os.access(path, os.X_OK)]
    if missing:
        return f"{' and '.join(missing)} missing (apt-get install chromium chromium-driver); CI installs them"
    return None


@dataclass
class Chromium:
    """A running headless Chromium and the throw-away profile folder it uses."""

    driver: WebDriver
    profile: Path

    def quit(self) -> None:
        try:
            self.driver.quit()
        finally:
            shutil.rmtree(self.profile, ignore_errors=True)


def start_chromium() -> Chromium:
    """Debian's Chromium, headless, with a fresh profile and nothing that phones home.

    The driver's path is given, so Selenium Manager (which would download a driver or a
    browser) is never asked; ``SE_OFFLINE`` forbids it any download should it run anyway.
    """
    os.environ["SE_OFFLINE"] = "true"
    os.environ["SE_AVOID_STATS"] = "true"
    profile = Path(tempfile.mkdtemp(prefix="coalition-chromium-"))
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-default-apps",
        "--disable-extensions",
        "--disable-dev-shm-usage",
        "--disable-features=Translate,OptimizationHints,MediaRouter",
        f"--user-data-dir={profile}",
        f"--window-size={WINDOW_SIZE[0]},{WINDOW_SIZE[1]}",
        "--lang=en",
    ):
        options.add_argument(argument)
    # The page's network requests (performance) and its console (browser), read by the checks below.
    options.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
    try:
        driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    except BaseException:
        shutil.rmtree(profile, ignore_errors=True)
        raise
    fix_viewport(driver)
    return Chromium(driver=driver, profile=profile)


def fix_viewport(driver: WebDriver) -> None:
    """The page's viewport is exactly WINDOW_SIZE (the window's own size would include its frame)."""
    width, height = WINDOW_SIZE
    driver.set_window_size(width, height)
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride", {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False}
    )


def serve(driver: WebDriver, live_server) -> None:
    """Remembers that ``driver`` tests the app at ``live_server`` (its origin is the app's own)."""
    driver.coalition_app_url = live_server.url  # type: ignore[attr-defined]


def app_url(driver: WebDriver) -> str:
    """The address of the app this driver tests (set by ``serve``)."""
    url = getattr(driver, "coalition_app_url", None)
    assert url, "no live server for this driver: use the browser fixture, or pass live_server"
    return url


def reset(driver: WebDriver) -> None:
    """A clean start for the next test: no page, no cookies, empty logs, the fixed window size."""
    driver.get("about:blank")
    driver.execute_cdp_cmd("Network.clearBrowserCookies", {})  # every origin's (WebDriver's: the current page's only)
    fix_viewport(driver)
    driver.get_log("performance")
    driver.get_log("browser")


# --- finding things as a person does ------------------------------------------------------


# The mark the web app's field template puts after a required field's label (web/includes/form_field.html).
REQUIRED_MARK = re.compile(r"\s*\(required\)$", re.IGNORECASE)


def _words(text: str) -> str:
    """A label's text as compared: spaces collapsed, case and a trailing colon, asterisk or "(required)" ignored."""
    words = re.sub(r"\s+", " ", text).strip().rstrip(":*").strip()
    return REQUIRED_MARK.sub("", words).casefold()


def _matches(label: str, wanted: str | re.Pattern[str]) -> bool:
    if isinstance(wanted, re.Pattern):
        return wanted.search(label) is not None
    return _words(label) == _words(wanted)


Scope = WebDriver | WebElement  # the whole page, or one part of it (``part``)


def _driver(scope: Scope) -> WebDriver:
    return scope if isinstance(scope, WebDriver) else scope.parent


def field(scope: Scope, label: str | re.Pattern[str]) -> WebElement:
    """The one input, select or textarea whose accessible name is ``label``, in the page or in one ``part`` of it.

    ``label`` is the visible text of its <label> (compared without case, extra spaces or a
    trailing colon) or a compiled pattern searched in it. A field named by aria-label or
    aria-labelledby instead is found by the name the browser computes for it. Fails when
    none or more than one field has that name, saying which names the page has.
    """
    driver = _driver(scope)
    # One round trip: every label's rendered text and the control it labels (for= or nested).
    labels = driver.execute_script(
        "return [...(arguments[0] || document).querySelectorAll('label')].map(label => [label.innerText, label.control])",
        None if scope is driver else scope,
    )
    inside = scope.find_elements(By.CSS_SELECTOR, CONTROLS)
    found = [control for text, control in labels if control is not None and _matches(text, label)]
    if scope is not driver:
        found = [control for control in found if control in inside]  # a label outside may name a control inside
    if not found:
        found = [e for e in inside if _matches(e.accessible_name, label)]
    if len(found) != 1:
        names = [e.accessible_name for e in inside]
        raise AssertionError(f"{len(found)} fields labelled {label!r} on {driver.current_url}; the fields are {names}")
    return found[0]


def button(scope: Scope, name: str | re.Pattern[str]) -> WebElement:
    """The one button (a <button> or an input of type submit) whose accessible name is ``name``."""
    candidates = scope.find_elements(By.CSS_SELECTOR, "button, input[type=submit], [role=button]")
    found = [e for e in candidates if e.is_displayed() and _matches(e.accessible_name, name)]
    if len(found) != 1:
        names = [e.accessible_name for e in candidates if e.is_displayed()]
        url = _driver(scope).current_url
        raise AssertionError(f"{len(found)} buttons named {name!r} on {url}; the buttons are {names}")
    return found[0]


def link(scope: Scope, name: str | re.Pattern[str]) -> WebElement:
    """The one visible link whose accessible name is ``name`` (its text, or what aria gives it)."""
    candidates = [e for e in scope.find_elements(By.CSS_SELECTOR, "a[href]") if e.is_displayed()]
    found = [e for e in candidates if _matches(e.accessible_name, name)]
    if len(found) != 1:
        names = [e.accessible_name for e in candidates]
        url = _driver(scope).current_url
        raise AssertionError(f"{len(found)} links named {name!r} on {url}; the links are {names}")
    return found[0]


# What a person names a part of a page by: its heading (a section's, a form's), its legend, its landmark name.
PARTS = "main, nav, section, form, fieldset, table, [role=region], [role=search], [role=group], [role=alert]"


def part(driver: WebDriver, name: str | re.Pattern[str]) -> WebElement:
    """The one section, form, fieldset, table or landmark whose accessible name is ``name``.

    The name is what a screen reader announces for it: a section's or form's
    aria-labelledby heading, a fieldset's legend, a table's caption. ``field``, ``button``
    and ``link`` then look inside it, for a label the page uses twice ("Region" of the
    directory's filter and of the referral).
    """
    candidates = driver.find_elements(By.CSS_SELECTOR, PARTS)
    found = [e for e in candidates if _matches(e.accessible_name, name)]
    # A form named by the legend of its own fieldset is one part, not two: the outermost counts.
    found = [e for e in found if not any(o != e and driver.execute_script(
        "return arguments[0].contains(arguments[1])", o, e) for o in found)]
    if len(found) != 1:
        names = sorted({e.accessible_name for e in candidates if e.accessible_name})
        raise AssertionError(f"{len(found)} parts named {name!r} on {driver.current_url}; the named parts are {names}")
    return found[0]


def choose(scope: Scope, label: str | re.Pattern[str]) -> WebElement:
    """Ticks the radio button or checkbox labelled ``label`` (left ticked if it is); returns it."""
    control = field(scope, label)
    if not control.is_selected():
        control.click()
    assert control.is_selected(), f"{label!r} could not be ticked"
    return control


def select(scope: Scope, label: str | re.Pattern[str], option: str) -> WebElement:
    """Picks the option with the visible text ``option`` in the list labelled ``label``; returns the list."""
    element = field(scope, label)
    Select(element).select_by_visible_text(option)
    return element


def page_text(driver: WebDriver) -> str:
    """Everything the page shows in words (its body's rendered text)."""
    return driver.find_element(By.TAG_NAME, "body").text


def fill(scope: Scope, label: str | re.Pattern[str], value: str) -> WebElement:
    """Types ``value`` into the field labelled ``label`` (emptied first); returns the field."""
    element = field(scope, label)
    element.clear()
    element.send_keys(value)
    return element


def submit(driver: WebDriver, element: WebElement) -> None:
    """Submits a form as a person does and waits for the next page to load.

    ``element`` is a button (clicked) or a text field of the form (Enter pressed in it,
    which submits with the form's first submit button).
    """
    old_page = driver.find_element(By.TAG_NAME, "html")
    if element.tag_name == "button" or element.get_attribute("type") == "submit":
        element.click()
    else:
        element.send_keys(Keys.ENTER)
    wait_for_new_page(driver, old_page)


def wait_for_new_page(driver: WebDriver, old_page: WebElement) -> None:
    """Waits until the document that held ``old_page`` is gone and the new one has loaded."""
    wait = WebDriverWait(driver, WAIT_SECONDS)
    wait.until(_gone(old_page))
    wait.until(lambda d: d.execute_script("return document.readyState") == "complete")


def _gone(element: WebElement):
    """Like ``staleness_of``, and also when Chromium, mid-navigation, answers that the element's node
    "does not belong to the document" (a plain WebDriverException, not a stale-element one)."""

    def check(_driver) -> bool:
        try:
            element.is_enabled()
        except WebDriverException:  # StaleElementReferenceException is one
            return True
        return False

    return check


def press(scope: Scope, name: str | re.Pattern[str]) -> None:
    """Presses the button named ``name`` and waits for the page it leads to (a plain form post)."""
    submit(_driver(scope), button(scope, name))


def follow(scope: Scope, name: str | re.Pattern[str]) -> None:
    """Follows the link named ``name`` and waits for the page it opens."""
    driver = _driver(scope)
    old_page = driver.find_element(By.TAG_NAME, "html")
    link(scope, name).click()
    wait_for_new_page(driver, old_page)


def press_in_place(scope: Scope, name: str | re.Pattern[str]) -> None:
    """Presses the button named ``name`` of a form that htmx sends, and waits until its answer is swapped in."""
    driver = _driver(scope)
    pressed = button(scope, name)
    with swapped(driver):
        pressed.click()


@contextmanager
def swapped(driver: WebDriver):
    """Waits, after what the ``with`` block does, until htmx has swapped an answer in and settled.

    Counts htmx's ``htmx:afterSettle`` events from the block's start (a listener the driver
    adds, outside the page's own scripts), then waits until no element carries htmx's
    request class any more.
    """
    driver.execute_script(
        """
        if (!window.coalitionSettleCount) {
          window.coalitionSettleCount = {n: 0};
          document.addEventListener("htmx:afterSettle", () => { window.coalitionSettleCount.n += 1; });
        }
        window.coalitionSettleCount.n = 0;
        """
    )
    yield
    wait = WebDriverWait(driver, WAIT_SECONDS)
    wait.until(lambda d: d.execute_script("return window.coalitionSettleCount.n") > 0)
    wait.until(lambda d: not d.find_elements(By.CSS_SELECTOR, ".htmx-request"))


def fill_date(scope: Scope, label: str | re.Pattern[str], value: str) -> WebElement:
    """Types the ISO date ``value`` into the date field labelled ``label`` as a person does in an English browser.

    Chromium's date field with ``--lang=en`` takes month, day and year in that order.
    """
    element = field(scope, label)
    year, month, day = value.split("-")
    element.send_keys(month + day + year)
    assert element.get_attribute("value") == value, f"typed {value}, the field holds {element.get_attribute('value')!r}"
    return element


def open_page(driver: WebDriver, live_server, path: str) -> None:
    """Opens ``path`` (``/app/...``) on the live server."""
    driver.get(live_server.url + path)


def heading(driver: WebDriver) -> str:
    """The text of the page's <h1>."""
    return driver.find_element(By.TAG_NAME, "h1").text


def page_language(driver: WebDriver) -> str:
    """The language the page says it is in (``<html lang>``)."""
    return driver.find_element(By.TAG_NAME, "html").get_attribute("lang") or ""


# --- signing in and choosing a language ---------------------------------------------------

# The one-time code field's label ("One-time code"; also found: "authentication code" and the like).
ONE_TIME_CODE = re.compile(r"one-time|authenticat|verification code|\bTOTP\b", re.IGNORECASE)


def sign_in(driver: WebDriver, live_server, username: str, password: str, otp: str | None = None) -> None:
    """Signs in through the sign-in form at /app/sign-in/, as a person would, in English.

    Types into the fields labelled "Username" and "Password" and presses Enter. With
    ``otp``, types it into the field labelled "One-time code" (its label must say
    "one-time", "authentication" or "verification code"), on the same form or on the page
    that follows if the app asks for it there, and presses Enter there. Leaves the
    browser on the page the app opened after signing in; fails, with the errors the page
    shows, if that is still a page asking for a password or a code.
    """
    open_page(driver, live_server, "/app/sign-in/")
    fill(driver, "Username", username)
    last = fill(driver, "Password", password)
    if otp is not None and _has_field(driver, ONE_TIME_CODE):
        last = fill(driver, ONE_TIME_CODE, otp)
        otp = None
    submit(driver, last)
    if otp is not None and _has_field(driver, ONE_TIME_CODE):
        submit(driver, fill(driver, ONE_TIME_CODE, otp))
    still_asking = driver.find_elements(By.CSS_SELECTOR, "input[type=password]") or _has_field(driver, ONE_TIME_CODE)
    path = urlsplit(driver.current_url).path
    assert not still_asking and not path.startswith("/app/sign-in/"), (
        f"not signed in, still on {path}: {visible_errors(driver)}"
    )


def _has_field(driver: WebDriver, label: str | re.Pattern[str]) -> bool:
    try:
        field(driver, label)
    except AssertionError:
        return False
    return True


def visible_errors(driver: WebDriver) -> list[str]:
    """The error texts a page shows (elements with role alert, or the fields' error messages)."""
    elements = driver.find_elements(By.CSS_SELECTOR, "[role=alert], .errorlist, .error, [aria-invalid=true]")
    return [e.text for e in elements if e.text]


def signed_in_as(driver: WebDriver, live_server, user) -> None:
    """Gives the browser a signed-in session of ``user`` without the form (for tests that are not about signing in).

    The session is the one ``tests.support.web.web_client_for`` makes, as a real sign-in
    leaves it (a live login, verified by a second factor, the person's token version), so
    the web app's session check accepts it; the browser gets its cookie.
    """
    from django.conf import settings

    from tests.support.web import web_client_for

    client = web_client_for(user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    open_page(driver, live_server, "/healthz")  # a cookie can only be set on the origin's own page
    driver.add_cookie({"name": cookie.key, "value": cookie.value, "path": "/", "httpOnly": True,
                       "secure": settings.SESSION_COOKIE_SECURE, "sameSite": "Lax"})


def choose_language(driver: WebDriver, code: str) -> None:
    """Switches the page's language with its language switch form (``code``: nl, fr or en) and waits."""
    form = driver.find_element(By.CSS_SELECTOR, "form.language-switch")
    Select(form.find_element(By.TAG_NAME, "select")).select_by_value(code)
    submit(driver, form.find_element(By.CSS_SELECTOR, "button[type=submit], button:not([type])"))


# --- what a page must pass ----------------------------------------------------------------


def axe_violations(driver: WebDriver, *, context: str | None = None) -> list[str]:
    """What axe-core finds on the current page (WCAG 2.0/2.1/2.2 A and AA, best practices), one text per rule.

    ``context``: a CSS selector to check only part of the page (default: the whole document).
    Each text names the rule, its impact, what it asks for and every offending element.
    """
    if not driver.execute_script("return typeof window.axe !== 'undefined'"):
        driver.execute_script(AXE.read_text(encoding="utf-8"))
    driver.set_script_timeout(30)
    result = driver.execute_async_script(
        """
        const [context, tags, done] = arguments;
        axe.run(context || document, {runOnly: {type: "tag", values: tags}, resultTypes: ["violations"]})
          .then(results => done({violations: results.violations}))
          .catch(error => done({error: String(error)}));
        """,
        context,
        AXE_TAGS,
    )
    if "error" in result:
        raise AssertionError(f"axe-core did not run: {result['error']}")
    return [_violation_text(violation) for violation in result["violations"]]


def _violation_text(violation: dict) -> str:
    lines = [f"{violation['id']} ({violation.get('impact') or 'no impact given'}): {violation['help']}"]
    for node in violation["nodes"]:
        target = " ".join(str(t) for t in node.get("target", []))
        summary = (node.get("failureSummary") or "").replace("\n", " / ")
        lines.append(f"  at {target}: {node.get('html', '')[:200]}")
        if summary:
            lines.append(f"    {summary}")
    return "\n".join(lines)


def assert_no_axe_violations(driver: WebDriver, *, context: str | None = None) -> None:
    """Fails listing every axe-core violation on the current page."""
    violations = axe_violations(driver, context=context)
    assert not violations, f"axe-core on {driver.current_url}:\n" + "\n".join(violations)


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme, parts.netloc


def third_party_requests(driver: WebDriver, live_server=None) -> list[str]:
    """Every URL the pages asked for since the last read whose origin is not the live server's.

    From Chrome's performance log (the network events): pages, scripts, styles, images,
    fonts, fetches, beacons alike. data: and blob: URLs stay in the page and do not count.
    The app's origin is ``live_server``'s, by default the one the ``browser`` fixture
    serves. Empties the performance log.
    """
    own = _origin(live_server.url if live_server is not None else app_url(driver))
    requested = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message.get("method") != "Network.requestWillBeSent":
            continue
        url = message["params"]["request"]["url"]
        if urlsplit(url).scheme in ("data", "blob", "about", "chrome", "devtools"):
            continue
        if _origin(url) != own:
            requested.append(url)
    return requested


def csp_violations(driver: WebDriver) -> list[str]:
    """What the Content-Security-Policy refused since the last read (the console's errors that name it).

    Empties the console log.
    """
    return [
        entry["message"]
        for entry in driver.get_log("browser")
        if entry["level"] == "SEVERE" and "Content Security Policy" in entry["message"]
    ]


# What Chromium asks of a page that names no icon (/healthz, opened to set a cookie): not the app's doing.
ICON_GUESS = re.compile(r"/favicon\.ico - Failed to load resource")


def console_errors(driver: WebDriver) -> list[str]:
    """Every error on the console since the last read (script errors, failed loads, CSP). Empties the log.

    Leaves out the browser's own guess of /favicon.ico on a page without an icon (the app's
    pages name theirs).
    """
    return [
        entry["message"]
        for entry in driver.get_log("browser")
        if entry["level"] == "SEVERE" and not ICON_GUESS.search(entry["message"])
    ]


# --- the keyboard -------------------------------------------------------------------------


def keys(driver: WebDriver, *sequence: str) -> WebElement:
    """Presses ``sequence`` (``Keys.TAB``, text, ...) on whatever has the focus, as a keyboard does; returns the
    element focused afterwards. Shift+Tab is ``(Keys.SHIFT, Keys.TAB)``: a tuple is pressed together."""
    actions = ActionChains(driver)
    for key in sequence:
        if isinstance(key, tuple):
            *held, last = key
            for modifier in held:
                actions.key_down(modifier)
            actions.send_keys(last)
            for modifier in reversed(held):
                actions.key_up(modifier)
        else:
            actions.send_keys(key)
    actions.perform()
    return driver.switch_to.active_element


def focused(driver: WebDriver) -> WebElement:
    """The element that has the keyboard focus."""
    return driver.switch_to.active_element


def describe(element: WebElement) -> str:
    """An element as a person would name it: its tag, type and accessible name."""
    kind = element.get_attribute("type") or ""
    return f"<{element.tag_name}{' ' + kind if kind else ''}> {element.accessible_name!r}"


def focus_indicator(driver: WebDriver) -> str | None:
    """How the focused element shows its focus (its computed outline or box shadow), or None when it shows none."""
    style = driver.execute_script(
        """
        const style = getComputedStyle(document.activeElement);
        return {outline: style.outlineStyle, width: parseFloat(style.outlineWidth) || 0, shadow: style.boxShadow};
        """
    )
    if style["outline"] != "none" and style["width"] > 0:
        return f"outline {style['outline']} {style['width']}px"
    if style["shadow"] and style["shadow"] != "none":
        return f"box-shadow {style['shadow']}"
    return None


def tab_to(driver: WebDriver, wanted, *, backwards: bool = False, limit: int = 100) -> WebElement:
    """Presses Tab (Shift+Tab with ``backwards``) until the focused element is ``wanted``; returns it.

    ``wanted`` is an accessible name (or a pattern) or a function of the focused element.
    Every element the focus lands on on the way must show it (``focus_indicator``), and the
    focus must move at each press: an element that keeps it is a keyboard trap.
    """
    matches = wanted if callable(wanted) else (lambda element: _matches(element.accessible_name, wanted))
    key = (Keys.SHIFT, Keys.TAB) if backwards else Keys.TAB
    seen = []
    for _press in range(limit):
        before = focused(driver)
        now = keys(driver, key)
        if now == before and now.tag_name != "body":
            raise AssertionError(f"the focus stays on {describe(now)}: a keyboard trap")
        seen.append(describe(now))
        assert focus_indicator(driver), f"no visible focus on {describe(now)} on {driver.current_url}"
        if matches(now):
            return now
    raise AssertionError(f"{wanted!r} not reached by {limit} presses of Tab; the focus went through {seen}")


# --- screenshots --------------------------------------------------------------------------


def screenshots_dir() -> Path:
    """Where screenshots go: BROWSER_SCREENSHOTS_DIR, else var/screenshots/ (git-ignored)."""
    return Path(os.environ.get("BROWSER_SCREENSHOTS_DIR") or ROOT / "var" / "screenshots")


def screenshot(driver: WebDriver, name: str) -> Path:
    """Writes the current page as ``<name>.png`` at the fixed window size (1280×900); returns the file."""
    slug = re.sub(r"[^\w.-]+", "-", name).strip("-")
    assert slug, f"no file name in {name!r}"
    folder = screenshots_dir()
    folder.mkdir(parents=True, exist_ok=True)
    fix_viewport(driver)
    path = folder / f"{slug}.png"
    assert driver.save_screenshot(str(path)), f"the screenshot {path} was not written"
    return path
