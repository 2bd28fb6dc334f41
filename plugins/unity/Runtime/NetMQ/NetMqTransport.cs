#if MERG_NETMQ
using System;
using Merg.Transport;
using NetMQ;
using NetMQ.Sockets;
using UnityEngine;

namespace Merg.Transports.NetMq
{
    /// <summary>
    /// The MERG transport over NetMQ's DealerSocket, for projects that already ship NetMQ
    /// (for instance to reach a server with CurveZMQ keys, which the built-in ZMTP transport
    /// does not speak). Compiled only with the MERG_NETMQ scripting define and NetMQ.dll /
    /// AsyncIO.dll in the project; select it with MergConnectionSettings.transport = NetMQ.
    /// NOT compiled or tested in the MERG repository (NetMQ cannot be fetched there).
    /// </summary>
    /// <remarks>
    /// NetMQ connects in the background and reconnects by itself: a dead connection shows
    /// up as the client's liveness timeout or as <c>hello_required</c>, both handled by
    /// MergClient. Receiving allocates one array per message (NetMQ's frame API).
    /// </remarks>
    public sealed class NetMqTransport : ITransport
    {
        private readonly Action<DealerSocket> configure;
        private DealerSocket socket;
        private string endpoint;
        private byte[] sendBuffer = new byte[4096];

        /// <param name="configure">Called on each new socket before it connects: set CurveZMQ
        /// keys here with your NetMQ version's API (socket.Options.CurveServerKey, ...).</param>
        public NetMqTransport(Action<DealerSocket> configure = null)
        {
            this.configure = configure;
        }

        public string Description
        {
            get { return "netmq " + (endpoint ?? "(not connected)"); }
        }

        public void Connect(string host, int port, int timeoutMs)
        {
            Close();
            endpoint = "tcp://" + host + ":" + port;
            try
            {
                socket = new DealerSocket();
                socket.Options.Linger = TimeSpan.Zero;
                if (configure != null) configure(socket);
                socket.Connect(endpoint);
            }
            catch (Exception exc)
            {
                Close();
                throw new TransportException("NetMQ could not connect to " + endpoint + ": " + exc.Message, exc);
            }
        }

        public void Send(byte[] buffer, int offset, int count)
        {
            DealerSocket current = socket;
            if (current == null) throw new TransportException("not connected");
            byte[] data = buffer;
            if (offset != 0)
            {
                if (sendBuffer.Length < count) sendBuffer = new byte[Math.Max(count, sendBuffer.Length * 2)];
                Buffer.BlockCopy(buffer, offset, sendBuffer, 0, count);
                data = sendBuffer;
            }
            try
            {
                if (!current.TrySendFrame(TimeSpan.FromSeconds(5), data, count, false))
                    throw new TransportException("NetMQ could not send within 5 s (is the server reachable?)");
            }
            catch (NetMQException exc)
            {
                throw new TransportException("NetMQ send failed: " + exc.Message, exc);
            }
        }

        public bool TryReceive(int timeoutMs, out ArraySegment<byte> message)
        {
            message = default(ArraySegment<byte>);
            DealerSocket current = socket;
            if (current == null) throw new TransportException("not connected");
            try
            {
                byte[] frame;
                bool more;
                if (!current.TryReceiveFrameBytes(TimeSpan.FromMilliseconds(timeoutMs), out frame, out more)) return false;
                if (more)
                {
                    // MERG never sends multipart messages: drop the rest of this one
                    while (more && current.TryReceiveFrameBytes(TimeSpan.FromMilliseconds(100), out frame, out more)) { }
                    return false;
                }
                message = new ArraySegment<byte>(frame);
                return true;
            }
            catch (ObjectDisposedException)
            {
                throw new TransportException("the connection was closed");
            }
            catch (NetMQException exc)
            {
                throw new TransportException("NetMQ receive failed: " + exc.Message, exc);
            }
        }

        public void Close()
        {
            DealerSocket current = socket;
            socket = null;
            if (current == null) return;
            try
            {
                current.Dispose();
            }
            catch (Exception)
            {
                // closing is best effort
            }
        }

        public void Dispose()
        {
            Close();
        }

        /// <summary>Registers "netmq" with the transport registry when the game loads, and
        /// releases NetMQ's own threads on quit (NetMQ otherwise blocks the editor on exit).</summary>
        [RuntimeInitializeOnLoadMethod(RuntimeInitializeLoadType.SubsystemRegistration)]
        private static void Register()
        {
            AsyncIO.ForceDotNet.Force();
            TransportRegistry.Register(TransportRegistry.NetMq, () => new NetMqTransport());
            Application.quitting += Cleanup;
#if UNITY_EDITOR
            UnityEditor.AssemblyReloadEvents.beforeAssemblyReload += Cleanup;
#endif
        }

        private static void Cleanup()
        {
            Merg.Client.MergClient.ShutdownAll();
            NetMQConfig.Cleanup(false);
        }
    }
}
#endif
