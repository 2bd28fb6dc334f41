// Decode-cost bench for the MERG C# core (not part of the Unity package: Tools~ is ignored by Unity).
// Built and run by `plugins/unity/build.sh bench`; not run by the tests.
//
// Measures the core's ServerMessageDecoder (its MsgPackReader pass over the frame) on the two
// per-frame message types, and the same plus copying the payload out to float/short arrays
// (what SpeechBuffer does on write):
//   face:  52 float32 weights x 12 frames, with head (3) and eyes (4) per frame
//   audio: 200 ms of s16le at 48 kHz (9600 samples, 19200 bytes)
using System;
using System.Diagnostics;
using Merg.MessagePack;
using Merg.Protocol;

namespace Merg.Bench
{
    public static class MergBench
    {
        private const string Sid = "dfvKTNaGvg7iC9ELU4k8QA";

        private static byte[] FaceFrame(int frames, int columns)
        {
            var random = new Random(1);
            var weights = new float[frames * columns];
            for (int i = 0; i < weights.Length; i++) weights[i] = (float)random.NextDouble();
            var head = new float[frames * 3];
            var eyes = new float[frames * 4];
            var w = new MsgPackWriter(8192);
            w.WriteMapHeader(11);
            w.WriteString("v"); w.WriteInt(1);
            w.WriteString("type"); w.WriteString("face");
            w.WriteString("seq"); w.WriteInt(1234);
            w.WriteString("sid"); w.WriteString(Sid);
            w.WriteString("turn"); w.WriteInt(3);
            w.WriteString("f0"); w.WriteInt(600);
            w.WriteString("fps"); w.WriteInt(60);
            w.WriteString("count"); w.WriteInt(frames);
            w.WriteString("weights"); w.WriteBinary(LittleEndian.FloatsToBytes(weights));
            w.WriteString("head"); w.WriteBinary(LittleEndian.FloatsToBytes(head));
            w.WriteString("eyes"); w.WriteBinary(LittleEndian.FloatsToBytes(eyes));
            return w.ToArray();
        }

        private static byte[] AudioFrame(int samples, int rate)
        {
            var random = new Random(2);
            var pcm = new short[samples];
            for (int i = 0; i < pcm.Length; i++) pcm[i] = (short)random.Next(-20000, 20000);
            var w = new MsgPackWriter(samples * 2 + 256);
            w.WriteMapHeader(8);
            w.WriteString("v"); w.WriteInt(1);
            w.WriteString("type"); w.WriteString("audio");
            w.WriteString("seq"); w.WriteInt(1235);
            w.WriteString("sid"); w.WriteString(Sid);
            w.WriteString("turn"); w.WriteInt(3);
            w.WriteString("t0"); w.WriteInt(96000);
            w.WriteString("sample_rate"); w.WriteInt(rate);
            w.WriteString("pcm"); w.WriteBinary(LittleEndian.Int16ToBytes(pcm));
            return w.ToArray();
        }

        private static void Report(string name, byte[] frame, int iterations, Action once)
        {
            for (int i = 0; i < iterations / 10 + 1000; i++) once(); // JIT and caches
            double best = double.MaxValue;
            for (int round = 0; round < 5; round++)
            {
                long before = GC.CollectionCount(0);
                var watch = Stopwatch.StartNew();
                for (int i = 0; i < iterations; i++) once();
                watch.Stop();
                double ns = watch.Elapsed.TotalMilliseconds * 1e6 / iterations;
                if (ns < best) best = ns;
                if (GC.CollectionCount(0) != before && round == 4) Console.WriteLine("  (a gen-0 collection ran during " + name + ")");
            }
            double mbPerSecond = frame.Length / (best * 1e-9) / 1e6;
            Console.WriteLine("{0,-34} {1,6} B  {2,10:F0} ns/msg  {3,9:F0} MB/s  ({4} msgs x 5 rounds, best)",
                name, frame.Length, best, mbPerSecond, iterations);
        }

        public static int Main(string[] args)
        {
            int scale = args.Length > 0 ? int.Parse(args[0]) : 1;
            const int frames = 12, columns = 52, rate = 48000, samples = rate / 5;
            byte[] face = FaceFrame(frames, columns);
            byte[] audio = AudioFrame(samples, rate);

            var decoder = new ServerMessageDecoder();
            decoder.AddKnownSid(Sid);
            var f = (FaceMessage)decoder.Decode(face, 0, face.Length);
            if (f.Count != frames || f.Weights.Count != frames * columns * 4) throw new Exception("bad face frame");
            var a = (AudioMessage)decoder.Decode(audio, 0, audio.Length);
            if (a.Pcm.Count != samples * 2 || a.SampleRate != rate) throw new Exception("bad audio frame");

            var weights = new float[frames * columns];
            var head = new float[frames * 3];
            var eyes = new float[frames * 4];
            var pcm = new short[samples];
            float[] floatPcm = new float[samples];

            Console.WriteLine("MERG C# core decode bench ({0}, {1})", Type.GetType("Mono.Runtime") != null ? "Mono" : ".NET",
                Environment.Is64BitProcess ? "64-bit" : "32-bit");
            Console.WriteLine("face: {0} frames x {1} weights (+ head, eyes); audio: {2} ms at {3} Hz", frames, columns, samples * 1000 / rate, rate);

            Report("face  decode", face, 200000 * scale, () => decoder.Decode(face, 0, face.Length));
            Report("face  decode + copy floats", face, 200000 * scale, () =>
            {
                var m = (FaceMessage)decoder.Decode(face, 0, face.Length);
                LittleEndian.CopyFloats(m.Weights.Array, m.Weights.Offset, weights, 0, m.Weights.Count / 4);
                LittleEndian.CopyFloats(m.Head.Array, m.Head.Offset, head, 0, m.Head.Count / 4);
                LittleEndian.CopyFloats(m.Eyes.Array, m.Eyes.Offset, eyes, 0, m.Eyes.Count / 4);
            });
            Report("audio decode", audio, 200000 * scale, () => decoder.Decode(audio, 0, audio.Length));
            Report("audio decode + copy s16", audio, 20000 * scale, () =>
            {
                var m = (AudioMessage)decoder.Decode(audio, 0, audio.Length);
                LittleEndian.CopyInt16(m.Pcm.Array, m.Pcm.Offset, pcm, 0, m.Pcm.Count / 2);
            });
            Report("audio decode + s16 to float", audio, 20000 * scale, () =>
            {
                var m = (AudioMessage)decoder.Decode(audio, 0, audio.Length);
                byte[] b = m.Pcm.Array;
                int o = m.Pcm.Offset;
                for (int i = 0; i < samples; i++, o += 2) floatPcm[i] = (short)(b[o] | (b[o + 1] << 8)) * (1.0f / 32768.0f);
            });
            return 0;
        }
    }
}
