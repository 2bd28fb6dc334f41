using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Threading;
using Merg.MessagePack;
using Merg.Protocol;
using Merg.Transport;
using NUnit.Framework;

namespace Merg.Tests
{
    /// <summary>
    /// The ZMTP 3.0 DEALER: byte-level checks against a scripted peer on loopback (greeting,
    /// READY metadata, short/long frames, MORE, commands), then the handshake with the real
    /// server's libzmq ROUTER.
    /// </summary>
    [TestFixture]
    public class ZmtpTransportTests
    {
        /// <summary>A scripted ZMTP peer: accepts one connection and runs <paramref name="script"/> on it.</summary>
        private sealed class FakePeer : IDisposable
        {
            private readonly TcpListener listener;
            private readonly Thread thread;

            public FakePeer(Action<NetworkStream> script)
            {
                listener = new TcpListener(IPAddress.Loopback, 0);
                listener.Start();
                Port = ((IPEndPoint)listener.LocalEndpoint).Port;
                thread = new Thread(() =>
                {
                    try
                    {
                        using (var client = listener.AcceptTcpClient())
                        {
                            client.NoDelay = true;
                            script(client.GetStream());
                        }
                    }
                    catch (Exception exc)
                    {
                        Failure = exc;
                    }
                }) { IsBackground = true };
                thread.Start();
            }

            public int Port { get; private set; }
            public Exception Failure { get; private set; }

            public void Join()
            {
                Assert.That(thread.Join(10000), "the fake peer finished");
                if (Failure != null) throw new AssertionException("fake peer: " + Failure);
            }

            public void Dispose()
            {
                listener.Stop();
            }
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

        private static byte[] Greeting(string mechanism, int minor = 1)
        {
            var greeting = new byte[64];
            greeting[0] = 0xFF;
            greeting[9] = 0x7F;
            greeting[10] = 3;
            greeting[11] = (byte)minor;
            Encoding.ASCII.GetBytes(mechanism).CopyTo(greeting, 12);
            return greeting;
        }

        private static byte[] Frame(byte flags, byte[] body)
        {
            if (body.Length > 255)
            {
                var frame = new byte[9 + body.Length];
                frame[0] = (byte)(flags | 0x02);
                for (int i = 0; i < 8; i++) frame[1 + i] = (byte)((long)body.Length >> (56 - 8 * i));
                body.CopyTo(frame, 9);
                return frame;
            }
            return new[] { flags, (byte)body.Length }.Concat(body).ToArray();
        }

        private static byte[] Command(string name, byte[] data)
        {
            return Frame(0x04, new[] { (byte)name.Length }.Concat(Encoding.ASCII.GetBytes(name)).Concat(data).ToArray());
        }

        private static byte[] Property(string name, string value)
        {
            byte[] v = Encoding.ASCII.GetBytes(value);
            return new[] { (byte)name.Length }.Concat(Encoding.ASCII.GetBytes(name))
                .Concat(new[] { (byte)(v.Length >> 24), (byte)(v.Length >> 16), (byte)(v.Length >> 8), (byte)v.Length }).Concat(v).ToArray();
        }

        /// <summary>Reads one frame: (flags, body).</summary>
        private static KeyValuePair<byte, byte[]> ReadFrame(Stream stream)
        {
            byte flags = ReadExactly(stream, 1)[0];
            long size;
            if ((flags & 0x02) != 0)
            {
                size = 0;
                foreach (byte b in ReadExactly(stream, 8)) size = (size << 8) | b;
            }
            else
            {
                size = ReadExactly(stream, 1)[0];
            }
            return new KeyValuePair<byte, byte[]>(flags, ReadExactly(stream, (int)size));
        }

        private static Dictionary<string, string> ReadyProperties(byte[] body)
        {
            var properties = new Dictionary<string, string>();
            int at = 1 + body[0];
            while (at < body.Length)
            {
                int nameLength = body[at++];
                string name = Encoding.ASCII.GetString(body, at, nameLength);
                at += nameLength;
                int valueLength = (body[at] << 24) | (body[at + 1] << 16) | (body[at + 2] << 8) | body[at + 3];
                at += 4;
                properties[name] = Encoding.ASCII.GetString(body, at, valueLength);
                at += valueLength;
            }
            return properties;
        }

        [Test]
        public void SpeaksZmtp30AsADealer()
        {
            byte[] clientGreeting = null;
            Dictionary<string, string> ready = null;
            var fromClient = new List<KeyValuePair<byte, byte[]>>();
            byte[] longBody = Enumerable.Range(0, 300).Select(i => (byte)i).ToArray();
            using (var peer = new FakePeer(stream =>
            {
                clientGreeting = ReadExactly(stream, 64);
                stream.Write(Greeting("NULL"), 0, 64);
                var readyFrame = ReadFrame(stream);
                Assert.That(readyFrame.Key, Is.EqualTo(0x04), "READY is a command");
                Assert.That(Encoding.ASCII.GetString(readyFrame.Value, 1, readyFrame.Value[0]), Is.EqualTo("READY"));
                ready = ReadyProperties(readyFrame.Value);
                byte[] answer = Command("READY", Property("Socket-Type", "ROUTER").Concat(Property("Identity", "")).ToArray());
                stream.Write(answer, 0, answer.Length);

                var script = new List<byte[]>
                {
                    Command("PING", new byte[] { 0, 10 }.Concat(Encoding.ASCII.GetBytes("ctx")).ToArray()),
                    Frame(0x00, Encoding.ASCII.GetBytes("hi")),
                    Frame(0x00, longBody),
                    Frame(0x01, Encoding.ASCII.GetBytes("part one")),
                    Frame(0x00, Encoding.ASCII.GetBytes("part two")),
                };
                foreach (var bytes in script) stream.Write(bytes, 0, bytes.Length);
                // one frame in three TCP writes
                byte[] split = Frame(0x00, Encoding.ASCII.GetBytes("split across writes"));
                stream.Write(split, 0, 1);
                stream.Flush();
                Thread.Sleep(50);
                stream.Write(split, 1, 5);
                Thread.Sleep(50);
                stream.Write(split, 6, split.Length - 6);
                for (int i = 0; i < 3; i++) fromClient.Add(ReadFrame(stream)); // PONG, short, long
            }))
            {
                var transport = new ZmtpTransport();
                transport.Connect("127.0.0.1", peer.Port, 3000);
                Assert.That(transport.PeerSocketType, Is.EqualTo("ROUTER"));
                Assert.That(transport.PeerVersionMajor, Is.EqualTo(3));
                var received = new List<string>();
                ArraySegment<byte> message;
                var clock = Stopwatch.StartNew();
                while (received.Count < 3 && clock.ElapsedMilliseconds < 5000)
                {
                    if (transport.TryReceive(100, out message)) received.Add(Encoding.ASCII.GetString(message.Array, message.Offset, message.Count));
                }
                Assert.That(received[0], Is.EqualTo("hi"));
                Assert.That(received[1], Is.EqualTo(Encoding.ASCII.GetString(longBody)), "a long (8-byte size) frame");
                Assert.That(received[2], Is.EqualTo("split across writes"));
                Assert.That(transport.DroppedMultipartMessages, Is.EqualTo(1), "the two-part message was dropped whole");
                Assert.That(transport.PingsAnswered, Is.EqualTo(1));
                transport.Send(Encoding.ASCII.GetBytes("xhello"), 1, 5);
                transport.Send(longBody, 0, longBody.Length);
                peer.Join();
                Assert.Throws<TransportException>(() => transport.TryReceive(2000, out message), "the peer closed the connection");
                transport.Close();
            }

            Assert.That(clientGreeting.Take(10), Is.EqualTo(new byte[] { 0xFF, 0, 0, 0, 0, 0, 0, 0, 0, 0x7F }), "signature");
            Assert.That(clientGreeting[10], Is.EqualTo(3), "version major");
            Assert.That(clientGreeting[11], Is.EqualTo(0), "version minor");
            Assert.That(Encoding.ASCII.GetString(clientGreeting, 12, 20), Is.EqualTo("NULL" + new string('\0', 16)));
            Assert.That(clientGreeting[32], Is.EqualTo(0), "as-server");
            Assert.That(clientGreeting.Skip(33).All(b => b == 0), "filler");
            Assert.That(ready["Socket-Type"], Is.EqualTo("DEALER"));
            Assert.That(ready.ContainsKey("Identity"), "READY carries an Identity");
            Assert.That(ready["Identity"], Is.EqualTo(""), "empty: the ROUTER picks the routing id");

            Assert.That(fromClient[0].Key, Is.EqualTo(0x04), "PONG is a command");
            Assert.That(fromClient[0].Value, Is.EqualTo(new byte[] { 4 }.Concat(Encoding.ASCII.GetBytes("PONGctx")).ToArray()), "PONG echoes the PING context");
            Assert.That(fromClient[1].Key, Is.EqualTo(0x00), "a short, last frame");
            Assert.That(Encoding.ASCII.GetString(fromClient[1].Value), Is.EqualTo("hello"));
            Assert.That(fromClient[2].Key, Is.EqualTo(0x02), "a long, last frame");
            Assert.That(fromClient[2].Value, Is.EqualTo(longBody));
        }

        [Test]
        public void ACustomIdentityIsAnnounced()
        {
            Dictionary<string, string> ready = null;
            using (var peer = new FakePeer(stream =>
            {
                ReadExactly(stream, 64);
                stream.Write(Greeting("NULL"), 0, 64);
                ready = ReadyProperties(ReadFrame(stream).Value);
                byte[] answer = Command("READY", Property("Socket-Type", "ROUTER"));
                stream.Write(answer, 0, answer.Length);
            }))
            {
                using (var transport = new ZmtpTransport(Encoding.ASCII.GetBytes("avatar-7"), ZmtpTransport.DefaultMaxMessageBytes))
                {
                    transport.Connect("127.0.0.1", peer.Port, 3000);
                    peer.Join();
                }
            }
            Assert.That(ready["Identity"], Is.EqualTo("avatar-7"));
            Assert.Throws<ArgumentException>(() => new ZmtpTransport(new byte[] { 0, 1 }, 1000), "identities may not start with a zero byte");
        }

        [Test]
        public void ACurveServerIsReportedAsSuch()
        {
            using (var peer = new FakePeer(stream =>
            {
                ReadExactly(stream, 64);
                stream.Write(Greeting("CURVE"), 0, 64);
                Thread.Sleep(200);
            }))
            {
                var error = Assert.Throws<TransportException>(() => new ZmtpTransport().Connect("127.0.0.1", peer.Port, 3000));
                StringAssert.Contains("CURVE", error.Message);
                peer.Join();
            }
        }

        [Test]
        public void APeerThatIsNotZeroMqIsRefused()
        {
            using (var peer = new FakePeer(stream =>
            {
                byte[] http = Encoding.ASCII.GetBytes("HTTP/1.1 400 Bad Request\r\n\r\n" + new string(' ', 64));
                stream.Write(http, 0, http.Length);
                Thread.Sleep(200);
            }))
            {
                var error = Assert.Throws<TransportException>(() => new ZmtpTransport().Connect("127.0.0.1", peer.Port, 3000));
                StringAssert.Contains("not a ZeroMQ peer", error.Message);
                peer.Join();
            }
        }

        [Test]
        public void AnOversizedFrameEndsTheConnection()
        {
            using (var peer = new FakePeer(stream =>
            {
                ReadExactly(stream, 64);
                stream.Write(Greeting("NULL"), 0, 64);
                ReadFrame(stream);
                byte[] answer = Command("READY", Property("Socket-Type", "ROUTER"));
                stream.Write(answer, 0, answer.Length);
                byte[] huge = Frame(0x00, new byte[2000]);
                stream.Write(huge, 0, huge.Length);
                Thread.Sleep(200);
            }))
            {
                using (var transport = new ZmtpTransport(null, 1024))
                {
                    transport.Connect("127.0.0.1", peer.Port, 3000);
                    ArraySegment<byte> message;
                    var error = Assert.Throws<TransportException>(() => transport.TryReceive(2000, out message));
                    StringAssert.Contains("over the limit", error.Message);
                }
                peer.Join();
            }
        }

        [Test]
        public void TheRegistryOffersZmtpAndExplainsAMissingNetMq()
        {
            Assert.That(TransportRegistry.IsAvailable(TransportRegistry.Zmtp));
            Assert.That(TransportRegistry.Get("ZMTP")(), Is.InstanceOf<ZmtpTransport>());
            Assert.That(TransportRegistry.IsAvailable(TransportRegistry.NetMq), Is.False, "NetMQ is not compiled here");
            var error = Assert.Throws<InvalidOperationException>(() => TransportRegistry.Get(TransportRegistry.NetMq));
            StringAssert.Contains("MERG_NETMQ", error.Message);
        }

        [Test]
        public void ARefusedConnectionFailsFast()
        {
            int port = TestServer.FreePort();
            var clock = Stopwatch.StartNew();
            Assert.Throws<TransportException>(() => new ZmtpTransport().Connect("127.0.0.1", port, 3000));
            Assert.That(clock.ElapsedMilliseconds, Is.LessThan(2000));
        }

        [Test]
        public void CloseFromAnotherThreadUnblocksAReceive()
        {
            using (var peer = new FakePeer(stream =>
            {
                ReadExactly(stream, 64);
                stream.Write(Greeting("NULL"), 0, 64);
                ReadFrame(stream);
                byte[] answer = Command("READY", Property("Socket-Type", "ROUTER"));
                stream.Write(answer, 0, answer.Length);
                Thread.Sleep(3000);
            }))
            {
                var transport = new ZmtpTransport();
                transport.Connect("127.0.0.1", peer.Port, 3000);
                Exception seen = null;
                var receiver = new Thread(() =>
                {
                    try
                    {
                        ArraySegment<byte> message;
                        while (true) transport.TryReceive(100, out message);
                    }
                    catch (Exception exc)
                    {
                        seen = exc;
                    }
                });
                receiver.Start();
                Thread.Sleep(200);
                transport.Close();
                Assert.That(receiver.Join(2000), "the receive loop ended");
                Assert.That(seen, Is.InstanceOf<TransportException>());
            }
        }

        [Test]
        public void HandshakesWithTheServersLibzmqRouter()
        {
            var server = TestServer.Require();
            using (var transport = new ZmtpTransport())
            {
                transport.Connect(server.Host, server.Port, 3000);
                Assert.That(transport.PeerSocketType, Is.EqualTo("ROUTER"));
                Assert.That(transport.PeerVersionMajor, Is.EqualTo(3));
                StringAssert.Contains("ROUTER", transport.Description);
                var hello = HelloRequest.Create("merg-unity-tests", "0.1.0", "nunit");
                hello.Seq = 1;
                byte[] bytes = hello.ToBytes();
                transport.Send(bytes, 0, bytes.Length);
                ArraySegment<byte> frame;
                var clock = Stopwatch.StartNew();
                while (!transport.TryReceive(100, out frame))
                    Assert.That(clock.ElapsedMilliseconds, Is.LessThan(10000), "a welcome within 10 s");
                var welcome = (WelcomeMessage)new ServerMessageDecoder().Decode(frame);
                Assert.That(welcome.ServerName, Is.EqualTo("merg-sdk"));
                Assert.That(welcome.Seq, Is.EqualTo(1), "the server counts per connection from 1");
                Assert.That(welcome.Rigs, Has.Member("arkit52"));
                Assert.That(welcome.Fps, Has.Member(60L));
                Assert.That(welcome.HasFeature("say"));

                // a message before hello on a new connection: hello_required, with our seq as ref
                using (var second = new ZmtpTransport())
                {
                    second.Connect(server.Host, server.Port, 3000);
                    var say = new SayRequest { Sid = "nobody", Text = "hi", Seq = 41 };
                    byte[] early = say.ToBytes();
                    second.Send(early, 0, early.Length);
                    while (!second.TryReceive(100, out frame))
                        Assert.That(clock.ElapsedMilliseconds, Is.LessThan(20000));
                    var error = (ErrorMessage)new ServerMessageDecoder().Decode(frame);
                    Assert.That(error.Code, Is.EqualTo(ErrorCodes.HelloRequired));
                    Assert.That(error.Ref, Is.EqualTo(41));
                }
            }
        }
    }
}
