namespace Merg.Protocol
{
    /// <summary>Protocol constants, mirrored from merg_sdk/protocol/constants.py.</summary>
    public static class ProtocolConstants
    {
        public const int ProtocolVersion = 1;
        public const int DefaultPort = 5555;
        public const string DefaultHost = "127.0.0.1";

        public static readonly int[] SupportedFps = { 30, 60, 120 };
        public static readonly int[] SupportedSampleRatesHz = { 16000, 22050, 24000, 44100, 48000 };

        public const string DefaultRig = RigNames.Arkit52;
        public const int DefaultFps = 60;
        public const int DefaultSampleRateHz = 22050;
    }

    /// <summary>The wire <c>type</c> of every message (merg_sdk/protocol/messages.py).</summary>
    public static class MessageTypes
    {
        // client to server
        public const string Hello = "hello";
        public const string Ping = "ping";
        public const string SessionOpen = "session.open";
        public const string SessionClose = "session.close";
        public const string Say = "say";
        public const string UserText = "user.text";
        public const string Interrupt = "interrupt";
        public const string Playback = "playback";

        // server to client
        public const string Welcome = "welcome";
        public const string Pong = "pong";
        public const string SessionOpened = "session.opened";
        public const string SessionClosed = "session.closed";
        public const string TurnStart = "turn.start";
        public const string UserAffect = "user.affect";
        public const string Reasoning = "reasoning";
        public const string Safety = "safety";
        public const string Reply = "reply";
        public const string Audio = "audio";
        public const string Face = "face";
        public const string Flame = "flame";
        public const string TurnEnd = "turn.end";
        public const string Error = "error";
    }

    /// <summary>
    /// The server's stable error codes (merg_sdk/protocol/errors.py). A code never changes
    /// meaning; later servers may add codes, which a client treats as a generic error.
    /// </summary>
    public static class ErrorCodes
    {
        public const string BadMessage = "bad_message";
        public const string HelloRequired = "hello_required";
        public const string UnsupportedVersion = "unsupported_version";
        public const string Unsupported = "unsupported";
        public const string UnknownSession = "unknown_session";
        public const string TooLarge = "too_large";
        public const string TooManySessions = "too_many_sessions";
        public const string Overloaded = "overloaded";
        public const string UpstreamFailed = "upstream_failed";
        public const string Internal = "internal";

        /// <summary>Codes this client knows; anything else is a generic server error.</summary>
        public static readonly string[] ServerCodes =
        {
            BadMessage, HelloRequired, UnsupportedVersion, Unsupported, UnknownSession,
            TooLarge, TooManySessions, Overloaded, UpstreamFailed, Internal,
        };

        // Raised by this client, never sent by a server (the "client." prefix keeps them apart).
        // A lost connection is not an error but an event (MergClient.Disconnected).
        /// <summary>A frame from the server was not valid MessagePack or not a valid message.</summary>
        public const string ClientBadFrame = "client.bad_frame";
        /// <summary>The request queue is full (the network thread is not keeping up or is down).</summary>
        public const string ClientQueueFull = "client.queue_full";
        /// <summary>The request needs an open session.</summary>
        public const string ClientNoSession = "client.no_session";
        /// <summary>A session could not be resumed after a reconnect and was opened afresh.</summary>
        public const string ClientSessionReopened = "client.session_reopened";

        public static bool IsServerCode(string code)
        {
            return System.Array.IndexOf(ServerCodes, code) >= 0;
        }
    }

    /// <summary>Rigs a server may offer (welcome.capabilities.rigs).</summary>
    public static class RigNames
    {
        public const string Arkit52 = "arkit52";
        public const string Visemes = "visemes";
        public const string Facecap = "facecap";
        public const string Livelink = "livelink";
        public const string Oculus = "oculus";
        public const string Vrm0 = "vrm0";
        public const string Vrm1 = "vrm1";
        public const string Flame = "flame";
    }

    /// <summary><c>turn.start.source</c> values.</summary>
    public static class TurnSources
    {
        public const string UserText = "user.text";
        public const string UserAudio = "user.audio";
        public const string Say = "say";
        public const string Animate = "animate";
    }

    /// <summary><c>turn.end.reason</c> values.</summary>
    public static class TurnEndReasons
    {
        public const string Done = "done";
        public const string Interrupted = "interrupted";
        public const string Error = "error";
    }

    /// <summary><c>session.closed.reason</c> values.</summary>
    public static class SessionClosedReasons
    {
        public const string Closed = "closed";
        public const string ResumedElsewhere = "resumed_elsewhere";
    }

    /// <summary>The emotions a <c>say</c> may carry (welcome.capabilities.emotions in 0.1).</summary>
    public static class Emotions
    {
        public const string Neutral = "neutral";
        public const string Happy = "happy";
        public const string Sad = "sad";
        public const string Angry = "angry";
        public const string Afraid = "afraid";
        public const string Surprised = "surprised";
        public const string Disgusted = "disgusted";
        public const string Calm = "calm";
        public const string Caring = "caring";
    }
}
