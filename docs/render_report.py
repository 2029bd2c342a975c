"""Renders a sample weekly report for the docs: docs/report-example.html and docs/report.png.

    python docs/render_report.py [--out DIR] [--width 900]

The report comes from the bundled demo calendar (what `cadenced demo` reads), with a
failing source added for illustration; everyone in it is fictional.
When the demo cannot be turned into a report (``daemon.core.report.content`` missing), a
hand-built sample is used instead. The PNG is a headless Chromium screenshot; without
Chromium the HTML is still written and the screenshot is skipped with a message.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from datetime import date, datetime, timedelta
from importlib import resources
from pathlib import Path
from zoneinfo import ZoneInfo

from daemon.core.report.model import Attention, Cell, Report, Row, SourceProblem, Upcoming
from daemon.render.report import render_html, render_text

DOCS = Path(__file__).resolve().parent
DEMO_NOW = "2026-11-23T08:00:00+01:00"  # the Monday the report goes out
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--hide-scrollbars",
                  "--force-device-scale-factor=1", "--mute-audio")


# -- the report ------------------------------------------------------------------------------

def demo_report() -> Report:
    """The report for the bundled demo, as the service would send it on the demo's date."""
    from connectors.registry import build_sources
    from daemon.config import load_config
    from daemon.core.report.content import SourceStatus, build_report
    from daemon.service.scan import scan

    with resources.as_file(resources.files("daemon") / "demo") as folder:
        config = load_config(folder / "config.toml").config
        now = datetime.fromisoformat(DEMO_NOW).astimezone(config.owner.tz)
        analysis = scan(config, build_sources(config), now).analysis
    sources = [SourceStatus(
        name="Outlook (work)",
        error="the server answered 401 Unauthorized: the published link was probably reset",
        hint="Publish the calendar again in Outlook on the web (Settings → Calendar → "
             "Shared calendars) and put the new ICS link in this source's url.",
        failing_since=now - timedelta(days=2, hours=3))]
    return build_report(analysis, config, now, sources=sources)


def sample_report() -> Report:
    """A hand-built report: every cell kind, every trend, a failing source."""
    tz = ZoneInfo("Europe/Berlin")
    now = datetime(2026, 11, 20, 9, 0, tzinfo=tz)
    first_monday = date(2026, 8, 24)
    labels = {"held": "held as planned", "moved": "held, moved", "shortened": "held, cut short",
              "cancelled": "cancelled or declined", "missed": "no 1:1 though one was due",
              "none": "none expected"}
    codes = {"H": "held", "M": "moved", "S": "shortened", "C": "cancelled", "X": "missed",
             "-": "none"}

    def strip(pattern: str) -> tuple[Cell, ...]:
        cells = []
        for index, code in enumerate(pattern):
            monday = first_monday + timedelta(weeks=index)
            kind = codes[code]
            cells.append(Cell(monday, kind, f"week of {monday:%d %b}: {labels[kind]}"))
        return tuple(cells)

    def row(name: str, cadence: str, last: int | None, nxt: datetime | None, pattern: str,
            held: int, expected: int, minutes: tuple[int, int], trend: str, text: str,
            attention: bool, url: str | None = None) -> Row:
        return Row(f"{name.split()[0].lower()}@example.com", name, cadence, last, nxt, url,
                   strip(pattern), held, expected, minutes[0], minutes[1], trend, text,
                   attention)

    rows = (
        row("Tom Becker", "weekly", 39, None, "HHHHHHHHXXXX", 8, 12, (240, 360), "worse",
            "0 held in the last 4 weeks, 3 in the 4 weeks before", True),
        row("Ana Silva", "every 2 weeks", 50, None, "-----H-XXXXX", 1, 6, (30, 180), "worse",
            "0 held in the last 4 weeks, 1 in the 4 weeks before", True),
        row("Lena Fischer", "every 2 weeks", 23, datetime(2026, 11, 25, 9, 0, tzinfo=tz),
            "-H-H-H-H-H-C", 5, 6, (150, 180), "worse",
            "1 held in the last 4 weeks, 2 in the 4 weeks before", True,
            "https://notes.example.com/1on1/lena"),
        row("Jonas Weber", "weekly", 4, datetime(2026, 11, 23, 14, 0, tzinfo=tz),
            "HHHHMHHHCHHS", 11, 12, (500, 540), "better",
            "4 held in the last 4 weeks, 3 in the 4 weeks before", False,
            "https://notes.example.com/1on1/jonas"),
        row("Priya Raman", "weekly", 3, datetime(2026, 11, 24, 10, 0, tzinfo=tz),
            "HHHHHHHMHHHS", 12, 12, (350, 360), "steady",
            "4 held in the last 4 weeks, 4 in the 4 weeks before", False),
        row("Noor Haddad", "every 2 weeks", 8, datetime(2026, 11, 26, 15, 0, tzinfo=tz),
            "---------H-H", 2, 2, (90, 90), "new",
            "2 held in the last 4 weeks, 0 in the 4 weeks before", False),
    )
    attention = (
        Attention("tom@example.com", "Tom Becker", 80,
                  ("No 1:1 for 39 days (cadence: weekly)", "Nothing booked in the next 10 days"),
                  "Book a 1:1 with Tom this week."),
        Attention("ana@example.com", "Ana Silva", 60,
                  ("No 1:1 for 50 days (cadence: 2 weeks)",
                   "Nothing booked in the next 21 days"),
                  "Book a 1:1 with Ana this week."),
        Attention("lena@example.com", "Lena Fischer", 26,
                  ("No 1:1 for 23 days (cadence: 2 weeks)",),
                  "Keep the 1:1 on Wed 25 Nov: it closes the gap."),
    )
    this_week = (
        Upcoming("Jonas Weber", "1:1 Jonas", datetime(2026, 11, 16, 14, 0, tzinfo=tz),
                 datetime(2026, 11, 16, 14, 45, tzinfo=tz), None),
        Upcoming("Priya Raman", "Priya / Maya 1:1", datetime(2026, 11, 17, 10, 0, tzinfo=tz),
                 datetime(2026, 11, 17, 10, 30, tzinfo=tz),
                 "https://notes.example.com/1on1/priya"),
    )
    sources = (SourceProblem(
        "Outlook (work)", "failing", now - timedelta(days=2, hours=3),
        "the server answered 401 Unauthorized: the published link was probably reset",
        "Publish the calendar again in Outlook on the web and put the new ICS link in "
        "this source's url."),)
    return Report(
        subject="1:1s: 3 need attention, 3 on track (week 47)", year=2026, week=47,
        generated=now, owner_name="Maya Chen", lookback_days=90, attention=attention,
        on_track=3, rows=rows, this_week=this_week, sources=sources)


def report() -> Report:
    try:
        return demo_report()
    except (ImportError, TypeError) as exc:  # no content module, or another signature
        print(f"demo report unavailable ({exc}); using the hand-built sample",
              file=sys.stderr)
        return sample_report()


# -- the screenshot ------------------------------------------------------------------------

def find_chromium() -> str | None:
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


def _chromium(binary: str, profile: Path, *args: str, timeout: float) -> str:
    command = [binary, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args]
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout,  # noqa: S603
                          check=False)
    if done.returncode != 0:
        raise RuntimeError(f"chromium exited with {done.returncode}: {done.stderr[-500:]}")
    return done.stdout


def page_height(binary: str, html: Path, width: int, timeout: float = 30) -> int:
    """The rendered height of ``html`` at ``width`` px, measured in a throwaway copy
    that carries a one-line script (the report itself has none)."""
    with tempfile.TemporaryDirectory(prefix="cadenced-shot-") as tmp:
        probe = Path(tmp) / "probe.html"
        script = ("<script>addEventListener('load',function(){document.body.setAttribute("
                  "'data-height',String(document.documentElement.scrollHeight))})</script>")
        probe.write_text(html.read_text(encoding="utf-8").replace("</body>", script + "</body>"),
                         encoding="utf-8")
        dom = _chromium(binary, Path(tmp) / "profile", f"--window-size={width},800",
                        "--dump-dom", probe.as_uri(), timeout=timeout)
    found = re.search(r'data-height="(\d+)"', dom)
    return int(found.group(1)) if found else 2000


def screenshot(html: Path, png: Path, width: int = 900, height: int | None = None,
               timeout: float = 30) -> bool:
    """A PNG of ``html`` at ``width`` px, as tall as the page. False without Chromium."""
    binary = find_chromium()
    if binary is None:
        return False
    height = height or min(page_height(binary, html, width, timeout), 6000)
    with tempfile.TemporaryDirectory(prefix="cadenced-shot-") as tmp:
        png.unlink(missing_ok=True)
        _chromium(binary, Path(tmp) / "profile", f"--window-size={width},{height}",
                  f"--screenshot={png}", html.as_uri(), timeout=timeout)
    return png.exists()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DOCS, help="output folder (docs/)")
    parser.add_argument("--width", type=int, default=900, help="screenshot width in px")
    parser.add_argument("--sample", action="store_true",
                        help="use the hand-built sample instead of the demo calendar")
    parser.add_argument("--text", action="store_true", help="also print the plain-text part")
    args = parser.parse_args(argv)
    sample = sample_report() if args.sample else report()
    args.out.mkdir(parents=True, exist_ok=True)
    html = args.out / "report-example.html"
    html.write_text(render_html(sample), encoding="utf-8")
    if args.text:
        print(render_text(sample))
    print(f"wrote {html}")
    png = args.out / "report.png"
    if not screenshot(html, png, width=args.width):
        print("chromium not found: skipped the screenshot (Debian: apt-get install chromium)",
              file=sys.stderr)
        return 0
    print(f"wrote {png} ({png.stat().st_size // 1024} KB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
