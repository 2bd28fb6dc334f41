using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Threading;
using Merg.MessagePack;
using Merg.Playback;
using Merg.Protocol;
using Merg.Transport;

namespace Merg.Client
{
    /// <summary>
    /// A MERG protocol client: one connection (DEALER) to a <c>merg serve</c> server, owned
    /// by a background network thread, and any number of <see cref="MergSession"/>s on it.
    /// </summary>
    /// <remarks>
    /// <para><b>Threads.</b> The network thread is the only one that touches the socket. It
    /// connects, says <c>hello</c> and checks the <c>welcome</c> (protocol version 1), sends
    /// queued requests, answers its own heartbeat, writes audio and face frames straight into
    /// each session's <see cref="SpeechBuffer"/> (no allocation per message), and posts every
    /// other message as a <see cref="MergEvent"/> into a bounded queue. The game thread calls
    /// <see cref="DispatchEvents"/> (MergAvatar does, in Update), which raises the C# events
    /// below on that thread. The audio thread reads each session's buffer.</para>
    /// <para><b>Reconnect.</b> A lost connection (closed, refused, or silent for
    /// <see cref="MergClientOptions.LivenessTimeoutMs"/>) is dialled again with exponential
    /// back-off and jitter. After the new <c>welcome</c> every session is resumed
    /// (<c>session.open {resume}</c>); if the server no longer knows it (it restarted) the
    /// session is opened again with its original options and gets a new sid
    /// (<see cref="SessionReopened"/>). <c>hello_required</c> (the server forgot an idle
    /// client) is handled the same way on the same connection.</para>
    /// <para><b>Shutdown.</b> <see cref="Dispose"/> stops the thread: it sends
    /// <c>session.close</c> for open sessions (optional), closes the socket, and joins the
    /// thread with a timeout. The thread is a background thread, so even a thread stuck in
    /// the OS cannot keep a process (or the Unity editor) alive.
    /// <see cref="ShutdownAll"/> disposes every live client (domain reload, quitting).</para>
    /// </remarks>
    public sealed class MergClient : IDisposable
    {
        private static readonly object RegistryLock = new object();
        private static readonly List<MergClient> Live = new List<MergClient>();
        private static readonly DateTime UnixEpoch = new DateTime(1970, 1, 1, 0, 0, 0, DateTimeKind.Utc);
        private const int RecentRequests = 256;

        private readonly MergClientOptions options;
        private readonly object requestLock = new object();
        private readonly List<ClientMessage> requests = new List<ClientMessage>();
        private readonly List<ClientMessage> sendNow = new List<ClientMessage>();
        private readonly List<ClientMessage> dropNow = new List<ClientMessage>();
        private readonly BoundedQueue<MergEvent> events;
        private readonly object sessionsLock = new object();
        private readonly List<MergSession> sessions = new List<MergSession>();
        private readonly List<MergSession> sessionScratch = new List<MergSession>();
        private readonly List<MergSession> dispatchScratch = new List<MergSession>();
        private readonly List<MergSession> pendingOpens = new List<MergSession>();
        private readonly ServerMessageDecoder decoder = new ServerMessageDecoder();
        private readonly MsgPackWriter writer = new MsgPackWriter(1024);
        private readonly Dictionary<int, ClientMessage> recent = new Dictionary<int, ClientMessage>();
        private readonly Queue<int> recentOrder = new Queue<int>();
        private readonly ManualResetEvent stopSignal = new ManualResetEvent(false);
        private readonly Random random = new Random();
        private readonly Stopwatch clock = Stopwatch.StartNew();
        private readonly Func<bool> keepWaiting;

        private Thread thread;
        private ITransport transport;
        private volatile bool stopRequested;
        private volatile ConnectionState state = ConnectionState.Idle;
        private volatile WelcomeMessage welcome;
        private bool disposed;
        private int seqCounter;
        private int attempt;
        private bool everConnected;
        private bool supportsPlayback;
        private bool lostByLiveness;
        private bool lastLossByLiveness;
        private long lostAtMs = long.MinValue / 2;
        private long lastSentMs;
        private long lastReceivedMs;
        private long handshakeStartMs;
        private long lastPlaybackReportMs;

        public MergClient(MergClientOptions options)
        {
            if (options == null) throw new ArgumentNullException("options");
            this.options = options;
            events = new BoundedQueue<MergEvent>(Math.Max(16, options.MaxQueuedEvents));
            keepWaiting = KeepWaitingForPlayer;
        }

        // ----- events, raised on the thread that calls DispatchEvents -----------------------

        public event Action<ConnectionState> ConnectionChanged;
        /// <summary>Welcomed by a server (after each reconnect too).</summary>
        public event Action<WelcomeMessage> Connected;
        /// <summary>The connection was lost (the reason); the client is reconnecting.</summary>
        public event Action<string> Disconnected;
        public event Action<MergSession> SessionOpened;
        public event Action<MergSession> SessionResumed;
        /// <summary>The server had forgotten the session; it was opened again (previous sid).</summary>
        public event Action<MergSession, string> SessionReopened;
        /// <summary>Closed (reason <c>closed</c> or <c>resumed_elsewhere</c>).</summary>
        public event Action<MergSession, string> SessionClosed;
        public event Action<MergSession, MergError> SessionFailed;
        public event Action<MergSession, TurnStartMessage> TurnStarted;
        public event Action<MergSession, UserAffectMessage> UserAffect;
        public event Action<MergSession, ReasoningMessage> Reasoning;
        public event Action<MergSession, SafetyMessage> Safety;
        public event Action<MergSession, ReplyMessage> Reply;
        public event Action<MergSession, FlameMessage> Flame;
        public event Action<MergSession, TurnEndMessage> TurnEnded;
        public event Action<PongMessage> Pong;
        /// <summary>Every error, from the server (stable codes) or this client (client.*).</summary>
        public event Action<MergError> Error;
        /// <summary>Playback progress of a session's turns (started, finished, dropped, underrun).</summary>
        public event Action<MergSession, PlaybackNote> Playback;
        /// <summary>Every dispatched event, after the specific one.</summary>
        public event Action<MergEvent> EventDispatched;

        /// <summary>
        /// Every decoded server message, raised ON THE NETWORK THREAD before the client acts on
        /// it (tools, recorders, tests). Audio and face instances are reused and point into the
        /// receive buffer: copy what you keep, and return quickly.
        /// </summary>
        public event Action<ServerMessage> MessageReceived;

        // ----- state ------------------------------------------------------------------------

        public MergClientOptions Options { get { return options; } }
        public ConnectionState State { get { return state; } }
        /// <summary>The last welcome (server name, version, capabilities); null before the first.</summary>
        public WelcomeMessage Welcome { get { return welcome; } }
        public long MessagesReceived { get; private set; }
        public long RequestsSent { get; private set; }
        public long BadFrames { get; private set; }
        public long Reconnects { get; private set; }
        /// <summary>Events dropped because the game thread did not dispatch them in time.</summary>
        public long DroppedEvents { get { return events.Dropped; } }

        public MergSession[] Sessions
        {
            get { lock (sessionsLock) return sessions.ToArray(); }
        }

        /// <summary>Starts the network thread (connects in the background).</summary>
        public void Start()
        {
            if (disposed) throw new ObjectDisposedException("MergClient");
            if (thread != null) return;
            thread = new Thread(Run) { IsBackground = true, Name = "MERG network" };
            lock (RegistryLock) Live.Add(this);
            thread.Start();
        }

        /// <summary>Blocks until the client is welcomed (or the timeout passes). For tools
        /// and tests; a game polls <see cref="State"/> or listens to <see cref="Connected"/>.</summary>
        public bool WaitUntilReady(int timeoutMs)
        {
            var wait = Stopwatch.StartNew();
            while (state != ConnectionState.Ready)
            {
                if (wait.ElapsedMilliseconds > timeoutMs || disposed) return false;
                Thread.Sleep(5);
            }
            return true;
        }

        /// <summary>Opens a session (session.open is queued at once and sent when connected).
        /// Listen to <see cref="SessionOpened"/> / <see cref="SessionFailed"/>.</summary>
        public MergSession OpenSession(SessionOptions sessionOptions = null)
        {
            var session = new MergSession(this, sessionOptions ?? new SessionOptions());
            lock (sessionsLock) sessions.Add(session);
            var request = OpenRequest(session, null);
            long seq = Enqueue(request, session);
            if (seq < 0)
            {
                session.State = SessionState.Failed;
                lock (sessionsLock) sessions.Remove(session);
            }
            return session;
        }

        /// <summary>
        /// Re-attaches a session by its sid (one this application opened before, e.g. in a
        /// previous run: the server keeps a detached session for its idle timeout). The
        /// options must match the session's (they are used if it has to be opened again).
        /// Raises <see cref="SessionResumed"/>, or <see cref="SessionReopened"/> when the server
        /// no longer knows the sid.
        /// </summary>
        public MergSession ResumeSession(string sid, SessionOptions sessionOptions = null)
        {
            if (string.IsNullOrEmpty(sid)) throw new ArgumentException("a sid is needed", "sid");
            var session = new MergSession(this, sessionOptions ?? new SessionOptions());
            session.Sid = sid;
            session.State = SessionState.Resuming;
            session.ResumeRetryAtMs = 1; // the network thread sends the resume when connected
            lock (sessionsLock) sessions.Add(session);
            return session;
        }

        /// <summary>
        /// Low level: queues any client message as it is (a <see cref="SessionRequest"/> keeps
        /// the sid you set). For tools and tests; prefer the session methods.
        /// </summary>
        public long Send(ClientMessage message)
        {
            if (message == null) throw new ArgumentNullException("message");
            return Enqueue(message, null);
        }

        /// <summary>Queues a ping; the answer raises <see cref="Pong"/>.</summary>
        public long Ping()
        {
            return Enqueue(new PingRequest { T = UnixSeconds() }, null);
        }

        /// <summary>The seq the next request will get.</summary>
        internal long NextSeq
        {
            get { return Volatile.Read(ref seqCounter) + 1L; }
        }

        /// <summary>Refuses a request of a closed session: error client.no_session, seq -1.</summary>
        internal long Reject(ClientMessage request, MergSession session)
        {
            PostError(new MergError(ErrorCodes.ClientNoSession, "the session is " + session.State.ToString().ToLowerInvariant())
            {
                Session = session,
                RequestType = request.Type,
            });
            return -1;
        }

        internal long Enqueue(ClientMessage request, MergSession session)
        {
            if (disposed || stopRequested)
            {
                PostError(new MergError(ErrorCodes.ClientNoSession, "the client is closed") { Session = session, RequestType = request.Type });
                return -1;
            }
            lock (requestLock)
            {
                if (requests.Count >= options.MaxQueuedRequests)
                {
                    PostError(new MergError(ErrorCodes.ClientQueueFull, "too many requests waiting to be sent") { Session = session, RequestType = request.Type });
                    return -1;
                }
                request.Seq = Interlocked.Increment(ref seqCounter);
                request.Owner = session;
                requests.Add(request);
                return request.Seq;
            }
        }

        /// <summary>
        /// Raises the queued events on the calling thread (call it every frame from the game
        /// thread). Playback notes of every session are raised first. Returns the number of
        /// events raised.
        /// </summary>
        public int DispatchEvents(int max = int.MaxValue)
        {
            int raised = 0;
            dispatchScratch.Clear();
            lock (sessionsLock) dispatchScratch.AddRange(sessions);
            foreach (var session in dispatchScratch)
            {
                var buffer = session.Buffer;
                PlaybackNote note;
                while (buffer != null && buffer.TryTakeNote(out note))
                {
                    var handler = Playback;
                    if (handler != null) handler(session, note);
                    raised++;
                }
            }
            MergEvent item;
            while (raised < max && events.TryDequeue(out item))
            {
                Raise(item);
                raised++;
            }
            return raised;
        }

        private void Raise(MergEvent item)
        {
            switch (item.Kind)
            {
                case MergEventKind.ConnectionChanged: Invoke(ConnectionChanged, item.State); break;
                case MergEventKind.Connected: Invoke(Connected, (WelcomeMessage)item.Message); break;
                case MergEventKind.Disconnected: Invoke(Disconnected, item.Detail); break;
                case MergEventKind.SessionOpened: Invoke(SessionOpened, item.Session); break;
                case MergEventKind.SessionResumed: Invoke(SessionResumed, item.Session); break;
                case MergEventKind.SessionReopened: Invoke(SessionReopened, item.Session, item.Detail); break;
                case MergEventKind.SessionClosed: Invoke(SessionClosed, item.Session, item.Detail); break;
                case MergEventKind.SessionFailed: Invoke(SessionFailed, item.Session, item.Error); break;
                case MergEventKind.TurnStarted: Invoke(TurnStarted, item.Session, (TurnStartMessage)item.Message); break;
                case MergEventKind.UserAffect: Invoke(UserAffect, item.Session, (UserAffectMessage)item.Message); break;
                case MergEventKind.Reasoning: Invoke(Reasoning, item.Session, (ReasoningMessage)item.Message); break;
                case MergEventKind.Safety: Invoke(Safety, item.Session, (SafetyMessage)item.Message); break;
                case MergEventKind.Reply: Invoke(Reply, item.Session, (ReplyMessage)item.Message); break;
                case MergEventKind.Flame: Invoke(Flame, item.Session, (FlameMessage)item.Message); break;
                case MergEventKind.TurnEnded: Invoke(TurnEnded, item.Session, (TurnEndMessage)item.Message); break;
                case MergEventKind.Pong: Invoke(Pong, (PongMessage)item.Message); break;
                case MergEventKind.Error: Invoke(Error, item.Error); break;
            }
            var all = EventDispatched;
            if (all != null) all(item);
        }

        private static void Invoke<T>(Action<T> handler, T value)
        {
            if (handler != null) handler(value);
        }

        private static void Invoke<T1, T2>(Action<T1, T2> handler, T1 first, T2 second)
        {
            if (handler != null) handler(first, second);
        }

        // ----- shutdown ---------------------------------------------------------------------

        /// <summary>Stops the network thread: closes open sessions (if configured), closes the
        /// socket and joins the thread within <see cref="MergClientOptions.ShutdownTimeoutMs"/>.</summary>
        public void Dispose()
        {
            if (disposed) return;
            disposed = true;
            stopRequested = true;
            stopSignal.Set();
            foreach (var session in Sessions)
            {
                var buffer = session.Buffer;
                if (buffer != null) buffer.Close();
            }
            var worker = thread;
            if (worker != null && worker != Thread.CurrentThread)
            {
                int half = Math.Max(1, options.ShutdownTimeoutMs / 2);
                if (!worker.Join(half))
                {
                    // stuck in a dial or a send: closing the socket from here unblocks it
                    var current = transport;
                    if (current != null) current.Close();
                    if (!worker.Join(half)) Log("the network thread did not stop within " + options.ShutdownTimeoutMs + " ms; it is a background thread and dies with the process");
                }
            }
            else if (worker == null)
            {
                state = ConnectionState.Closed;
            }
            lock (RegistryLock) Live.Remove(this);
        }

        /// <summary>Disposes every live client (Unity: before an assembly reload and when the
        /// application quits, so no socket or thread outlives the domain).</summary>
        public static void ShutdownAll()
        {
            MergClient[] clients;
            lock (RegistryLock) clients = Live.ToArray();
            foreach (var client in clients) client.Dispose();
        }

        public static int LiveClientCount
        {
            get { lock (RegistryLock) return Live.Count; }
        }

        // ----- the network thread ----------------------------------------------------------

        private long Now { get { return clock.ElapsedMilliseconds; } }

        private static double UnixSeconds()
        {
            return (DateTime.UtcNow - UnixEpoch).TotalSeconds;
        }

        private void Log(string message)
        {
            var sink = options.Log;
            if (sink == null) return;
            try
            {
                sink("[merg] " + message);
            }
            catch (Exception)
            {
                // a logger must not take the network thread down
            }
        }

        private void SetState(ConnectionState next)
        {
            if (state == next) return;
            state = next;
            Post(new MergEvent { Kind = MergEventKind.ConnectionChanged, State = next });
        }

        private void Post(MergEvent item)
        {
            if (!events.Enqueue(item)) Log("event queue full: the oldest event was dropped (is DispatchEvents being called?)");
        }

        private void PostError(MergError error)
        {
            if (error.Session != null) error.Session.LastError = error;
            Post(new MergEvent { Kind = MergEventKind.Error, Error = error, Session = error.Session });
        }

        private void Run()
        {
            while (!stopRequested)
            {
                string reason = null;
                lostByLiveness = false;
                try
                {
                    SetState(ConnectionState.Connecting);
                    ITransport next = options.TransportFactory != null ? options.TransportFactory() : new ZmtpTransport();
                    transport = next;
                    if (stopRequested) break;
                    next.Connect(options.Host, options.Port, options.ConnectTimeoutMs);
                    Log("connected: " + next.Description);
                    StartHandshake();
                    Pump();
                }
                catch (TransportException exc)
                {
                    reason = exc.Message;
                }
                catch (Exception exc)
                {
                    if (stopRequested) break;
                    reason = "client fault: " + exc.Message;
                    Log(exc.ToString());
                }
                CloseTransport();
                if (stopRequested) break;
                OnConnectionLost(reason ?? "connection lost");
                SetState(ConnectionState.Reconnecting);
                stopSignal.WaitOne(NextBackoffMs());
            }
            CloseTransport();
            foreach (var session in Sessions)
            {
                var buffer = session.Buffer;
                if (buffer != null) buffer.EndOpenTurns("closed");
            }
            state = ConnectionState.Closed;
            Post(new MergEvent { Kind = MergEventKind.ConnectionChanged, State = ConnectionState.Closed });
        }

        private int NextBackoffMs()
        {
            double delay = options.ReconnectMinDelayMs * Math.Pow(2.0, Math.Min(attempt, 16));
            delay = Math.Min(delay, options.ReconnectMaxDelayMs);
            attempt++;
            return (int)(delay * (0.8 + 0.4 * random.NextDouble()));
        }

        private void CloseTransport()
        {
            var current = transport;
            transport = null;
            if (current == null) return;
            try
            {
                current.Close();
            }
            catch (Exception)
            {
                // closing is best effort
            }
        }

        private void StartHandshake()
        {
            handshakeStartMs = Now;
            lastReceivedMs = Now;
            SetState(ConnectionState.Handshaking);
            var hello = HelloRequest.Create(options.ClientName, options.ClientVersion, options.Engine);
            hello.Seq = Interlocked.Increment(ref seqCounter);
            SendNow(hello);
        }

        private void Pump()
        {
            while (true)
            {
                if (stopRequested)
                {
                    if (state == ConnectionState.Ready && options.CloseSessionsOnDispose) CloseSessionsNow();
                    return;
                }
                FlushRequests();
                Maintain();
                ArraySegment<byte> frame;
                if (!transport.TryReceive(options.PollIntervalMs, out frame)) continue;
                lastReceivedMs = Now;
                HandleFrame(frame);
                for (int burst = 0; burst < 256 && !stopRequested && transport.TryReceive(0, out frame); burst++)
                {
                    lastReceivedMs = Now;
                    HandleFrame(frame);
                }
            }
        }

        private void CloseSessionsNow()
        {
            foreach (var session in Sessions)
            {
                if (session.State != SessionState.Open || session.Sid == null) continue;
                try
                {
                    SendNow(new SessionCloseRequest { Sid = session.Sid, Seq = Interlocked.Increment(ref seqCounter) });
                }
                catch (TransportException)
                {
                    return;
                }
                session.State = SessionState.Closed;
            }
        }

        private void SendNow(ClientMessage message)
        {
            writer.Reset();
            message.Encode(writer);
            transport.Send(writer.Buffer, 0, writer.Length);
            lastSentMs = Now;
            RequestsSent++;
            if (message is PingRequest || message is PlaybackRequest) return;
            recent[message.Seq] = message;
            recentOrder.Enqueue(message.Seq);
            while (recentOrder.Count > RecentRequests) recent.Remove(recentOrder.Dequeue());
        }

        private SessionOpenRequest OpenRequest(MergSession session, string resume)
        {
            var open = session.Options;
            return new SessionOpenRequest
            {
                Rig = open.Rig,
                Fps = open.Fps,
                SampleRate = open.SampleRate,
                Voice = open.Voice,
                Language = open.Language,
                Avatar = open.Avatar,
                Resume = resume,
                Owner = session,
            };
        }

        /// <summary>Sends what can go now; keeps requests of sessions that are not open yet.</summary>
        private void FlushRequests()
        {
            if (state != ConnectionState.Ready) return;
            sendNow.Clear();
            dropNow.Clear();
            lock (requestLock)
            {
                for (int i = 0; i < requests.Count; i++)
                {
                    var request = requests[i];
                    var session = request.Owner as MergSession;
                    bool send;
                    bool drop = false;
                    if (request is SessionOpenRequest)
                    {
                        send = session == null || session.State == SessionState.Opening;
                        if (!send && session.State == SessionState.Closing && session.Sid == null)
                        {
                            // closed by the app before the open even went out: forget it quietly
                            session.State = SessionState.Closed;
                            lock (sessionsLock) sessions.Remove(session);
                        }
                        else
                        {
                            drop = !send;
                        }
                    }
                    else if (request is SessionRequest && session == null)
                    {
                        send = ((SessionRequest)request).Sid != null; // a raw request from Send()
                        drop = !send;
                    }
                    else if (request is SessionRequest)
                    {
                        SessionState sessionState = session == null ? SessionState.Failed : session.State;
                        bool closing = request is SessionCloseRequest && sessionState == SessionState.Closing;
                        send = (sessionState == SessionState.Open || closing) && session.Sid != null;
                        drop = sessionState == SessionState.Closed || sessionState == SessionState.Failed
                            || (sessionState == SessionState.Closing && !(request is SessionCloseRequest));
                        if (closing && session.Sid == null) send = false;
                    }
                    else
                    {
                        send = true;
                    }
                    if (send) sendNow.Add(request);
                    else if (drop) dropNow.Add(request);
                    else if (session == null || session.State != SessionState.Closed) continue;
                    requests.RemoveAt(i);
                    i--;
                }
            }
            foreach (var request in dropNow)
            {
                PostError(new MergError(ErrorCodes.ClientNoSession, "the session is not open", request.Seq)
                {
                    Session = request.Owner as MergSession,
                    RequestType = request.Type,
                });
            }
            foreach (var request in sendNow)
            {
                var session = request.Owner as MergSession;
                var sessionRequest = request as SessionRequest;
                if (sessionRequest != null && session != null) sessionRequest.Sid = session.Sid;
                if (request is SessionOpenRequest && session != null)
                {
                    session.PendingOpenSeq = request.Seq;
                    pendingOpens.Add(session);
                }
                SendNow(request);
            }
        }

        private void Maintain()
        {
            long now = Now;
            if (state == ConnectionState.Handshaking && now - handshakeStartMs > options.HandshakeTimeoutMs)
                throw new TransportException("no welcome within " + options.HandshakeTimeoutMs + " ms");
            if (now - lastReceivedMs > options.LivenessTimeoutMs)
            {
                lostByLiveness = true;
                throw new TransportException("nothing from the server for " + options.LivenessTimeoutMs + " ms");
            }
            if (state != ConnectionState.Ready) return;
            if (now - lastSentMs >= options.HeartbeatIntervalMs)
                SendNow(new PingRequest { T = UnixSeconds(), Seq = Interlocked.Increment(ref seqCounter) });
            sessionScratch.Clear();
            lock (sessionsLock) sessionScratch.AddRange(sessions);
            foreach (var session in sessionScratch)
            {
                if (session.ResumeRetryAtMs > 0 && now >= session.ResumeRetryAtMs && session.State == SessionState.Resuming)
                {
                    session.ResumeRetryAtMs = 0;
                    SendResume(session);
                }
            }
            if (supportsPlayback && now - lastPlaybackReportMs >= options.PlaybackReportIntervalMs)
            {
                lastPlaybackReportMs = now;
                foreach (var session in sessionScratch) ReportPlayback(session);
            }
        }

        private void ReportPlayback(MergSession session)
        {
            var buffer = session.Buffer;
            string sid;
            int turn;
            double seconds;
            if (buffer == null || session.State != SessionState.Open || !buffer.TryGetHeard(out sid, out turn, out seconds)) return;
            if (sid != session.Sid || turn < 1) return;
            if (turn == session.ReportedTurn && Math.Abs(seconds - session.ReportedSeconds) < 1e-3) return;
            session.ReportedTurn = turn;
            session.ReportedSeconds = seconds;
            SendNow(new PlaybackRequest { Sid = sid, Turn = turn, T = Math.Max(0.0, seconds), Seq = Interlocked.Increment(ref seqCounter) });
        }

        /// <summary>While a session's buffer is full the network thread waits for the player;
        /// it keeps the connection alive meanwhile.</summary>
        private bool KeepWaitingForPlayer()
        {
            if (stopRequested) return false;
            lastReceivedMs = Now; // we are not reading: silence from the server is our doing
            if (state == ConnectionState.Ready && Now - lastSentMs >= options.HeartbeatIntervalMs)
            {
                try
                {
                    SendNow(new PingRequest { T = UnixSeconds(), Seq = Interlocked.Increment(ref seqCounter) });
                }
                catch (TransportException)
                {
                    return false;
                }
            }
            return true;
        }

        private MergSession BySid(string sid)
        {
            if (sid == null) return null;
            lock (sessionsLock)
            {
                for (int i = 0; i < sessions.Count; i++)
                {
                    var session = sessions[i];
                    string current = session.Sid;
                    if ((object)current == (object)sid || current == sid) return session;
                }
            }
            return null;
        }

        private void HandleFrame(ArraySegment<byte> frame)
        {
            ServerMessage message;
            try
            {
                message = decoder.Decode(frame);
            }
            catch (ProtocolVersionException exc)
            {
                PostError(new MergError(ErrorCodes.UnsupportedVersion, exc.Message));
                throw new TransportException(exc.Message);
            }
            catch (MsgPackException exc)
            {
                BadFrames++;
                PostError(new MergError(ErrorCodes.ClientBadFrame, "a frame from the server was dropped: " + exc.Message));
                return;
            }
            MessagesReceived++;
            var tap = MessageReceived;
            if (tap != null)
            {
                try
                {
                    tap(message);
                }
                catch (Exception exc)
                {
                    Log("MessageReceived handler failed: " + exc);
                }
            }
            switch (message.Kind)
            {
                case ServerMessageKind.Audio:
                    {
                        var audio = (AudioMessage)message;
                        var session = BySid(audio.Sid);
                        var buffer = session == null ? null : session.Buffer;
                        if (buffer != null && audio.SampleRate == buffer.SampleRate)
                            buffer.WriteAudio(audio.Sid, audio.Turn, audio.T0, audio.Pcm.Array, audio.Pcm.Offset, audio.Pcm.Count, keepWaiting);
                        break;
                    }
                case ServerMessageKind.Face:
                    {
                        var face = (FaceMessage)message;
                        var session = BySid(face.Sid);
                        var buffer = session == null ? null : session.Buffer;
                        if (buffer != null && face.Fps == buffer.Fps)
                            buffer.WriteFrames(face.Sid, face.Turn, face.F0, face.Count, face.Weights, face.Head, face.Eyes, keepWaiting);
                        break;
                    }
                case ServerMessageKind.Welcome:
                    OnWelcome((WelcomeMessage)message);
                    break;
                case ServerMessageKind.SessionOpened:
                    OnSessionOpened((SessionOpenedMessage)message);
                    break;
                case ServerMessageKind.SessionClosed:
                    OnSessionClosed((SessionClosedMessage)message);
                    break;
                case ServerMessageKind.TurnStart:
                    {
                        var start = (TurnStartMessage)message;
                        var session = BySid(start.Sid);
                        if (session != null)
                        {
                            session.LastTurn = start.Turn;
                            var buffer = session.Buffer;
                            if (buffer != null) buffer.BeginTurn(start.Sid, start.Turn, start.Ref);
                        }
                        PostTurnEvent(MergEventKind.TurnStarted, session, message);
                        break;
                    }
                case ServerMessageKind.TurnEnd:
                    {
                        var end = (TurnEndMessage)message;
                        var session = BySid(end.Sid);
                        var buffer = session == null ? null : session.Buffer;
                        if (buffer != null) buffer.EndTurn(end.Sid, end.Turn, end.Reason);
                        PostTurnEvent(MergEventKind.TurnEnded, session, message);
                        break;
                    }
                case ServerMessageKind.Reply:
                    PostTurnEvent(MergEventKind.Reply, BySid(((ReplyMessage)message).Sid), message);
                    break;
                case ServerMessageKind.UserAffect:
                    PostTurnEvent(MergEventKind.UserAffect, BySid(((UserAffectMessage)message).Sid), message);
                    break;
                case ServerMessageKind.Reasoning:
                    PostTurnEvent(MergEventKind.Reasoning, BySid(((ReasoningMessage)message).Sid), message);
                    break;
                case ServerMessageKind.Safety:
                    PostTurnEvent(MergEventKind.Safety, BySid(((SafetyMessage)message).Sid), message);
                    break;
                case ServerMessageKind.Flame:
                    PostTurnEvent(MergEventKind.Flame, BySid(((FlameMessage)message).Sid), message);
                    break;
                case ServerMessageKind.Pong:
                    Post(new MergEvent { Kind = MergEventKind.Pong, Message = message });
                    break;
                case ServerMessageKind.Error:
                    OnError((ErrorMessage)message);
                    break;
                default:
                    Post(new MergEvent { Kind = MergEventKind.UnknownMessage, Message = message });
                    break;
            }
        }

        private void PostTurnEvent(MergEventKind kind, MergSession session, ServerMessage message)
        {
            Post(new MergEvent { Kind = kind, Session = session, Message = message });
        }

        private void OnWelcome(WelcomeMessage message)
        {
            welcome = message;
            supportsPlayback = message.HasFeature("playback");
            bool reconnected = everConnected;
            everConnected = true;
            attempt = 0;
            if (reconnected) Reconnects++;
            SetState(ConnectionState.Ready);
            Post(new MergEvent { Kind = MergEventKind.Connected, Message = message, Detail = reconnected ? "reconnected" : null });
            foreach (var session in Sessions)
            {
                session.ResumeRetryAtMs = 0;
                if (session.State == SessionState.Resuming && session.Sid != null) SendResume(session);
                else if (session.State == SessionState.Opening && session.PendingOpenSeq != 0) SendOpen(session);
            }
        }

        private void SendResume(MergSession session)
        {
            var request = OpenRequest(session, session.Sid);
            request.Seq = Interlocked.Increment(ref seqCounter);
            session.PendingResumeSeq = request.Seq;
            SendNow(request);
        }

        private void SendOpen(MergSession session)
        {
            var request = OpenRequest(session, null);
            request.Seq = Interlocked.Increment(ref seqCounter);
            session.State = SessionState.Opening;
            session.PendingOpenSeq = request.Seq;
            pendingOpens.Add(session);
            SendNow(request);
        }

        private void OnSessionOpened(SessionOpenedMessage message)
        {
            decoder.AddKnownSid(message.Sid);
            if (message.Resumed)
            {
                var resumed = BySid(message.Sid);
                if (resumed == null)
                {
                    Log("resumed an unknown session " + message.Sid);
                    return;
                }
                resumed.PendingResumeSeq = 0;
                resumed.ResumeRetryAtMs = 0;
                Apply(resumed, message);
                Post(new MergEvent { Kind = MergEventKind.SessionResumed, Session = resumed, Message = message });
                return;
            }
            if (pendingOpens.Count == 0)
            {
                Log("session.opened " + message.Sid + " answers no open request");
                return;
            }
            var session = pendingOpens[0];
            pendingOpens.RemoveAt(0);
            session.PendingOpenSeq = 0;
            string previous = session.PreviousSid;
            session.PreviousSid = null;
            Apply(session, message);
            if (session.State == SessionState.Closing)
            {
                // closed by the app before the server answered: close it on the server too
                session.State = SessionState.Closing;
                SendNow(new SessionCloseRequest { Sid = session.Sid, Seq = Interlocked.Increment(ref seqCounter), Owner = session });
                return;
            }
            if (previous != null)
            {
                Post(new MergEvent { Kind = MergEventKind.SessionReopened, Session = session, Message = message, Detail = previous });
                PostError(new MergError(ErrorCodes.ClientSessionReopened,
                    "the server no longer knew session " + previous + "; it was opened again as " + message.Sid, null, message.Sid) { Session = session });
            }
            else
            {
                Post(new MergEvent { Kind = MergEventKind.SessionOpened, Session = session, Message = message });
            }
        }

        private void Apply(MergSession session, SessionOpenedMessage message)
        {
            session.Sid = message.Sid;
            session.RigName = message.RigName;
            session.Names = message.Names;
            session.Fps = message.Fps;
            session.SampleRate = message.SampleRate;
            session.Voice = message.Voice;
            if (session.Options.BufferSpeech)
            {
                var buffer = session.Buffer;
                if (buffer == null || buffer.SampleRate != message.SampleRate || buffer.Fps != message.Fps || buffer.Columns != message.Names.Length)
                {
                    buffer = new SpeechBuffer(message.SampleRate, message.Fps, message.Names.Length, options.Speech);
                    if (session.pendingDropSeq > 0) buffer.DropTurnsBefore(session.pendingDropSeq);
                    session.Buffer = buffer;
                }
            }
            if (session.State != SessionState.Closing) session.State = SessionState.Open;
        }

        private void OnSessionClosed(SessionClosedMessage message)
        {
            var session = BySid(message.Sid);
            if (session == null) return;
            session.State = SessionState.Closed;
            var buffer = session.Buffer;
            if (buffer != null) buffer.Clear();
            lock (sessionsLock) sessions.Remove(session);
            decoder.ForgetSid(message.Sid);
            Post(new MergEvent { Kind = MergEventKind.SessionClosed, Session = session, Message = message, Detail = message.Reason });
        }

        private void OnError(ErrorMessage message)
        {
            ClientMessage request = null;
            if (message.Ref.HasValue && message.Ref.Value <= int.MaxValue) recent.TryGetValue((int)message.Ref.Value, out request);
            var session = (request == null ? null : request.Owner as MergSession) ?? BySid(message.Sid);
            var error = new MergError(message.Code, message.Message, message.Ref, message.Sid)
            {
                Session = session,
                RequestType = request == null ? null : request.Type,
            };

            if (message.Code == ErrorCodes.HelloRequired)
            {
                // the server forgot us (idle timeout): greet again, resume, and resend the request
                Log("the server asks for hello again; resuming sessions");
                foreach (var known in Sessions)
                {
                    if (known.State == SessionState.Open) known.State = SessionState.Resuming;
                }
                pendingOpens.Clear();
                if (request != null && !(request is HelloRequest))
                {
                    lock (requestLock) requests.Insert(0, request);
                }
                StartHandshake();
                return;
            }

            var open = request as SessionOpenRequest;
            if (open != null && session != null)
            {
                if (open.Resume != null)
                {
                    if (message.Code == ErrorCodes.UnknownSession && lastLossByLiveness && Now - lostAtMs < options.ResumeRetryWindowMs)
                    {
                        // the server may still hold the dead connection: try again shortly
                        session.ResumeRetryAtMs = Now + 2000;
                        return;
                    }
                    if (message.Code == ErrorCodes.UnknownSession)
                    {
                        session.PreviousSid = session.Sid;
                        decoder.ForgetSid(session.Sid);
                        SendOpen(session);
                        return;
                    }
                }
                pendingOpens.Remove(session);
                session.State = SessionState.Failed;
                session.LastError = error;
                Post(new MergEvent { Kind = MergEventKind.SessionFailed, Session = session, Error = error });
            }
            PostError(error);
        }

        private void OnConnectionLost(string reason)
        {
            lostAtMs = Now;
            lastLossByLiveness = lostByLiveness;
            bool wasWelcomed = state == ConnectionState.Ready;
            Log("connection lost: " + reason);
            foreach (var session in Sessions)
            {
                switch (session.State)
                {
                    case SessionState.Open:
                        session.State = SessionState.Resuming;
                        session.PendingResumeSeq = 0;
                        break;
                    case SessionState.Closing:
                        session.State = SessionState.Closed;
                        lock (sessionsLock) sessions.Remove(session);
                        break;
                }
                var buffer = session.Buffer;
                if (buffer != null) buffer.EndOpenTurns("disconnected");
            }
            pendingOpens.Clear();
            recent.Clear();
            recentOrder.Clear();
            if (wasWelcomed || !everConnected)
                Post(new MergEvent { Kind = MergEventKind.Disconnected, Detail = reason });
        }
    }
}
