// The side panel: session, the user's affect, the chain of empathy, the words, the status.
const $ = (id) => document.getElementById(id);

export function setStatus(text, level = '') {
  const el = $('status');
  el.textContent = text;
  el.className = level;
}

export function showSession(sid, rig) {
  $('sid').textContent = sid || '–';
  $('rig').textContent = rig ? `${rig.name} (${rig.names.length} names)` : '–';
}

export function showHead(url, head, expected) {
  const missing = expected.filter((name) => head.slots(name).length === 0);
  $('head-info').textContent =
    `${url.split('/').pop()}: ${expected.length - missing.length} of ${expected.length} ` +
    `ARKit targets, gaze by ${head.eyeMode}`;
  showMissing(missing);
  return missing;
}

export function showMissing(missing) {
  const el = $('missing');
  el.hidden = missing.length === 0;
  el.textContent = missing.length
    ? `This head lacks ${missing.length} morph target(s), not driven: ${missing.join(', ')}`
    : '';
}

function bar(label, value, lo, hi) {
  const row = document.createElement('div');
  row.className = 'bar';
  const fraction = (value - lo) / (hi - lo);
  row.innerHTML = '<span></span><span class="track"><span class="fill"></span></span><span></span>';
  row.children[0].textContent = label;
  const fill = row.querySelector('.fill');
  if (lo < 0) { // centred bar for [-1, 1]
    const mid = 50;
    const end = Math.max(0, Math.min(100, fraction * 100));
    fill.style.left = `${Math.min(mid, end)}%`;
    fill.style.width = `${Math.abs(end - mid)}%`;
  } else {
    fill.style.width = `${Math.max(0, Math.min(1, fraction)) * 100}%`;
  }
  row.children[2].textContent = value.toFixed(2);
  return row;
}

export function showAffect(msg) {
  const parts = [`${msg.emotion}`];
  if (msg.fine_emotion && msg.fine_emotion !== msg.emotion) parts.push(`(${msg.fine_emotion})`);
  parts.push(`confidence ${msg.confidence.toFixed(2)}`);
  if (msg.cause) parts.push(`— about “${msg.cause}”`);
  $('affect-line').textContent = parts.join(' ');
  const vad = $('vad');
  vad.replaceChildren(
    bar('valence', msg.vad[0], -1, 1), bar('arousal', msg.vad[1], -1, 1),
    bar('dominance', msg.vad[2], -1, 1));
}

const CHAIN_KEYS = [
  ['need', (c) => c.need + (c.need_reason ? ` — ${c.need_reason}` : '')],
  ['stage', (c) => c.stage],
  ['strategy', (c) => c.strategy],
  ['avatar feels', (c) => c.avatar_emotion &&
    `${c.avatar_emotion} ${Number(c.avatar_intensity ?? 0).toFixed(2)}`],
];

export function showReasoning(msg) {
  const chain = msg.chain || {};
  const list = $('chain-list');
  list.replaceChildren();
  for (const [label, read] of CHAIN_KEYS) {
    const value = read(chain);
    if (value == null || value === '') continue;
    const dt = document.createElement('dt');
    dt.textContent = label;
    const dd = document.createElement('dd');
    dd.textContent = value;
    list.append(dt, dd);
  }
  const scores = Object.entries(chain.strategy_scores || {}).sort((a, b) => b[1] - a[1]);
  for (const [name, score] of scores.slice(0, 4)) {
    const dd = document.createElement('dd');
    dd.style.gridColumn = '1 / -1';
    dd.append(bar(name.split(' ')[0], score, 0, 1));
    list.append(dd);
  }
  $('safety').hidden = !chain.safety;
}

export function showSafety(msg) {
  const el = $('safety');
  el.hidden = false;
  el.textContent = `Safety: ${msg.category} (${msg.severity}) — “${msg.matched}”`;
}

export function addLine(who, text) {
  const li = document.createElement('li');
  li.className = who;
  li.textContent = text;
  const list = $('transcript');
  list.append(li);
  while (list.children.length > 200) list.firstChild.remove();
  li.scrollIntoView({ block: 'nearest' });
}

export function setCaption(text) {
  $('caption').textContent = text;
}

export function enableTalk(kind) {
  $('text').disabled = false;
  $('send').disabled = false;
  $('stop').disabled = false;
  $('text').placeholder = kind === 'user.text'
    ? 'Say something to the avatar…' : 'A line for the avatar to say…';
}

export async function showPicker() {
  $('picker').hidden = false;
  const list = $('sessions');
  list.replaceChildren();
  const response = await fetch('/api/sessions');
  const { sessions } = await response.json();
  if (sessions.length === 0) {
    const li = document.createElement('li');
    li.textContent = 'no live sessions on the server';
    list.append(li);
  }
  for (const s of sessions) {
    const li = document.createElement('li');
    const a = document.createElement('a');
    a.href = `/?sid=${encodeURIComponent(s.sid)}`;
    a.textContent = s.sid;
    li.append(a, ` ${s.rig ?? '?'} ${s.fps ?? '?'} fps${s.busy ? ', speaking' : ''}` +
      `${s.viewer ? ', a viewer’s' : ''}`);
    list.append(li);
  }
  return sessions;
}
