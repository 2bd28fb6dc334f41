using System.Linq;
using Merg.Client;
using Merg.Protocol;
using NUnit.Framework;

namespace Merg.Tests
{
    /// <summary>
    /// The server process is stopped and a new one started on the same port: the client
    /// notices, reconnects with back-off while the new server loads, is welcomed again, finds
    /// its session gone (server state is in memory) and opens it afresh, and the avatar
    /// speaks again on the new session.
    /// </summary>
    [TestFixture]
    public class ReconnectTests
    {
        [Test]
        public void ReconnectsAfterAServerRestartAndReopensTheSession()
        {
            var server = TestServer.Require();
            if (server.External) Assert.Ignore("MERG_TEST_ENDPOINT is set: the test cannot restart a server it did not start");
            using (var recorder = new Recorder(new MergClientOptions { ReconnectMaxDelayMs = 1000 }).Start())
            {
                var session = recorder.OpenSession();
                string firstSid = session.Sid;
                long before = session.Say("Before the restart.");
                Assert.That(recorder.WaitForTurnEnd(session, before).Reason, Is.EqualTo(TurnEndReasons.Done));

                server.Restart();
                var lost = recorder.WaitFor(MergEventKind.Disconnected, null, 15000);
                Assert.That(lost.Detail, Is.Not.Empty);
                Assert.That(recorder.Client.State, Is.Not.EqualTo(ConnectionState.Ready));
                Assert.That(session.State, Is.EqualTo(SessionState.Resuming));
                long queued = session.Say("Said while the server was away.");
                Assert.That(queued, Is.GreaterThan(0), "requests queue during the outage");

                var reopened = recorder.WaitFor(MergEventKind.SessionReopened, e => e.Session == session, TestServer.ReadyTimeoutMs + 30000);
                server.WaitReady();
                Assert.That(reopened.Detail, Is.EqualTo(firstSid), "the previous sid");
                Assert.That(session.Sid, Is.Not.EqualTo(firstSid));
                Assert.That(session.State, Is.EqualTo(SessionState.Open));
                Assert.That(recorder.Client.Reconnects, Is.GreaterThanOrEqualTo(1));
                // posted with SessionReopened, but perhaps dispatched in the next pump
                recorder.WaitFor(MergEventKind.Connected, e => e.Detail == "reconnected", 5000);
                recorder.WaitFor(MergEventKind.Error, e => e.Error.Code == ErrorCodes.ClientSessionReopened, 5000);
                Assert.That(recorder.Events.Count(e => e.Kind == MergEventKind.Error && e.Error.Code == ErrorCodes.UnknownSession), Is.EqualTo(0),
                    "the failed resume is handled, not reported");

                var queuedEnd = recorder.WaitForTurnEnd(session, queued);
                Assert.That(queuedEnd.Reason, Is.EqualTo(TurnEndReasons.Done));
                long after = session.Say("After the restart.");
                var end = recorder.WaitForTurnEnd(session, after);
                Assert.That(end.Reason, Is.EqualTo(TurnEndReasons.Done));
                Assert.That(end.Turn, Is.EqualTo(queuedEnd.Turn + 1));
                Assert.That(recorder.Seen().Count(s => s.Sid == session.Sid && s.Turn == end.Turn && s.Kind == ServerMessageKind.Audio), Is.GreaterThan(0));
            }
        }
    }
}
