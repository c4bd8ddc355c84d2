#!/usr/bin/python3
"""certq's web page in Debian's headless Chromium, against a running certqd.

Run by tests/integration/browser_test.cpp (gtest Browser.*) with Debian's /usr/bin/python3
(python3-selenium) and /usr/bin/chromedriver:

    page_check.py --url http://127.0.0.1:PORT/ --expect expect.json --shots DIR

expect.json, written by the test from the database:
    counts            {state: rows}, every state
    search            {"type": "<text typed into #search>", "hostname": "<row it must find>"}
    hostile_hostname  a row whose hostname carries markup
    failed_hostname   a failed row whose detail is hostile_detail
    hostile_detail    that detail, byte for byte

Prints one line per check passed; on the first failure prints what was expected and what the
page showed, and exits 1. The browser is always ended (driver.quit() in finally), and
chromedriver is started so that it dies with this script.
"""

import argparse
import base64
import ctypes
import json
import os
import signal
import sys
import time
import urllib.parse

from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

CHROMEDRIVER = '/usr/bin/chromedriver'
STATES = ['queued', 'invalid', 'dns_waiting', 'dns_failed', 'throttled', 'requesting', 'pending',
          'attaching', 'active', 'moved', 'failed', 'removing', 'removed']
WAIT = 15          # seconds for any one thing the page should do (it refreshes every 5 s)
OVERALL = 100      # the whole run; the gtest gives it 120 s before killing the process group
PR_SET_PDEATHSIG = 1

libc = ctypes.CDLL(None, use_errno=True)


class CheckFailed(Exception):
    pass


def die_with_parent(signo):
    """Asks the kernel to send `signo` to the calling process when its parent exits."""
    libc.prctl(PR_SET_PDEATHSIG, signo, 0, 0, 0)


def start_chromedriver_dying_with_us():
    # Runs in chromedriver before exec: SIGKILL when this script exits, however it exits.
    die_with_parent(signal.SIGKILL)


def guard_process_group():
    """Forks a guard that SIGKILLs this script's process group once the script is gone.

    Chromium does not die with chromedriver, so a script killed before driver.quit() (SIGKILL
    from the test's process destructor, say) would leave it behind. The guard waits for EOF on
    a pipe only this script holds (os.pipe is close-on-exec, so chromedriver and Chromium never
    inherit it), then kills the group: Chromium, chromedriver and itself. Returns the write end,
    to be kept open for the script's life."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(w)
            signal.signal(signal.SIGTERM, signal.SIG_IGN)  # the group's stop signal is the script's
            while os.read(r, 64):
                pass
        finally:
            os.killpg(0, signal.SIGKILL)  # a no-op for the group members already gone
            os._exit(0)
    os.close(r)
    return w


def ok(what):
    print('ok   ' + what, flush=True)


def fail(what):
    raise CheckFailed(what)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--url', required=True, help='the page, e.g. http://127.0.0.1:8080/')
    ap.add_argument('--expect', required=True, help='JSON written by the test from the database')
    ap.add_argument('--shots', required=True, help='directory for the PNG screenshots')
    args = ap.parse_args()

    # Our own process group (chromedriver and Chromium join it), ended when the gtest ends,
    # and a deadline of our own so a hang still quits the browser.
    try:
        os.setpgid(0, 0)
    except OSError:
        pass  # already a group leader
    die_with_parent(signal.SIGTERM)
    guard = guard_process_group()  # noqa: F841 (held open until exit)

    def on_signal(signo, _frame):
        raise CheckFailed(f'stopped by signal {signo} (the test ended or the run overran {OVERALL} s)')

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGALRM, on_signal)
    if os.getppid() == 1:
        print('FAIL the test that started this script is gone', flush=True)
        return 1
    signal.alarm(OVERALL)

    with open(args.expect, encoding='utf-8') as f:
        expect = json.load(f)
    os.makedirs(args.shots, exist_ok=True)
    base = args.url if args.url.endswith('/') else args.url + '/'

    opts = webdriver.ChromeOptions()
    for a in ['--headless=new', '--no-sandbox', '--disable-gpu', '--window-size=1280,900']:
        opts.add_argument(a)
    opts.set_capability('goog:loggingPrefs', {'browser': 'ALL'})
    service = Service(CHROMEDRIVER, popen_kw={'preexec_fn': start_chromedriver_dying_with_us})

    started = time.monotonic()
    driver = None
    try:
        driver = webdriver.Chrome(service=service, options=opts)
        ok(f'Chromium started ({driver.capabilities.get("browserVersion", "?")}) in '
           f'{time.monotonic() - started:.1f} s')
        run_checks(driver, base, expect, args.shots)
    except CheckFailed as e:
        print(f'FAIL {e}', flush=True)
        if driver is not None:
            try:
                driver.save_screenshot(os.path.join(args.shots, 'failure.png'))
                print(f'     screenshot of the failure: {os.path.join(args.shots, "failure.png")}', flush=True)
                print(f'     page URL: {driver.current_url}', flush=True)
                for entry in driver.get_log('browser'):
                    print(f'     console: {entry["level"]} {entry["message"]}', flush=True)
            except Exception as e2:  # the browser may be what failed
                print(f'     (no screenshot: {e2.__class__.__name__})', flush=True)
        return 1
    finally:
        signal.alarm(0)
        if driver is not None:
            driver.quit()
    print(f'all checks passed in {time.monotonic() - started:.1f} s', flush=True)
    return 0


def run_checks(d, base, expect, shots):
    qa = lambda css: d.find_elements(By.CSS_SELECTOR, css)
    js = d.execute_script

    def wait(condition, what, timeout=WAIT):
        """Waits for condition(); fails with `what` (a string, or a function giving one)."""
        try:
            return WebDriverWait(d, timeout, poll_frequency=0.1,
                                 ignored_exceptions=[StaleElementReferenceException]).until(lambda _: condition())
        except TimeoutException:
            fail((what() if callable(what) else what) + f' (waited {timeout} s)')

    def shot(name):
        path = os.path.join(shots, name + '.png')
        d.save_screenshot(path)
        print(f'     screenshot {path}', flush=True)

    def full_shot(name):
        """The whole page, not only the viewport."""
        m = d.execute_cdp_cmd('Page.getLayoutMetrics', {})
        w = int(m['cssLayoutViewport']['clientWidth'])
        h = min(int(m['cssContentSize']['height']), 6000)
        img = d.execute_cdp_cmd('Page.captureScreenshot', {
            'format': 'png', 'captureBeyondViewport': True,
            'clip': {'x': 0, 'y': 0, 'width': w, 'height': h, 'scale': 1}})
        path = os.path.join(shots, name + '.png')
        with open(path, 'wb') as f:
            f.write(base64.b64decode(img['data']))
        print(f'     screenshot {path}', flush=True)

    def text(css):
        """An element's textContent (what the DOM holds, not what CSS shows); None if absent."""
        return js('const e = document.querySelector(arguments[0]); return e ? e.textContent : null;', css)

    def inner(element_id):
        return js('return document.getElementById(arguments[0]).innerHTML', element_id)

    def console():
        return d.get_log('browser')

    def not_pwned(where):
        if js('return typeof window.__pwned') != 'undefined':
            fail(f'{where}: markup from the database ran as script (window.__pwned = {js("return window.__pwned")!r})')
        imgs = js('return document.querySelectorAll(\'img[src="x"]\').length')
        if imgs:
            fail(f'{where}: markup from the database became {imgs} element(s) img[src="x"]')
        csp = js('return window.__csp || []')
        if csp:
            fail(f'{where}: Content-Security-Policy violations: {csp}')

    # CSP violations are collected from the first script on, before the page's own.
    d.execute_cdp_cmd('Page.addScriptToEvaluateOnNewDocument', {'source':
        "window.__csp = []; document.addEventListener('securitypolicyviolation', "
        "e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));"})

    # ---- load ----------------------------------------------------------------------------
    t0 = time.monotonic()
    d.get(base)
    wait(lambda: js('return document.body.dataset.ready') == '1',
         'the page never rendered: body[data-ready="1"] did not appear; #error says '
         + repr(text('#error')))
    # The first render of everything the overview loads: problems, chart, the row list.
    wait(lambda: qa('#problems li') and qa('#chart svg') and qa('#results li.result'),
         lambda: f'the overview did not fill in: #problems li {len(qa("#problems li"))}, '
                 f'#chart svg {len(qa("#chart svg"))}, #results li.result {len(qa("#results li.result"))}')
    ok(f'the page loads and renders (body[data-ready="1"] after {time.monotonic() - t0:.1f} s)')
    if not js('return document.getElementById("error").hidden'):
        fail(f'the error banner shows on a normal load: {text("#error")!r}')
    bad = [e for e in console() if e['level'] in ('SEVERE', 'WARNING')]
    if bad:
        fail('the console has errors or warnings on a normal load:\n'
             + '\n'.join(f'       {e["level"]} {e["message"]}' for e in bad))
    not_pwned('the overview')
    ok('no console errors or warnings, no error banner, no CSP violations on a normal load')

    # ---- counts --------------------------------------------------------------------------
    want = {s: int(expect['counts'].get(s, 0)) for s in STATES}

    def shown_counts():
        return js('const o = {}; for (const t of document.querySelectorAll("#counts [data-state]")) '
                  'o[t.dataset.state] = t.dataset.count; return o;')

    def counts_match():
        got = shown_counts()
        return all(got.get(s) == str(n) for s, n in want.items())

    # certqd could still move a row between the test's read and the page's: the page refreshes
    # every 5 s, so give it a few refreshes to agree.
    wait(counts_match, lambda: 'the state counts differ from the database:\n'
         + '\n'.join(f'       {s}: page {shown_counts().get(s)!r}, database {n}'
                     for s, n in want.items() if shown_counts().get(s) != str(n)))
    tiles = [e.get_attribute('data-state') for e in qa('#counts [data-state]')]
    if tiles != STATES:
        fail(f'#counts shows the states {tiles}, expected {STATES} in that order')
    visible = {s: text(f'#counts [data-state="{s}"] .count') for s in STATES}
    if any(visible[s] != str(n) for s, n in want.items()):
        fail(f'the count shown differs from data-count: {visible}')
    ok('each state\'s count equals the database: '
       + ', '.join(f'{s} {n}' for s, n in want.items() if n) + ' (the rest 0)')
    shot('overview-desktop')

    # The hostile hostname is in the row list as literal text.
    hostile = expect['hostile_hostname']
    items = [e for e in qa('#results li.result') if e.get_attribute('data-hostname') == hostile]
    if not items:
        fail(f'the hostile row {hostile!r} is not in the row list: '
             f'{[e.get_attribute("data-hostname") for e in qa("#results li.result")]}')
    link = js('return arguments[0].querySelector("a").textContent', items[0])
    if link != hostile:
        fail(f'the hostile row\'s link reads {link!r}, expected the hostname {hostile!r} as text')
    ok('the row list shows the hostile hostname as text')

    # ---- search as you type --------------------------------------------------------------
    typed = expect['search']['type']
    host = expect['search']['hostname']
    box = d.find_element(By.CSS_SELECTOR, '#search')
    box.click()
    box.send_keys(typed)  # no Enter: the page searches as the user types

    def hosts():
        return [e.get_attribute('data-hostname') for e in qa('#results li.result')]

    def found():
        h = hosts()
        return host in h and all(typed.lower() in x.lower() for x in h)

    wait(found, lambda: f'typing {typed!r} into #search did not list {host!r} alone with its matches; '
                        f'#results holds {hosts()}, #results-note says {text("#results-note")!r}')
    ok(f'typing {typed!r} into #search lists {hosts()} (no Enter)')
    shot('search-results')

    # ---- one row's story -----------------------------------------------------------------
    [a] = [e.find_element(By.CSS_SELECTOR, 'a') for e in qa('#results li.result')
           if e.get_attribute('data-hostname') == host]
    a.click()
    wait(lambda: qa('#domain') and qa('#domain')[0].is_displayed() and text('#domain-hostname') == host,
         lambda: f'clicking {host!r} did not open #domain for it: #domain-hostname {text("#domain-hostname")!r}, '
                 f'URL {d.current_url}')
    if not d.current_url.endswith('#/domain/' + urllib.parse.quote(host, safe='')):
        fail(f'clicking the result went to {d.current_url}, expected #/domain/{host}')
    wait(lambda: len(qa('#timeline li.transition')) >= 3,
         lambda: f'the timeline of {host} has {len(qa("#timeline li.transition"))} li.transition, expected at least 3; '
                 f'#domain-missing {text("#domain-missing")!r}')
    for li in qa('#timeline li.transition'):
        for part in ('.at', '.from', '.to', '.detail'):
            if len(li.find_elements(By.CSS_SELECTOR, part)) != 1:
                fail(f'a timeline entry lacks {part}: {li.get_attribute("outerHTML")[:300]}')
    newest = text('#timeline li.transition .to')
    state = text('#domain-state')
    if newest != state:
        fail(f'the newest transition goes to {newest!r} but #domain-state says {state!r}')
    ok(f'clicking it opens #domain: {host}, {state}, {len(qa("#timeline li.transition"))} transitions '
       f'(each with .at .from .to .detail)')
    wait(lambda: qa('#dns li.dns-name'),
         lambda: f'the live DNS check of {host} showed no li.dns-name: #dns-summary {text("#dns-summary")!r}, '
                 f'#dns-message {text("#dns-message")!r}')
    names = [text_of(d, e, '.name') + ': ' + text_of(d, e, '.verdict') for e in qa('#dns li.dns-name')]
    ok(f'the live DNS check shows {names}; {text("#dns-summary")!r}')
    shot('row')
    full_shot('row-full')
    not_pwned(f'the row {host}')

    # ---- hostile content as text ---------------------------------------------------------
    failed = expect['failed_hostname']
    detail = expect['hostile_detail']
    d.get(base + '#/domain/' + urllib.parse.quote(failed, safe=''))
    wait(lambda: text('#domain-hostname') == failed and text('#domain-detail'),
         lambda: f'#/domain/{failed} did not show the row: #domain-hostname {text("#domain-hostname")!r}, '
                 f'#domain-missing {text("#domain-missing")!r}')
    shown = text('#domain-detail')
    for needle in ('<script>window.__pwned=1</script>', '<img src=x'):
        if needle not in shown:
            fail(f'#domain-detail of {failed} lacks {needle!r} as text; it holds {shown!r}')
    if shown != detail:
        fail(f'#domain-detail of {failed} is {shown!r}, the database holds {detail!r}')
    if qa('#domain-detail *'):
        fail(f'#domain-detail holds elements: {inner("domain-detail")!r}')
    wait(lambda: qa('#timeline li.transition') or qa('#timeline li'), f'the timeline of {failed} stayed empty')
    not_pwned(f'the failed row {failed}')
    ok(f'the failed row\'s detail shows literally ({shown[:60]!r}…); window.__pwned undefined, no img[src="x"]')
    shot('row-hostile-detail')

    d.get(base + '#/domain/' + urllib.parse.quote(hostile, safe=''))
    wait(lambda: text('#domain-hostname') == hostile and text('#domain-state') and
         js('return !document.getElementById("domain-state").hidden'),
         lambda: f'#/domain/<hostile> did not show the row: #domain-hostname {text("#domain-hostname")!r}, '
                 f'#domain-missing {text("#domain-missing")!r}')
    if qa('#domain-hostname *'):
        fail(f'#domain-hostname holds elements: {inner("domain-hostname")!r}')
    if d.title != f'{hostile} · certq':
        fail(f'the tab title is {d.title!r}, expected the hostname as text')
    wait(lambda: len(qa('#timeline li.transition')) >= 1, f'the timeline of the hostile row stayed empty')
    # Let the live DNS check answer (or be refused) before looking for anything it could inject.
    wait(lambda: text('#dns-summary') != 'checking…' or js('return !document.getElementById("dns-message").hidden'),
         lambda: f'the DNS check of the hostile row never answered: #dns-summary {text("#dns-summary")!r}')
    not_pwned('the hostile row')
    ok(f'the hostile hostname shows literally ({text("#domain-hostname")!r}, {text("#domain-state")}, '
       f'title {d.title!r}); window.__pwned undefined, no img[src="x"]')
    shot('row-hostile-hostname')

    # Only 4xx answers (a DNS check the page made of names that cannot be checked, say) may
    # have reached the console since the first load.
    late = [e for e in console() if e['level'] in ('SEVERE', 'WARNING')]
    unexpected = [e for e in late if not ('Failed to load resource' in e['message'] and
                                          any(f'status of 4{x}' in e['message'] for x in range(10)))]
    if unexpected:
        fail('the console has errors or warnings besides refused requests:\n'
             + '\n'.join(f'       {e["level"]} {e["message"]}' for e in unexpected))
    ok('no console errors or warnings opening the rows'
       + (f' (besides {len(late)} refused request(s): {[e["message"] for e in late]})' if late else ''))

    # ---- phone ---------------------------------------------------------------------------
    d.execute_cdp_cmd('Emulation.setDeviceMetricsOverride',
                      {'width': 390, 'height': 844, 'deviceScaleFactor': 1, 'mobile': True})
    d.get('about:blank')
    d.get(base)
    wait(lambda: js('return document.body.dataset.ready') == '1' and qa('#chart svg') and qa('#results li.result')
         and qa('#problems li'), 'the page did not render at 390x844')
    width = js('return [window.innerWidth, document.documentElement.scrollWidth]')
    if width[0] != 390:
        fail(f'the phone viewport is {width[0]} px wide, not 390: the emulation did not take')
    if width[1] > 390:
        wide = js('const w = document.documentElement.clientWidth; return [...document.querySelectorAll("body *")]'
                  '.filter(e => e.getBoundingClientRect().right > w + 0.5).slice(0, 8)'
                  '.map(e => e.tagName.toLowerCase() + (e.id ? "#" + e.id : "") + (e.className && e.className.baseVal === undefined ? "." + e.className : "") + " right=" + Math.round(e.getBoundingClientRect().right))')
        fail(f'the overview scrolls sideways on a 390 px phone: scrollWidth {width[1]}; too wide: {wide}')
    ok(f'a 390x844 phone shows the overview without scrolling sideways (scrollWidth {width[1]})')
    wait(counts_match, lambda: f'the phone overview shows other counts than the database: {shown_counts()}')
    shot('overview-phone')
    not_pwned('the phone overview')


def text_of(d, element, css):
    return d.execute_script('const e = arguments[0].querySelector(arguments[1]); return e ? e.textContent : "";',
                            element, css)


if __name__ == '__main__':
    sys.exit(main())
