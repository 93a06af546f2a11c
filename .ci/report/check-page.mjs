// Loads an HTML page in a running headless Chromium over the DevTools
// protocol and fails (exit 1) on any console error, uncaught exception,
// browser-logged error, image that does not decode, or request that leaves
// the page (a report must be self-contained).
//   node --experimental-websocket check-page.mjs PORT FILE.html
// Node 20's experimental WebSocket is the only client: no npm packages.
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const [port, file] = process.argv.slice(2);
if (!file) { console.error('usage: check-page.mjs PORT FILE.html'); process.exit(2); }
const url = pathToFileURL(resolve(file)).href;
const problems = [];

const target = await (await fetch(`http://127.0.0.1:${port}/json/new?about:blank`, { method: 'PUT' })).json();
const ws = new WebSocket(target.webSocketDebuggerUrl);
await new Promise((ok, fail) => { ws.onopen = ok; ws.onerror = () => fail(new Error('cannot connect to ' + target.webSocketDebuggerUrl)); });
let id = 0;
const pending = new Map();
const waiters = [];
ws.onmessage = (ev) => {
  const m = JSON.parse(ev.data);
  if (m.id && pending.has(m.id)) { pending.get(m.id)(m); pending.delete(m.id); return; }
  switch (m.method) {
    case 'Runtime.exceptionThrown': {
      const d = m.params.exceptionDetails;
      problems.push(`uncaught exception: ${d.exception?.description ?? d.text} (line ${d.lineNumber})`);
      break;
    }
    case 'Runtime.consoleAPICalled':
      if (['error', 'assert'].includes(m.params.type)) {
        problems.push(`console.${m.params.type}: ${m.params.args.map((a) => a.value ?? a.description).join(' ')}`);
      }
      break;
    case 'Log.entryAdded':
      if (m.params.entry.level === 'error') problems.push(`browser error (${m.params.entry.source}): ${m.params.entry.text} ${m.params.entry.url ?? ''}`);
      break;
    case 'Network.requestWillBeSent': {
      const u = m.params.request.url;
      if (!u.startsWith('data:') && u !== url && !u.startsWith('about:')) problems.push(`request outside the page: ${u}`);
      break;
    }
  }
  for (const w of waiters.splice(0)) w(m);
};
const send = (method, params = {}) => new Promise((ok) => { const i = ++id; pending.set(i, ok); ws.send(JSON.stringify({ id: i, method, params })); });
const event = (name, ms) => new Promise((ok, fail) => {
  const t = setTimeout(() => fail(new Error(`no ${name} within ${ms} ms`)), ms);
  const wait = (m) => { if (m.method === name) { clearTimeout(t); ok(m); } else waiters.push(wait); };
  waiters.push(wait);
});

for (const d of ['Runtime', 'Log', 'Page', 'Network']) await send(`${d}.enable`);
const loaded = event('Page.loadEventFired', 30000);
await send('Page.navigate', { url });
await loaded;
await new Promise((ok) => setTimeout(ok, 500)); // late errors
const probe = await send('Runtime.evaluate', {
  returnByValue: true,
  expression: `JSON.stringify({title: document.title, images: document.images.length,
    broken: [...document.images].filter(i => !i.complete || i.naturalWidth === 0).map(i => i.alt || i.src.slice(0, 40)),
    tables: document.querySelectorAll('table').length, text: document.body.innerText.length})`,
});
const page = JSON.parse(probe.result.result.value);
if (!page.title) problems.push('the page has no title');
if (page.images === 0) problems.push('the page shows no figure');
for (const b of page.broken) problems.push(`image does not decode: ${b}`);
if (page.tables === 0) problems.push('the page has no table');
await send('Page.close').catch(() => {});
ws.close();
if (problems.length) {
  console.error(`report check: ${problems.length} problem(s) in ${file}:`);
  for (const p of problems) console.error('  ' + p);
  process.exit(1);
}
console.log(`report check: ${file} renders: "${page.title}", ${page.images} figures, ${page.tables} tables, ${page.text} characters, no console errors`);
process.exit(0);
