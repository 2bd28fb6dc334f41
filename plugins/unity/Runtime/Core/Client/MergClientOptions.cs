using System;
using Merg.Playback;
using Merg.Protocol;
using Merg.Transport;

namespace Merg.Client
{
    /// <summary>How a <see cref="MergClient"/> connects, stays alive and reconnects. The
    /// Unity layer fills one from a MergConnectionSettings asset.</summary>
    public sealed class MergClientOptions
    {
        public MergClientOptions()
        {
            Host = ProtocolConstants.DefaultHost;
            Port = ProtocolConstants.DefaultPort;
            ClientName = "merg-csharp";
            ClientVersion = "0.1.0";
            Engine = "csharp";
            ConnectTimeoutMs = 3000;
            HandshakeTimeoutMs = 10000;
            HeartbeatIntervalMs = 5000;
            LivenessTimeoutMs = 20000;
            ReconnectMinDelayMs = 250;
            ReconnectMaxDelayMs = 2000;
            ResumeRetryWindowMs = 12000;
            PlaybackReportIntervalMs = 250;
            PollIntervalMs = 5;
            MaxQueuedRequests = 256;
            MaxQueuedEvents = 1024;
            ShutdownTimeoutMs = 1000;
            CloseSessionsOnDispose = true;
            Speech = new SpeechBufferOptions();
        }

        public string Host { get; set; }
        public int Port { get; set; }

        /// <summary>Sent in <c>hello.client</c> (name, version, engine).</summary>
        public string ClientName { get; set; }
        public string ClientVersion { get; set; }
        public string Engine { get; set; }

        public int ConnectTimeoutMs { get; set; }
        /// <summary>From connecting to <c>welcome</c>.</summary>
        public int HandshakeTimeoutMs { get; set; }

        /// <summary>A <c>ping</c> goes out when nothing else was sent for this long. Below the
        /// server's resume_takeover_s (10 s), so nobody can take our sessions while we live.</summary>
        public int HeartbeatIntervalMs { get; set; }

        /// <summary>No message from the server for this long (pongs included) means the
        /// connection is dead even if TCP has not said so: reconnect.</summary>
        public int LivenessTimeoutMs { get; set; }

        /// <summary>Reconnect back-off: doubles from the minimum to the maximum, with jitter.</summary>
        public int ReconnectMinDelayMs { get; set; }
        public int ReconnectMaxDelayMs { get; set; }

        /// <summary>After a reconnect that followed a liveness timeout, the server may not
        /// have noticed the old connection died and answers <c>resume</c> with
        /// unknown_session until its resume_takeover_s passes; the client retries for this
        /// long before it opens the session afresh. After a closed connection (a server
        /// restart) it opens afresh at once.</summary>
        public int ResumeRetryWindowMs { get; set; }

        /// <summary>How often the heard position goes to the server (<c>playback</c>).</summary>
        public int PlaybackReportIntervalMs { get; set; }

        /// <summary>The network thread's receive wait: the most a queued request waits to go out.</summary>
        public int PollIntervalMs { get; set; }

        public int MaxQueuedRequests { get; set; }
        public int MaxQueuedEvents { get; set; }

        /// <summary>Dispose waits this long for the network thread (which is a background
        /// thread, so it can never keep the process or the Unity editor alive).</summary>
        public int ShutdownTimeoutMs { get; set; }

        /// <summary>Send <c>session.close</c> for open sessions on Dispose, so the server frees
        /// them now instead of keeping them for a resume.</summary>
        public bool CloseSessionsOnDispose { get; set; }

        public SpeechBufferOptions Speech { get; set; }

        /// <summary>Makes the transport for each connection attempt; the default is the
        /// built-in <see cref="ZmtpTransport"/>.</summary>
        public Func<ITransport> TransportFactory { get; set; }

        /// <summary>Diagnostics from the network thread (Unity: Debug.Log is thread-safe).</summary>
        public Action<string> Log { get; set; }
    }

    /// <summary>What a session asks for in <c>session.open</c>.</summary>
    public sealed class SessionOptions
    {
        public SessionOptions()
        {
            Rig = ProtocolConstants.DefaultRig;
            Fps = ProtocolConstants.DefaultFps;
            SampleRate = ProtocolConstants.DefaultSampleRateHz;
        }

        public string Rig { get; set; }
        public int Fps { get; set; }
        public int SampleRate { get; set; }
        public string Voice { get; set; }
        public string Language { get; set; }
        /// <summary>A persona id (string) or an inline persona (MsgPackMap); null for the default.</summary>
        public object Avatar { get; set; }
        /// <summary>Buffer audio and face frames for playback (the default). Off for a
        /// session that only wants the messages (e.g. a recorder using the network tap).</summary>
        public bool BufferSpeech { get; set; } = true;
    }
}
