// Arcade operator dashboard. Subscribes to api/events (Server-Sent Events):
// one "scene" event with the static layout, then a state event every 250 ms
// with the server's figures, the headsets and the world. Plain JavaScript,
// nothing loaded from elsewhere.
'use strict';

const $ = (sel) => document.querySelector(sel);
const STAGE_ORDER = ['input', 'grab', 'physics', 'broadcast'];
const STAGE_COLORS = { input: '#5aa9e6', grab: '#f0b429', physics: '#9b7bea', broadcast: '#3fb67a' };
const HOST_COLOR = '#ffb454';
const PLAYER_COLORS = ['#ff6b6b', '#4ecdc4', '#ffd93d', '#6c9cff', '#ff9ff3', '#54e38e', '#ffa94d', '#c0a0ff'];
const TAG_COLORS = {
  ball: '#ffffff', paddle: '#e05a47', dart: '#ffd93d', block: '#6c9cff',
  tongs: '#c0a0ff', puck: '#ff9ff3', mallet: '#54e38e',
};

const state = { replay: {}, scene: null, last: null, resets: 0 };
window.arcadeDashboard = state; // for the console and the browser test

// ---- formatting ----

function fmtUS(us) {
  if (us == null || !isFinite(us)) return '—';
  if (us >= 1000) return (us / 1000).toFixed(us >= 10000 ? 1 : 2) + ' ms';
  return us.toFixed(us >= 100 ? 0 : 1) + ' µs';
}

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === 'class') e.className = v;
    else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c);
  return e;
}

function playerColor(id) { return PLAYER_COLORS[(id - 1 + PLAYER_COLORS.length) % PLAYER_COLORS.length]; }

// ---- canvas helpers ----

// setupCanvas sizes the backing store to the displayed size and returns a
// context drawing in CSS pixels, cleared to transparent.
function setupCanvas(canvas) {
  const dpr = window.devicePixelRatio || 1;
  const w = canvas.clientWidth, h = canvas.clientHeight;
  if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(h * dpr)) {
    canvas.width = Math.round(w * dpr);
    canvas.height = Math.round(h * dpr);
  }
  const ctx = canvas.getContext('2d');
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, w, h);
  ctx.font = '12px system-ui, "DejaVu Sans", sans-serif';
  return { ctx, w, h };
}

// ---- headsets table ----

function renderClients(ev) {
  const tbody = $('#clients tbody');
  tbody.replaceChildren();
  let lagging = 0;
  for (const c of ev.clients) {
    if (c.lagging) lagging++;
    const rate = (c.input_rate_hz == null ? '…' : c.input_rate_hz.toFixed(0) + ' Hz') +
      (c.usual_rate_hz == null ? '' : ' / ' + c.usual_rate_hz.toFixed(0));
    // Loss over the last seconds (what flags a headset); the whole
    // session's in the tooltip.
    const down = c.delivery === 'unicast' ? Math.max(c.unicast_loss_pct, 0) : Math.max(c.mcast_loss_recent_pct || 0, c.unicast_loss_pct || 0);
    const delivery = el('span', { class: 'badge ' + c.delivery, title: c.delivery_reason || c.delivery }, c.delivery);
    const status = c.lagging ? c.lag_reasons.join('; ') : 'OK';
    const row = el('tr', { 'data-id': String(c.id), class: c.lagging ? 'lagging' : '' },
      el('td', { class: 'name' }, el('span', { class: 'swatch', style: 'background:' + playerColor(c.id) }), c.name + ' #' + c.id),
      el('td', { class: 'addr' }, c.addr),
      el('td', { class: 'delivery' }, delivery),
      el('td', { class: 'rtt num', title: 'smallest round trip of the last 1–2 s, from the acknowledgements in the headset\'s datagrams' }, c.rtt_ms == null ? '—' : c.rtt_ms.toFixed(2) + ' ms'),
      el('td', { class: 'loss num', title: 'recent: to the headset multicast ' + (c.mcast_loss_recent_pct || 0).toFixed(1) + ' % (its last 8 reports, ~2 s), unicast ' +
          (c.unicast_loss_pct >= 0 ? c.unicast_loss_pct.toFixed(1) + ' % (~4 s)' : 'unknown') + '; from it ' +
          (c.upstream_loss_recent_pct || 0).toFixed(1) + ' % (the server\'s count, 5 s). Whole session: from it ' +
          (c.upstream_loss_pct || 0).toFixed(1) + ' %; multicast p90 excess over unicast ' +
          c.mcast_excess_p90_ms.toFixed(1) + ' ms; reliable channel: ' + (c.retransmits || 0) + ' retransmits, jitter ' + (c.jitter_ms || 0).toFixed(2) + ' ms' },
        '↓ ' + down.toFixed(1) + ' % · ↑ ' + (c.upstream_loss_recent_pct || 0).toFixed(1) + ' %'),
      el('td', { class: 'rate num' }, rate),
      el('td', { class: 'lat num', title: 'server-added latency of this headset\'s last 128 inputs: p50 / p99' },
        c.latency_p99_ms ? c.latency_p50_ms.toFixed(2) + ' / ' + c.latency_p99_ms.toFixed(2) + ' ms' : '—'),
      el('td', { class: 'lat num', title: 'server-added latency of this headset\'s held objects: p50 / p99' },
        c.grab_latency_p99_ms ? c.grab_latency_p50_ms.toFixed(2) + ' / ' + c.grab_latency_p99_ms.toFixed(2) + ' ms' : '—'),
      el('td', { class: 'seq num' }, String(c.last_input_seq)),
      el('td', { class: 'inputs num' }, String(c.inputs)),
      el('td', { class: 'idle num' }, c.idle_ms + ' ms'),
      el('td', { class: 'desync num' + (c.desync_mismatches_recent > 0 ? ' bad' : ''), title: 'state hashes that differed from the headset\'s state: last 10 s ' +
          c.desync_mismatches_recent + ' of ' + c.desync_checks_recent + '; whole session ' + c.desync_mismatches + ' of ' + c.desync_checks +
          (c.desync_mismatch_tick ? ' (last at tick ' + c.desync_mismatch_tick + ')' : '') + '; resyncs ' + c.desync_resyncs },
        c.desync_checks_recent ? (100 * c.desync_mismatches_recent / c.desync_checks_recent).toFixed(1) + ' %' : '—'),
      el('td', { class: 'status' + (c.lagging ? '' : ' ok') }, status));
    tbody.append(row);
  }
  $('#count').textContent = '(' + ev.clients.length + ')';
  $('#no-clients').hidden = ev.clients.length > 0;
  const summary = $('#summary');
  const ds = ev.stats;
  const desync = ds.desync_checks ? ' · desync ' + (100 * ds.desync_mismatches / ds.desync_checks).toFixed(2) + ' % of ' + ds.desync_checks + ' state hashes' : '';
  summary.textContent = (lagging ? lagging + ' lagging headset' + (lagging > 1 ? 's' : '') : '') + desync;
  summary.className = lagging ? 'bad' : '';

  const s = ev.stats;
  const chip = (label, q, n) => el('span', { class: 'chip' }, label + ' p50 ', el('b', {}, fmtUS(q.p50)),
    ' · p99 ', el('b', {}, fmtUS(q.p99)), el('span', { class: 'muted' }, ' (' + n + ' samples)'));
  const r = ev.recent;
  if (r) {
    // "Now": the last few seconds, with the whole run beside it.
    $('#latency-summary').replaceChildren(
      el('span', { class: 'muted' }, 'Server-added latency, all headsets, last ' + r.window_s.toFixed(0) + ' s:'),
      chip('input → state', r.server_added_latency_us, r.server_added_samples),
      chip('grab → state', r.server_added_grab_latency_us, r.server_added_grab_samples),
      el('span', { class: 'muted' }, ' since start: p99 ' + fmtUS(s.server_added_latency_us.p99) + ' / ' + fmtUS(s.server_added_grab_latency_us.p99)));
    return;
  }
  $('#latency-summary').replaceChildren(
    el('span', { class: 'muted' }, 'Server-added latency, all headsets, since start:'),
    chip('input → state', s.server_added_latency_us, s.server_added_samples),
    chip('grab → state', s.server_added_grab_latency_us, s.server_added_grab_samples));
}

// ---- tick budget: grouped bars per stage, log scale, with the Δt line ----

function drawBudget(ev) {
  const { ctx, w, h } = setupCanvas($('#budget'));
  const dt = 1e6 / ev.stats.tick_rate; // µs
  const stages = Object.keys(ev.stats.stage_us).sort((a, b) => {
    const ia = STAGE_ORDER.indexOf(a), ib = STAGE_ORDER.indexOf(b);
    return (ia < 0 ? 99 : ia) - (ib < 0 ? 99 : ib) || a.localeCompare(b);
  });
  const total = { p50: 0, p99: 0 };
  for (const s of stages) { total.p50 += ev.stats.stage_us[s].p50; total.p99 += ev.stats.stage_us[s].p99; }
  const groups = stages.map((s) => ({ name: s, q: ev.stats.stage_us[s], color: STAGE_COLORS[s] || '#aaa' }));
  groups.push({ name: 'sum', q: total, color: '#d0d6de' });

  const left = 62, right = 10, top = 14, bottom = 34;
  // The scale holds the host's timer lateness too: on a busy box it can
  // pass the tick period, and a line above the chart would say nothing.
  const hostP99 = ev.stats.host_probe ? ev.stats.host_timer_lateness_us.p99 : 0;
  const lo = 1, hi = Math.max(dt * 1.6, total.p99 * 1.3, hostP99 * 1.3);
  const y = (us) => top + (h - top - bottom) * (1 - Math.log(Math.max(us, lo) / lo) / Math.log(hi / lo));

  // Grid: decades.
  ctx.strokeStyle = '#2c3440'; ctx.fillStyle = '#8b95a5'; ctx.lineWidth = 1;
  ctx.textAlign = 'right'; ctx.textBaseline = 'middle';
  for (let v = 1; v <= hi; v *= 10) {
    ctx.beginPath(); ctx.moveTo(left, y(v)); ctx.lineTo(w - right, y(v)); ctx.stroke();
    ctx.fillText(fmtUS(v), left - 6, y(v));
  }
  // Bars: p50 solid, p99 lighter beside it.
  const gw = (w - left - right) / groups.length;
  const bw = Math.min(28, gw * 0.32);
  ctx.textAlign = 'center'; ctx.textBaseline = 'top';
  groups.forEach((g, i) => {
    const x0 = left + gw * i + gw / 2;
    ctx.fillStyle = g.color;
    ctx.fillRect(x0 - bw - 1, y(g.q.p50), bw, y(lo) - y(g.q.p50));
    ctx.globalAlpha = 0.55;
    ctx.fillRect(x0 + 1, y(g.q.p99), bw, y(lo) - y(g.q.p99));
    ctx.globalAlpha = 1;
    ctx.fillStyle = '#e4e8ee';
    ctx.fillText(g.name, x0, h - bottom + 4);
    ctx.fillStyle = '#8b95a5';
    ctx.fillText('p50 | p99', x0, h - bottom + 18);
  });
  // The tick period.
  ctx.strokeStyle = '#ff5d5d'; ctx.setLineDash([6, 4]); ctx.lineWidth = 2;
  ctx.beginPath(); ctx.moveTo(left, y(dt)); ctx.lineTo(w - right, y(dt)); ctx.stroke();
  ctx.setLineDash([]);
  ctx.fillStyle = '#ff5d5d'; ctx.textAlign = 'left'; ctx.textBaseline = 'bottom';
  ctx.fillText('Δt = ' + fmtUS(dt) + ' (' + ev.stats.tick_rate + ' Hz)', left + 4, y(dt) - 2);

  // The host's own timer lateness p99: what the box alone imposes.
  if (ev.stats.host_probe) {
    const hl = ev.stats.host_timer_lateness_us.p99;
    ctx.strokeStyle = HOST_COLOR; ctx.setLineDash([2, 3]); ctx.lineWidth = 2;
    ctx.beginPath(); ctx.moveTo(left, y(hl)); ctx.lineTo(w - right, y(hl)); ctx.stroke();
    ctx.setLineDash([]);
    ctx.fillStyle = HOST_COLOR; ctx.textAlign = 'right'; ctx.textBaseline = 'bottom';
    ctx.fillText('host timer p99 ' + fmtUS(hl), w - right - 4, y(hl) - 2);
  }

  const pct = (100 * total.p99 / dt).toFixed(1);
  $('#budget-note').textContent = 'Sum of stage p99: ' + fmtUS(total.p99) + ' = ' + pct + ' % of the tick. ' +
    'Ticks ' + ev.stats.ticks + ', missed ' + ev.stats.missed_ticks +
    ', tick lateness p99 ' + fmtUS(ev.stats.tick_lateness_us.p99) + '.';
}

// ---- the host's own limits beside the tick: is the box or Arcade late? ----

function renderHost(ev) {
  const s = ev.stats;
  const set = (id, text, cls) => { const e = $(id); e.textContent = text; e.className = cls || ''; };
  const tl = ev.recent ? ev.recent.tick_lateness_us : s.tick_lateness_us;
  set('#tick-late', fmtUS(tl.p50) + ' / ' + fmtUS(tl.p99) + (ev.recent ? ' (last ' + ev.recent.window_s.toFixed(0) + ' s; since start p99 ' + fmtUS(s.tick_lateness_us.p99) + ')' : ''));
  const late = s.ticks_late_host + s.ticks_late_arcade + s.ticks_late_unknown;
  if (!s.host_probe) {
    set('#host-late', 'no probe (--host-probe=false)');
    set('#host-steal', '—');
    set('#late-ticks', late + ' late, cause unknown');
    $('#host-note').textContent = '';
    return;
  }
  const hl = s.host_timer_lateness_us;
  set('#host-late', fmtUS(hl.p50) + ' / ' + fmtUS(hl.p99));
  set('#host-steal', s.cpu_steal_pct.toFixed(1) + ' %', s.cpu_steal_pct >= 20 ? 'bad' : s.cpu_steal_pct >= 5 ? 'warn' : '');
  set('#late-ticks', s.ticks_late_host + ' / ' + s.ticks_late_arcade +
    (s.ticks_late_unknown ? ' (' + s.ticks_late_unknown + ' unknown)' : ''), s.ticks_late_arcade > 0 ? 'warn' : '');
  // Whose is the tail: the tick against the bare timer loop beside it.
  const ratio = hl.p99 > 0 ? s.tick_lateness_us.p99 / hl.p99 : 0;
  $('#host-note').textContent = 'A tick is late from ' + fmtUS(s.late_tick_us) + '. ' +
    (ratio > 0 ? 'Tick lateness p99 is ' + ratio.toFixed(2) + '× the host timer\'s: ' +
      (ratio <= 1.2 ? 'the box, not Arcade, sets the tail.' : 'Arcade adds to the box\'s tail.') : '');
}

// ---- server-added latency: bars of the quantiles Report gives ----

function drawLatency(ev) {
  const { ctx, w, h } = setupCanvas($('#latency'));
  const s = ev.stats;
  const dt = 1e6 / s.tick_rate;
  const series = [
    { name: 'input → state', q: s.server_added_latency_us, n: s.server_added_samples, color: '#5aa9e6' },
    { name: 'grab → state', q: s.server_added_grab_latency_us, n: s.server_added_grab_samples, color: '#f0b429' },
  ];
  const keys = ['p50', 'mean', 'p99', 'max'];
  let hi = dt * 1.2;
  for (const sr of series) for (const k of keys) hi = Math.max(hi, (sr.q[k] || 0) * 1.15);

  const left = 48, right = 16, top = 4, bottom = 22;
  const x = (us) => left + (w - left - right) * Math.min(us, hi) / hi;
  // Per series: a title row, then one row per quantile.
  const rowH = (h - top - bottom) / (series.length * (keys.length + 1));

  // Scale: ms ticks.
  const step = hi > 40000 ? 10000 : hi > 20000 ? 5000 : hi > 8000 ? 2000 : 1000;
  ctx.strokeStyle = '#2c3440'; ctx.fillStyle = '#8b95a5'; ctx.textAlign = 'center'; ctx.textBaseline = 'top';
  for (let v = 0; v <= hi; v += step) {
    ctx.beginPath(); ctx.moveTo(x(v), top); ctx.lineTo(x(v), h - bottom); ctx.stroke();
    ctx.fillText((v / 1000) + ' ms', x(v), h - bottom + 4);
  }
  let row = 0;
  ctx.textBaseline = 'middle';
  for (const sr of series) {
    ctx.fillStyle = '#e4e8ee'; ctx.textAlign = 'left';
    ctx.fillText(sr.name + (sr.n > 0 ? '  (' + sr.n + ' samples)' : '  (no samples yet)'), 4, top + rowH * (row + 0.5));
    row++;
    for (const k of keys) {
      const yc = top + rowH * (row + 0.5);
      ctx.fillStyle = '#8b95a5'; ctx.textAlign = 'right';
      ctx.fillText(k, left - 6, yc);
      const v = sr.q[k] || 0;
      if (sr.n > 0) {
        ctx.fillStyle = sr.color;
        ctx.globalAlpha = k === 'max' ? 0.45 : 1;
        ctx.fillRect(x(0), yc - rowH * 0.35, Math.max(1, x(v) - x(0)), rowH * 0.7);
        ctx.globalAlpha = 1;
        ctx.fillStyle = '#e4e8ee'; ctx.textAlign = 'left';
        ctx.fillText(fmtUS(v), Math.min(x(v) + 4, w - right - 50), yc);
      }
      row++;
    }
  }
  ctx.strokeStyle = '#ff5d5d'; ctx.setLineDash([6, 4]); ctx.lineWidth = 2;
  ctx.beginPath(); ctx.moveTo(x(dt), top); ctx.lineTo(x(dt), h - bottom); ctx.stroke();
  ctx.setLineDash([]); ctx.lineWidth = 1;
  $('#latency-note').textContent = 'Kernel receive timestamp of every pose → hand-off to the kernel of the first send carrying it (time in the send call is apart); ' +
    'red line: one tick (' + fmtUS(dt) + '). Only the quantiles the server keeps are shown.';
}

// ---- venue: top-down x/z view ----

function drawVenue(ev) {
  const { ctx, w, h } = setupCanvas($('#venue'));
  const sc = state.scene;
  if (!sc) return;
  const solids = sc.objects.filter((o) => o.shape !== 'plane');
  const players = ev ? ev.world.players : [];
  // Fit the scene and the players, 0.5 m margin, same scale on both axes.
  let x0 = Infinity, x1 = -Infinity, z0 = Infinity, z1 = -Infinity;
  const grow = (x, z, r) => { x0 = Math.min(x0, x - r); x1 = Math.max(x1, x + r); z0 = Math.min(z0, z - r); z1 = Math.max(z1, z + r); };
  for (const o of solids) grow(o.x, o.z, o.shape === 'sphere' ? o.radius : Math.hypot(o.half[0], o.half[2]));
  for (const p of players) grow(p.head.x, p.head.z, 0.3);
  if (!isFinite(x0)) { x0 = -5; x1 = 5; z0 = -5; z1 = 5; }
  x0 -= 0.5; x1 += 0.5; z0 -= 0.5; z1 += 0.5;
  const k = Math.min(w / (x1 - x0), h / (z1 - z0));
  const ox = (w - k * (x1 - x0)) / 2 - k * x0, oz = (h - k * (z1 - z0)) / 2 - k * z0;
  const px = (x) => ox + k * x, pz = (z) => oz + k * z;

  // 1 m grid and the origin.
  ctx.strokeStyle = '#232a35'; ctx.lineWidth = 1;
  for (let gx = Math.ceil(x0); gx <= x1; gx++) { ctx.beginPath(); ctx.moveTo(px(gx), 0); ctx.lineTo(px(gx), h); ctx.stroke(); }
  for (let gz = Math.ceil(z0); gz <= z1; gz++) { ctx.beginPath(); ctx.moveTo(0, pz(gz)); ctx.lineTo(w, pz(gz)); ctx.stroke(); }
  ctx.fillStyle = '#8b95a5'; ctx.textAlign = 'left'; ctx.textBaseline = 'top';
  ctx.fillText('1 m grid', 4, 4);

  const shapeAt = (o, x, z, yaw) => {
    ctx.save();
    ctx.translate(px(x), pz(z));
    if (o.shape === 'sphere') {
      ctx.beginPath(); ctx.arc(0, 0, Math.max(2.5, k * o.radius), 0, 2 * Math.PI);
    } else {
      ctx.rotate(yaw);
      const hx = Math.max(2, k * o.half[0]), hz = Math.max(2, k * o.half[2]);
      ctx.beginPath(); ctx.rect(-hx, -hz, 2 * hx, 2 * hz);
    }
    ctx.restore();
  };

  // Static and kinematic objects, from the scene.
  const live = new Map((ev ? ev.world.entities : []).map((e) => [e.id, e]));
  for (const o of solids) {
    if (live.has(o.id)) continue;
    shapeAt(o, o.x, o.z, o.yaw);
    ctx.fillStyle = o.tag === 'table' ? '#39414f' : '#2f3642';
    ctx.strokeStyle = '#566072';
    ctx.fill(); ctx.stroke();
  }
  ctx.fillStyle = '#8b95a5'; ctx.textAlign = 'center'; ctx.textBaseline = 'top';
  for (const o of solids) {
    if (live.has(o.id) || !['table', 'wall', 'shelf'].includes(o.tag)) continue;
    const reach = Math.abs(o.half[0] * Math.sin(o.yaw)) + Math.abs(o.half[2] * Math.cos(o.yaw));
    ctx.fillText(o.name, px(o.x), pz(o.z + reach) + 3);
  }

  // Moving objects at their live poses.
  const byID = new Map(sc.objects.map((o) => [o.id, o]));
  let held = 0;
  for (const e of live.values()) {
    const o = byID.get(e.id) || { shape: 'sphere', radius: 0.05, half: [0, 0, 0] };
    shapeAt(o, e.x, e.z, e.yaw);
    ctx.globalAlpha = e.flags.sleeping ? 0.55 : 1;
    ctx.fillStyle = TAG_COLORS[e.tag] || '#cccccc';
    ctx.fill();
    ctx.globalAlpha = 1;
    if (e.flags.held) {
      held++;
      ctx.strokeStyle = '#ffffff'; ctx.lineWidth = 2;
      ctx.beginPath(); ctx.arc(px(e.x), pz(e.z), 7, 0, 2 * Math.PI); ctx.stroke();
      ctx.lineWidth = 1;
    }
  }

  // Players: head with facing, hands.
  const names = new Map((ev ? ev.clients : []).map((c) => [c.id, c]));
  for (const p of players) {
    const c = playerColor(p.id);
    const hx = px(p.head.x), hz = pz(p.head.z);
    ctx.strokeStyle = c; ctx.fillStyle = c; ctx.lineWidth = 2;
    for (const hand of [p.left, p.right]) {
      ctx.beginPath(); ctx.moveTo(hx, hz); ctx.lineTo(px(hand.x), pz(hand.z)); ctx.globalAlpha = 0.4; ctx.stroke(); ctx.globalAlpha = 1;
      ctx.beginPath(); ctx.arc(px(hand.x), pz(hand.z), 3, 0, 2 * Math.PI); ctx.fill();
    }
    ctx.beginPath(); ctx.arc(hx, hz, 8, 0, 2 * Math.PI); ctx.fill();
    ctx.beginPath(); ctx.moveTo(hx, hz); ctx.lineTo(hx + 22 * p.facing[0], hz + 22 * p.facing[1]); ctx.stroke();
    const info = names.get(p.id);
    if (info && info.lagging) {
      ctx.strokeStyle = '#ff5d5d'; ctx.beginPath(); ctx.arc(hx, hz, 13, 0, 2 * Math.PI); ctx.stroke();
    }
    ctx.fillStyle = '#e4e8ee'; ctx.textAlign = 'left'; ctx.textBaseline = 'bottom';
    ctx.fillText(info ? info.name : '#' + p.id, hx + 10, hz - 8);
    ctx.lineWidth = 1;
  }
  $('#venue-note').textContent = 'Scene "' + sc.name + '" (' + sc.source + '). ' + players.length + ' players, ' +
    live.size + ' moving objects, ' + held + ' held (white ring). Dimmed: asleep.';
}

// ---- server info ----

function renderInfo(ev) {
  const s = ev.server, st = ev.stats;
  $('#server-name').textContent = '· ' + s.name;
  document.title = 'Arcade · ' + s.name;
  const dropped = Object.entries(st.dropped).filter(([, n]) => n > 0).map(([r, n]) => r + ' ' + n).join(', ') || 'none';
  const rows = [
    ['Name', s.name], ['Version', s.version], ['Scene', s.scene], ['Tick rate', s.tick_rate + ' Hz'],
    ['Multicast group', s.multicast], ['Discovery', s.discovery],
    ...(s.pair ? [['Standby pair', s.pair]] : []),
    ['Eager updates', st.eager ? 'on (' + st.eager_updates + ' sent)' : 'off'],
    ['Delivery switches', String(st.delivery_switches)],
    ['Packets', 'rx ' + st.rx_packets + ', tx ' + st.tx_packets], ['Dropped', dropped],
    ['Dashboards open', String(s.subscribers)],
    ['Checkpoint', fmtCheckpoint(st.checkpoint)],
    ['Recording', fmtRecording(st.recording)],
  ];
  $('#info').replaceChildren(...rows.flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, v)]));
}

// The checkpoint writer's and the recording's state (StatsReport's
// checkpoint and recording; absent when off).
function fmtCheckpoint(c) {
  if (!c) return 'off';
  let t = c.written ? 'last ' + c.age_s.toFixed(1) + ' s ago (tick ' + c.last_tick + ', ' + (c.bytes / 1024).toFixed(1) + ' KiB in ' +
    c.last_write_ms.toFixed(1) + ' ms), every ' + c.every_s + ' s; ' + c.written + ' written' : 'none written yet, every ' + c.every_s + ' s';
  if (c.skipped) t += ', ' + c.skipped + ' skipped (disk slow)';
  if (c.failed) t += ', ' + c.failed + ' FAILED';
  if (c.error) t += ': ' + c.error;
  return c.file + ': ' + t;
}

function fmtRecording(r) {
  if (!r) return 'off';
  let t = (r.file || 'on') + ': ' + r.ticks + ' ticks, ' + r.events + ' events, ' + r.keyframes + ' keyframes, ' + (r.bytes / 1048576).toFixed(1) + ' MiB';
  if (r.lost_events || r.lost_keyframes) t += '; LOST ' + r.lost_events + ' events, ' + r.lost_keyframes + ' keyframes (disk slow)';
  if (r.error) t += '; error: ' + r.error;
  return t;
}

// ---- a recording served as a live session (arcade-server --replay) ----

// The card shows only while the server serves a recording: GET api/replay
// answers 404 otherwise. Its controls POST api/replay with the token.
function setupReplay() {
  const card = $('#replay'), token = takeToken();
  const post = async (body) => {
    if (!token) return;
    const resp = await fetch('api/replay', { method: 'POST', headers: { Authorization: 'Bearer ' + token, 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    if (resp.ok) showReplay(await resp.json());
    else $('#replay-note').textContent = 'refused: ' + resp.status + ' ' + (await resp.text());
  };
  $('#replay-play').addEventListener('click', () => post({ paused: !state.replay.paused }));
  $('#replay-seek').addEventListener('change', (e) => post({ seek_s: Number(e.target.value) }));
  $('#replay-speed').addEventListener('change', (e) => post({ speed: Number(e.target.value) }));
  for (const b of card.querySelectorAll('button, input, select')) b.disabled = !token;
  const poll = async () => {
    try {
      const resp = await fetch('api/replay');
      if (resp.ok) showReplay(await resp.json());
      else card.hidden = true;
    } catch (e) { /* the event stream shows the connection */ }
  };
  poll();
  setInterval(poll, 1000);
}

function showReplay(r) {
  state.replay = r;
  $('#replay').hidden = false;
  $('#replay-play').textContent = r.paused ? 'Play' : 'Pause';
  const seek = $('#replay-seek');
  seek.max = r.duration_s.toFixed(1);
  if (document.activeElement !== seek) seek.value = r.position_s.toFixed(1);
  const speed = $('#replay-speed');
  if (document.activeElement !== speed) speed.value = String(r.speed);
  $('#replay-pos').textContent = r.position_s.toFixed(1) + ' / ' + r.duration_s.toFixed(1) + ' s, recorded tick ' + r.tick;
  $('#replay-note').textContent = r.file + ' (scene "' + r.scene + '", ' + r.players + ' players)' + (r.ended ? ' · at its end' : '') +
    (r.loop ? ' · loops (' + r.loops + ')' : '') + (r.error ? ' · ' + r.error : '');
}

// ---- operator token and the reset ----

// Requests that change state need the operator token as a bearer token.
// arcade-server prints the dashboard's address with it in the fragment
// (…/#token=…): a fragment is never sent to the server, nor in a Referer.
// The page keeps it in sessionStorage (this tab only, gone when the tab
// closes) and takes it out of the address bar, so it is not bookmarked,
// shared or shown.
const TOKEN_KEY = 'arcade-operator-token';

function takeToken() {
  const m = /(?:^|&)token=([^&]*)/.exec(location.hash.slice(1));
  if (m) {
    let t = m[1];
    try { t = decodeURIComponent(t); } catch (e) { /* keep it as written */ }
    if (t) sessionStorage.setItem(TOKEN_KEY, t);
    history.replaceState(null, '', location.pathname + location.search);
  }
  return sessionStorage.getItem(TOKEN_KEY) || '';
}

function setupReset() {
  const button = $('#reset'), status = $('#reset-status');
  const show = (text, bad) => { status.textContent = text; status.className = bad ? 'bad' : 'muted'; };
  const token = takeToken();
  if (!token) {
    show('read-only: no operator token');
    return;
  }
  button.disabled = false;
  button.title = 'clear the latency and timing histograms (POST api/stats/reset)';
  button.addEventListener('click', async () => {
    button.disabled = true;
    try {
      const resp = await fetch('api/stats/reset', { method: 'POST', headers: { Authorization: 'Bearer ' + token } });
      if (resp.ok) {
        state.resets++;
        show('measurements reset at ' + new Date().toLocaleTimeString());
      } else if (resp.status === 401) {
        show('token refused (401): open the address arcade-server printed at start', true);
      } else {
        show('reset failed: ' + resp.status + ' ' + resp.statusText, true);
      }
    } catch (e) {
      show('reset failed: ' + e.message, true);
    } finally {
      button.disabled = false;
    }
  });
}

// ---- missed ticks: a warning, not grey text ----

function renderMissed(ev) {
  const m = $('#missed');
  const recent = ev.recent ? ev.recent.missed_ticks : 0;
  m.hidden = recent === 0;
  m.textContent = recent ? recent + ' tick' + (recent > 1 ? 's' : '') + ' missed in the last ' + ev.recent.window_s.toFixed(0) +
    ' s (' + ev.stats.missed_ticks + ' since start)' : '';
}

// ---- sparklines: the last two minutes of the recent figures ----

const SPARK_POINTS = 480; // 2 min of 250 ms updates
const sparks = { latency: [], loss: [], budget: [] };
state.sparks = sparks;

function pushSpark(name, v) {
  const a = sparks[name];
  a.push(v);
  if (a.length > SPARK_POINTS) a.shift();
}

function drawSpark(name, color, limit, fmt) {
  const a = sparks[name];
  const { ctx, w, h } = setupCanvas($('#spark-' + name));
  const hi = Math.max(limit || 0, ...a.filter((v) => v != null), 1e-9) * 1.1;
  const x = (i) => w - (a.length - 1 - i) * (w / SPARK_POINTS);
  const y = (v) => h - 2 - (h - 4) * Math.min(v, hi) / hi;
  if (limit) {
    ctx.strokeStyle = '#ff5d5d'; ctx.setLineDash([3, 3]);
    ctx.beginPath(); ctx.moveTo(0, y(limit)); ctx.lineTo(w, y(limit)); ctx.stroke();
    ctx.setLineDash([]);
  }
  ctx.strokeStyle = color; ctx.lineWidth = 1.5; ctx.beginPath();
  let pen = false;
  a.forEach((v, i) => {
    if (v == null) { pen = false; return; }
    if (pen) ctx.lineTo(x(i), y(v)); else ctx.moveTo(x(i), y(v));
    pen = true;
  });
  ctx.stroke();
  const last = a.length ? a[a.length - 1] : null;
  $('#spark-' + name + '-v').textContent = last == null ? '—' : fmt(last);
}

function renderSparks(ev, fresh) {
  if (!fresh) { drawSparks(ev); return; }
  const r = ev.recent;
  pushSpark('latency', r && r.server_added_samples ? r.server_added_latency_us.p99 : null);
  let worst = 0;
  for (const c of ev.clients) {
    const down = c.delivery === 'unicast' ? Math.max(c.unicast_loss_pct, 0) : Math.max(c.mcast_loss_recent_pct || 0, c.unicast_loss_pct || 0);
    worst = Math.max(worst, down, c.upstream_loss_recent_pct || 0);
  }
  pushSpark('loss', ev.clients.length ? worst : null);
  const dt = 1e6 / ev.stats.tick_rate;
  pushSpark('budget', r ? r.tick_lateness_us.p99 / dt : null);
  drawSparks(ev);
}

function drawSparks(ev) {
  const dt = 1e6 / ev.stats.tick_rate;
  drawSpark('latency', '#5aa9e6', dt, fmtUS);
  drawSpark('loss', '#f0b429', 2, (v) => v.toFixed(1) + ' %');
  drawSpark('budget', '#8fd694', 1, (v) => (100 * v).toFixed(1) + ' %');
}

// ---- the stream ----

function render(ev, fresh) {
  state.last = ev;
  renderClients(ev);
  renderMissed(ev);
  renderSparks(ev, fresh);
  drawBudget(ev);
  renderHost(ev);
  drawLatency(ev);
  drawVenue(ev);
  renderInfo(ev);
  $('#updated').textContent = 'updated ' + new Date().toLocaleTimeString();
}

function setConn(up) {
  const c = $('#conn');
  c.textContent = up ? 'live' : 'disconnected, retrying…';
  c.className = 'conn ' + (up ? 'up' : 'down');
  document.body.classList.toggle('stale', !up); // the figures shown are old
}

setupReset();
setupReplay();
const events = new EventSource('api/events');
events.onopen = () => setConn(true);
events.onerror = () => setConn(false);
events.addEventListener('scene', (e) => { state.scene = JSON.parse(e.data); drawVenue(state.last); });
events.onmessage = (e) => { setConn(true); render(JSON.parse(e.data), true); };
window.addEventListener('resize', () => { if (state.last) render(state.last, false); });
