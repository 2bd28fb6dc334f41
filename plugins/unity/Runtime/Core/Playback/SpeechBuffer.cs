using System;
using Merg.Protocol;

namespace Merg.Playback
{
    /// <summary>Sizes of a session's <see cref="SpeechBuffer"/>.</summary>
    public sealed class SpeechBufferOptions
    {
        public SpeechBufferOptions()
        {
            BufferSeconds = 30.0;
            StartThresholdMs = 120.0;
            FaceHistorySeconds = 2.0;
            UnattendedSeconds = 5.0;
        }

        /// <summary>Audio the buffer holds ahead of the player. The server sends a turn much
        /// faster than real time; when the buffer is full the network thread waits (the
        /// server holds the turn back), so this bounds memory, not the length of a turn.</summary>
        public double BufferSeconds { get; set; }

        /// <summary>The jitter buffer's depth: a turn starts playing once this much of it has
        /// arrived (or all of it, if shorter), so network jitter does not cause gaps.</summary>
        public double StartThresholdMs { get; set; }

        /// <summary>Face frames kept behind the read position, for a player whose audible
        /// position lags what it has read (the audio output's own buffering).</summary>
        public double FaceHistorySeconds { get; set; }

        /// <summary>When the buffer is full and nothing has read from it for this long (no
        /// audio player attached, or audio paused), incoming audio and frames are dropped
        /// instead of holding the network thread (and every other session) back. 0: wait
        /// for the player forever.</summary>
        public double UnattendedSeconds { get; set; }
    }

    /// <summary>What happened on the playback side, reported to the game thread.</summary>
    public enum PlaybackNoteKind
    {
        /// <summary>The first sample of a turn was handed to the player.</summary>
        TurnStarted,
        /// <summary>The last sample of a turn was handed to the player.</summary>
        TurnFinished,
        /// <summary>A turn was dropped (barge-in) before it finished playing.</summary>
        TurnDropped,
        /// <summary>The player asked for audio that had not arrived yet (silence was played).</summary>
        Underrun,
    }

    /// <summary>A playback event, recorded without allocating on the audio thread.</summary>
    public struct PlaybackNote
    {
        public PlaybackNoteKind Kind;
        public string Sid;
        public int Turn;
        /// <summary>The player's output sample counter when it happened.</summary>
        public long OutputPosition;
    }

    /// <summary>
    /// A session's jitter buffer: the turns' audio in a ring of s16 samples and their face
    /// frames in a ring of float rows, handed from the network thread (writer) to the audio
    /// thread (<see cref="Read"/>) and the game thread (<see cref="SampleAt"/>) under one
    /// lock. Every buffer is allocated up front; writing, reading and sampling allocate
    /// nothing.
    /// </summary>
    /// <remarks>
    /// <para>Turns play back to back in the order they started. Each turn is a segment of
    /// the rings; audio and frames are placed by the <c>t0</c>/<c>f0</c> of their messages
    /// (gaps are filled, overlaps skipped and both counted in <see cref="Discontinuities"/>).</para>
    /// <para>The audio clock: <see cref="Read"/> records which turn sample every output
    /// sample came from (or that it was silence), so <see cref="SampleAt"/> can map the
    /// position the player reports back to the turn timeline and interpolate the two face
    /// frames around it: frame i shows at i / fps seconds of the turn.</para>
    /// <para>Interrupts: <c>turn.end {interrupted}</c> cuts the turn where it is being
    /// played; <see cref="DropTurnsBefore"/> (a local barge-in) drops every turn started
    /// by a request older than the given seq, including what of them still arrives.</para>
    /// </remarks>
    public sealed class SpeechBuffer
    {
        private const int SegmentSlots = 32;
        private const int HistorySlots = 256;
        private const int NoteSlots = 64;

        private sealed class Segment
        {
            public long Id;
            public string Sid;
            public int Turn;
            public long Ref;
            public long SampleBase;
            public long SamplesWritten;
            public long FrameBase;
            public long FramesWritten;
            public long Played;
            public bool Started;
            public bool Ended;
            public bool Dropped;
            public bool Finished;
            public bool Underrun;
            public string EndReason;
        }

        private struct Delivery
        {
            public long OutStart;
            public long Count;
            public long SegmentId; // -1: idle silence
            public long TurnSample;
            public bool Hold; // silence inside a turn: the turn position does not move
        }

        private readonly object sync = new object();
        private readonly int sampleRate;
        private readonly int fps;
        private readonly int columns;
        private readonly short[] audio;
        private readonly float[] weights;
        private readonly float[] head;
        private readonly float[] eyes;
        private readonly int frameCapacity;
        private readonly long startThresholdSamples;
        private readonly long historyFrames;
        private readonly int unattendedMs;
        private int lastReadTick = Environment.TickCount;
        private readonly Segment[] segments = new Segment[SegmentSlots];
        private readonly Delivery[] history = new Delivery[HistorySlots];
        private readonly PlaybackNote[] notes = new PlaybackNote[NoteSlots];

        private long nextSegmentId;
        private long oldestSegmentId;
        private long audioWrite;
        private long audioRead;
        private long frameWrite;
        private long frameOldest;
        private long outputPosition;
        private int historyCount;
        private int historyNext;
        private int noteStart;
        private int noteCount;
        private long dropBelowSeq;
        private bool closed;
        private string heardSid;
        private int heardTurn;
        private double heardSeconds = -1.0;

        public SpeechBuffer(int sampleRate, int fps, int columns, SpeechBufferOptions options = null)
        {
            if (sampleRate <= 0 || fps <= 0 || columns < 0) throw new ArgumentOutOfRangeException("sampleRate");
            options = options ?? new SpeechBufferOptions();
            this.sampleRate = sampleRate;
            this.fps = fps;
            this.columns = columns;
            audio = new short[Math.Max(1024, (int)(options.BufferSeconds * sampleRate))];
            frameCapacity = Math.Max(16, (int)((options.BufferSeconds + options.FaceHistorySeconds + 1.0) * fps));
            weights = new float[frameCapacity * Math.Max(1, columns)];
            head = new float[frameCapacity * 3];
            eyes = new float[frameCapacity * 4];
            startThresholdSamples = (long)(options.StartThresholdMs * sampleRate / 1000.0);
            historyFrames = (long)(options.FaceHistorySeconds * fps);
            unattendedMs = (int)(options.UnattendedSeconds * 1000.0);
            for (int i = 0; i < SegmentSlots; i++) segments[i] = new Segment();
        }

        public int SampleRate { get { return sampleRate; } }
        public int Fps { get { return fps; } }
        /// <summary>Weights per face frame (the session rig's names).</summary>
        public int Columns { get { return columns; } }
        public int CapacitySamples { get { return audio.Length; } }

        /// <summary>Samples handed to the player so far, silence included: the clock
        /// <see cref="SampleAt"/> takes positions on.</summary>
        public long OutputPosition { get { lock (sync) return outputPosition; } }

        /// <summary>Audio received and not yet played, in samples.</summary>
        public long BufferedSamples { get { lock (sync) return audioWrite - audioRead; } }

        /// <summary>True while a turn has audio to play or is still arriving.</summary>
        public bool IsActive { get { lock (sync) return Current() != null; } }

        public long Underruns { get; private set; }
        public long Discontinuities { get; private set; }
        public long DroppedTurns { get; private set; }
        /// <summary>Writes dropped because the buffer was full and nobody was reading it.</summary>
        public long DroppedWhileUnattended { get; private set; }

        // ----- network thread ------------------------------------------------------------

        /// <summary>A turn started (turn.start); <paramref name="requestSeq"/> is its <c>ref</c>.</summary>
        public void BeginTurn(string sid, int turn, long? requestSeq)
        {
            lock (sync)
            {
                Segment segment = NewSegment();
                segment.Sid = sid;
                segment.Turn = turn;
                segment.Ref = requestSeq ?? -1;
                segment.SampleBase = audioWrite;
                segment.FrameBase = frameWrite;
                if (requestSeq.HasValue && requestSeq.Value < dropBelowSeq) Drop(segment);
            }
        }

        /// <summary>Adds an audio chunk (s16le). Returns false when the turn is unknown,
        /// ended or dropped. Waits while the ring is full; <paramref name="keepWaiting"/>
        /// (called between waits, outside the lock) can give up by returning false.</summary>
        public bool WriteAudio(string sid, int turn, long t0, byte[] pcm, int offset, int byteCount, Func<bool> keepWaiting = null)
        {
            int samples = byteCount / 2;
            lock (sync)
            {
                Segment segment = Writable(sid, turn);
                if (segment == null) return false;
                if (t0 > segment.SamplesWritten)
                {
                    Discontinuities++;
                    long gap = t0 - segment.SamplesWritten;
                    if (!WaitForAudio(segment, gap, keepWaiting)) return false;
                    segment = Writable(sid, turn);
                    if (segment == null) return false;
                    WriteSilence(segment, gap);
                }
                else if (t0 < segment.SamplesWritten)
                {
                    Discontinuities++;
                    long overlap = segment.SamplesWritten - t0;
                    if (overlap >= samples) return true;
                    offset += (int)overlap * 2;
                    samples -= (int)overlap;
                }
            }
            while (samples > 0)
            {
                int piece = Math.Min(samples, audio.Length / 2);
                lock (sync)
                {
                    Segment segment = Writable(sid, turn);
                    if (segment == null) return false;
                    if (!WaitForAudio(segment, piece, keepWaiting)) return false;
                    segment = Writable(sid, turn);
                    if (segment == null) return false;
                    int at = (int)(audioWrite % audio.Length);
                    int first = Math.Min(piece, audio.Length - at);
                    LittleEndian.CopyInt16(pcm, offset, audio, at, first);
                    if (piece > first) LittleEndian.CopyInt16(pcm, offset + first * 2, audio, 0, piece - first);
                    audioWrite += piece;
                    segment.SamplesWritten += piece;
                }
                offset += piece * 2;
                samples -= piece;
            }
            return true;
        }

        /// <summary>Adds the frames of a face message (weights: count x columns float32le;
        /// head count x 3 and eyes count x 4 may be empty). Same contract as <see cref="WriteAudio"/>.</summary>
        public bool WriteFrames(
            string sid, int turn, long f0, int count,
            ArraySegment<byte> frameWeights, ArraySegment<byte> frameHead, ArraySegment<byte> frameEyes,
            Func<bool> keepWaiting = null)
        {
            if (count <= 0) return true;
            if (frameWeights.Count != count * columns * 4) return false;
            bool hasHead = frameHead.Count == count * 12;
            bool hasEyes = frameEyes.Count == count * 16;
            int skip = 0;
            lock (sync)
            {
                Segment segment = Writable(sid, turn);
                if (segment == null) return false;
                if (f0 > segment.FramesWritten)
                {
                    // a gap: hold the last frame we have (or a neutral face) over it
                    Discontinuities++;
                    long gap = f0 - segment.FramesWritten;
                    if (!WaitForFrames(segment, gap, keepWaiting)) return false;
                    segment = Writable(sid, turn);
                    if (segment == null) return false;
                    for (long i = 0; i < gap; i++) RepeatLastFrame(segment);
                }
                else if (f0 < segment.FramesWritten)
                {
                    Discontinuities++;
                    long overlap = segment.FramesWritten - f0;
                    if (overlap >= count) return true;
                    skip = (int)overlap;
                }
            }
            for (int frame = skip; frame < count; frame++)
            {
                lock (sync)
                {
                    Segment segment = Writable(sid, turn);
                    if (segment == null) return false;
                    if (!WaitForFrames(segment, 1, keepWaiting)) return false;
                    segment = Writable(sid, turn);
                    if (segment == null) return false;
                    int slot = (int)(frameWrite % frameCapacity);
                    LittleEndian.CopyFloats(frameWeights.Array, frameWeights.Offset + frame * columns * 4, weights, slot * columns, columns);
                    if (hasHead) LittleEndian.CopyFloats(frameHead.Array, frameHead.Offset + frame * 12, head, slot * 3, 3);
                    else Array.Clear(head, slot * 3, 3);
                    if (hasEyes) LittleEndian.CopyFloats(frameEyes.Array, frameEyes.Offset + frame * 16, eyes, slot * 4, 4);
                    else Array.Clear(eyes, slot * 4, 4);
                    frameWrite++;
                    segment.FramesWritten++;
                }
            }
            return true;
        }

        /// <summary>turn.end: an interrupted turn is cut at the sample being played now
        /// (nothing more of it plays); a done or failed turn plays out what arrived.</summary>
        public void EndTurn(string sid, int turn, string reason)
        {
            lock (sync)
            {
                Segment segment = Find(sid, turn);
                if (segment == null || segment.Ended) return;
                segment.Ended = true;
                segment.EndReason = reason;
                if (reason == TurnEndReasons.Interrupted && !segment.Finished) Cut(segment);
                System.Threading.Monitor.PulseAll(sync);
            }
        }

        /// <summary>Ends every turn still arriving (the connection was lost: the server ended
        /// them without notice); what arrived still plays.</summary>
        public void EndOpenTurns(string reason)
        {
            lock (sync)
            {
                for (long id = oldestSegmentId; id < nextSegmentId; id++)
                {
                    Segment segment = segments[id % SegmentSlots];
                    if (!segment.Ended)
                    {
                        segment.Ended = true;
                        segment.EndReason = reason;
                    }
                }
                System.Threading.Monitor.PulseAll(sync);
            }
        }

        // ----- game thread -----------------------------------------------------------------

        /// <summary>Barge-in, locally: drops every turn started by a request whose seq is below
        /// <paramref name="requestSeq"/> (and turns without a ref), at once, including what of
        /// them is still to arrive. Turns of later requests are kept.</summary>
        public void DropTurnsBefore(long requestSeq)
        {
            lock (sync)
            {
                if (requestSeq > dropBelowSeq) dropBelowSeq = requestSeq;
                for (long id = oldestSegmentId; id < nextSegmentId; id++)
                {
                    Segment segment = segments[id % SegmentSlots];
                    if (!segment.Finished && !segment.Dropped && segment.Ref < requestSeq) Drop(segment);
                }
                System.Threading.Monitor.PulseAll(sync);
            }
        }

        /// <summary>Drops everything (session closed or re-opened).</summary>
        public void Clear()
        {
            DropTurnsBefore(long.MaxValue);
        }

        /// <summary>Releases a writer waiting for space; later writes are refused.</summary>
        public void Close()
        {
            lock (sync)
            {
                closed = true;
                System.Threading.Monitor.PulseAll(sync);
            }
        }

        /// <summary>Takes the oldest playback note; false when there is none.</summary>
        public bool TryTakeNote(out PlaybackNote note)
        {
            lock (sync)
            {
                if (noteCount == 0)
                {
                    note = default(PlaybackNote);
                    return false;
                }
                note = notes[noteStart];
                notes[noteStart] = default(PlaybackNote);
                noteStart = (noteStart + 1) % NoteSlots;
                noteCount--;
                return true;
            }
        }

        /// <summary>The turn position last sampled (or played, when nothing samples): what the
        /// user has heard, for <c>playback</c> reports. False before anything played.</summary>
        public bool TryGetHeard(out string sid, out int turn, out double seconds)
        {
            lock (sync)
            {
                sid = heardSid;
                turn = heardTurn;
                seconds = heardSeconds;
                return heardSid != null && heardSeconds >= 0.0;
            }
        }

        // ----- audio thread ----------------------------------------------------------------

        /// <summary>
        /// Fills <paramref name="count"/> samples (float, [-1, 1)) for the player: the turns in
        /// order, silence when there is nothing to play. Always fills the whole range, never
        /// blocks on the network and never allocates: call it from an audio callback.
        /// </summary>
        public int Read(float[] buffer, int offset, int count)
        {
            const float scale = 1.0f / 32768.0f;
            lock (sync)
            {
                lastReadTick = Environment.TickCount;
                int done = 0;
                while (done < count)
                {
                    Segment segment = Current();
                    if (segment == null)
                    {
                        Silence(buffer, offset + done, count - done, null, 0, false);
                        break;
                    }
                    if (segment.Dropped)
                    {
                        SkipDropped(segment);
                        continue;
                    }
                    long available = segment.SamplesWritten - segment.Played;
                    if (!segment.Started)
                    {
                        if (available == 0 && segment.Ended)
                        {
                            Finish(segment, PlaybackNoteKind.TurnFinished);
                            continue;
                        }
                        if (!segment.Ended && available < startThresholdSamples)
                        {
                            Silence(buffer, offset + done, count - done, null, 0, false);
                            break;
                        }
                        segment.Started = true;
                        Note(PlaybackNoteKind.TurnStarted, segment);
                    }
                    if (available == 0)
                    {
                        if (segment.Ended)
                        {
                            Finish(segment, PlaybackNoteKind.TurnFinished);
                            continue;
                        }
                        if (!segment.Underrun)
                        {
                            segment.Underrun = true;
                            Underruns++;
                            Note(PlaybackNoteKind.Underrun, segment);
                        }
                        Silence(buffer, offset + done, count - done, segment, segment.Played, true);
                        break;
                    }
                    segment.Underrun = false;
                    int n = (int)Math.Min(count - done, available);
                    int at = (int)((segment.SampleBase + segment.Played) % audio.Length);
                    for (int i = 0; i < n; i++)
                    {
                        buffer[offset + done + i] = audio[at] * scale;
                        if (++at == audio.Length) at = 0;
                    }
                    Record(n, segment.Id, segment.Played, false);
                    segment.Played += n;
                    audioRead += n;
                    done += n;
                    if (!Sampling) Heard(segment, segment.Played / (double)sampleRate);
                }
                System.Threading.Monitor.PulseAll(sync);
                return count;
            }
        }

        private bool everSampled;
        private int lastSampledTick;

        /// <summary>Someone samples the face: the heard position comes from the sampler's
        /// clock (which knows the output latency) rather than from what was read.</summary>
        private bool Sampling
        {
            get { return everSampled && unchecked(Environment.TickCount - lastSampledTick) < 500; }
        }

        /// <summary>
        /// The face at a position of the output clock (<see cref="OutputPosition"/> units,
        /// fractional samples allowed): the two frames around that instant of the turn,
        /// interpolated linearly, with head and eye angles. False (and
        /// <paramref name="sample"/>.Valid false) when no turn is audible there.
        /// </summary>
        public bool SampleAt(double position, FaceSample sample)
        {
            if (sample.Weights.Length != columns) throw new ArgumentException("the sample has " + sample.Weights.Length + " weights, the rig " + columns);
            lock (sync)
            {
                sample.Valid = false;
                sample.Holding = false;
                if (historyCount == 0) return false;
                if (position >= outputPosition) position = outputPosition - 1;
                if (position < 0) position = 0;
                for (int k = 0; k < historyCount; k++)
                {
                    Delivery delivery = history[(historyNext - 1 - k + HistorySlots) % HistorySlots];
                    if (position < delivery.OutStart) continue;
                    if (position >= delivery.OutStart + delivery.Count) return false;
                    if (delivery.SegmentId < 0) return false;
                    Segment segment = ById(delivery.SegmentId);
                    if (segment == null) return false;
                    double turnSample = delivery.Hold ? delivery.TurnSample : delivery.TurnSample + (position - delivery.OutStart);
                    sample.Holding = delivery.Hold;
                    bool ok = Interpolate(segment, turnSample, sample);
                    if (ok)
                    {
                        everSampled = true;
                        lastSampledTick = Environment.TickCount;
                        Heard(segment, turnSample / sampleRate);
                    }
                    return ok;
                }
                return false;
            }
        }

        // ----- internals (called under the lock) ------------------------------------------

        private Segment NewSegment()
        {
            if (nextSegmentId - oldestSegmentId == SegmentSlots)
            {
                // 32 turns queued: the oldest is dropped to make room (it is the current one)
                Segment oldest = segments[oldestSegmentId % SegmentSlots];
                if (!oldest.Finished)
                {
                    oldest.Dropped = true;
                    SkipDropped(oldest);
                }
                oldestSegmentId++;
            }
            Segment segment = segments[nextSegmentId % SegmentSlots];
            segment.Id = nextSegmentId++;
            segment.Sid = null;
            segment.Turn = 0;
            segment.Ref = -1;
            segment.SampleBase = audioWrite;
            segment.SamplesWritten = 0;
            segment.FrameBase = frameWrite;
            segment.FramesWritten = 0;
            segment.Played = 0;
            segment.Started = false;
            segment.Ended = false;
            segment.Dropped = false;
            segment.Finished = false;
            segment.Underrun = false;
            segment.EndReason = null;
            return segment;
        }

        private Segment ById(long id)
        {
            if (id < oldestSegmentId || id >= nextSegmentId) return null;
            return segments[id % SegmentSlots];
        }

        /// <summary>The turn being played (or waiting to start): the oldest unfinished one.</summary>
        private Segment Current()
        {
            for (long id = oldestSegmentId; id < nextSegmentId; id++)
            {
                Segment segment = segments[id % SegmentSlots];
                if (!segment.Finished) return segment;
            }
            return null;
        }

        private Segment Find(string sid, int turn)
        {
            for (long id = nextSegmentId - 1; id >= oldestSegmentId; id--)
            {
                Segment segment = segments[id % SegmentSlots];
                if (segment.Turn == turn && string.Equals(segment.Sid, sid)) return segment;
            }
            return null;
        }

        /// <summary>The segment new data of this turn goes to: the newest one, still open.</summary>
        private Segment Writable(string sid, int turn)
        {
            if (closed || nextSegmentId == oldestSegmentId) return null;
            Segment segment = segments[(nextSegmentId - 1) % SegmentSlots];
            if (segment.Turn != turn || !string.Equals(segment.Sid, sid)) return null;
            if (segment.Ended || segment.Dropped) return null;
            return segment;
        }

        private bool WaitForAudio(Segment segment, long samples, Func<bool> keepWaiting)
        {
            while (audioWrite + samples - audioRead > audio.Length)
            {
                if (!WaitOnce(segment, keepWaiting)) return false;
            }
            return true;
        }

        private bool WaitForFrames(Segment segment, long frames, Func<bool> keepWaiting)
        {
            while (true)
            {
                long keepFrom = ProtectedFrame();
                if (keepFrom > frameOldest) frameOldest = Math.Min(keepFrom, frameWrite);
                if (frameWrite + frames - frameOldest <= frameCapacity) return true;
                if (!WaitOnce(segment, keepWaiting)) return false;
            }
        }

        /// <summary>One wait slice for a full ring (called under the lock; the callback runs
        /// outside it). False when the write should be abandoned.</summary>
        private bool WaitOnce(Segment segment, Func<bool> keepWaiting)
        {
            System.Threading.Monitor.Wait(sync, 50);
            if (closed || segment.Dropped || segment.Ended) return false;
            if (unattendedMs > 0 && unchecked(Environment.TickCount - lastReadTick) > unattendedMs)
            {
                DroppedWhileUnattended++;
                return false;
            }
            if (keepWaiting != null)
            {
                System.Threading.Monitor.Exit(sync);
                bool keep;
                try
                {
                    keep = keepWaiting();
                }
                finally
                {
                    System.Threading.Monitor.Enter(sync);
                }
                if (!keep) return false;
            }
            return !(closed || segment.Dropped || segment.Ended);
        }

        /// <summary>Frames at or after this index may still be sampled.</summary>
        private long ProtectedFrame()
        {
            Segment segment = Current();
            long reading = segment == null
                ? frameWrite
                : segment.FrameBase + Math.Min(segment.FramesWritten, segment.Played * fps / sampleRate);
            return Math.Max(0, reading - historyFrames);
        }

        private void WriteSilence(Segment segment, long samples)
        {
            for (long i = 0; i < samples; i++)
            {
                audio[audioWrite % audio.Length] = 0;
                audioWrite++;
            }
            segment.SamplesWritten += samples;
        }

        private void RepeatLastFrame(Segment segment)
        {
            int slot = (int)(frameWrite % frameCapacity);
            if (segment.FramesWritten > 0)
            {
                int last = (int)((frameWrite - 1) % frameCapacity);
                Array.Copy(weights, last * columns, weights, slot * columns, columns);
                Array.Copy(head, last * 3, head, slot * 3, 3);
                Array.Copy(eyes, last * 4, eyes, slot * 4, 4);
            }
            else
            {
                Array.Clear(weights, slot * columns, columns);
                Array.Clear(head, slot * 3, 3);
                Array.Clear(eyes, slot * 4, 4);
            }
            frameWrite++;
            segment.FramesWritten++;
        }

        /// <summary>Cuts a turn at its play position: the unplayed rest is discarded.</summary>
        private void Cut(Segment segment)
        {
            bool newest = segment.Id == nextSegmentId - 1;
            if (!newest)
            {
                Drop(segment);
                return;
            }
            audioWrite = segment.SampleBase + segment.Played;
            segment.SamplesWritten = segment.Played;
            long keepFrames = Math.Min(segment.FramesWritten, segment.Played * fps / sampleRate + 2);
            frameWrite = segment.FrameBase + keepFrames;
            segment.FramesWritten = keepFrames;
            if (frameOldest > frameWrite) frameOldest = frameWrite;
        }

        /// <summary>Marks a turn dropped: it takes no more data and the player skips what is left.</summary>
        private void Drop(Segment segment)
        {
            if (segment.Dropped) return;
            segment.Dropped = true;
            if (segment.Id == nextSegmentId - 1 && !segment.Finished)
            {
                // the newest turn: give its unplayed ring space back at once
                audioWrite = segment.SampleBase + segment.Played;
                segment.SamplesWritten = segment.Played;
                long keepFrames = Math.Min(segment.FramesWritten, segment.Played * fps / sampleRate + 2);
                frameWrite = segment.FrameBase + keepFrames;
                segment.FramesWritten = keepFrames;
                if (frameOldest > frameWrite) frameOldest = frameWrite;
            }
            // a turn queued behind the one playing keeps its ring space until the player
            // reaches it and skips it (Read does), so the ring stays in order
            if (Current() == segment) SkipDropped(segment);
        }

        /// <summary>The player moves past a dropped turn (which must be the current one).</summary>
        private void SkipDropped(Segment segment)
        {
            if (segment.Finished) return;
            audioRead += segment.SamplesWritten - segment.Played;
            segment.Played = segment.SamplesWritten;
            DroppedTurns++;
            Finish(segment, PlaybackNoteKind.TurnDropped);
        }

        private void Finish(Segment segment, PlaybackNoteKind kind)
        {
            segment.Finished = true;
            Note(kind, segment);
        }

        private void Note(PlaybackNoteKind kind, Segment segment)
        {
            if (noteCount == NoteSlots)
            {
                noteStart = (noteStart + 1) % NoteSlots; // keep the newest notes
                noteCount--;
            }
            int at = (noteStart + noteCount) % NoteSlots;
            notes[at].Kind = kind;
            notes[at].Sid = segment.Sid;
            notes[at].Turn = segment.Turn;
            notes[at].OutputPosition = outputPosition;
            noteCount++;
        }

        private void Silence(float[] buffer, int offset, int count, Segment segment, long turnSample, bool hold)
        {
            Array.Clear(buffer, offset, count);
            Record(count, segment == null ? -1 : segment.Id, turnSample, hold);
        }

        private void Record(long count, long segmentId, long turnSample, bool hold)
        {
            if (historyCount > 0)
            {
                int lastIndex = (historyNext - 1 + HistorySlots) % HistorySlots;
                Delivery last = history[lastIndex];
                bool sameRun = last.SegmentId == segmentId && last.Hold == hold
                    && (segmentId < 0 || hold ? last.TurnSample == turnSample : last.TurnSample + last.Count == turnSample);
                if (sameRun && last.OutStart + last.Count == outputPosition)
                {
                    history[lastIndex].Count += count;
                    outputPosition += count;
                    return;
                }
            }
            history[historyNext] = new Delivery
            {
                OutStart = outputPosition,
                Count = count,
                SegmentId = segmentId,
                TurnSample = turnSample,
                Hold = hold,
            };
            historyNext = (historyNext + 1) % HistorySlots;
            if (historyCount < HistorySlots) historyCount++;
            outputPosition += count;
        }

        private void Heard(Segment segment, double seconds)
        {
            heardSid = segment.Sid;
            heardTurn = segment.Turn;
            heardSeconds = seconds;
        }

        private bool Interpolate(Segment segment, double turnSample, FaceSample sample)
        {
            if (segment.FramesWritten == 0) return false;
            double frame = turnSample * fps / sampleRate;
            long i0 = (long)Math.Floor(frame);
            double fraction = frame - i0;
            if (i0 >= segment.FramesWritten - 1)
            {
                i0 = segment.FramesWritten - 1;
                fraction = 0.0;
            }
            if (i0 < 0)
            {
                i0 = 0;
                fraction = 0.0;
            }
            long g0 = segment.FrameBase + i0;
            long g1 = fraction > 0.0 ? g0 + 1 : g0;
            if (g0 < frameOldest || g1 >= frameWrite) return false;
            int s0 = (int)(g0 % frameCapacity);
            int s1 = (int)(g1 % frameCapacity);
            float b = (float)fraction;
            float a = 1.0f - b;
            for (int c = 0; c < columns; c++)
                sample.Weights[c] = a * weights[s0 * columns + c] + b * weights[s1 * columns + c];
            for (int c = 0; c < 3; c++) sample.Head[c] = a * head[s0 * 3 + c] + b * head[s1 * 3 + c];
            for (int c = 0; c < 4; c++) sample.Eyes[c] = a * eyes[s0 * 4 + c] + b * eyes[s1 * 4 + c];
            sample.Valid = true;
            sample.Sid = segment.Sid;
            sample.Turn = segment.Turn;
            sample.TurnSeconds = turnSample / sampleRate;
            sample.Frame = frame;
            return true;
        }
    }
}
