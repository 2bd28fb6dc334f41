// The MERG viewer page: a head, the session's voice, and what the avatar thinks.
//
// Messages arrive from the bridge as binary WebSocket frames holding the server's own
// MessagePack bytes (text frames are the bridge's JSON status). The AudioContext's clock
// decides which face frame shows (player.js). `window.mergViewer` holds counters that the
// tests read; they cost nothing and help when debugging a renderer.
import * as THREE from 'three';
import { decode } from '@msgpack/msgpack';
import { Head } from './head.js';
import { TurnPlayer } from './player.js';
import * as panel from './panel.js';

const PLAYBACK_REPORT_MS = 250;

const stats = {
  status: 'loading', statusMessage: '', sid: null, own: false, opened: false,
  headLoaded: false, morphTargets: 0, morphTargetsTotal: 0, missing: [], eyeMode: null,
  messages: 0, framesReceived: 0, framesApplied: 0, lastAppliedFrame: -1, audioClockFrame: -1,
  maxFrameLag: 0, missingFrames: 0, syncSamples: 0, maxSyncErrMs: 0, maxShownErrMs: 0,
  shownErrP95Ms: 0, displayFrameMs: 0, maxDisplayFrameMs: 0,
  audioChunksScheduled: 0, audioScheduledS: 0, lateChunks: 0,
  jawOpenMax: 0, jawOpenNow: 0, maxInfluence: 0, playing: false,
  turnsStarted: 0, turnsEnded: 0, turnsDropped: 0, sourcesStopped: 0, lastTurnEnd: null,
  captions: [], affect: null, strategy: null, clock: null, audioState: null,
  outputLatencyMs: 0,
};
window.mergViewer = stats;

const ctx = new AudioContext({ latencyHint: 'interactive' });
const player = new TurnPlayer(ctx, stats);
const scene = new THREE.Scene();
scene.background = new THREE.Color(0x15181d);
scene.add(new THREE.HemisphereLight(0xffffff, 0x40444c, 1.6));
const key = new THREE.DirectionalLight(0xffffff, 1.6);
key.position.set(0.6, 0.8, 1.2);
scene.add(key);
const canvas = document.getElementById('view');
const renderer = new THREE.WebGLRenderer({ canvas, antialias: true, preserveDrawingBuffer: true });
renderer.setPixelRatio(Math.min(2, window.devicePixelRatio));
const camera = new THREE.PerspectiveCamera(28, 1, 0.01, 20);
const head = new Head(scene);
let ws = null;
let textKind = null;

function resize() {
  const { clientWidth: w, clientHeight: h } = canvas;
  renderer.setSize(w, h, false);
  camera.aspect = w / Math.max(1, h);
  camera.updateProjectionMatrix();
}
new ResizeObserver(resize).observe(canvas);

function frameCamera({ box, size }) {
  const faceCenter = new THREE.Vector3(
    (box.min.x + box.max.x) / 2, box.min.y + 0.64 * size.y, box.max.z);
  const distance = (size.y * 0.5) / Math.tan(THREE.MathUtils.degToRad(camera.fov / 2));
  // the root hangs off the pivot at its own offset, so world coordinates are the file's
  camera.position.set(faceCenter.x, faceCenter.y, faceCenter.z + distance);
  camera.lookAt(faceCenter.x, faceCenter.y, box.min.z + size.z / 2);
}

function status(text, level = '') {
  panel.setStatus(text, level);
  stats.statusMessage = text;
}

function onStatus(message) {
  stats.status = message.status;
  const level = { error: 'error', unknown_session: 'warn', closed: 'warn', read_only: 'warn' };
  status(message.message, level[message.status] || '');
  if (message.sid) { stats.sid = message.sid; panel.showSession(message.sid, null); }
  if (message.own) { stats.own = true; textKind = message.text_kind; }
}

function onMessage(msg) {
  stats.messages++;
  switch (msg.type) {
    case 'session.opened': {
      stats.opened = true;
      panel.showSession(msg.sid, msg.rig);
      stats.missing = head.bind(msg.rig.names);
      stats.morphTargets = head.found.length;
      panel.showMissing(stats.missing);
      if (stats.own) panel.enableTalk(textKind);
      break;
    }
    case 'user.affect': stats.affect = msg.emotion; panel.showAffect(msg); break;
    case 'reasoning': stats.strategy = msg.chain?.strategy ?? null; panel.showReasoning(msg); break;
    case 'safety': panel.showSafety(msg); break;
    case 'turn.start': panel.setCaption(''); break;
    case 'turn.end': if (msg.reason === 'interrupted') panel.setCaption(''); break;
    case 'user.speech':  // the user cut off a turn the server had already sent in full
      if (msg.interrupts != null && player.turn?.number === msg.interrupts) {
        player.stop('interrupted');
        panel.setCaption('');
      }
      break;
    case 'session.closed': status(`session ${msg.sid} was closed`, 'warn'); break;
    default: break;
  }
  player.handle(msg);
}

function connect(query) {
  ws = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws?${query}`);
  ws.binaryType = 'arraybuffer';
  ws.onmessage = (event) => {
    if (typeof event.data === 'string') onStatus(JSON.parse(event.data));
    else onMessage(decode(new Uint8Array(event.data)));
  };
  ws.onclose = () => { stats.status = 'disconnected'; status('disconnected from the bridge', 'error'); };
}

// --- the display loop: the audio clock picks the face frame -------------------------------
const intervals = [];
let lastTick = 0;
let shown = null; // {turn, index}: the frame on screen since the last tick
let lastReport = 0;
const shownErrors = []; // ms, while audio plays: the frame on screen against the clock

function percentile(values, q) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] : 0;
}

function tick(nowMs) {
  requestAnimationFrame(tick);
  if (lastTick) {
    intervals.push(nowMs - lastTick);
    if (intervals.length > 120) intervals.shift();
    stats.displayFrameMs = [...intervals].sort((a, b) => a - b)[intervals.length >> 1];
  }
  lastTick = nowMs;
  stats.audioState = ctx.state;
  stats.playing = player.turn !== null;
  const turn = player.turn;
  const t = player.clock();
  if (turn && t !== null && t >= 0) {
    const fps = player.fps;
    const inAudio = t < turn.audioEnd;
    if (shown && shown.turn === turn && inAudio) { // what was on screen, against the clock now
      const error = Math.abs(t - shown.index / fps) * 1000;
      stats.maxShownErrMs = Math.max(stats.maxShownErrMs, error);
      if (shownErrors.length < 20000) shownErrors.push(error);
      if (shownErrors.length % 30 === 1) stats.shownErrP95Ms = percentile(shownErrors, 0.95);
      stats.maxDisplayFrameMs = Math.max(stats.maxDisplayFrameMs, intervals[intervals.length - 1]);
    }
    const want = Math.floor(t * fps);
    stats.audioClockFrame = want;
    const index = Math.min(want, turn.frames - 1);
    const found = index >= 0 ? turn.frame(index) : null;
    if (found) {
      const { chunk, row } = found;
      const width = player.width;
      head.apply(
        chunk.weights.subarray(row * width, (row + 1) * width),
        chunk.head ? chunk.head.subarray(row * 3, row * 3 + 3) : null,
        chunk.eyes ? chunk.eyes.subarray(row * 4, row * 4 + 4) : null,
      );
      stats.framesApplied++;
      stats.lastAppliedFrame = index;
      stats.jawOpenNow = head.value('jawOpen');
      stats.jawOpenMax = Math.max(stats.jawOpenMax, stats.jawOpenNow);
      stats.maxInfluence = Math.max(stats.maxInfluence, head.maxInfluence());
      shown = { turn, index };
      if (inAudio) {
        stats.syncSamples++;
        stats.maxFrameLag = Math.max(stats.maxFrameLag, want - index);
        if (want > index) stats.missingFrames++;
        stats.maxSyncErrMs = Math.max(stats.maxSyncErrMs, Math.abs(t - index / fps) * 1000);
      }
    }
    for (const text of player.dueCaptions(t)) {
      panel.setCaption(text);
      panel.addLine('avatar', text);
      stats.captions.push(text);
    }
    if (stats.own && inAudio && nowMs - lastReport > PLAYBACK_REPORT_MS && ws?.readyState === 1) {
      lastReport = nowMs;
      ws.send(JSON.stringify({ type: 'playback', turn: turn.number, t }));
    }
    if (turn.ended && t > turn.audioEnd + 0.3) { player.turn = null; panel.setCaption(''); }
  } else if (!turn) {
    head.relax(0.9);
    stats.jawOpenNow = head.value('jawOpen');
  }
  renderer.render(scene, camera);
}

// --- the page -------------------------------------------------------------------------------
function wireTalk() {
  document.getElementById('talk').addEventListener('submit', (event) => {
    event.preventDefault();
    const input = document.getElementById('text');
    const text = input.value.trim();
    if (!text || !ws || ws.readyState !== 1) return;
    ctx.resume();
    ws.send(JSON.stringify({ type: 'text', text }));
    if (textKind === 'user.text') panel.addLine('user', text);
    input.value = '';
  });
  document.getElementById('stop').addEventListener('click', () => {
    // The server sends a turn faster than it plays: it may have finished sending already,
    // so what is still scheduled here is dropped here, whatever the server answers.
    ws?.send(JSON.stringify({ type: 'interrupt' }));
    player.stop('interrupted');
    panel.setCaption('');
  });
  const sound = document.getElementById('sound');
  const unlock = () => ctx.resume().then(() => { sound.hidden = true; });
  sound.addEventListener('click', unlock);
  document.addEventListener('pointerdown', unlock, { once: true });
  setTimeout(() => { sound.hidden = ctx.state === 'running'; }, 500);
}

async function main() {
  wireTalk();
  resize();
  requestAnimationFrame(tick);
  const config = await (await fetch('/api/config')).json();
  stats.outputLatencyMs = (ctx.outputLatency || ctx.baseLatency || 0) * 1000;
  try {
    frameCamera(await head.load(config.head));
  } catch (error) {
    status(`could not load the head ${config.head}: ${error.message}`, 'error');
    stats.status = 'head_error';
    return;
  }
  stats.headLoaded = true;
  stats.eyeMode = head.eyeMode;
  stats.morphTargetsTotal = head.targetCount;
  stats.missing = panel.showHead(config.head, head, config.expected);
  stats.morphTargets = config.expected.length - stats.missing.length;
  const params = new URLSearchParams(location.search);
  const sid = params.get('sid') || config.sid;
  if (params.get('own') === '1' || (!params.get('sid') && config.own)) {
    status('opening a session…');
    connect('own=1');
  } else if (sid) {
    status(`waiting for session ${sid}`);
    connect(`sid=${encodeURIComponent(sid)}`);
  } else {
    status('pick a session to watch, or talk to a new avatar');
    stats.status = 'picker';
    const refresh = () => panel.showPicker().then((s) => { stats.sessions = s.length; });
    document.getElementById('refresh').addEventListener('click', refresh);
    await refresh();
  }
}

main();
