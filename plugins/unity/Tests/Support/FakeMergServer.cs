using System;
using System.Collections.Generic;
using System.IO;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Threading;
using Merg.MessagePack;
using Merg.Protocol;

namespace Merg.Tests
{
    /// <summary>
    /// A scripted stand-in for the server, speaking ZMTP 3.0 as a ROUTER on loopback: it
    /// accepts connections one after another and hands every decoded client message to a
    /// script, which answers with maps. For the paths a real server cannot be pushed into
    /// quickly (a silent server, a forgotten client, a resume refused for a while).
    /// </summary>
    public sealed class FakeMergServer : IDisposable
    {
        /// <summary>One accepted connection.</summary>
        public sealed class Connection
        {
            private readonly NetworkStream stream;
            private readonly object sendLock = new object();
            private int seq;

            internal Connection(int index, NetworkStream stream)
            {
                Index = index;
                this.stream = stream;
            }

            /// <summary>0 for the first connection, 1 for the next, ...</summary>
            public int Index { get; private set; }

            /// <summary>Sends a server message: v, type and seq are added first.</summary>
            public void Send(string type, MsgPackMap fields = null)
            {
                var map = new MsgPackMap().Add("v", 1L).Add("type", type).Add("seq", (long)Interlocked.Increment(ref seq));
                if (fields != null)
                {
                    foreach (var entry in fields) map.Add(entry.Key, entry.Value);
                }
                var writer = new MsgPackWriter();
                writer.WriteValue(map);
                lock (sendLock) WriteFrame(stream, 0x00, writer.ToArray());
            }

            public void Welcome()
            {
                Send(MessageTypes.Welcome, new MsgPackMap()
                    .Add("server", new MsgPackMap().Add("name", "fake").Add("version", "0"))
                    .Add("capabilities", new MsgPackMap().Add("rigs", new object[] { "arkit52" }).Add("features", new object[] { "say" })));
            }

            public void Opened(string sid, bool resumed, int columns = 2)
            {
                var names = new object[columns];
                for (int i = 0; i < columns; i++) names[i] = "shape" + i;
                Send(MessageTypes.SessionOpened, new MsgPackMap()
                    .Add("sid", sid).Add("rig", new MsgPackMap().Add("name", "test").Add("names", names))
                    .Add("fps", 60L).Add("sample_rate", 22050L).Add("voice", "v").Add("resumed", resumed));
            }

            public void Error(string code, long? reference, string sid = null)
            {
                var fields = new MsgPackMap().Add("code", code).Add("message", "scripted " + code);
                if (reference.HasValue) fields.Add("ref", reference.Value);
                if (sid != null) fields.Add("sid", sid);
                Send(MessageTypes.Error, fields);
            }
        }

        private readonly TcpListener listener;
        private readonly Thread thread;
        private readonly Action<Connection, ClientMessage> script;
        private readonly List<string> log = new List<string>();
        private volatile bool stopping;
        private TcpClient current;

        /// <param name="script">Called on the server thread for every client message.</param>
        public FakeMergServer(Action<Connection, ClientMessage> script)
        {
            this.script = script;
            listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            Port = ((IPEndPoint)listener.LocalEndpoint).Port;
            thread = new Thread(Serve) { IsBackground = true, Name = "fake MERG server" };
            thread.Start();
        }

        public int Port { get; private set; }

        /// <summary>"index:type" (plus ":sid" or ":resume=sid") for every message received, in order.</summary>
        public List<string> Log
        {
            get { lock (log) return new List<string>(log); }
        }

        public Exception Failure { get; private set; }

        private void Serve()
        {
            int index = 0;
            while (!stopping)
            {
                TcpClient client;
                try
                {
                    client = listener.AcceptTcpClient();
                }
                catch (Exception)
                {
                    return;
                }
                current = client;
                var connection = new Connection(index++, client.GetStream());
                try
                {
                    Handshake(client.GetStream());
                    while (!stopping)
                    {
                        var frame = ReadFrame(client.GetStream());
                        if ((frame.Key & 0x04) != 0) continue; // a command
                        ClientMessage message = ClientMessage.Decode(frame.Value, 0, frame.Value.Length);
                        lock (log) log.Add(Describe(connection, message));
                        script(connection, message);
                    }
                }
                catch (EndOfStreamException)
                {
                    // the client closed this connection; wait for the next one
                }
                catch (IOException)
                {
                    // closed under us
                }
                catch (Exception exc)
                {
                    if (!stopping) Failure = exc;
                }
                finally
                {
                    client.Close();
                }
            }
        }

        private static string Describe(Connection connection, ClientMessage message)
        {
            string text = connection.Index + ":" + message.Type;
            var open = message as SessionOpenRequest;
            if (open != null && open.Resume != null) text += ":resume=" + open.Resume;
            var say = message as SayRequest;
            if (say != null) text += ":" + say.Sid + ":#" + say.Seq;
            return text;
        }

        /// <summary>Drops the current connection (the client sees it closed).</summary>
        public void DropConnection()
        {
            var client = current;
            if (client != null) client.Close();
        }

        private static void Handshake(NetworkStream stream)
        {
            ReadExactly(stream, 64);
            var greeting = new byte[64];
            greeting[0] = 0xFF;
            greeting[9] = 0x7F;
            greeting[10] = 3;
            greeting[11] = 0;
            Encoding.ASCII.GetBytes("NULL").CopyTo(greeting, 12);
            stream.Write(greeting, 0, greeting.Length);
            ReadFrame(stream); // the client's READY
            var ready = new List<byte> { 5 };
            ready.AddRange(Encoding.ASCII.GetBytes("READY"));
            ready.Add(11);
            ready.AddRange(Encoding.ASCII.GetBytes("Socket-Type"));
            ready.AddRange(new byte[] { 0, 0, 0, 6 });
            ready.AddRange(Encoding.ASCII.GetBytes("ROUTER"));
            WriteFrame(stream, 0x04, ready.ToArray());
        }

        private static void WriteFrame(Stream stream, byte flags, byte[] body)
        {
            var frame = new List<byte>();
            if (body.Length > 255)
            {
                frame.Add((byte)(flags | 0x02));
                for (int i = 0; i < 8; i++) frame.Add((byte)((long)body.Length >> (56 - 8 * i)));
            }
            else
            {
                frame.Add(flags);
                frame.Add((byte)body.Length);
            }
            frame.AddRange(body);
            stream.Write(frame.ToArray(), 0, frame.Count);
        }

        private static KeyValuePair<byte, byte[]> ReadFrame(Stream stream)
        {
            byte flags = ReadExactly(stream, 1)[0];
            long size = 0;
            if ((flags & 0x02) != 0)
            {
                foreach (byte b in ReadExactly(stream, 8)) size = (size << 8) | b;
            }
            else
            {
                size = ReadExactly(stream, 1)[0];
            }
            return new KeyValuePair<byte, byte[]>(flags, ReadExactly(stream, (int)size));
        }

        private static byte[] ReadExactly(Stream stream, int count)
        {
            var buffer = new byte[count];
            int done = 0;
            while (done < count)
            {
                int n = stream.Read(buffer, done, count - done);
                if (n <= 0) throw new EndOfStreamException();
                done += n;
            }
            return buffer;
        }

        public void Dispose()
        {
            stopping = true;
            DropConnection();
            listener.Stop();
            thread.Join(2000);
        }
    }
}
