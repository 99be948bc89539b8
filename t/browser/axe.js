#!/usr/bin/env node
// Loads pages in Debian's headless Chromium the way a visitor gets them,
// runs axe-core on each and measures horizontal overflow.
//
//   node axe.js [--width=375] [--screenshot=page.png] URL
//   node axe.js --jobs=jobs.json
//
// A job is {name, url, width, screenshot}; jobs.json holds an array of them
// and all of them share one browser.  Prints a JSON array with one result per
// job on standard output; progress goes to standard error.  Exits 0 when
// every page loaded with status 200 and has no violation, 1 when some page
// has violations, 2 when a page or the browser failed.
//
// Every step is bounded: page loads and axe by --timeout (seconds, default
// 30, per page), the whole run by --deadline (seconds, default 240), after
// which the browser is killed.  Playwright starts Chromium with a fresh
// --user-data-dir under $TMPDIR and removes it when the browser closes.

'use strict';

const fs = require('fs');
const path = require('path');

const CHROMIUM = process.env.DISCLOSURE_CHROMIUM || '/usr/bin/chromium';
const AXE = require.resolve('axe-core/axe.min.js');
const PHONE_HEIGHT = 812;
const DESKTOP = { width: 1280, height: 900 };

// What the page reports about itself once it is loaded: the document's
// width against the viewport's, every .d-scroll box (does its content
// overflow it, can it scroll, does the box itself stay in the viewport),
// and the elements that stick out of the viewport on the right.
function measure() {
    const doc = document.documentElement;
    const vw = doc.clientWidth;
    const describe = (el) => {
        let s = el.tagName.toLowerCase();
        if (el.id) s += '#' + el.id;
        if (el.classList.length) s += '.' + [...el.classList].join('.');
        return s;
    };
    const boxes = [...document.querySelectorAll('.d-scroll')].map((box) => {
        const r = box.getBoundingClientRect();
        const before = box.scrollLeft;
        box.scrollLeft = box.scrollWidth;
        const moved = box.scrollLeft;
        box.scrollLeft = before;
        return {
            label: box.getAttribute('aria-labelledby') || describe(box),
            tables: [...box.querySelectorAll('table')].map(describe),
            overflowX: getComputedStyle(box).overflowX,
            scrollWidth: box.scrollWidth,
            clientWidth: box.clientWidth,
            left: Math.floor(r.left),
            right: Math.ceil(r.right),
            scrolledBy: Math.round(moved),
        };
    });
    const inBox = (el) => el.closest('.d-scroll') !== null;
    const sticking = [];
    for (const el of document.body.querySelectorAll('*')) {
        if (inBox(el)) continue;
        const r = el.getBoundingClientRect();
        if (r.width > 0 && r.right > vw + 1) {
            sticking.push({ element: describe(el), right: Math.ceil(r.right) });
        }
        if (sticking.length >= 10) break;
    }
    return {
        viewportWidth: window.innerWidth,
        clientWidth: vw,
        scrollWidth: doc.scrollWidth,
        boxes,
        sticking,
        lang: doc.getAttribute('lang'),
        title: document.title,
        tables: [...document.querySelectorAll('table')].map(describe),
    };
}


function parseArgs(argv) {
    const opt = { timeout: 30, deadline: 240, jobs: null };
    const urls = [];
    for (const a of argv) {
        const m = /^--([a-z-]+)=(.*)$/.exec(a);
        if (m && ['width', 'timeout', 'deadline'].includes(m[1])) {
            opt[m[1]] = Number(m[2]);
            if (!(opt[m[1]] > 0)) throw new Error(`bad ${a}`);
        } else if (m && m[1] === 'screenshot') {
            opt.screenshot = m[2];
        } else if (m && m[1] === 'jobs') {
            opt.jobs = m[2];
        } else if (/^--/.test(a)) {
            throw new Error(`unknown option ${a}`);
        } else {
            urls.push(a);
        }
    }
    if (opt.jobs) {
        if (urls.length) throw new Error('--jobs and a URL');
        opt.list = JSON.parse(fs.readFileSync(opt.jobs, 'utf8'));
    } else {
        if (urls.length !== 1) throw new Error('one URL, or --jobs=FILE');
        opt.list = [{ name: urls[0], url: urls[0], width: opt.width,
                      screenshot: opt.screenshot }];
    }
    return opt;
}


function log(msg) {
    process.stderr.write(`axe.js: ${msg}\n`);
}


async function check(browser, job, timeoutMs) {
    const phone = job.width && job.width < 700;
    const res = { name: job.name, url: job.url, width: job.width || DESKTOP.width };
    const context = await browser.newContext({
        viewport: phone ? { width: job.width, height: PHONE_HEIGHT }
                        : { width: job.width || DESKTOP.width, height: DESKTOP.height },
        // a phone honours <meta name="viewport">: without it the page would
        // be laid out 980 px wide and shrunk, and nothing would overflow
        isMobile: !!phone,
        hasTouch: !!phone,
        deviceScaleFactor: 1,
        locale: 'zh-CN',
        serviceWorkers: 'block',
        javaScriptEnabled: true,
    });
    context.setDefaultTimeout(timeoutMs);
    context.setDefaultNavigationTimeout(timeoutMs);

    try {
        const page = await context.newPage();
        const errors = [];
        page.on('pageerror', (e) => errors.push(String(e)));
        page.on('requestfailed', (r) => errors.push(`request failed: ${r.url()} ${r.failure() && r.failure().errorText}`));

        const response = await page.goto(job.url, { waitUntil: 'load' });
        res.status = response ? response.status() : null;
        res.contentType = response ? response.headers()['content-type'] : null;
        await page.evaluate(() => document.fonts.ready.then(() => true));

        res.layout = await page.evaluate(measure);

        await page.addScriptTag({ path: AXE });
        const axe = await page.evaluate(async () => {
            const r = await window.axe.run(document, {
                resultTypes: ['violations'],
            });
            const nodes = (list) => list.map((n) => ({
                target: n.target, html: n.html.slice(0, 300),
                summary: n.failureSummary,
            }));
            return {
                version: window.axe.version,
                violations: r.violations.map((v) => ({
                    id: v.id, impact: v.impact, help: v.help,
                    helpUrl: v.helpUrl, nodes: nodes(v.nodes),
                })),
                incomplete: r.incomplete.map((v) => v.id),
                passes: r.passes.length,
            };
        });
        Object.assign(res, { axe: axe.version, violations: axe.violations,
                             incomplete: axe.incomplete, passes: axe.passes });

        if (job.screenshot) {
            fs.mkdirSync(path.dirname(job.screenshot), { recursive: true });
            await page.screenshot({ path: job.screenshot, fullPage: true });
            res.screenshot = job.screenshot;
        }
        res.pageErrors = errors;
    } catch (e) {
        res.error = String(e && e.message || e).split('\n').slice(0, 6).join('\n');
    } finally {
        await context.close().catch(() => {});
    }
    return res;
}


async function main() {
    let opt;
    try {
        opt = parseArgs(process.argv.slice(2));
    } catch (e) {
        log(e.message);
        log('usage: node axe.js [--width=N] [--screenshot=PATH] URL | --jobs=FILE');
        return 2;
    }

    let browser;
    const results = [];
    let failed = false;

    // the whole run has a limit; past it the browser is killed and the
    // results so far are printed
    const deadline = setTimeout(() => {
        log(`the run took more than ${opt.deadline}s; killing the browser`);
        process.stdout.write(JSON.stringify(results, null, 1) + '\n');
        process.exit(2);   // playwright kills the browser it launched on exit
    }, opt.deadline * 1000);

    try {
        const { chromium } = require('playwright-core');
        browser = await chromium.launch({
            executablePath: CHROMIUM,
            headless: true,
            chromiumSandbox: false,
            timeout: opt.timeout * 1000,
            handleSIGINT: true,
            handleSIGTERM: true,
            handleSIGHUP: true,
            args: [
                '--headless', '--no-sandbox', '--disable-gpu',
                '--disable-quic', '--no-first-run',
                '--disable-background-networking',
                '--disable-component-update', '--disable-sync',
                '--no-proxy-server', '--disable-dev-shm-usage',
            ],
        });
        log(`${CHROMIUM} ${browser.version()}`);

        for (const job of opt.list) {
            const t0 = Date.now();
            const r = await check(browser, job, opt.timeout * 1000);
            r.ms = Date.now() - t0;
            results.push(r);
            const what = r.error ? `error: ${r.error.split('\n')[0]}`
                       : `${r.status}, ${r.violations.length} violation(s)`;
            log(`${job.name} @${r.width}px: ${what} (${r.ms} ms)`);
            if (r.error || r.status !== 200) failed = true;
        }
    } catch (e) {
        log(`browser: ${String(e && e.message || e).split('\n').slice(0, 8).join('\n')}`);
        failed = true;
    } finally {
        if (browser) await browser.close().catch(() => {});
        clearTimeout(deadline);
    }

    process.stdout.write(JSON.stringify(results, null, 1) + '\n');
    if (failed || results.length !== opt.list.length) return 2;
    return results.some((r) => r.violations.length) ? 1 : 0;
}


main().then((code) => { process.exitCode = code; });
