/**
 * The page frame: escaping, the stylesheet (light and dark from prefers-color-scheme) and the
 * small inline scripts for the live parts. Everything is in the page: no build step, no CDN.
 */

export function esc(s: unknown): string {
  return String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

export function ago(ms: number, now = Date.now()): string {
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h${String(Math.floor(s / 60) % 60).padStart(2, '0')}m`;
  return `${Math.floor(s / 86400)}d`;
}

const CSS = `
:root{color-scheme:light dark;--bg:#fff;--fg:#1b1f24;--mute:#6a737d;--line:#d8dee4;--card:#f6f8fa;--mass:#5b8def;--sus:#d9480f;--crash:#d73a49;--clean:#22863a;--skip:#959da5;--fly:#e3a008;--link:#0969da}
@media (prefers-color-scheme:dark){:root{--bg:#0d1117;--fg:#e6edf3;--mute:#8b949e;--line:#30363d;--card:#161b22;--mass:#4c8dff;--sus:#ff7b39;--crash:#f85149;--clean:#3fb950;--skip:#6e7681;--fly:#d29922;--link:#58a6ff}}
body{margin:0;background:var(--bg);color:var(--fg);font:14px/1.45 system-ui,sans-serif}
header{display:flex;gap:1.2em;align-items:baseline;padding:.6em 1.2em;border-bottom:1px solid var(--line)}
header b{font-size:1.1em}main{padding:0 1.2em 2em}a{color:var(--link)}
table{border-collapse:collapse;margin:.5em 0}th,td{text-align:left;padding:.25em .8em .25em 0;border-bottom:1px solid var(--line);vertical-align:top}
th{color:var(--mute);font-weight:600}code,pre,.mono{font-family:ui-monospace,monospace;font-size:12.5px}
pre{background:var(--card);border:1px solid var(--line);padding:.6em;overflow:auto;max-height:32em;white-space:pre-wrap}
.mute{color:var(--mute)}.state-succeeded{color:var(--clean)}.state-failed,.state-cancelled{color:var(--crash)}.state-running,.state-queued{color:var(--fly)}
.chart{width:100%;max-width:1000px;height:auto;background:var(--card);border:1px solid var(--line)}
.chart .grid{stroke:var(--line)}.chart .axis{fill:var(--mute);font-size:11px}.chart .axisline{stroke:var(--mute)}
.chart .mass{fill:var(--mass)}.chart .suspect{fill:var(--sus)}.chart .v-crash{fill:var(--crash)}.chart .v-clean{fill:var(--clean)}
.chart .v-skip{stroke:var(--skip);stroke-width:2}.chart .inflight{fill:var(--fly)}.chart .tag{stroke:var(--mute);stroke-dasharray:2 2}
.legend span{margin-right:1em}.dot{display:inline-block;width:.8em;height:.8em;border-radius:50%;vertical-align:middle}
.kv td:first-child{color:var(--mute)}.bad{color:var(--crash)}
`;

export function page(title: string, body: string, script = ''): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${esc(title)} · multisect</title><style>${CSS}</style></head><body>
<header><b>multisect</b><a href="/jobs">jobs</a><a href="/agents">agents</a><span class="mute">${esc(title)}</span></header>
<main>${body}</main>${script ? `<script>${script}</script>` : ''}</body></html>`;
}

/** Jobs and agents pages: the main part is fetched again every few seconds. */
export const REFRESH_SCRIPT = `setInterval(async()=>{try{const r=await fetch(location.href,{headers:{accept:'text/html'}});if(!r.ok)return;const d=new DOMParser().parseFromString(await r.text(),'text/html');document.querySelector('main').replaceWith(d.querySelector('main'))}catch(e){}},5000);`;

/**
 * The job page: server-sent events replace the live sections (rendered on the server, so the
 * browser draws nothing itself), and elapsed times tick every second.
 */
export const JOB_SCRIPT = `(()=>{const es=new EventSource(location.pathname.replace(/\\/?$/,'')+'/events');
es.addEventListener('update',e=>{const d=JSON.parse(e.data);for(const[k,v]of Object.entries(d)){const el=document.getElementById(k);if(el)el.innerHTML=v}document.body.dataset.version=String(Number(document.body.dataset.version||0)+1)});
es.addEventListener('end',()=>es.close());
const fmt=s=>s<60?s+'s':Math.floor(s/60)+'m'+String(s%60).padStart(2,'0')+'s';
setInterval(()=>{for(const el of document.querySelectorAll('[data-since]'))el.textContent=fmt(Math.max(0,Math.round((Date.now()-Number(el.dataset.since))/1000)))},1000)})();`;
