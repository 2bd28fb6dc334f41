using System;
using Merg.Playback;
using Merg.Protocol;

namespace Merg.Client
{
    /// <summary>
    /// One avatar conversation on the server. Created by <see cref="MergClient.OpenSession"/>;
    /// it keeps working across reconnects: the client resumes it under the same sid, or,
    /// when the server has forgotten it (a restart), opens it again with the same options
    /// and a new sid (<see cref="MergEventKind.SessionReopened"/>).
    /// </summary>
    /// <remarks>
    /// Requests (<see cref="Say"/>, <see cref="SendUserText"/>, <see cref="Interrupt"/>,
    /// <see cref="Close"/>) may be called from any thread; they queue the message and return
    /// its seq at once, which the server echoes as <c>turn.start.ref</c> or
    /// <c>error.ref</c>. A request made before the session is open waits in the queue.
    /// </remarks>
    public sealed class MergSession
    {
        private readonly MergClient client;
        private volatile SpeechBuffer buffer;
        private volatile string sid;
        private volatile SessionState state;

        internal MergSession(MergClient client, SessionOptions options)
        {
            this.client = client;
            Options = options;
            state = SessionState.Opening;
        }

        public MergClient Client { get { return client; } }
        public SessionOptions Options { get; private set; }

        /// <summary>The server's session id (null until opened; changes when reopened).</summary>
        public string Sid { get { return sid; } internal set { sid = value; } }

        public SessionState State { get { return state; } internal set { state = value; } }

        public string RigName { get; internal set; }
        /// <summary>The column order of the face weights (from session.opened).</summary>
        public string[] Names { get; internal set; }
        public int Fps { get; internal set; }
        public int SampleRate { get; internal set; }
        public string Voice { get; internal set; }

        /// <summary>The jitter buffer the audio player reads and the face sampler samples;
        /// null until the session opens (or when <see cref="SessionOptions.BufferSpeech"/> is off).</summary>
        public SpeechBuffer Buffer { get { return buffer; } internal set { buffer = value; } }

        /// <summary>The last turn.start of this session (its turn number).</summary>
        public int LastTurn { get; internal set; }

        public MergError LastError { get; internal set; }

        /// <summary>Closed or failed: requests are refused (error client.no_session).</summary>
        private bool IsGone
        {
            get { return state == SessionState.Closed || state == SessionState.Failed || state == SessionState.Closing; }
        }

        /// <summary>True when requests can go out now.</summary>
        public bool IsOpen { get { return state == SessionState.Open; } }

        // bookkeeping for the network thread
        internal long PendingOpenSeq;
        internal long PendingResumeSeq;
        internal string PreviousSid;
        internal long ResumeRetryAtMs;
        internal int ReportedTurn;
        internal double ReportedSeconds = -1.0;

        /// <summary>
        /// Speaks a scripted line. With <paramref name="replacePlayback"/> (the default) the
        /// avatar stops what it is saying at once: earlier turns are dropped locally, and the
        /// server interrupts its running turn when the say arrives. Without it the line is
        /// queued after what is playing (the server still cuts a turn it is producing).
        /// Returns the request's seq (turn.start.ref), or -1 if the queue was full.
        /// </summary>
        public long Say(string text, string emotion = null, double? intensity = null, bool replacePlayback = true)
        {
            if (text == null) throw new ArgumentNullException("text");
            if (intensity.HasValue && (intensity.Value < 0.0 || intensity.Value > 1.0))
                throw new ArgumentOutOfRangeException("intensity", "intensity is in [0, 1]");
            var request = new SayRequest { Text = text, Emotion = emotion, Intensity = intensity };
            if (IsGone) return client.Reject(request, this);
            long seq = client.Enqueue(request, this);
            if (seq > 0 && replacePlayback) DropLocalTurnsBefore(seq);
            return seq;
        }

        /// <summary>The user said <paramref name="text"/>; the avatar answers (empathy
        /// pipeline: user.affect, reasoning, reply, audio, face). Barges in like <see cref="Say"/>.</summary>
        public long SendUserText(string text, bool replacePlayback = true)
        {
            if (text == null) throw new ArgumentNullException("text");
            var request = new UserTextRequest { Text = text };
            if (IsGone) return client.Reject(request, this);
            long seq = client.Enqueue(request, this);
            if (seq > 0 && replacePlayback) DropLocalTurnsBefore(seq);
            return seq;
        }

        /// <summary>Barge-in: playback stops at once (the buffered rest of every turn is
        /// dropped, and whatever of them still arrives), and the server stops the running turn.</summary>
        public long Interrupt()
        {
            var request = new InterruptRequest();
            long seq = IsGone ? client.Reject(request, this) : client.Enqueue(request, this);
            // every turn of a request made before now stops, whether or not the request went out
            DropLocalTurnsBefore(seq > 0 ? seq : client.NextSeq);
            return seq;
        }

        /// <summary>Closes the session on the server; playback stops.</summary>
        public long Close()
        {
            if (state == SessionState.Closed || state == SessionState.Failed || state == SessionState.Closing) return -1;
            var current = buffer;
            if (current != null) current.Clear();
            if (sid == null)
            {
                // not open yet: the client closes it on the server as soon as it opens
                state = SessionState.Closing;
                return 0;
            }
            long seq = client.Enqueue(new SessionCloseRequest(), this);
            state = SessionState.Closing;
            return seq;
        }

        private void DropLocalTurnsBefore(long seq)
        {
            var current = buffer;
            if (current != null) current.DropTurnsBefore(seq);
            else pendingDropSeq = Math.Max(pendingDropSeq, seq);
        }

        // a barge-in before the buffer exists applies when it is created
        internal long pendingDropSeq;

        public override string ToString()
        {
            return "session " + (sid ?? "(opening)") + " " + state;
        }
    }
}
