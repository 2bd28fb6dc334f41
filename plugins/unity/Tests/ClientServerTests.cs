using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Threading;
using Merg.Client;
using Merg.Playback;
using Merg.Protocol;
using NUnit.Framework;

namespace Merg.Tests
{
    /// <summary>
    /// The protocol client against the real Python server on loopback: handshake, sessions,
    /// say and user.text turns on one timeline, barge-in, errors with the server's codes,
    /// resume, and shutdown.
    /// </summary>
    [TestFixture]
    public class ClientServerTests
    {
        private const string TwoClauses = "Hello there, my friend. Maybe we should buy a map!";

        /// <summary>About a minute of speech: more than the 30 s jitter buffer holds, so the
        /// server is still producing (held back by our full buffer) when we interrupt.</summary>
        private static readonly string LongSpeech = string.Join(" ", Enumerable.Repeat(
            "This is a rather long sentence that keeps the avatar talking for quite a while, on purpose.", 18).ToArray());

        private static List<Seen> TurnMessages(Recorder recorder, MergSession session, int turn)
        {
            return recorder.Seen().Where(s => s.Sid == session.Sid && s.Turn == turn && s.Kind != ServerMessageKind.Unknown).ToList();
        }

        [Test]
        public void ConnectsAndIsWelcomed()
        {
            using (var recorder = new Recorder().Start())
            {
                var connected = recorder.WaitFor(MergEventKind.Connected);
                var welcome = (WelcomeMessage)connected.Message;
                Assert.That(recorder.Client.State, Is.EqualTo(ConnectionState.Ready));
                Assert.That(welcome.ServerName, Is.EqualTo("merg-sdk"));
                Assert.That(welcome.Rigs, Has.Member(RigNames.Arkit52));
                Assert.That(welcome.Voices, Is.Not.Empty);
                Assert.That(welcome.SampleRates, Has.Member(22050L));
                Assert.That(welcome.HasFeature("say") && welcome.HasFeature("interrupt"));
                Assert.That(connected.Detail, Is.Null, "a first connection, not a reconnect");
                Assert.That(recorder.Events.Select(e => e.Kind), Has.Member(MergEventKind.ConnectionChanged));
            }
        }

        [Test]
        public void ASayTurnStreamsContiguousAudioAndFaceOnOneTimeline()
        {
            using (var recorder = new Recorder().Start())
            {
                var session = recorder.OpenSession(new SessionOptions { Rig = RigNames.Arkit52, Fps = 60, SampleRate = 22050 });
                Assert.That(session.Names.Length, Is.EqualTo(52));
                Assert.That(session.Names[0], Is.EqualTo("eyeBlinkLeft"));
                Assert.That(session.Names[51], Is.EqualTo("tongueOut"));
                Assert.That(session.Fps, Is.EqualTo(60));
                Assert.That(session.SampleRate, Is.EqualTo(22050));
                Assert.That(session.Buffer, Is.Not.Null);

                long seq = session.Say(TwoClauses, Emotions.Happy, 0.8);
                var end = recorder.WaitForTurnEnd(session, seq);
                Assert.That(end.Reason, Is.EqualTo(TurnEndReasons.Done));
                var turn = TurnMessages(recorder, session, end.Turn);
                Assert.That(turn.First().Kind, Is.EqualTo(ServerMessageKind.TurnStart));
                Assert.That(turn.Last().Kind, Is.EqualTo(ServerMessageKind.TurnEnd));

                // contiguous audio (t0) and face (f0) on the turn timeline; face first
                long samples = 0, frames = 0;
                foreach (var item in turn)
                {
                    if (item.Kind == ServerMessageKind.Audio)
                    {
                        Assert.That(item.Start, Is.EqualTo(samples), "audio t0 is contiguous");
                        Assert.That(item.SampleRate, Is.EqualTo(22050));
                        samples += item.Count;
                        long needed = (samples * 60 + 22049) / 22050;
                        Assert.That(frames, Is.GreaterThanOrEqualTo(needed), "every frame arrives before the audio that covers it");
                    }
                    else if (item.Kind == ServerMessageKind.Face)
                    {
                        Assert.That(item.Start, Is.EqualTo(frames), "face f0 is contiguous");
                        Assert.That(item.Columns, Is.EqualTo(52));
                        frames += item.Count;
                    }
                }
                Assert.That(samples, Is.GreaterThan(22050), "more than a second of speech");
                Assert.That(samples, Is.EqualTo(end.Stats.Samples));
                Assert.That(frames, Is.EqualTo(end.Stats.Frames));
                Assert.That(frames, Is.EqualTo((long)Math.Ceiling(samples * 60.0 / 22050.0)), "frames = ceil(samples * fps / rate)");

                var replies = recorder.Events.Where(e => e.Kind == MergEventKind.Reply && e.Session == session)
                    .Select(e => (ReplyMessage)e.Message).Where(r => r.Turn == end.Turn).ToList();
                Assert.That(replies.Count, Is.EqualTo(2), "one reply per clause");
                Assert.That(replies[1].Final && !replies[0].Final);
                Assert.That(replies[0].T0, Is.EqualTo(0));
                Assert.That(replies[0].Emotion, Is.EqualTo(Emotions.Happy));
                Assert.That(replies[0].Phonemes, Is.Not.Empty);

                // play it through the jitter buffer like the audio thread does
                var buffer = session.Buffer;
                long start = buffer.OutputPosition;
                var played = new List<float>();
                var block = new float[1024];
                while (played.Count < samples)
                {
                    buffer.Read(block, 0, block.Length);
                    played.AddRange(block);
                }
                short[] expected = turn.Where(s => s.Kind == ServerMessageKind.Audio).SelectMany(s => s.Pcm).ToArray();
                short[] heard = played.Take((int)samples).Select(v => (short)Math.Round(v * 32768.0)).ToArray();
                Assert.That(heard, Is.EqualTo(expected), "the player gets exactly the turn's samples, in order");

                // the face on the audio clock: frame i at i / fps seconds, interpolated between
                float[] allWeights = turn.Where(s => s.Kind == ServerMessageKind.Face).SelectMany(s => s.Weights).ToArray();
                float[] allHead = turn.Where(s => s.Kind == ServerMessageKind.Face).SelectMany(s => s.Head).ToArray();
                var sample = new FaceSample(52);
                int jaw = Array.IndexOf(session.Names, "jawOpen");
                double samplesPerFrame = 22050.0 / 60.0;
                foreach (int i in new[] { 0, 1, (int)frames / 2, (int)frames - 3 })
                {
                    Assert.That(buffer.SampleAt(start + i * samplesPerFrame, sample), "frame " + i);
                    Assert.That(sample.Turn, Is.EqualTo(end.Turn));
                    for (int c = 0; c < 52; c++)
                        Assert.That(sample.Weights[c], Is.EqualTo(allWeights[i * 52 + c]).Within(1e-4), "frame " + i + " column " + c);
                    Assert.That(sample.Head[1], Is.EqualTo(allHead[i * 3 + 1]).Within(1e-5));
                    Assert.That(buffer.SampleAt(start + (i + 0.5) * samplesPerFrame, sample));
                    float mid = 0.5f * (allWeights[i * 52 + jaw] + allWeights[(i + 1) * 52 + jaw]);
                    Assert.That(sample.Weights[jaw], Is.EqualTo(mid).Within(1e-4), "halfway between frames " + i + " and " + (i + 1));
                }
                float peak = Enumerable.Range(0, (int)frames).Max(i => allWeights[i * 52 + jaw]);
                Assert.That(peak, Is.GreaterThan(0.1f), "the jaw moves while speaking");

                // what was heard goes back to the server as playback reports, which it accepts
                long sent = recorder.Client.RequestsSent;
                recorder.Pump(() => false, 600);
                Assert.That(recorder.Client.RequestsSent, Is.GreaterThan(sent), "a playback report went out");
                Assert.That(recorder.Events.Where(e => e.Kind == MergEventKind.Error).Select(e => e.Error.ToString()), Is.Empty);
            }
        }

        /// <summary>Three sentences: more than ten seconds of speech (about 17 s with the default
        /// voice), well inside the 30 s buffer nobody reads while the turn arrives.</summary>
        private const string ThreeSentences =
            "Good morning, and welcome to the reference head, which is speaking to you from the real server. " +
            "Every word you hear is carried by audio chunks, and every movement of the face by frames at sixty per second. " +
            "If the face and the voice drift apart, even by one frame, this test should notice it and fail loudly.";

        [Test]
        public void ALongTurnSampledOnTheAudioClockNeverDrifts()
        {
            const int rate = 22050, fps = 60, block = 1024;
            using (var recorder = new Recorder().Start())
            {
                var session = recorder.OpenSession(new SessionOptions { Rig = RigNames.Arkit52, Fps = fps, SampleRate = rate });
                Assert.That(session.SampleRate, Is.EqualTo(rate));
                Assert.That(session.Fps, Is.EqualTo(fps));
                long seq = session.Say(ThreeSentences);
                var end = recorder.WaitForTurnEnd(session, seq, 120000);
                Assert.That(end.Reason, Is.EqualTo(TurnEndReasons.Done));
                var turn = TurnMessages(recorder, session, end.Turn);
                long samples = turn.Where(s => s.Kind == ServerMessageKind.Audio).Sum(s => (long)s.Count);
                long frames = turn.Where(s => s.Kind == ServerMessageKind.Face).Sum(s => (long)s.Count);
                Assert.That(samples, Is.GreaterThanOrEqualTo(10L * rate), "at least ten seconds of speech");
                Assert.That(frames, Is.EqualTo((samples * fps + rate - 1) / rate));
                float[] received = turn.Where(s => s.Kind == ServerMessageKind.Face).SelectMany(s => s.Weights).ToArray();
                Assert.That(received.Length, Is.EqualTo(frames * 52));

                // an audio callback of 1024 samples at a time; after each, the game thread samples
                // the face at the callback's position and at every frame time inside the block
                var buffer = session.Buffer;
                var sample = new FaceSample(52);
                long start = buffer.OutputPosition;
                var pcm = new float[block];
                long steps = 0, exactFrames = 0, nextFrame = 0;
                for (long at = 0; at < samples; at += block)
                {
                    Assert.That(buffer.Read(pcm, 0, block), Is.EqualTo(block));
                    Assert.That(buffer.OutputPosition, Is.EqualTo(start + at + block), "the clock advances by exactly one block");

                    Assert.That(buffer.SampleAt(start + at, sample), "position " + at);
                    Assert.That(sample.Turn, Is.EqualTo(end.Turn));
                    Assert.That(sample.Holding, Is.False, "no underrun: the whole turn was buffered");
                    long expected = at * fps / rate; // floor(position * fps / rate), in integers
                    Assert.That((long)Math.Floor(sample.Frame), Is.EqualTo(expected), "frame index at sample " + at);
                    Assert.That(sample.TurnSeconds, Is.EqualTo((double)at / rate), "turn time at sample " + at);
                    steps++;

                    // frame i shows at i * rate / fps samples (367.5 here, so every other one
                    // falls between two samples); there the weights are the received frame, bit for bit
                    long blockEnd = Math.Min(at + block, samples);
                    for (; nextFrame < frames && nextFrame * rate < blockEnd * fps; nextFrame++)
                    {
                        double position = (double)nextFrame * rate / fps;
                        Assert.That(buffer.SampleAt(start + position, sample), "frame " + nextFrame);
                        Assert.That(sample.Frame, Is.EqualTo((double)nextFrame), "frame " + nextFrame + " lands on its own index");
                        for (int c = 0; c < 52; c++)
                        {
                            if (sample.Weights[c] != received[nextFrame * 52 + c])
                                Assert.Fail("frame " + nextFrame + " column " + c + ": sampled " + sample.Weights[c].ToString("R") +
                                            ", received " + received[nextFrame * 52 + c].ToString("R"));
                        }
                        exactFrames++;
                    }
                }
                Assert.That(steps, Is.EqualTo((samples + block - 1) / block));
                Assert.That(exactFrames, Is.EqualTo(frames), "every received frame was checked at its own time");
                Console.WriteLine("audio-clock turn: {0} samples ({1:F2} s), {2} frames, {3} callback steps, no drift",
                    samples, (double)samples / rate, frames, steps);
            }
        }

        [Test]
        public void TheNetworkThreadAllocatesNothingPerAudioOrFaceMessage()
        {
            const int capacity = 8192;
            var marks = new long[capacity];
            var kinds = new ServerMessageKind[capacity];
            int count = 0;
            using (var recorder = new Recorder(tap: false))
            {
                recorder.Client.MessageReceived += message =>
                {
                    if (count >= capacity) return;
                    marks[count] = GC.GetAllocatedBytesForCurrentThread();
                    kinds[count] = message.Kind;
                    count++;
                };
                recorder.Start();
                var session = recorder.OpenSession();
                long warmUp = session.Say("Warm up the path first.");
                recorder.WaitForTurnEnd(session, warmUp);
                int from = count;
                long seq = session.Say(TwoClauses + " " + TwoClauses);
                recorder.WaitForTurnEnd(session, seq);
                Thread.Sleep(100);
                var deltas = new List<long>();
                for (int k = from + 1; k < count; k++)
                {
                    bool hot = kinds[k - 1] == ServerMessageKind.Audio || kinds[k - 1] == ServerMessageKind.Face;
                    bool nextHot = kinds[k] == ServerMessageKind.Audio || kinds[k] == ServerMessageKind.Face;
                    if (hot && nextHot) deltas.Add(marks[k] - marks[k - 1]);
                }
                Assert.That(deltas.Count, Is.GreaterThan(20), "audio and face messages in a row");
                int allocating = deltas.Count(d => d != 0);
                Console.WriteLine("[alloc] " + deltas.Count + " audio/face messages in a row; " + allocating + " allocated (max " + deltas.Max() + " bytes)");
                // a heartbeat ping may fall between two messages; nothing else allocates
                Assert.That(allocating, Is.LessThanOrEqualTo(1), "receiving, decoding and buffering audio/face allocates nothing");
            }
        }

        [Test]
        public void InterruptEndsTheTurnAndStopsPlaybackAtOnce()
        {
            using (var recorder = new Recorder().Start())
            {
                var session = recorder.OpenSession();
                long seq = session.Say(LongSpeech);
                var started = recorder.WaitFor(MergEventKind.TurnStarted, e => ((TurnStartMessage)e.Message).Ref == seq);
                int turn = ((TurnStartMessage)started.Message).Turn;
                Assert.That(recorder.Pump(() => TurnMessages(recorder, session, turn).Count(s => s.Kind == ServerMessageKind.Audio) >= 3, 30000),
                    "audio is streaming");
                var block = new float[2048];
                session.Buffer.Read(block, 0, block.Length);
                session.Buffer.Read(block, 0, block.Length);
                Assert.That(block.Any(v => v != 0f), "playing");

                long interrupt = session.Interrupt();
                Assert.That(interrupt, Is.GreaterThan(seq));
                Assert.That(session.Buffer.IsActive, Is.False, "playback stops at once, before the server answers");
                session.Buffer.Read(block, 0, block.Length);
                Assert.That(block.All(v => v == 0f), "silence after the barge-in");

                var ended = recorder.WaitFor(MergEventKind.TurnEnded, e => ((TurnEndMessage)e.Message).Turn == turn);
                var end = (TurnEndMessage)ended.Message;
                Assert.That(end.Reason, Is.EqualTo(TurnEndReasons.Interrupted));
                Thread.Sleep(300);
                var messages = TurnMessages(recorder, session, turn);
                int endIndex = messages.FindIndex(s => s.Kind == ServerMessageKind.TurnEnd);
                Assert.That(endIndex, Is.EqualTo(messages.Count - 1), "nothing of the turn after its turn.end");
                long received = messages.Where(s => s.Kind == ServerMessageKind.Audio).Sum(s => (long)s.Count);
                Assert.That(end.Stats.Samples, Is.GreaterThanOrEqualTo(received));
                Assert.That(received, Is.LessThan(60L * 22050), "the turn was cut short");

                long next = session.Say("Okay, I will stop.");
                var nextEnd = recorder.WaitForTurnEnd(session, next);
                Assert.That(nextEnd.Reason, Is.EqualTo(TurnEndReasons.Done));
                Assert.That(nextEnd.Turn, Is.EqualTo(turn + 1));
                session.Buffer.Read(block, 0, block.Length);
                session.Buffer.Read(block, 0, block.Length);
                Assert.That(block.Any(v => v != 0f), "the next turn plays");
            }
        }

        [Test]
        public void ErrorsCarryTheServersStableCodes()
        {
            using (var recorder = new Recorder().Start())
            {
                var session = recorder.OpenSession();

                long unknown = recorder.Client.Send(new SayRequest { Sid = "no-such-session", Text = "hello" });
                var error = recorder.WaitFor(MergEventKind.Error, e => e.Error.Ref == unknown).Error;
                Assert.That(error.Code, Is.EqualTo(ErrorCodes.UnknownSession));
                Assert.That(error.Sid, Is.EqualTo("no-such-session"));
                Assert.That(error.RequestType, Is.EqualTo(MessageTypes.Say));
                Assert.That(error.IsLocal, Is.False);

                long emotion = session.Say("Hi there.", "ecstatic");
                error = recorder.WaitFor(MergEventKind.Error, e => e.Error.Ref == emotion).Error;
                Assert.That(error.Code, Is.EqualTo(ErrorCodes.Unsupported));
                Assert.That(error.Session, Is.SameAs(session));
                Assert.That(session.LastError, Is.SameAs(error));

                long empty = session.Say("... !!");
                error = recorder.WaitFor(MergEventKind.Error, e => e.Error.Ref == empty).Error;
                Assert.That(error.Code, Is.EqualTo(ErrorCodes.BadMessage));

                var refused = recorder.Client.OpenSession(new SessionOptions { Fps = 25 });
                var failed = recorder.WaitFor(MergEventKind.SessionFailed, e => e.Session == refused);
                Assert.That(failed.Error.Code, Is.EqualTo(ErrorCodes.Unsupported));
                Assert.That(refused.State, Is.EqualTo(SessionState.Failed));

                Assert.Throws<ArgumentOutOfRangeException>(() => session.Say("Too much.", null, 1.5));

                session.Close();
                recorder.WaitFor(MergEventKind.SessionClosed, e => e.Session == session);
                Assert.That(session.State, Is.EqualTo(SessionState.Closed));
                Assert.That(session.Say("Anyone there?"), Is.EqualTo(-1));
                error = recorder.WaitFor(MergEventKind.Error, e => e.Error.Code == ErrorCodes.ClientNoSession).Error;
                Assert.That(error.IsLocal);
                Assert.That(ErrorCodes.IsServerCode(ErrorCodes.UnknownSession) && !ErrorCodes.IsServerCode(error.Code));
                Assert.That(recorder.Client.State, Is.EqualTo(ConnectionState.Ready), "errors never end the connection");
            }
        }

        [Test]
        public void AUserTextTurnAnswersWithAffectAndReplies()
        {
            using (var recorder = new Recorder().Start())
            {
                var session = recorder.OpenSession();
                Assert.That(recorder.Client.Welcome.HasFeature("user.text"), "the server runs the empathy stage");
                long seq = session.SendUserText("I had a rough day at work today.");
                var start = recorder.WaitFor(MergEventKind.TurnStarted, e => ((TurnStartMessage)e.Message).Ref == seq, 60000);
                var turnStart = (TurnStartMessage)start.Message;
                Assert.That(turnStart.Source, Is.EqualTo(TurnSources.UserText));
                var ended = recorder.WaitFor(MergEventKind.TurnEnded, e => ((TurnEndMessage)e.Message).Turn == turnStart.Turn, 90000);
                var end = (TurnEndMessage)ended.Message;
                Assert.That(end.Reason, Is.EqualTo(TurnEndReasons.Done).Or.EqualTo(TurnEndReasons.Error));
                if (end.Reason == TurnEndReasons.Error)
                    Assert.That(recorder.Events.Any(e => e.Kind == MergEventKind.Error && e.Error.Code == ErrorCodes.UpstreamFailed),
                        "a failed LLM is reported as upstream_failed");

                var affect = recorder.Events.Where(e => e.Kind == MergEventKind.UserAffect).Select(e => (UserAffectMessage)e.Message)
                    .Single(m => m.Turn == turnStart.Turn);
                Assert.That(affect.Emotion, Is.Not.Empty);
                Assert.That(affect.Vad.Length, Is.EqualTo(3));
                var replies = recorder.Events.Where(e => e.Kind == MergEventKind.Reply).Select(e => (ReplyMessage)e.Message)
                    .Where(m => m.Turn == turnStart.Turn).ToList();
                Assert.That(replies.Any(r => r.Text.Trim().Length > 0), "the avatar says something");
                Assert.That(replies.Last().Final);
                long samples = TurnMessages(recorder, session, turnStart.Turn).Where(s => s.Kind == ServerMessageKind.Audio).Sum(s => (long)s.Count);
                Assert.That(samples, Is.GreaterThan(0));
                Assert.That(samples, Is.EqualTo(end.Stats.Samples));
            }
        }

        [Test]
        public void PingIsAnsweredWithPong()
        {
            using (var recorder = new Recorder().Start())
            {
                recorder.WaitFor(MergEventKind.Connected);
                long seq = recorder.Client.Ping();
                Assert.That(seq, Is.GreaterThan(0));
                var pong = (PongMessage)recorder.WaitFor(MergEventKind.Pong).Message;
                double now = (DateTime.UtcNow - new DateTime(1970, 1, 1, 0, 0, 0, DateTimeKind.Utc)).TotalSeconds;
                Assert.That(pong.T, Is.EqualTo(now).Within(30.0), "our clock, echoed");
                Assert.That(pong.ServerT, Is.EqualTo(now).Within(30.0));
            }
        }

        [Test]
        public void ASessionIsResumedFromANewConnection()
        {
            string sid;
            int firstTurn;
            using (var first = new Recorder(new MergClientOptions { CloseSessionsOnDispose = false }).Start())
            {
                var session = first.OpenSession();
                sid = session.Sid;
                long seq = session.Say("First line.");
                firstTurn = first.WaitForTurnEnd(session, seq).Turn;
            }
            Thread.Sleep(200); // the server notices the closed connection and detaches the session
            using (var second = new Recorder().Start())
            {
                var session = second.Client.ResumeSession(sid);
                second.WaitFor(MergEventKind.SessionResumed, e => e.Session == session);
                Assert.That(session.Sid, Is.EqualTo(sid));
                Assert.That(session.State, Is.EqualTo(SessionState.Open));
                Assert.That(session.Names.Length, Is.EqualTo(52));
                long seq = session.Say("Second line.");
                var end = second.WaitForTurnEnd(session, seq);
                Assert.That(end.Turn, Is.EqualTo(firstTurn + 1), "turn numbers continue in a resumed session");
            }
        }

        [Test]
        public void ARetargetedRigStreamsItsOwnNames()
        {
            using (var recorder = new Recorder().Start())
            {
                var session = recorder.OpenSession(new SessionOptions { Rig = RigNames.Facecap, Fps = 30, SampleRate = 16000 });
                Assert.That(session.RigName, Is.EqualTo(RigNames.Facecap));
                Assert.That(session.Names.Length, Is.EqualTo(52));
                Assert.That(session.Names, Has.Member("eyeBlink_L"));
                long seq = session.Say("A short line.");
                var end = recorder.WaitForTurnEnd(session, seq);
                var turn = TurnMessages(recorder, session, end.Turn);
                long samples = turn.Where(s => s.Kind == ServerMessageKind.Audio).Sum(s => (long)s.Count);
                long frames = turn.Where(s => s.Kind == ServerMessageKind.Face).Sum(s => (long)s.Count);
                Assert.That(turn.Where(s => s.Kind == ServerMessageKind.Face).All(s => s.Columns == 52));
                Assert.That(turn.Where(s => s.Kind == ServerMessageKind.Audio).All(s => s.SampleRate == 16000));
                Assert.That(frames, Is.EqualTo((long)Math.Ceiling(samples * 30.0 / 16000.0)));
            }
        }

        [Test]
        public void DisposeIsQuickMidTurnAndWhileDialling()
        {
            var recorder = new Recorder().Start();
            var session = recorder.OpenSession();
            long seq = session.Say(LongSpeech);
            recorder.WaitFor(MergEventKind.TurnStarted, e => ((TurnStartMessage)e.Message).Ref == seq);
            int live = MergClient.LiveClientCount;
            var clock = Stopwatch.StartNew();
            recorder.Dispose();
            Assert.That(clock.ElapsedMilliseconds, Is.LessThan(1500), "mid-turn, with a full buffer");
            Assert.That(recorder.Client.State, Is.EqualTo(ConnectionState.Closed));
            Assert.That(MergClient.LiveClientCount, Is.EqualTo(live - 1));

            var nowhere = new MergClient(new MergClientOptions { Host = "127.0.0.1", Port = TestServer.FreePort(), ReconnectMinDelayMs = 50 });
            nowhere.Start();
            Thread.Sleep(300);
            Assert.That(nowhere.State, Is.Not.EqualTo(ConnectionState.Ready));
            clock.Restart();
            nowhere.Dispose();
            Assert.That(clock.ElapsedMilliseconds, Is.LessThan(1500), "while reconnecting");
            Assert.That(nowhere.State, Is.EqualTo(ConnectionState.Closed));

            var blackhole = new MergClient(new MergClientOptions { Host = "10.255.255.1", Port = 5555, ConnectTimeoutMs = 10000 });
            blackhole.Start();
            Thread.Sleep(200);
            clock.Restart();
            blackhole.Dispose();
            Assert.That(clock.ElapsedMilliseconds, Is.LessThan(1500), "while dialling an address that never answers");

            MergClient.ShutdownAll();
            Assert.That(MergClient.LiveClientCount, Is.EqualTo(0));
        }
    }
}
