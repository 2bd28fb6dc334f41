// One session's turns on the audio clock.
//
// docs/protocol.md's timing model: audio sample k of a turn plays at k / sample_rate s and
// face frame i shows at i / fps s, both from the turn's start. So the page puts the turn's
// start on the AudioContext's clock once (when its first audio arrives, a little ahead),
// schedules every chunk at start + t0 / sample_rate, and on each display frame shows face
// frame floor((audio clock - start) * fps). The audio clock drives the face; no timer of
// the page's own can drift from the voice. The server sends every face frame before the
// audio that covers it, so the frame is there by the time its audio plays.

/** Headroom between the first chunk's arrival and its playback: network jitter and the
 * first chunk's decoding must fit in it. */
export const LEAD_S = 0.12;

function floats(bin) {
  // msgpack bin arrives as a view at any byte offset; copying aligns it for Float32Array
  return new Float32Array(bin.slice().buffer);
}

class Turn {
  constructor(number) {
    this.number = number;
    this.start = null; // AudioContext time of the turn timeline's 0
    this.chunks = []; // face: {f0, count, weights, head, eyes}, contiguous, in order
    this.frames = 0;
    this.sources = [];
    this.samplesEnd = 0; // end of the audio on the turn timeline, in samples
    this.sampleRate = 0;
    this.captions = []; // {t, text}, revealed by the clock
    this.ended = null; // turn.end reason
  }

  get audioEnd() { return this.sampleRate ? this.samplesEnd / this.sampleRate : 0; }

  frame(index) {
    // chunks are contiguous: f0 of each equals the previous f0 + count
    const chunks = this.chunks;
    let lo = 0;
    let hi = chunks.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const chunk = chunks[mid];
      if (index < chunk.f0) hi = mid - 1;
      else if (index >= chunk.f0 + chunk.count) lo = mid + 1;
      else return { chunk, row: index - chunk.f0 };
    }
    return null;
  }
}

export class TurnPlayer {
  constructor(ctx, stats) {
    this.ctx = ctx;
    this.stats = stats;
    this.turn = null;
    this.newest = -1; // the newest turn number begun here, so a stopped turn stays stopped
    this.fps = 60;
    this.sampleRate = 22050;
    this.width = 0;
  }

  opened(msg) {
    this.stop('replaced'); // a session (re)opened: its turns are numbered afresh
    this.newest = -1;
    this.fps = msg.fps;
    this.sampleRate = msg.sample_rate;
    this.width = msg.rig.names.length;
  }

  // The audible time on the AudioContext's clock: what the listener hears now, not what
  // the context is rendering (currentTime runs ahead of the speaker by the output latency).
  now() {
    const ctx = this.ctx;
    if (ctx.getOutputTimestamp) {
      const ts = ctx.getOutputTimestamp();
      if (ts.contextTime > 0 && ts.performanceTime > 0) {
        const t = ts.contextTime + (performance.now() - ts.performanceTime) / 1000;
        this.stats.clock = 'output';
        return Math.min(t, ctx.currentTime);
      }
    }
    this.stats.clock = 'current';
    return ctx.currentTime - (ctx.outputLatency || ctx.baseLatency || 0);
  }

  // Seconds on the current turn's timeline by the audio clock, or null before its audio.
  clock() {
    const turn = this.turn;
    if (!turn || turn.start === null) return null;
    return this.now() - turn.start;
  }

  turnFor(number) {
    if (this.turn && this.turn.number === number) return this.turn;
    // a stale message of an old turn, or a late one of a turn stopped here (the server may
    // still be sending what the user dropped: it must not begin that turn again)
    if (number <= this.newest) return null;
    this.stop('replaced'); // the server ends a turn before the next starts; we may have joined late
    this.turn = new Turn(number);
    this.newest = number;
    return this.turn;
  }

  handle(msg) {
    switch (msg.type) {
      case 'session.opened': this.opened(msg); break;
      case 'turn.start': this.turnFor(msg.turn); this.stats.turnsStarted++; break;
      case 'face': this.face(msg); break;
      case 'audio': this.audio(msg); break;
      case 'reply': this.reply(msg); break;
      case 'turn.end': this.end(msg); break;
      default: break;
    }
  }

  face(msg) {
    const turn = this.turnFor(msg.turn);
    if (!turn) return;
    turn.chunks.push({
      f0: msg.f0,
      count: msg.count,
      weights: floats(msg.weights),
      head: msg.head ? floats(msg.head) : null,
      eyes: msg.eyes ? floats(msg.eyes) : null,
    });
    turn.frames = msg.f0 + msg.count;
    this.stats.framesReceived += msg.count;
  }

  audio(msg) {
    const turn = this.turnFor(msg.turn);
    if (!turn) return;
    const pcm = new Int16Array(msg.pcm.slice().buffer);
    if (pcm.length === 0) return;
    const rate = msg.sample_rate;
    const ctx = this.ctx;
    if (turn.start === null) turn.start = ctx.currentTime + LEAD_S - msg.t0 / rate;
    turn.sampleRate = rate;
    turn.samplesEnd = Math.max(turn.samplesEnd, msg.t0 + pcm.length);
    const buffer = ctx.createBuffer(1, pcm.length, rate);
    const data = buffer.getChannelData(0);
    for (let i = 0; i < pcm.length; i++) data[i] = pcm[i] / 32768;
    const source = ctx.createBufferSource();
    source.buffer = buffer;
    source.connect(ctx.destination);
    const when = turn.start + msg.t0 / rate;
    const late = ctx.currentTime - when;
    if (late > 0) {
      // arrived after its time: play the rest in place, so the timeline stays put
      this.stats.lateChunks++;
      if (late >= buffer.duration) return;
      source.start(ctx.currentTime, late);
    } else {
      source.start(when);
    }
    turn.sources.push(source);
    source.onended = () => {
      const i = turn.sources.indexOf(source);
      if (i >= 0) turn.sources.splice(i, 1);
    };
    this.stats.audioChunksScheduled++;
    this.stats.audioScheduledS += buffer.duration;
  }

  reply(msg) {
    const turn = this.turnFor(msg.turn);
    if (!turn || !msg.text) return; // the closing reply of a user.text turn is empty
    // shown when its first sample is heard (t0 on the turn timeline)
    turn.captions.push({ t: (msg.t0 ?? 0) / this.sampleRate, text: msg.text });
  }

  end(msg) {
    const turn = this.turn;
    this.stats.turnsEnded++;
    this.stats.lastTurnEnd = { turn: msg.turn, reason: msg.reason };
    if (!turn || turn.number !== msg.turn) return;
    if (msg.reason === 'interrupted') this.stop('interrupted');
    else turn.ended = msg.reason;
  }

  // Drop everything of the current turn: scheduled audio, frames, captions not yet shown.
  stop(why) {
    const turn = this.turn;
    if (!turn) return;
    for (const source of turn.sources) {
      try { source.stop(); } catch { /* already stopped */ }
      this.stats.sourcesStopped++;
    }
    if (why === 'interrupted') this.stats.turnsDropped++;
    this.turn = null;
  }

  // Captions whose audio has started, in order (t: the turn clock, or null before audio).
  dueCaptions(t) {
    const turn = this.turn;
    const due = [];
    while (turn && t !== null && turn.captions.length && turn.captions[0].t <= t) {
      due.push(turn.captions.shift().text);
    }
    return due;
  }
}
