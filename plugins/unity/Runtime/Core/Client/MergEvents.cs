using Merg.Playback;
using Merg.Protocol;

namespace Merg.Client
{
    /// <summary>The connection, as the network thread sees it.</summary>
    public enum ConnectionState
    {
        /// <summary>Not started yet.</summary>
        Idle,
        /// <summary>Dialling the server.</summary>
        Connecting,
        /// <summary>Connected; <c>hello</c> sent, waiting for <c>welcome</c>.</summary>
        Handshaking,
        /// <summary>Welcomed: requests flow (sessions resume or reopen on their own).</summary>
        Ready,
        /// <summary>Lost; waiting for the back-off before dialling again.</summary>
        Reconnecting,
        /// <summary>Disposed.</summary>
        Closed,
    }

    public enum SessionState
    {
        /// <summary><c>session.open</c> queued or sent; no sid yet.</summary>
        Opening,
        Open,
        /// <summary>The connection was lost; the session will be resumed (or reopened).</summary>
        Resuming,
        /// <summary><c>session.close</c> sent.</summary>
        Closing,
        Closed,
        /// <summary>The server refused to open (or reopen) it; see <see cref="MergSession.LastError"/>.</summary>
        Failed,
    }

    /// <summary>
    /// An error, from the server (<see cref="Code"/> is one of the stable
    /// <see cref="ErrorCodes"/>) or from this client (codes starting with <c>client.</c>).
    /// </summary>
    public sealed class MergError
    {
        public MergError(string code, string message, long? requestSeq = null, string sid = null)
        {
            Code = code;
            Message = message;
            Ref = requestSeq;
            Sid = sid;
        }

        public string Code { get; private set; }
        public string Message { get; private set; }
        /// <summary>The seq of the request that failed (as returned by Say, OpenSession, ...).</summary>
        public long? Ref { get; private set; }
        public string Sid { get; private set; }
        /// <summary>The session concerned, when known.</summary>
        public MergSession Session { get; internal set; }
        /// <summary>The wire type of the failed request, when the client still knew it.</summary>
        public string RequestType { get; internal set; }

        /// <summary>Raised by this client rather than sent by the server.</summary>
        public bool IsLocal { get { return Code != null && Code.StartsWith("client."); } }

        public override string ToString()
        {
            return Code + ": " + Message
                + (RequestType != null ? " (" + RequestType + (Ref.HasValue ? " #" + Ref.Value : "") + ")" : Ref.HasValue ? " (#" + Ref.Value + ")" : "");
        }
    }

    public enum MergEventKind
    {
        ConnectionChanged,
        Connected,
        Disconnected,
        SessionOpened,
        SessionResumed,
        SessionReopened,
        SessionClosed,
        SessionFailed,
        TurnStarted,
        UserAffect,
        Reasoning,
        Safety,
        Reply,
        Flame,
        TurnEnded,
        Pong,
        Error,
        Playback,
        UnknownMessage,
    }

    /// <summary>One item of the network-to-game-thread hand-over, dispatched by
    /// <see cref="MergClient.DispatchEvents"/>.</summary>
    public sealed class MergEvent
    {
        public MergEventKind Kind { get; internal set; }
        public MergSession Session { get; internal set; }
        public ServerMessage Message { get; internal set; }
        public MergError Error { get; internal set; }
        public ConnectionState State { get; internal set; }
        public PlaybackNote Note { get; internal set; }
        /// <summary>Disconnect reason, previous sid of a reopened session, close reason.</summary>
        public string Detail { get; internal set; }

        public override string ToString()
        {
            return Kind + (Session != null ? " " + Session.Sid : "") + (Detail != null ? " " + Detail : "")
                + (Error != null ? " " + Error : "");
        }
    }
}
