using System;
using System.Linq;
using System.Threading;
using Merg.MessagePack;
using Merg.Playback;
using Merg.Protocol;
using NUnit.Framework;

namespace Merg.Tests
{
    /// <summary>
    /// The jitter buffer and the face sampler on the audio clock, with round numbers: 1000 Hz
    /// audio and 10 fps, so one frame spans 100 samples.
    /// </summary>
    [TestFixture]
    public class SpeechBufferTests
    {
        private const int Rate = 1000;
        private const int Fps = 10;
        private const int Columns = 2;

        private static SpeechBuffer NewBuffer(double startThresholdMs = 0.0, double bufferSeconds = 30.0)
        {
            return new SpeechBuffer(Rate, Fps, Columns, new SpeechBufferOptions { StartThresholdMs = startThresholdMs, BufferSeconds = bufferSeconds });
        }

        /// <summary>Samples first, first+1, ... as s16le.</summary>
        private static byte[] Pcm(int first, int count)
        {
            return LittleEndian.Int16ToBytes(Enumerable.Range(first, count).Select(v => (short)v).ToArray());
        }

        private static void WriteAudio(SpeechBuffer buffer, int turn, long t0, int first, int count)
        {
            byte[] pcm = Pcm(first, count);
            Assert.That(buffer.WriteAudio("s", turn, t0, pcm, 0, pcm.Length), "audio write of turn " + turn);
        }

        /// <summary>Frame i of the turn has weights (base + 10 i, base + 10 i + 1), head (i, 0, 0), eyes (0, 0, 0, i).</summary>
        private static void WriteFrames(SpeechBuffer buffer, int turn, long f0, int count, float baseValue)
        {
            var weights = new float[count * Columns];
            var head = new float[count * 3];
            var eyes = new float[count * 4];
            for (int i = 0; i < count; i++)
            {
                long frame = f0 + i;
                weights[i * Columns] = baseValue + 10 * frame;
                weights[i * Columns + 1] = baseValue + 10 * frame + 1;
                head[i * 3] = frame;
                eyes[i * 4 + 3] = frame;
            }
            Assert.That(buffer.WriteFrames("s", turn, f0, count,
                new ArraySegment<byte>(LittleEndian.FloatsToBytes(weights)),
                new ArraySegment<byte>(LittleEndian.FloatsToBytes(head)),
                new ArraySegment<byte>(LittleEndian.FloatsToBytes(eyes))), "frames of turn " + turn);
        }

        private static float[] Read(SpeechBuffer buffer, int count)
        {
            var samples = new float[count];
            Assert.That(buffer.Read(samples, 0, count), Is.EqualTo(count));
            return samples;
        }

        private static short[] AsPcm(float[] samples)
        {
            return samples.Select(s => (short)Math.Round(s * 32768.0)).ToArray();
        }

        private static PlaybackNote[] Notes(SpeechBuffer buffer)
        {
            var notes = new System.Collections.Generic.List<PlaybackNote>();
            PlaybackNote note;
            while (buffer.TryTakeNote(out note)) notes.Add(note);
            return notes.ToArray();
        }

        [Test]
        public void TurnsPlayBackToBackAndTheFaceIsSampledOnTheAudioClock()
        {
            var buffer = NewBuffer();
            buffer.BeginTurn("s", 1, 1);
            WriteFrames(buffer, 1, 0, 3, 0f);
            WriteAudio(buffer, 1, 0, 1, 250);
            buffer.EndTurn("s", 1, TurnEndReasons.Done);
            buffer.BeginTurn("s", 2, 2);
            WriteFrames(buffer, 2, 0, 2, 100f);
            WriteAudio(buffer, 2, 0, 1001, 150);
            buffer.EndTurn("s", 2, TurnEndReasons.Done);

            Assert.That(AsPcm(Read(buffer, 100)), Is.EqualTo(Enumerable.Range(1, 100).Select(v => (short)v).ToArray()));
            short[] rest = AsPcm(Read(buffer, 300));
            Assert.That(rest.Take(150), Is.EqualTo(Enumerable.Range(101, 150).Select(v => (short)v).ToArray()), "the rest of turn 1");
            Assert.That(rest.Skip(150), Is.EqualTo(Enumerable.Range(1001, 150).Select(v => (short)v).ToArray()), "turn 2 follows without a gap");
            Assert.That(buffer.OutputPosition, Is.EqualTo(400));

            var sample = new FaceSample(Columns);
            Assert.That(buffer.SampleAt(0, sample));
            Assert.That(sample.Turn, Is.EqualTo(1));
            Assert.That(sample.Weights, Is.EqualTo(new[] { 0f, 1f }), "frame 0 at sample 0");
            Assert.That(buffer.SampleAt(100, sample));
            Assert.That(sample.Weights, Is.EqualTo(new[] { 10f, 11f }), "frame 1 at 0.1 s");
            Assert.That(sample.Head[0], Is.EqualTo(1f));
            Assert.That(sample.Eyes[3], Is.EqualTo(1f));
            Assert.That(buffer.SampleAt(150, sample));
            Assert.That(sample.Weights[0], Is.EqualTo(15f).Within(1e-4), "halfway between frames 1 and 2");
            Assert.That(sample.Head[0], Is.EqualTo(1.5f).Within(1e-5));
            Assert.That(sample.Frame, Is.EqualTo(1.5).Within(1e-9));
            Assert.That(sample.TurnSeconds, Is.EqualTo(0.15).Within(1e-9));
            Assert.That(buffer.SampleAt(125.5, sample), "fractional positions");
            Assert.That(sample.Weights[0], Is.EqualTo(12.55f).Within(1e-3));
            Assert.That(buffer.SampleAt(249, sample));
            Assert.That(sample.Weights[0], Is.EqualTo(20f), "past the last frame the last frame holds");

            Assert.That(buffer.SampleAt(250 + 50, sample));
            Assert.That(sample.Turn, Is.EqualTo(2));
            Assert.That(sample.Weights[0], Is.EqualTo(105f).Within(1e-4), "turn 2 restarts its own timeline at frame 0");
            Assert.That(buffer.SampleAt(10000, sample), "beyond what was read: the newest sample read");
            Assert.That(sample.Turn, Is.EqualTo(2));

            Read(buffer, 100);
            Assert.That(buffer.SampleAt(450, sample), Is.False, "silence after the last turn: no face");
            Assert.That(sample.Valid, Is.False);
            Assert.That(buffer.IsActive, Is.False);

            var notes = Notes(buffer);
            Assert.That(notes.Select(n => n.Kind + ":" + n.Turn).ToArray(), Is.EqualTo(new[]
            {
                "TurnStarted:1", "TurnFinished:1", "TurnStarted:2", "TurnFinished:2",
            }));
            Assert.That(notes[2].OutputPosition, Is.EqualTo(250));
        }

        [Test]
        public void TheJitterBufferHoldsATurnUntilItsStartThresholdArrives()
        {
            var buffer = NewBuffer(startThresholdMs: 100.0);
            buffer.BeginTurn("s", 1, 1);
            WriteFrames(buffer, 1, 0, 2, 0f);
            WriteAudio(buffer, 1, 0, 1, 50);
            Assert.That(Read(buffer, 30).All(s => s == 0f), "50 ms buffered of 100: silence");
            Assert.That(buffer.SampleAt(10, new FaceSample(Columns)), Is.False);
            WriteAudio(buffer, 1, 50, 51, 60);
            Assert.That(AsPcm(Read(buffer, 30)), Is.EqualTo(Enumerable.Range(1, 30).Select(v => (short)v).ToArray()));

            var shortTurn = NewBuffer(startThresholdMs: 100.0);
            shortTurn.BeginTurn("s", 1, 1);
            WriteFrames(shortTurn, 1, 0, 1, 0f);
            WriteAudio(shortTurn, 1, 0, 1, 20);
            shortTurn.EndTurn("s", 1, TurnEndReasons.Done);
            Assert.That(AsPcm(Read(shortTurn, 20)), Is.EqualTo(Enumerable.Range(1, 20).Select(v => (short)v).ToArray()), "a whole turn shorter than the threshold plays");
        }

        [Test]
        public void AnUnderrunPlaysSilenceAndTheFaceHolds()
        {
            var buffer = NewBuffer();
            buffer.BeginTurn("s", 1, 1);
            WriteFrames(buffer, 1, 0, 3, 0f);
            WriteAudio(buffer, 1, 0, 1, 100);
            float[] first = Read(buffer, 150);
            Assert.That(AsPcm(first).Take(100), Is.EqualTo(Enumerable.Range(1, 100).Select(v => (short)v).ToArray()));
            Assert.That(first.Skip(100).All(s => s == 0f));
            Assert.That(buffer.Underruns, Is.EqualTo(1));
            var sample = new FaceSample(Columns);
            Assert.That(buffer.SampleAt(130, sample));
            Assert.That(sample.Holding, "waiting for audio");
            Assert.That(sample.TurnSeconds, Is.EqualTo(0.1).Within(1e-9), "the face waits where the audio stopped");
            WriteAudio(buffer, 1, 100, 101, 50);
            Assert.That(AsPcm(Read(buffer, 50)), Is.EqualTo(Enumerable.Range(101, 50).Select(v => (short)v).ToArray()), "playback resumes where it stopped");
            Assert.That(Notes(buffer).Select(n => n.Kind).ToArray(), Is.EqualTo(new[] { PlaybackNoteKind.TurnStarted, PlaybackNoteKind.Underrun }));
        }

        [Test]
        public void AnInterruptedTurnIsCutAtThePlayPosition()
        {
            var buffer = NewBuffer();
            buffer.BeginTurn("s", 1, 1);
            WriteFrames(buffer, 1, 0, 5, 0f);
            WriteAudio(buffer, 1, 0, 1, 500);
            Read(buffer, 100);
            buffer.EndTurn("s", 1, TurnEndReasons.Interrupted);
            Assert.That(buffer.BufferedSamples, Is.EqualTo(0), "nothing more of the turn plays");
            Assert.That(Read(buffer, 50).All(s => s == 0f));
            byte[] late = Pcm(501, 10);
            Assert.That(buffer.WriteAudio("s", 1, 500, late, 0, late.Length), Is.False, "an ended turn takes no more audio");

            buffer.BeginTurn("s", 2, 2);
            WriteFrames(buffer, 2, 0, 1, 100f);
            WriteAudio(buffer, 2, 0, 7, 10);
            Assert.That(AsPcm(Read(buffer, 10)), Is.EqualTo(Enumerable.Range(7, 10).Select(v => (short)v).ToArray()));
        }

        [Test]
        public void BargeInDropsOlderTurnsAndWhatOfThemStillArrives()
        {
            var buffer = NewBuffer();
            buffer.BeginTurn("s", 1, 3);
            WriteFrames(buffer, 1, 0, 2, 0f);
            WriteAudio(buffer, 1, 0, 1, 200);
            Read(buffer, 50);
            buffer.DropTurnsBefore(4); // e.g. an interrupt with seq 4
            Assert.That(buffer.IsActive, Is.False);
            Assert.That(Read(buffer, 20).All(s => s == 0f), "playback stops at once");
            byte[] late = Pcm(201, 10);
            Assert.That(buffer.WriteAudio("s", 1, 200, late, 0, late.Length), Is.False, "late audio of the dropped turn is refused");

            buffer.BeginTurn("s", 2, 5); // a say sent after the interrupt
            WriteFrames(buffer, 2, 0, 1, 0f);
            WriteAudio(buffer, 2, 0, 1000, 10);
            Assert.That(AsPcm(Read(buffer, 10))[0], Is.EqualTo(1000), "a newer request's turn plays");

            buffer.DropTurnsBefore(10);
            buffer.BeginTurn("s", 3, 7); // an older request's turn arriving after the barge-in
            byte[] pcm = Pcm(1, 10);
            Assert.That(buffer.WriteAudio("s", 3, 0, pcm, 0, pcm.Length), Is.False, "dropped on arrival");
            Assert.That(buffer.DroppedTurns, Is.GreaterThanOrEqualTo(2));
            Assert.That(Notes(buffer).Count(n => n.Kind == PlaybackNoteKind.TurnDropped), Is.GreaterThanOrEqualTo(2));
        }

        [Test]
        public void QueuedTurnsAreSkippedWhenDroppedAndTheRingStaysConsistent()
        {
            var buffer = NewBuffer();
            buffer.BeginTurn("s", 1, 1);
            WriteAudio(buffer, 1, 0, 1, 100);
            buffer.EndTurn("s", 1, TurnEndReasons.Done);
            buffer.BeginTurn("s", 2, 2);
            WriteAudio(buffer, 2, 0, 501, 100);
            buffer.EndTurn("s", 2, TurnEndReasons.Done);
            buffer.BeginTurn("s", 3, 9);
            WriteAudio(buffer, 3, 0, 901, 100);
            buffer.EndTurn("s", 3, TurnEndReasons.Done);
            Read(buffer, 10);
            buffer.DropTurnsBefore(5); // turns 1 and 2; turn 3 stays
            short[] played = AsPcm(Read(buffer, 100));
            Assert.That(played, Is.EqualTo(Enumerable.Range(901, 100).Select(v => (short)v).ToArray()));
            Assert.That(buffer.BufferedSamples, Is.EqualTo(0));
        }

        [Test]
        public void GapsAreFilledAndOverlapsSkipped()
        {
            var buffer = NewBuffer();
            buffer.BeginTurn("s", 1, 1);
            WriteFrames(buffer, 1, 0, 1, 0f);
            WriteFrames(buffer, 1, 2, 1, 0f); // frame 1 missing: frame 0 is repeated
            WriteFrames(buffer, 1, 1, 3, 0f); // frames 1, 2 again, then 3
            WriteAudio(buffer, 1, 0, 1, 100);
            WriteAudio(buffer, 1, 150, 151, 50); // 50 samples missing: silence
            WriteAudio(buffer, 1, 180, 181, 40); // 20 samples overlap
            buffer.EndTurn("s", 1, TurnEndReasons.Done);
            short[] played = AsPcm(Read(buffer, 220));
            Assert.That(played.Take(100), Is.EqualTo(Enumerable.Range(1, 100).Select(v => (short)v).ToArray()));
            Assert.That(played.Skip(100).Take(50).All(v => v == 0));
            Assert.That(played.Skip(150).Take(70), Is.EqualTo(Enumerable.Range(151, 70).Select(v => (short)v).ToArray()));
            Assert.That(buffer.Discontinuities, Is.EqualTo(4));
            var sample = new FaceSample(Columns);
            Assert.That(buffer.SampleAt(100, sample));
            Assert.That(sample.Weights[0], Is.EqualTo(0f), "the gap frame repeats frame 0");
            Assert.That(buffer.SampleAt(200, sample));
            Assert.That(sample.Weights[0], Is.EqualTo(20f), "frame 2 (the first copy wins)");
            Assert.That(buffer.SampleAt(219, sample));
            Assert.That(sample.Weights[0], Is.EqualTo(21.9f).Within(1e-3), "towards frame 3 (written after the overlap)");
        }

        [Test]
        public void AFullRingMakesTheWriterWaitForThePlayer()
        {
            var buffer = NewBuffer(bufferSeconds: 1.0); // 1024 samples at least
            int capacity = buffer.CapacitySamples;
            buffer.BeginTurn("s", 1, 1);
            WriteAudio(buffer, 1, 0, 0, capacity);
            bool written = false;
            var writer = new Thread(() =>
            {
                byte[] more = Pcm(0, 500);
                written = buffer.WriteAudio("s", 1, capacity, more, 0, more.Length);
            });
            writer.Start();
            Assert.That(writer.Join(300), Is.False, "the writer waits while the ring is full");
            Read(buffer, 600);
            Assert.That(writer.Join(5000), "reading freed room");
            Assert.That(written);

            int calls = 0;
            byte[] blocked = Pcm(0, 1000);
            Assert.That(buffer.WriteAudio("s", 1, capacity + 500, blocked, 0, blocked.Length, () => ++calls < 3), Is.False,
                "keepWaiting can give up");
            Assert.That(calls, Is.EqualTo(3));

            var closing = new Thread(() => buffer.WriteAudio("s", 1, capacity + 500, blocked, 0, blocked.Length));
            closing.Start();
            Thread.Sleep(100);
            buffer.Close();
            Assert.That(closing.Join(2000), "Close releases a waiting writer");
        }

        [Test]
        public void AnUnattendedFullBufferDropsInsteadOfBlockingTheNetworkThread()
        {
            var buffer = new SpeechBuffer(Rate, Fps, Columns, new SpeechBufferOptions { BufferSeconds = 1.0, UnattendedSeconds = 0.3 });
            buffer.BeginTurn("s", 1, 1);
            WriteAudio(buffer, 1, 0, 0, buffer.CapacitySamples);
            byte[] more = Pcm(0, 100);
            var clock = System.Diagnostics.Stopwatch.StartNew();
            Assert.That(buffer.WriteAudio("s", 1, buffer.CapacitySamples, more, 0, more.Length), Is.False);
            Assert.That(clock.ElapsedMilliseconds, Is.LessThan(2000), "nobody reads: the write gives up");
            Assert.That(buffer.DroppedWhileUnattended, Is.EqualTo(1));
        }

        /// <summary>
        /// The per-frame path allocates nothing: decoding audio and face frames, writing them
        /// into the buffer, reading audio for the player and sampling the face.
        /// </summary>
        [Test]
        public void TheHotPathAllocatesNothing()
        {
            const string sid = "dfvKTNaGvg7iC9ELU4k8QA";
            const int rate = 22050, fps = 60, columns = 52, chunk = 4410, frames = 12;
            var buffer = new SpeechBuffer(rate, fps, columns);
            var decoder = new ServerMessageDecoder();
            decoder.AddKnownSid(sid);
            var sample = new FaceSample(columns);
            var output = new float[1024];

            Func<long, byte[]> audioFrame = t0 =>
            {
                var w = new MsgPackWriter();
                w.WriteValue(new MsgPackMap().Add("v", 1L).Add("type", "audio").Add("seq", 8L).Add("sid", sid).Add("turn", 1L)
                    .Add("t0", t0).Add("sample_rate", (long)rate).Add("pcm", new byte[chunk * 2]));
                return w.ToArray();
            };
            Func<long, byte[]> faceFrame = f0 =>
            {
                var w = new MsgPackWriter();
                w.WriteValue(new MsgPackMap().Add("v", 1L).Add("type", "face").Add("seq", 7L).Add("sid", sid).Add("turn", 1L)
                    .Add("f0", f0).Add("fps", (long)fps).Add("count", (long)frames)
                    .Add("weights", new byte[frames * columns * 4]).Add("head", new byte[frames * 12]).Add("eyes", new byte[frames * 16]));
                return w.ToArray();
            };
            const int chunks = 60;
            var audio = Enumerable.Range(0, chunks).Select(i => audioFrame((long)i * chunk)).ToArray();
            var faces = Enumerable.Range(0, chunks).Select(i => faceFrame((long)i * frames)).ToArray();
            buffer.BeginTurn(sid, 1, 1);

            Action<int> step = i =>
            {
                var face = (FaceMessage)decoder.Decode(faces[i], 0, faces[i].Length);
                buffer.WriteFrames(face.Sid, face.Turn, face.F0, face.Count, face.Weights, face.Head, face.Eyes);
                var pcm = (AudioMessage)decoder.Decode(audio[i], 0, audio[i].Length);
                buffer.WriteAudio(pcm.Sid, pcm.Turn, pcm.T0, pcm.Pcm.Array, pcm.Pcm.Offset, pcm.Pcm.Count);
                for (int r = 0; r < 4; r++)
                {
                    buffer.Read(output, 0, output.Length);
                    buffer.SampleAt(buffer.OutputPosition - 512.5, sample);
                }
            };
            step(0); // warm up (JIT, first-use initialisation)
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 1; i < chunks; i++) step(i);
            long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            Assert.That(sample.Valid, "the loop did sample a face");
            Assert.That(allocated, Is.EqualTo(0), "bytes allocated by " + (chunks - 1) + " audio+face messages, reads and samples");
        }
    }
}
