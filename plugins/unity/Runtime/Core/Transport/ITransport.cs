using System;

namespace Merg.Transport
{
    /// <summary>
    /// One DEALER-style connection to a MERG server: whole single-frame messages in, whole
    /// single-frame messages out. <see cref="ZmtpTransport"/> (built in, plain TCP sockets)
    /// and the optional NetMQ transport (Runtime/NetMQ, define MERG_NETMQ) implement it.
    /// </summary>
    /// <remarks>
    /// Threading contract: <c>MergClient</c> calls every method from its network
    /// thread only, except <see cref="Close"/>, which may come from any thread to unblock
    /// that thread during shutdown. An implementation raises <see cref="TransportException"/>
    /// when the connection is lost; the client then closes it and makes a new one (with
    /// back-off), so an implementation never needs to reconnect on its own.
    /// </remarks>
    public interface ITransport : IDisposable
    {
        /// <summary>Connects and completes the transport handshake, or throws
        /// <see cref="TransportException"/> within about <paramref name="timeoutMs"/>.</summary>
        void Connect(string host, int port, int timeoutMs);

        /// <summary>Sends one single-frame message (the bytes are copied before returning).</summary>
        void Send(byte[] buffer, int offset, int count);

        /// <summary>Waits up to <paramref name="timeoutMs"/> for one whole message. The
        /// segment stays valid until the next call; copy what must outlive it.</summary>
        bool TryReceive(int timeoutMs, out ArraySegment<byte> message);

        /// <summary>Closes the connection at once (no linger); safe to call twice.</summary>
        void Close();

        /// <summary>For logs: the peer and the wire protocol in use.</summary>
        string Description { get; }
    }

    /// <summary>The connection failed or was lost (refused, closed by the peer, timed out,
    /// or the peer broke the wire protocol).</summary>
    public sealed class TransportException : Exception
    {
        public TransportException(string message) : base(message) { }

        public TransportException(string message, Exception inner) : base(message, inner) { }
    }
}
