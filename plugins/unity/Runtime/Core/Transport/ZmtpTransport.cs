using System;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Threading;

namespace Merg.Transport
{
    /// <summary>
    /// A ZeroMQ DEALER socket in plain C#: ZMTP 3.0 (rfc.zeromq.org/spec/23) over one TCP
    /// connection with the NULL security mechanism. It is what a libzmq DEALER puts on the
    /// wire, so the server's ROUTER cannot tell the difference.
    /// </summary>
    /// <remarks>
    /// <para>Handshake: the 64-byte greeting (signature <c>FF 00..00 7F</c>, version 3.0,
    /// mechanism <c>NULL</c>, as-server 0), then a READY command with the metadata
    /// <c>Socket-Type=DEALER</c> and <c>Identity</c> (empty by default, so the ROUTER picks
    /// a routing id: a fixed identity would be refused while the server still holds the
    /// previous connection), then the peer's READY, whose Socket-Type must be ROUTER or
    /// DEALER.</para>
    /// <para>Traffic: frames with a flags byte (MORE 0x01, LONG 0x02, COMMAND 0x04) and a
    /// 1-byte or 8-byte big-endian size. Outgoing messages are single frames; a multipart
    /// message from the peer (never sent by MERG) is dropped whole and counted. ZMTP 3.1
    /// PING commands are answered with PONG; an ERROR command ends the connection.</para>
    /// <para>Unlike libzmq this class does not reconnect by itself: a lost connection raises
    /// <see cref="TransportException"/> and the client decides when to dial again. It does
    /// not implement CurveZMQ: a server started with keys is reported as such.</para>
    /// <para>Allocation: frames are parsed in place in one receive buffer that only grows, and
    /// <see cref="TryReceive"/> returns a view into it, so steady-state receiving allocates
    /// nothing.</para>
    /// </remarks>
    public sealed class ZmtpTransport : ITransport
    {
        public const int GreetingLength = 64;
        /// <summary>The server's own ZeroMQ cap (Limits.transport_max_message_bytes).</summary>
        public const long DefaultMaxMessageBytes = 16L << 20;

        private const byte FlagMore = 0x01;
        private const byte FlagLong = 0x02;
        private const byte FlagCommand = 0x04;
        private const int MaxCommandBytes = 64 * 1024;
        private const int SendTimeoutMs = 10000;

        private static readonly byte[] SocketTypeDealer = Encoding.ASCII.GetBytes("DEALER");

        private readonly object sendLock = new object();
        private readonly byte[] identity;
        private readonly long maxMessageBytes;

        private Socket socket;
        private string host;
        private int port;
        private byte[] input = new byte[64 * 1024];
        private int inStart;
        private int inEnd;
        private byte[] output = new byte[4096];
        private bool dropMultipart;

        public ZmtpTransport() : this(null, DefaultMaxMessageBytes) { }

        /// <param name="identity">Routing id to announce (1 to 255 bytes, not starting with a
        /// zero byte), or null/empty to let the ROUTER choose one per connection.</param>
        /// <param name="maxMessageBytes">Frames larger than this end the connection.</param>
        public ZmtpTransport(byte[] identity, long maxMessageBytes)
        {
            if (identity != null && identity.Length > 0 && (identity.Length > 255 || identity[0] == 0))
                throw new ArgumentException("a ZeroMQ identity has 1 to 255 bytes and does not start with 0");
            this.identity = identity ?? new byte[0];
            this.maxMessageBytes = maxMessageBytes;
        }

        public int PeerVersionMajor { get; private set; }
        public int PeerVersionMinor { get; private set; }
        public string PeerSocketType { get; private set; }
        public bool IsConnected { get { return socket != null; } }
        /// <summary>Multipart messages from the peer, dropped (MERG never sends any).</summary>
        public long DroppedMultipartMessages { get; private set; }
        /// <summary>ZMTP 3.1 PING commands answered with PONG.</summary>
        public long PingsAnswered { get; private set; }

        public string Description
        {
            get
            {
                return "zmtp/3.0 tcp://" + host + ":" + port
                    + (PeerSocketType == null ? "" : " (peer ZMTP " + PeerVersionMajor + "." + PeerVersionMinor + " " + PeerSocketType + ")");
            }
        }

        public void Connect(string host, int port, int timeoutMs)
        {
            Close();
            this.host = host;
            this.port = port;
            inStart = inEnd = 0;
            dropMultipart = false;
            PeerSocketType = null;
            var deadline = Stopwatch.StartNew();
            IPAddress address = Resolve(host);
            var connecting = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                connecting.NoDelay = true;
                connecting.SendTimeout = SendTimeoutMs;
                socket = connecting; // so that Close() from another thread aborts the dial
                IAsyncResult pending = connecting.BeginConnect(address, port, null, null);
                if (!pending.AsyncWaitHandle.WaitOne(Math.Max(1, timeoutMs)))
                    throw new TransportException("connecting to " + host + ":" + port + " timed out");
                if (socket != connecting) throw new TransportException("the connection was closed");
                connecting.EndConnect(pending);
                Handshake(timeoutMs - (int)deadline.ElapsedMilliseconds);
            }
            catch (SocketException exc)
            {
                Close();
                connecting.Close();
                throw new TransportException("cannot connect to " + host + ":" + port + ": " + exc.SocketErrorCode, exc);
            }
            catch (ObjectDisposedException)
            {
                Close();
                throw new TransportException("the connection was closed");
            }
            catch (Exception)
            {
                Close();
                connecting.Close();
                throw;
            }
        }

        private static IPAddress Resolve(string host)
        {
            IPAddress address;
            if (IPAddress.TryParse(host, out address)) return address;
            if (string.Equals(host, "localhost", StringComparison.OrdinalIgnoreCase)) return IPAddress.Loopback;
            try
            {
                IPAddress[] found = Dns.GetHostAddresses(host);
                foreach (var candidate in found)
                {
                    if (candidate.AddressFamily == AddressFamily.InterNetwork) return candidate;
                }
                if (found.Length > 0) return found[0];
            }
            catch (SocketException exc)
            {
                throw new TransportException("cannot resolve " + host + ": " + exc.SocketErrorCode, exc);
            }
            throw new TransportException("cannot resolve " + host);
        }

        private void Handshake(int timeoutMs)
        {
            var clock = Stopwatch.StartNew();
            var greeting = new byte[GreetingLength];
            greeting[0] = 0xFF;
            greeting[9] = 0x7F;
            greeting[10] = 3;
            greeting[11] = 0;
            Encoding.ASCII.GetBytes("NULL", 0, 4, greeting, 12);
            greeting[32] = 0; // as-server: always 0 with NULL
            SendRaw(greeting, 0, greeting.Length);

            while (inEnd - inStart < GreetingLength)
            {
                if (!Fill(GreetingLength, Remaining(clock, timeoutMs)))
                    throw new TransportException("no ZMTP greeting from " + host + ":" + port + " (is it a MERG server?)");
            }
            CheckGreeting(input, inStart);
            inStart += GreetingLength;

            var ready = new byte[64 + identity.Length];
            int length = 0;
            length = PutProperty(ready, length, "Socket-Type", SocketTypeDealer);
            length = PutProperty(ready, length, "Identity", identity);
            SendCommand("READY", ready, 0, length);

            while (true)
            {
                byte flags;
                int offset, size;
                if (!TryParseFrame(out flags, out offset, out size))
                {
                    if (!Fill(NeededBytes(), Remaining(clock, timeoutMs)))
                        throw new TransportException("no READY from " + host + ":" + port);
                    continue;
                }
                if ((flags & FlagCommand) == 0) throw new TransportException("the peer sent a message before READY");
                string name = CommandName(offset, size);
                if (name == "ERROR") throw new TransportException("the server refused the handshake: " + ErrorReason(offset, size));
                if (name != "READY") throw new TransportException("expected READY, got " + name);
                ParseReady(offset, size);
                break;
            }
            if (PeerSocketType != "ROUTER" && PeerSocketType != "DEALER")
                throw new TransportException("the peer is a " + (PeerSocketType ?? "socket without a type") + ", a DEALER talks to a ROUTER");
        }

        private void CheckGreeting(byte[] g, int at)
        {
            if (g[at] != 0xFF || (g[at + 9] & 0x01) == 0)
                throw new TransportException("not a ZeroMQ peer (bad ZMTP signature)");
            PeerVersionMajor = g[at + 10];
            PeerVersionMinor = g[at + 11];
            if (PeerVersionMajor < 3)
                throw new TransportException("the peer speaks ZMTP " + PeerVersionMajor + ".x; 3.0 or later is needed");
            int nameLength = 0;
            while (nameLength < 20 && g[at + 12 + nameLength] != 0) nameLength++;
            string mechanism = Encoding.ASCII.GetString(g, at + 12, nameLength);
            if (mechanism != "NULL")
                throw new TransportException(
                    "the server requires the " + mechanism + " security mechanism (CurveZMQ keys); "
                    + "this transport speaks NULL only: use the NetMQ transport for Curve");
        }

        private static int PutProperty(byte[] buffer, int at, string name, byte[] value)
        {
            buffer[at++] = (byte)name.Length;
            at += Encoding.ASCII.GetBytes(name, 0, name.Length, buffer, at);
            buffer[at++] = (byte)(value.Length >> 24);
            buffer[at++] = (byte)(value.Length >> 16);
            buffer[at++] = (byte)(value.Length >> 8);
            buffer[at++] = (byte)value.Length;
            Buffer.BlockCopy(value, 0, buffer, at, value.Length);
            return at + value.Length;
        }

        private string CommandName(int offset, int size)
        {
            if (size < 1 || input[offset] > size - 1) throw new TransportException("malformed ZMTP command");
            return Encoding.ASCII.GetString(input, offset + 1, input[offset]);
        }

        private string ErrorReason(int offset, int size)
        {
            int at = offset + 1 + input[offset];
            if (at >= offset + size) return "(no reason)";
            int length = Math.Min(input[at], offset + size - at - 1);
            return Encoding.ASCII.GetString(input, at + 1, length);
        }

        private void ParseReady(int offset, int size)
        {
            int end = offset + size;
            int at = offset + 1 + input[offset];
            while (at < end)
            {
                int nameLength = input[at++];
                if (at + nameLength + 4 > end) throw new TransportException("malformed READY metadata");
                string name = Encoding.ASCII.GetString(input, at, nameLength);
                at += nameLength;
                long valueLength = ((long)input[at] << 24) | ((long)input[at + 1] << 16) | ((long)input[at + 2] << 8) | input[at + 3];
                at += 4;
                if (at + valueLength > end) throw new TransportException("malformed READY metadata");
                if (string.Equals(name, "Socket-Type", StringComparison.OrdinalIgnoreCase))
                    PeerSocketType = Encoding.ASCII.GetString(input, at, (int)valueLength);
                at += (int)valueLength;
            }
        }

        private static int Remaining(Stopwatch clock, int timeoutMs)
        {
            return Math.Max(0, timeoutMs - (int)clock.ElapsedMilliseconds);
        }

        private static int Remaining(long startedTimestamp, int timeoutMs)
        {
            long elapsedMs = (Stopwatch.GetTimestamp() - startedTimestamp) * 1000L / Stopwatch.Frequency;
            return (int)Math.Max(0L, timeoutMs - elapsedMs);
        }

        public void Send(byte[] buffer, int offset, int count)
        {
            SendFrame(0, null, buffer, offset, count);
        }

        private void SendCommand(string name, byte[] data, int offset, int count)
        {
            var nameBytes = Encoding.ASCII.GetBytes(name);
            var body = new byte[1 + nameBytes.Length];
            body[0] = (byte)nameBytes.Length;
            Buffer.BlockCopy(nameBytes, 0, body, 1, nameBytes.Length);
            SendFrame(FlagCommand, body, data, offset, count);
        }

        /// <summary>One frame: flags, size, then <paramref name="prefix"/> (may be null) and the body.</summary>
        private void SendFrame(byte flags, byte[] prefix, byte[] body, int offset, int count)
        {
            int prefixLength = prefix == null ? 0 : prefix.Length;
            long size = (long)prefixLength + count;
            lock (sendLock)
            {
                if (socket == null) throw new TransportException("not connected");
                int header = size > 255 ? 9 : 2;
                int total = header + (int)size;
                if (output.Length < total) output = new byte[Math.Max(total, output.Length * 2)];
                if (header == 9)
                {
                    output[0] = (byte)(flags | FlagLong);
                    for (int i = 0; i < 8; i++) output[1 + i] = (byte)(size >> (56 - 8 * i));
                }
                else
                {
                    output[0] = flags;
                    output[1] = (byte)size;
                }
                if (prefixLength > 0) Buffer.BlockCopy(prefix, 0, output, header, prefixLength);
                Buffer.BlockCopy(body, offset, output, header + prefixLength, count);
                SendRaw(output, 0, total);
            }
        }

        private void SendRaw(byte[] buffer, int offset, int count)
        {
            Socket current = socket;
            if (current == null) throw new TransportException("not connected");
            try
            {
                while (count > 0)
                {
                    SocketError error;
                    int sent = current.Send(buffer, offset, count, SocketFlags.None, out error);
                    if (error != SocketError.Success) throw new TransportException("send failed: " + error);
                    if (sent <= 0) throw new TransportException("send failed: connection closed");
                    offset += sent;
                    count -= sent;
                }
            }
            catch (ObjectDisposedException)
            {
                throw new TransportException("the connection was closed");
            }
            catch (SocketException exc)
            {
                throw new TransportException("send failed: " + exc.SocketErrorCode, exc);
            }
        }

        public bool TryReceive(int timeoutMs, out ArraySegment<byte> message)
        {
            long started = Stopwatch.GetTimestamp(); // no Stopwatch object: this path allocates nothing
            bool waited = false;
            while (true)
            {
                byte flags;
                int offset, size;
                if (TryParseFrame(out flags, out offset, out size))
                {
                    if ((flags & FlagCommand) != 0)
                    {
                        HandleCommand(offset, size);
                        continue;
                    }
                    if ((flags & FlagMore) != 0)
                    {
                        dropMultipart = true;
                        continue;
                    }
                    if (dropMultipart)
                    {
                        dropMultipart = false;
                        DroppedMultipartMessages++;
                        continue;
                    }
                    message = new ArraySegment<byte>(input, offset, size);
                    return true;
                }
                int remaining = Remaining(started, timeoutMs);
                if (waited && remaining == 0)
                {
                    message = default(ArraySegment<byte>);
                    return false;
                }
                waited = true;
                Fill(NeededBytes(), remaining);
            }
        }

        private void HandleCommand(int offset, int size)
        {
            string name = CommandName(offset, size);
            if (name == "PING")
            {
                // PING: name, TTL (2 bytes), context (0..16 bytes); PONG echoes the context
                int contextStart = offset + 1 + input[offset] + 2;
                int contextLength = Math.Max(0, offset + size - contextStart);
                var context = new byte[Math.Min(contextLength, 16)];
                if (context.Length > 0) Buffer.BlockCopy(input, contextStart, context, 0, context.Length);
                SendCommand("PONG", context, 0, context.Length);
                PingsAnswered++;
            }
            else if (name == "ERROR")
            {
                throw new TransportException("the server closed the connection: " + ErrorReason(offset, size));
            }
            // READY again, PONG, SUBSCRIBE ...: nothing for a DEALER to do
        }

        private int neededBytes = 2;

        private int NeededBytes()
        {
            return neededBytes;
        }

        /// <summary>Parses one whole frame at the read position, or says how many bytes it needs.</summary>
        private bool TryParseFrame(out byte flags, out int offset, out int size)
        {
            flags = 0;
            offset = 0;
            size = 0;
            int available = inEnd - inStart;
            if (available < 2)
            {
                neededBytes = 2;
                return false;
            }
            flags = input[inStart];
            if ((flags & 0xF8) != 0) throw new TransportException("malformed ZMTP frame (reserved flag bits set)");
            int header;
            long length;
            if ((flags & FlagLong) != 0)
            {
                if (available < 9)
                {
                    neededBytes = 9;
                    return false;
                }
                length = 0;
                for (int i = 1; i <= 8; i++) length = (length << 8) | input[inStart + i];
                header = 9;
            }
            else
            {
                length = input[inStart + 1];
                header = 2;
            }
            long limit = (flags & FlagCommand) != 0 ? MaxCommandBytes : maxMessageBytes;
            if (length < 0 || length > limit)
                throw new TransportException("frame of " + length + " bytes is over the limit of " + limit);
            if (available < header + length)
            {
                neededBytes = (int)(header + length);
                return false;
            }
            offset = inStart + header;
            size = (int)length;
            inStart += header + size;
            return true;
        }

        /// <summary>Makes room for <paramref name="needed"/> bytes from the read position and
        /// reads what the socket has within <paramref name="timeoutMs"/>; false on timeout.</summary>
        private bool Fill(int needed, int timeoutMs)
        {
            Socket current = socket;
            if (current == null) throw new TransportException("not connected");
            if (inStart == inEnd) inStart = inEnd = 0;
            if (inStart + needed > input.Length)
            {
                int pending = inEnd - inStart;
                if (needed > input.Length)
                {
                    var bigger = new byte[Math.Max(needed, input.Length * 2)];
                    Buffer.BlockCopy(input, inStart, bigger, 0, pending);
                    input = bigger;
                }
                else
                {
                    Buffer.BlockCopy(input, inStart, input, 0, pending);
                }
                inStart = 0;
                inEnd = pending;
            }
            try
            {
                int microseconds = timeoutMs >= int.MaxValue / 1000 ? int.MaxValue : timeoutMs * 1000;
                if (!current.Poll(microseconds, SelectMode.SelectRead)) return false;
                SocketError error;
                int received = current.Receive(input, inEnd, input.Length - inEnd, SocketFlags.None, out error);
                if (error == SocketError.WouldBlock || error == SocketError.TimedOut) return false;
                if (error != SocketError.Success) throw new TransportException("receive failed: " + error);
                if (received == 0) throw new TransportException("the server closed the connection");
                inEnd += received;
                return true;
            }
            catch (ObjectDisposedException)
            {
                throw new TransportException("the connection was closed");
            }
            catch (SocketException exc)
            {
                throw new TransportException("receive failed: " + exc.SocketErrorCode, exc);
            }
        }

        public void Close()
        {
            Socket current = Interlocked.Exchange(ref socket, null);
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

        public void Dispose()
        {
            Close();
        }
    }
}
