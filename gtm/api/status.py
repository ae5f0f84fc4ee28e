"""GET /status: a live status page for people. One self-contained HTML page: it reads
/v1/pools and /v1/anycast and follows /v1/events/stream, so it needs nothing but this server."""

from __future__ import annotations

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>gtm status</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
 body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5rem; color: #222; }
 h1 { font-size: 1.3rem; } h2 { font-size: 1.05rem; margin-top: 1.5rem; }
 table { border-collapse: collapse; width: 100%; }
 th, td { text-align: left; padding: .3rem .6rem; border-bottom: 1px solid #ddd; }
 .up { color: #0a7d28; font-weight: 600; } .down { color: #c0262d; font-weight: 600; }
 .unknown { color: #8a6d00; } .muted { color: #777; } #stale { color: #c0262d; }
 code { font-size: 12px; }
</style></head><body>
<h1>gtm <span class="muted" id="version"></span> <span id="stale"></span></h1>
<div id="pools">loading...</div>
<div id="anycast"></div>
<h2>Events</h2><table id="events"><tr><th>time</th><th>type</th><th>detail</th></tr></table>
<script>
const esc = s => String(s).replace(/[&<>"']/g, c => ({'&':'&amp;','<':'&lt;','>':'&gt;',
  '"':'&quot;',"'":'&#39;'}[c]));
const state = s => `<span class="${esc(s)}">${esc(s)}</span>`;
async function pools() {
  const r = await fetch('/v1/pools'); const data = await r.json();
  document.getElementById('version').textContent = 'health view ' + data.version;
  document.getElementById('stale').textContent = data.stale ? '(stale: Redis unreachable)' : '';
  let html = '';
  for (const p of data.pools) {
    const o = p.override;
    const forced = o ? ` (override: ${esc(o.state)}, ${esc(o.reason)})` : '';
    html += `<h2>${esc(p.name)} ${state(p.state)}<span class="muted">${forced}
      &nbsp; ${p.endpoints_up}/${p.endpoints.length} up, min ${p.min_healthy}</span></h2>
      <table><tr><th>endpoint</th><th>state</th><th>real</th><th>reason</th><th>votes</th></tr>`;
    for (const e of p.endpoints) {
      const votes = e.votes.map(v => `${esc(v.checker)}: ${state(v.state)}` +
        (v.rtt_ms === null ? '' : ` ${v.rtt_ms.toFixed(1)} ms`) +
        ` <span class="muted">${esc(v.detail)}, ${v.age.toFixed(1)} s ago</span>`).join('<br>');
      html += `<tr><td><code>${esc(e.address)}</code></td><td>${state(e.state)}</td>
        <td>${state(e.real_state)}</td><td>${esc(e.reason)}</td><td>${votes}</td></tr>`;
    }
    html += '</table>';
  }
  document.getElementById('pools').innerHTML = html || 'no pools';
}
async function anycast() {
  const data = await (await fetch('/v1/anycast')).json();
  let html = data.prefixes.length ? '<h2>Anycast</h2>' : '';
  for (const p of data.prefixes) {
    html += `<h3><code>${esc(p.prefix)}</code> ${p.announced ? state('up') : state('down')}</h3>
      <table><tr><th>PoP</th><th>state</th><th>reason</th><th>hold-down left</th>
      <th>damping penalty</th><th>AS path</th><th>catchment</th></tr>`;
    for (const r of p.pops) {
      const s = r.state === 'announced' || r.state === 'kept' ? 'up' : 'down';
      html += `<tr><td>${esc(r.pop)}</td><td><span class="${s}">${esc(r.state)}</span></td>
        <td>${esc(r.reason)}</td><td>${r.hold_down_left.toFixed(1)} s</td>
        <td>${r.penalty.toFixed(0)}${r.suppressed ? ' (suppressed)' : ''}</td>
        <td><code>${r.as_path.join(' ')}</code></td>
        <td>${(100 * r.catchment_share).toFixed(0)} %</td></tr>`;
    }
    html += '</table>';
  }
  document.getElementById('anycast').innerHTML = html;
}
function addEvent(e) {
  const row = document.getElementById('events').insertRow(1);
  const {id, at, type, ...rest} = e;
  row.innerHTML = `<td>${new Date(at * 1000).toLocaleTimeString()}</td><td>${esc(type)}</td>
    <td><code>${esc(JSON.stringify(rest))}</code></td>`;
}
async function start() {
  await pools(); await anycast();
  const recent = await (await fetch('/v1/events?limit=20')).json();
  for (const e of recent.events.reverse()) addEvent(e);
  const stream = new EventSource('/v1/events/stream');
  stream.onmessage = stream.onerror = null;
  for (const t of ['endpoint', 'pool', 'override', 'reload', 'geodb', 'health', 'anycast'])
    stream.addEventListener(t, m => { addEvent(JSON.parse(m.data)); pools(); anycast(); });
  setInterval(() => { pools(); anycast(); }, 5000);
}
start();
</script></body></html>
"""
