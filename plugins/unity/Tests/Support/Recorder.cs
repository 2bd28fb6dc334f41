using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Threading;
using Merg.Client;
using Merg.Protocol;
using NUnit.Framework;

namespace Merg.Tests
{
    /// <summary>A copy of one server message as the network thread saw it, in arrival order.</summary>
    public sealed class Seen
    {
        public ServerMessageKind Kind;
        public string Sid;
        public int Turn;
        public long Start; // audio t0 or face f0
        public int Count; // audio samples or face frames
        public int Columns;
        public short[] Pcm;
        public float[] Weights;
        public float[] Head;
        public float[] Eyes;
        public string Reason;
        public int SampleRate;

        public override string ToString()
        {
            return Kind + " turn " + Turn + (Count > 0 ? " @" + Start + "+" + Count : "") + (Reason != null ? " " + Reason : "");
        }
    }

    /// <summary>
    /// A client under test plus what it saw: the events it dispatched on the test thread
    /// (which plays the game thread) and a copy of every message from the network-thread tap.
    /// </summary>
    public sealed class Recorder : IDisposable
    {
        private readonly object tapLock = new object();
        private readonly List<Seen> seen = new List<Seen>();

        public Recorder(MergClientOptions options = null, bool tap = true)
        {
            var server = TestServer.Require();
            options = options ?? new MergClientOptions();
            options.Host = server.Host;
            options.Port = server.Port;
            options.ClientName = "merg-unity-tests";
            options.Engine = "nunit";
            Client = new MergClient(options);
            Client.EventDispatched += item => Events.Add(item);
            if (tap) Client.MessageReceived += Record;
        }

        public MergClient Client { get; private set; }

        public List<MergEvent> Events { get; } = new List<MergEvent>();

        public Recorder Start()
        {
            Client.Start();
            return this;
        }

        private void Record(ServerMessage message)
        {
            var item = new Seen { Kind = message.Kind };
            var turn = message as ITurnMessage;
            if (turn != null)
            {
                item.Sid = turn.Sid;
                item.Turn = turn.Turn;
            }
            var audio = message as AudioMessage;
            if (audio != null)
            {
                item.Start = audio.T0;
                item.Count = audio.SampleCount;
                item.Pcm = audio.ToSamples();
                item.SampleRate = audio.SampleRate;
            }
            var face = message as FaceMessage;
            if (face != null)
            {
                item.Start = face.F0;
                item.Count = face.Count;
                item.Columns = face.Columns;
                item.Weights = face.ToWeights();
                item.Head = new float[face.Count * 3];
                item.Eyes = new float[face.Count * 4];
                if (face.HasHead) LittleEndian.CopyFloats(face.Head.Array, face.Head.Offset, item.Head, 0, face.Count * 3);
                if (face.HasEyes) LittleEndian.CopyFloats(face.Eyes.Array, face.Eyes.Offset, item.Eyes, 0, face.Count * 4);
            }
            var end = message as TurnEndMessage;
            if (end != null) item.Reason = end.Reason;
            lock (tapLock) seen.Add(item);
        }

        /// <summary>Everything the network thread received so far.</summary>
        public List<Seen> Seen()
        {
            lock (tapLock) return new List<Seen>(seen);
        }

        /// <summary>Dispatches events until <paramref name="condition"/> holds; false on timeout.</summary>
        public bool Pump(Func<bool> condition, int timeoutMs)
        {
            var clock = Stopwatch.StartNew();
            while (true)
            {
                Client.DispatchEvents();
                if (condition()) return true;
                if (clock.ElapsedMilliseconds > timeoutMs) return false;
                Thread.Sleep(2);
            }
        }

        /// <summary>Dispatches until an event of <paramref name="kind"/> (matching) arrives; fails the test otherwise.</summary>
        public MergEvent WaitFor(MergEventKind kind, Func<MergEvent, bool> match = null, int timeoutMs = 30000)
        {
            MergEvent found = null;
            bool ok = Pump(() =>
            {
                found = Events.FirstOrDefault(e => e.Kind == kind && (match == null || match(e)));
                return found != null;
            }, timeoutMs);
            if (!ok)
            {
                string seenKinds = string.Join(", ", Events.Select(e => e.ToString()).ToArray());
                Assert.Fail("no " + kind + " within " + timeoutMs + " ms; events: " + seenKinds);
            }
            return found;
        }

        public MergSession OpenSession(SessionOptions options = null)
        {
            var session = Client.OpenSession(options ?? new SessionOptions());
            WaitFor(MergEventKind.SessionOpened, e => e.Session == session);
            Assert.That(session.State, Is.EqualTo(SessionState.Open));
            return session;
        }

        public TurnEndMessage WaitForTurnEnd(MergSession session, long requestSeq, int timeoutMs = 60000)
        {
            var start = WaitFor(MergEventKind.TurnStarted, e => e.Session == session && ((TurnStartMessage)e.Message).Ref == requestSeq, timeoutMs);
            int turn = ((TurnStartMessage)start.Message).Turn;
            var end = WaitFor(MergEventKind.TurnEnded, e => e.Session == session && ((TurnEndMessage)e.Message).Turn == turn, timeoutMs);
            return (TurnEndMessage)end.Message;
        }

        public void Dispose()
        {
            Client.Dispose();
        }
    }
}
