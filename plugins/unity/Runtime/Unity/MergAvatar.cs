using System;
using Merg.Client;
using Merg.Protocol;
using UnityEngine;
using UnityEngine.Events;

namespace Merg.Unity
{
    /// <summary>
    /// One avatar: a connection to a MERG server (from a <see cref="MergConnectionSettings"/>
    /// asset), one session on it, and the turns it speaks. It owns the <see cref="MergClient"/>
    /// and raises its events on the main thread; the appliers (<see cref="StreamingAudioPlayer"/>,
    /// <see cref="BlendshapeDriver"/>) subscribe to <see cref="SessionReady"/> and read the
    /// session's jitter buffer. A thin layer: everything it does is in the tested core.
    /// </summary>
    /// <remarks>
    /// Lifetime: connects in OnEnable (if <see cref="connectOnEnable"/>), dispatches events in
    /// Update, and disconnects in OnDisable, OnApplicationQuit and OnDestroy. Disconnecting
    /// closes the socket and joins the network thread with a timeout; the thread is a
    /// background thread, and the editor assembly also calls <see cref="MergClient.ShutdownAll"/>
    /// before a domain reload and on quit, so the editor never hangs on a live socket.
    /// </remarks>
    [AddComponentMenu("MERG/MERG Avatar")]
    [DisallowMultipleComponent]
    public sealed class MergAvatar : MonoBehaviour
    {
        [Tooltip("The server and session to use (Assets > Create > MERG > Connection Settings).")]
        public MergConnectionSettings settings;
        [Tooltip("Connect when the component is enabled.")]
        public bool connectOnEnable = true;
        [Tooltip("Events raised per frame at most (the rest wait for the next frame).")]
        [Min(1)] public int maxEventsPerFrame = 256;

        [Header("Events (main thread)")]
        public UnityEvent onConnected = new UnityEvent();
        public MergStringEvent onDisconnected = new MergStringEvent();
        /// <summary>The session is open (also after a resume or a reopen).</summary>
        public UnityEvent onSessionReady = new UnityEvent();
        public MergIntEvent onTurnStarted = new MergIntEvent();
        /// <summary>A clause of the avatar's words, as it will be spoken (captions).</summary>
        public MergStringEvent onReply = new MergStringEvent();
        /// <summary>done, interrupted or error.</summary>
        public MergStringEvent onTurnEnded = new MergStringEvent();
        /// <summary>The user's emotion as the server read it (user.text turns).</summary>
        public MergStringEvent onUserEmotion = new MergStringEvent();
        /// <summary>Crisis language in the user's words (the safety category): decide whom to alert.</summary>
        public MergStringEvent onSafety = new MergStringEvent();
        public MergErrorEvent onError = new MergErrorEvent();

        /// <summary>The session opened, resumed or reopened: appliers (re)bind to it.</summary>
        public event Action<MergSession> SessionReady;

        public MergClient Client { get; private set; }

        /// <summary>The avatar's session (its <see cref="MergSession.Buffer"/> is the jitter buffer).</summary>
        public MergSession Session { get; private set; }

        public bool IsConnected
        {
            get { return Client != null && Client.State == ConnectionState.Ready; }
        }

        private void OnEnable()
        {
            if (connectOnEnable) Connect();
        }

        private void Update()
        {
            if (Client != null) Client.DispatchEvents(maxEventsPerFrame);
        }

        private void OnDisable()
        {
            Disconnect();
        }

        private void OnApplicationQuit()
        {
            Disconnect();
        }

        private void OnDestroy()
        {
            Disconnect();
        }

        /// <summary>Starts the client and opens the session (returns at once; see the events).</summary>
        public void Connect()
        {
            if (Client != null) return;
            if (settings == null)
            {
                Debug.LogError("MergAvatar: assign a MergConnectionSettings asset", this);
                return;
            }
            MergClientOptions options;
            try
            {
                options = settings.ToClientOptions();
            }
            catch (Exception exc)
            {
                Debug.LogError("MergAvatar: " + exc.Message, this);
                return;
            }
            Client = new MergClient(options);
            Client.Connected += OnConnected;
            Client.Disconnected += OnDisconnected;
            Client.SessionOpened += OnSessionReady;
            Client.SessionResumed += OnSessionReady;
            Client.SessionReopened += OnSessionReopened;
            Client.SessionFailed += OnSessionFailed;
            Client.TurnStarted += OnTurnStarted;
            Client.Reply += OnReply;
            Client.TurnEnded += OnTurnEnded;
            Client.UserAffect += OnUserAffect;
            Client.Safety += OnSafety;
            Client.Error += OnError;
            Client.Start();
            Session = Client.OpenSession(settings.ToSessionOptions());
        }

        /// <summary>Closes the session and the connection; waits for the network thread at
        /// most <see cref="MergConnectionSettings.shutdownTimeoutMs"/>.</summary>
        public void Disconnect()
        {
            var client = Client;
            if (client == null) return;
            Client = null;
            Session = null;
            client.Dispose();
        }

        /// <summary>Speaks a scripted line (barge-in: what is playing stops). Returns the
        /// request's seq (turn.start ref), or -1.</summary>
        public long Say(string text)
        {
            return Say(text, null, -1f);
        }

        /// <param name="emotion">One of welcome.capabilities.emotions, or null for neutral.</param>
        /// <param name="intensity">In [0, 1]; negative for the server's default.</param>
        public long Say(string text, string emotion, float intensity)
        {
            if (!HasSession()) return -1;
            return Session.Say(text, string.IsNullOrEmpty(emotion) ? null : emotion, intensity < 0f ? (double?)null : Mathf.Clamp01(intensity));
        }

        /// <summary>The user said this: the avatar answers through the empathy pipeline.</summary>
        public long SendUserText(string text)
        {
            if (!HasSession()) return -1;
            return Session.SendUserText(text);
        }

        /// <summary>Barge-in: the avatar stops speaking at once.</summary>
        public long Interrupt()
        {
            if (!HasSession()) return -1;
            return Session.Interrupt();
        }

        private bool HasSession()
        {
            if (Session != null) return true;
            Debug.LogWarning("MergAvatar: not connected (call Connect first)", this);
            return false;
        }

        private bool Mine(MergSession session)
        {
            return session != null && session == Session;
        }

        private void OnConnected(WelcomeMessage welcome)
        {
            onConnected.Invoke();
        }

        private void OnDisconnected(string reason)
        {
            onDisconnected.Invoke(reason);
        }

        private void OnSessionReady(MergSession session)
        {
            if (!Mine(session)) return;
            var handler = SessionReady;
            if (handler != null) handler(session);
            onSessionReady.Invoke();
        }

        private void OnSessionReopened(MergSession session, string previousSid)
        {
            OnSessionReady(session);
        }

        private void OnSessionFailed(MergSession session, MergError error)
        {
            if (Mine(session)) Debug.LogError("MergAvatar: the session could not be opened: " + error, this);
        }

        private void OnTurnStarted(MergSession session, TurnStartMessage message)
        {
            if (Mine(session)) onTurnStarted.Invoke(message.Turn);
        }

        private void OnReply(MergSession session, ReplyMessage message)
        {
            if (Mine(session) && message.Text.Trim().Length > 0) onReply.Invoke(message.Text);
        }

        private void OnTurnEnded(MergSession session, TurnEndMessage message)
        {
            if (Mine(session)) onTurnEnded.Invoke(message.Reason);
        }

        private void OnUserAffect(MergSession session, UserAffectMessage message)
        {
            if (Mine(session)) onUserEmotion.Invoke(message.Emotion);
        }

        private void OnSafety(MergSession session, SafetyMessage message)
        {
            if (!Mine(session)) return;
            Debug.LogWarning("MERG safety: " + message.Category + " (" + message.Severity + ")", this);
            onSafety.Invoke(message.Category);
        }

        private void OnError(MergError error)
        {
            if (error.Session != null && !Mine(error.Session)) return;
            Debug.LogWarning("MERG: " + error, this);
            onError.Invoke(error.Code, error.Message);
        }
    }
}
