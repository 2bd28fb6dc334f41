using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Threading;
using Merg.Client;
using Merg.MessagePack;
using Merg.Protocol;
using NUnit.Framework;

namespace Merg.Tests
{
    /// <summary>
    /// The client's recovery paths against a scripted server: a server that stops answering
    /// (liveness timeout), a server that forgot the client (hello_required), and a resume
    /// refused while the server still holds a dead connection.
    /// </summary>
    [TestFixture]
    public class RecoveryTests
    {
        private static MergClient Client(FakeMergServer server, List<MergEvent> events, Action<MergClientOptions> tune = null)
        {
            var options = new MergClientOptions
            {
                Host = "127.0.0.1",
                Port = server.Port,
                ReconnectMinDelayMs = 50,
                ReconnectMaxDelayMs = 200,
            };
            if (tune != null) tune(options);
            var client = new MergClient(options);
            client.EventDispatched += events.Add;
            return client;
        }

        private static void Pump(MergClient client, Func<bool> condition, int timeoutMs, string what, FakeMergServer server)
        {
            var clock = Stopwatch.StartNew();
            while (!condition())
            {
                client.DispatchEvents();
                if (clock.ElapsedMilliseconds > timeoutMs)
                    Assert.Fail("timed out waiting for " + what + "; server saw: " + string.Join(", ", server.Log.ToArray())
                        + (server.Failure != null ? "; server failed: " + server.Failure : ""));
                Thread.Sleep(5);
            }
        }

        [Test]
        public void ASilentServerIsDroppedAfterTheLivenessTimeoutAndRedialled()
        {
            using (var server = new FakeMergServer((connection, message) =>
            {
                // welcome, then never another word (pings go unanswered)
                if (message is HelloRequest) connection.Welcome();
            }))
            {
                var events = new List<MergEvent>();
                using (var client = Client(server, events, o =>
                {
                    o.HeartbeatIntervalMs = 200;
                    o.LivenessTimeoutMs = 1000;
                }))
                {
                    client.Start();
                    Pump(client, () => events.Any(e => e.Kind == MergEventKind.Disconnected), 5000, "a liveness disconnect", server);
                    StringAssert.Contains("nothing from the server", events.First(e => e.Kind == MergEventKind.Disconnected).Detail);
                    Pump(client, () => events.Any(e => e.Kind == MergEventKind.Connected && e.Detail == "reconnected"), 5000, "a reconnect", server);
                    var log = server.Log;
                    Assert.That(log.Count(l => l.EndsWith(":ping")), Is.GreaterThanOrEqualTo(2), "heartbeats went out");
                    Assert.That(log, Has.Member("1:hello"), "the second connection greets again");
                }
            }
        }

        [Test]
        public void AForgottenClientGreetsAgainResumesAndResendsTheRequest()
        {
            int says = 0;
            using (var server = new FakeMergServer((connection, message) =>
            {
                if (message is HelloRequest) connection.Welcome();
                var open = message as SessionOpenRequest;
                if (open != null) connection.Opened("S1", open.Resume != null);
                var say = message as SayRequest;
                if (say != null)
                {
                    if (++says == 1)
                    {
                        connection.Error(ErrorCodes.HelloRequired, say.Seq, say.Sid);
                    }
                    else
                    {
                        connection.Send(MessageTypes.TurnStart, new MsgPackMap().Add("sid", say.Sid).Add("turn", 1L).Add("source", "say").Add("ref", (long)say.Seq));
                        connection.Send(MessageTypes.TurnEnd, new MsgPackMap().Add("sid", say.Sid).Add("turn", 1L).Add("reason", "done").Add("stats", new MsgPackMap()));
                    }
                }
            }))
            {
                var events = new List<MergEvent>();
                using (var client = Client(server, events))
                {
                    client.Start();
                    var session = client.OpenSession();
                    Pump(client, () => session.IsOpen, 5000, "the session", server);
                    long seq = session.Say("Are you still there?");
                    Pump(client, () => events.Any(e => e.Kind == MergEventKind.TurnEnded), 5000, "the resent say's turn", server);
                    var start = (TurnStartMessage)events.First(e => e.Kind == MergEventKind.TurnStarted).Message;
                    Assert.That(start.Ref, Is.EqualTo(seq), "the same request, resent");
                    Assert.That(server.Log, Is.EqualTo(new[]
                    {
                        "0:hello", "0:session.open", "0:say:S1:#" + seq, "0:hello", "0:session.open:resume=S1", "0:say:S1:#" + seq,
                    }));
                    Assert.That(session.Sid, Is.EqualTo("S1"));
                    Assert.That(events.Any(e => e.Kind == MergEventKind.SessionResumed && e.Session == session));
                }
            }
        }

        [Test]
        public void AfterALivenessLossARefusedResumeIsRetriedBeforeReopening()
        {
            int resumes = 0;
            using (var server = new FakeMergServer((connection, message) =>
            {
                if (message is HelloRequest) connection.Welcome();
                var open = message as SessionOpenRequest;
                if (open == null) return;
                if (open.Resume == null)
                {
                    connection.Opened("S1", false);
                }
                else if (++resumes == 1)
                {
                    // the server still holds the dead connection: not yet
                    connection.Error(ErrorCodes.UnknownSession, open.Seq, open.Resume);
                }
                else
                {
                    connection.Opened(open.Resume, true);
                }
            }))
            {
                var events = new List<MergEvent>();
                using (var client = Client(server, events, o =>
                {
                    o.HeartbeatIntervalMs = 100;
                    o.LivenessTimeoutMs = 800;
                }))
                {
                    client.Start();
                    var session = client.OpenSession();
                    Pump(client, () => session.IsOpen, 5000, "the session", server);
                    // the fake never answers pings: the client gives the connection up
                    Pump(client, () => events.Any(e => e.Kind == MergEventKind.SessionResumed), 10000, "a resume after a retry", server);
                    Assert.That(resumes, Is.EqualTo(2));
                    Assert.That(session.Sid, Is.EqualTo("S1"), "resumed, not reopened");
                    Assert.That(events.Any(e => e.Kind == MergEventKind.SessionReopened), Is.False);
                }
            }
        }

        [Test]
        public void AClosedConnectionWhoseSessionIsGoneReopensAtOnce()
        {
            int opens = 0;
            using (var server = new FakeMergServer((connection, message) =>
            {
                if (message is HelloRequest) connection.Welcome();
                var open = message as SessionOpenRequest;
                if (open == null) return;
                if (open.Resume != null) connection.Error(ErrorCodes.UnknownSession, open.Seq, open.Resume);
                else connection.Opened("S" + ++opens, false);
            }))
            {
                var events = new List<MergEvent>();
                using (var client = Client(server, events))
                {
                    client.Start();
                    var session = client.OpenSession();
                    Pump(client, () => session.IsOpen, 5000, "the session", server);
                    server.DropConnection();
                    Pump(client, () => events.Any(e => e.Kind == MergEventKind.SessionReopened), 5000, "a reopen", server);
                    var reopened = events.First(e => e.Kind == MergEventKind.SessionReopened);
                    Assert.That(reopened.Detail, Is.EqualTo("S1"));
                    Assert.That(session.Sid, Is.EqualTo("S2"));
                    Assert.That(server.Log.Count(l => l.Contains("resume=S1")), Is.EqualTo(1), "no retry after a clean close");
                }
            }
        }
    }
}
