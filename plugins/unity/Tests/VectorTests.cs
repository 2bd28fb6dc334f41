using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Merg.MessagePack;
using Merg.Protocol;
using NUnit.Framework;

namespace Merg.Tests
{
    /// <summary>
    /// The shared test vectors: MessagePack bytes written by the Python codec
    /// (Tests/vectors/make_vectors.py, which holds the same values as below). Every vector
    /// decodes and re-encodes to identical bytes; every client message built with the C#
    /// encoder equals the Python bytes (same key order as <c>to_wire</c>); every server
    /// message decodes into the typed object with the right values.
    /// </summary>
    [TestFixture]
    public class VectorTests
    {
        private const string Sid = "dfvKTNaGvg7iC9ELU4k8QA";
        private static readonly string LongText = "Ünïcödé — " + string.Concat(Enumerable.Repeat("a long line that needs a str16 header. ", 8).ToArray());

        private static byte[] Vector(string name)
        {
            string path = Path.Combine(TestEnvironment.VectorsDir, name + ".msgpack");
            Assert.That(File.Exists(path), "missing vector " + path + " (run make_vectors.py)");
            return File.ReadAllBytes(path);
        }

        private static IEnumerable<string> Manifest()
        {
            string path = Path.Combine(TestEnvironment.VectorsDir, "vectors.txt");
            return File.ReadAllLines(path).Where(line => line.Trim().Length > 0).Select(line => line.Split(' ')[0].Replace(".msgpack", ""));
        }

        private static byte[] Encode(ClientMessage message, int seq)
        {
            message.Seq = seq;
            return message.ToBytes();
        }

        [Test]
        public void EveryVectorReencodesToIdenticalBytes()
        {
            var names = Manifest().ToList();
            Assert.That(names.Count, Is.GreaterThanOrEqualTo(29));
            foreach (string name in names)
            {
                byte[] bytes = Vector(name);
                var reader = new MsgPackReader(bytes);
                object value = reader.ReadValue();
                Assert.That(reader.AtEnd, name + ": trailing bytes");
                var writer = new MsgPackWriter();
                writer.WriteValue(value);
                Assert.That(writer.ToArray(), Is.EqualTo(bytes), name + ": generic round trip");
            }
        }

        [Test]
        public void EveryVectorHasATypedCheck()
        {
            var checkedHere = new HashSet<string>(ClientCases().Select(c => c.Key).Concat(ServerChecks().Keys));
            foreach (string name in Manifest())
                Assert.That(checkedHere.Contains(name), "no typed check for vector " + name + " in VectorTests.cs");
        }

        private static IEnumerable<KeyValuePair<string, Func<byte[]>>> ClientCases()
        {
            yield return Case("client_hello", () => Encode(HelloRequest.Create("merg-unity", "0.1.0", "unity"), 1));
            yield return Case("client_ping", () => Encode(new PingRequest { T = 1795315014.51 }, 7));
            yield return Case("client_session_open", () => Encode(new SessionOpenRequest
            {
                Rig = "arkit52",
                Fps = 60,
                SampleRate = 48000,
                Voice = "en_US-joe-medium",
                Avatar = "companion",
            }, 2));
            yield return Case("client_session_open_inline_avatar", () => Encode(new SessionOpenRequest
            {
                Rig = "vrm1",
                Fps = 30,
                SampleRate = 22050,
                Language = "en",
                Avatar = new MsgPackMap().Add("name", "Ava").Add("style", "warm"),
            }, 3));
            yield return Case("client_session_resume", () => Encode(new SessionOpenRequest { Resume = Sid }, 300));
            yield return Case("client_session_close", () => Encode(new SessionCloseRequest { Sid = Sid }, 9));
            yield return Case("client_say", () => Encode(new SayRequest
            {
                Sid = Sid,
                Text = "Hello there, my friend. Maybe we should buy a map!",
                Emotion = "happy",
                Intensity = 0.8,
            }, 3));
            yield return Case("client_say_plain", () => Encode(new SayRequest { Sid = Sid, Text = LongText }, 70000));
            yield return Case("client_user_text", () => Encode(new UserTextRequest { Sid = Sid, Text = "I had a rough day at work today." }, 4));
            yield return Case("client_interrupt", () => Encode(new InterruptRequest { Sid = Sid }, 5));
            yield return Case("client_playback", () => Encode(new PlaybackRequest { Sid = Sid, Turn = 1, T = 0.5 }, 6));
        }

        private static KeyValuePair<string, Func<byte[]>> Case(string name, Func<byte[]> encode)
        {
            return new KeyValuePair<string, Func<byte[]>>(name, encode);
        }

        [Test]
        public void ClientMessagesEncodeToThePythonBytes()
        {
            foreach (var item in ClientCases())
            {
                Assert.That(item.Value(), Is.EqualTo(Vector(item.Key)), item.Key + ": C# encoder vs merg_sdk.protocol.encode");
            }
        }

        [Test]
        public void ClientMessagesDecodeAndReencodeIdentically()
        {
            foreach (var item in ClientCases())
            {
                byte[] bytes = Vector(item.Key);
                ClientMessage message = ClientMessage.Decode(bytes, 0, bytes.Length);
                Assert.That(message.ToBytes(), Is.EqualTo(bytes), item.Key);
            }
            var resume = (SessionOpenRequest)ClientMessage.Decode(Vector("client_session_resume"), 0, Vector("client_session_resume").Length);
            Assert.That(resume.Resume, Is.EqualTo(Sid));
            Assert.That(resume.Seq, Is.EqualTo(300));
            var say = (SayRequest)ClientMessage.Decode(Vector("client_say_plain"), 0, Vector("client_say_plain").Length);
            Assert.That(say.Text, Is.EqualTo(LongText));
            Assert.That(say.Emotion, Is.Null);
            Assert.That(say.Intensity.HasValue, Is.False);
        }

        private static T Decode<T>(string name) where T : ServerMessage
        {
            byte[] bytes = Vector(name);
            ServerMessage message = new ServerMessageDecoder().Decode(bytes, 0, bytes.Length);
            Assert.That(message, Is.InstanceOf<T>(), name);
            return (T)message;
        }

        private static float Weight(int frame, int column, int columns)
        {
            return (float)(((frame * columns + column) % 100) / 100.0);
        }

        private static Dictionary<string, Action> ServerChecks()
        {
            return new Dictionary<string, Action>
            {
                { "server_welcome", () =>
                    {
                        var m = Decode<WelcomeMessage>("server_welcome");
                        Assert.That(m.Seq, Is.EqualTo(1));
                        Assert.That(m.ServerName, Is.EqualTo("merg-sdk"));
                        Assert.That(m.ServerVersion, Is.EqualTo("0.1.0"));
                        Assert.That(m.Rigs, Is.EqualTo(new[] { "arkit52", "visemes", "facecap", "livelink", "oculus", "vrm0", "vrm1" }));
                        Assert.That(m.Fps, Is.EqualTo(new long[] { 30, 60, 120 }));
                        Assert.That(m.SampleRates, Is.EqualTo(new long[] { 16000, 22050, 24000, 44100, 48000 }));
                        Assert.That(m.HasFeature("user.text"));
                        Assert.That(m.HasFeature("flame"), Is.False);
                    }
                },
                { "server_pong", () =>
                    {
                        var m = Decode<PongMessage>("server_pong");
                        Assert.That(m.T, Is.EqualTo(1795315014.51));
                        Assert.That(m.ServerT, Is.EqualTo(1795315014.8177));
                    }
                },
                { "server_session_opened", () =>
                    {
                        var m = Decode<SessionOpenedMessage>("server_session_opened");
                        Assert.That(m.Sid, Is.EqualTo(Sid));
                        Assert.That(m.RigName, Is.EqualTo("arkit52"));
                        Assert.That(m.Names.Length, Is.EqualTo(52));
                        Assert.That(m.Names[0], Is.EqualTo("eyeBlinkLeft"));
                        Assert.That(m.Names[51], Is.EqualTo("tongueOut"));
                        Assert.That(m.Fps, Is.EqualTo(60));
                        Assert.That(m.SampleRate, Is.EqualTo(22050));
                        Assert.That(m.Voice, Is.EqualTo("en_US-joe-medium"));
                        Assert.That(m.Resumed, Is.False);
                    }
                },
                { "server_session_closed", () =>
                    {
                        var m = Decode<SessionClosedMessage>("server_session_closed");
                        Assert.That(m.Reason, Is.EqualTo(SessionClosedReasons.ResumedElsewhere));
                    }
                },
                { "server_turn_start", () =>
                    {
                        var m = Decode<TurnStartMessage>("server_turn_start");
                        Assert.That(m.Turn, Is.EqualTo(1));
                        Assert.That(m.Source, Is.EqualTo(TurnSources.Say));
                        Assert.That(m.Ref, Is.EqualTo(3));
                    }
                },
                { "server_user_affect", () =>
                    {
                        var m = Decode<UserAffectMessage>("server_user_affect");
                        Assert.That(m.Emotion, Is.EqualTo("sad"));
                        Assert.That(m.Vad, Is.EqualTo(new[] { -0.5, -0.25, 0.125 }));
                        Assert.That(m.Confidence, Is.EqualTo(0.75));
                        Assert.That(m.By.GetMap("text").GetString("emotion"), Is.EqualTo("sad"));
                        Assert.That(m.FineEmotion, Is.EqualTo("disappointed"));
                        Assert.That(m.Cause, Is.EqualTo("work"));
                    }
                },
                { "server_reasoning", () =>
                    {
                        var m = Decode<ReasoningMessage>("server_reasoning");
                        Assert.That(m.Chain.GetString("strategy"), Is.EqualTo("Question"));
                        Assert.That(m.Chain.ContainsKey("cause"), "nil values are kept");
                        Assert.That(m.Chain["cause"], Is.Null);
                        Assert.That(m.Chain.GetMap("strategy_scores").GetNumber("Question"), Is.EqualTo(0.6));
                    }
                },
                { "server_safety", () =>
                    {
                        var m = Decode<SafetyMessage>("server_safety");
                        Assert.That(m.Category, Is.EqualTo("self_harm"));
                        Assert.That(m.Severity, Is.EqualTo("high"));
                        Assert.That(m.Matched, Is.EqualTo("hurt myself"));
                    }
                },
                { "server_reply", () =>
                    {
                        var m = Decode<ReplyMessage>("server_reply");
                        Assert.That(m.Text, Is.EqualTo("Maybe we should buy a map!"));
                        Assert.That(m.Intensity, Is.EqualTo(0.8));
                        Assert.That(m.Final, Is.True);
                        Assert.That(m.Strategy, Is.EqualTo("Question"));
                        Assert.That(m.T0, Is.EqualTo(35584));
                        Assert.That(m.Phonemes.Length, Is.EqualTo(3));
                        Assert.That(m.Phonemes[0].Symbol, Is.EqualTo(""));
                        Assert.That(m.Phonemes[2].Symbol, Is.EqualTo("eɪ"));
                        Assert.That(m.Phonemes[1].StartS, Is.EqualTo(1.65));
                        Assert.That(m.Phonemes[1].EndS, Is.EqualTo(1.70123));
                    }
                },
                { "server_audio", () =>
                    {
                        var m = Decode<AudioMessage>("server_audio");
                        Assert.That(m.Raw, Is.Null, "audio is decoded without a map");
                        Assert.That(m.Sid, Is.EqualTo(Sid));
                        Assert.That(m.T0, Is.EqualTo(4410));
                        Assert.That(m.SampleRate, Is.EqualTo(22050));
                        Assert.That(m.SampleCount, Is.EqualTo(4410));
                        for (int k = 0; k < 4410; k += 97)
                        {
                            double expected = Math.Truncate(12000 * Math.Sin(2 * Math.PI * 220 * k / 22050.0));
                            Assert.That(m.Sample(k), Is.EqualTo(expected).Within(1.0), "sample " + k);
                        }
                    }
                },
                { "server_audio_small", () =>
                    {
                        var m = Decode<AudioMessage>("server_audio_small");
                        Assert.That(m.T0, Is.EqualTo(70000));
                        Assert.That(m.SampleCount, Is.EqualTo(50));
                    }
                },
                { "server_face", () =>
                    {
                        var m = Decode<FaceMessage>("server_face");
                        Assert.That(m.F0, Is.EqualTo(12));
                        Assert.That(m.Fps, Is.EqualTo(60));
                        Assert.That(m.Count, Is.EqualTo(2));
                        Assert.That(m.Columns, Is.EqualTo(52));
                        Assert.That(m.HasHead && m.HasEyes);
                        for (int f = 0; f < 2; f++)
                            for (int c = 0; c < 52; c++)
                                Assert.That(m.Weight(f, c), Is.EqualTo(Weight(f, c, 52)));
                        Assert.That(LittleEndian.ReadFloat32(m.Head.Array, m.Head.Offset + 4), Is.EqualTo(-0.02f));
                        Assert.That(LittleEndian.ReadFloat32(m.Eyes.Array, m.Eyes.Offset + 28), Is.EqualTo(-0.4f));
                    }
                },
                { "server_face_no_angles", () =>
                    {
                        var m = Decode<FaceMessage>("server_face_no_angles");
                        Assert.That(m.Columns, Is.EqualTo(15));
                        Assert.That(m.HasHead || m.HasEyes, Is.False);
                    }
                },
                { "server_flame", () =>
                    {
                        var m = Decode<FlameMessage>("server_flame");
                        Assert.That(m.Expression, Is.EqualTo(new[] { 0.5f, -0.5f, 0.25f }));
                        Assert.That(m.Jaw, Is.EqualTo(new[] { 0.1f, 0.0f, 0.0f }));
                        Assert.That(m.Neck, Is.EqualTo(new[] { 0.0f, 0.2f, 0.0f }));
                        Assert.That(m.Eyes, Is.Null);
                    }
                },
                { "server_turn_end", () =>
                    {
                        var m = Decode<TurnEndMessage>("server_turn_end");
                        Assert.That(m.Reason, Is.EqualTo(TurnEndReasons.Interrupted));
                        Assert.That(m.Stats.FirstAudioMs.HasValue, Is.False);
                        Assert.That(m.Stats.FirstFaceMs, Is.EqualTo(487.73));
                        Assert.That(m.Stats.Samples, Is.EqualTo(67328));
                        Assert.That(m.Stats.Frames, Is.EqualTo(184));
                        Assert.That(m.Stats.Clauses, Is.EqualTo(2));
                        Assert.That(m.Stats.AudioS, Is.EqualTo(3.0534));
                    }
                },
                { "server_error", () =>
                    {
                        var m = Decode<ErrorMessage>("server_error");
                        Assert.That(m.Code, Is.EqualTo(ErrorCodes.UnknownSession));
                        Assert.That(m.Ref, Is.EqualTo(10));
                        Assert.That(m.Sid, Is.EqualTo(Sid));
                        StringAssert.Contains(Sid, m.Message);
                    }
                },
                { "server_error_minimal", () =>
                    {
                        var m = Decode<ErrorMessage>("server_error_minimal");
                        Assert.That(m.Code, Is.EqualTo(ErrorCodes.Internal));
                        Assert.That(m.Ref.HasValue || m.Sid != null, Is.False);
                    }
                },
                { "server_unknown_widths", () =>
                    {
                        var m = Decode<UnknownMessage>("server_unknown_widths");
                        Assert.That(m.Type, Is.EqualTo("future.widths"));
                        Assert.That(m.Seq, Is.EqualTo(65536));
                        var ints = m.Raw.GetArray("ints");
                        var expected = new object[]
                        {
                            0L, 1L, 127L, 128L, 255L, 256L, 65535L, 65536L, 4294967295L, 4294967296L,
                            long.MaxValue, ulong.MaxValue, -1L, -32L, -33L, -128L, -129L, -32768L, -32769L,
                            -2147483648L, -2147483649L, long.MinValue,
                        };
                        Assert.That(ints, Is.EqualTo(expected));
                        Assert.That(ints[11], Is.TypeOf<ulong>());
                        Assert.That(m.Raw.GetArray("floats")[5], Is.EqualTo(double.PositiveInfinity));
                        Assert.That(m.Raw.GetString("str16").Length, Is.EqualTo(300));
                        Assert.That(((byte[])m.Raw["bin16"]).Length, Is.EqualTo(300));
                        Assert.That(m.Raw.GetMap("map16").Count, Is.EqualTo(20));
                        Assert.That(m.Raw.GetMap("map16").GetLong("k19"), Is.EqualTo(19));
                    }
                },
            };
        }

        [Test]
        public void ServerMessagesDecodeIntoTypedObjects()
        {
            foreach (var check in ServerChecks())
            {
                try
                {
                    check.Value();
                }
                catch (AssertionException exc)
                {
                    throw new AssertionException(check.Key + ": " + exc.Message);
                }
            }
        }

        [Test]
        public void AFrameWithAnotherProtocolVersionIsRefused()
        {
            var writer = new MsgPackWriter();
            writer.WriteValue(new MsgPackMap().Add("v", 2L).Add("type", "welcome").Add("seq", 1L));
            var error = Assert.Throws<ProtocolVersionException>(() => new ServerMessageDecoder().Decode(writer.Buffer, 0, writer.Length));
            Assert.That(error.Version, Is.EqualTo(2));
            writer.Reset();
            writer.WriteValue(new MsgPackMap().Add("type", "welcome"));
            Assert.Throws<ProtocolVersionException>(() => new ServerMessageDecoder().Decode(writer.Buffer, 0, writer.Length));
        }

        [Test]
        public void MalformedServerFramesRaiseMsgPackErrors()
        {
            var writer = new MsgPackWriter();
            writer.WriteValue(new MsgPackMap().Add("v", 1L).Add("type", "audio").Add("sid", "s").Add("turn", 1L).Add("t0", 0L).Add("sample_rate", 22050L));
            Assert.Throws<MsgPackException>(() => new ServerMessageDecoder().Decode(writer.Buffer, 0, writer.Length), "audio without pcm");
            writer.Reset();
            writer.WriteValue(new MsgPackMap().Add("v", 1L).Add("type", "turn.start").Add("sid", "s").Add("turn", "1").Add("source", "say"));
            Assert.Throws<MsgPackException>(() => new ServerMessageDecoder().Decode(writer.Buffer, 0, writer.Length), "turn as a string");
            writer.Reset();
            writer.WriteValue(new object[] { 1L, 2L });
            Assert.Throws<MsgPackException>(() => new ServerMessageDecoder().Decode(writer.Buffer, 0, writer.Length), "not a map");
        }

        [Test]
        public void KeyOrderOfTheEnvelopeDoesNotMatter()
        {
            var writer = new MsgPackWriter();
            writer.WriteValue(new MsgPackMap()
                .Add("pcm", new byte[] { 1, 0, 2, 0 }).Add("turn", 4L).Add("sid", "abc").Add("extra", new MsgPackMap().Add("x", 1L))
                .Add("sample_rate", 16000L).Add("t0", 8L).Add("type", "audio").Add("v", 1L));
            var audio = (AudioMessage)new ServerMessageDecoder().Decode(writer.Buffer, 0, writer.Length);
            Assert.That(audio.Turn, Is.EqualTo(4));
            Assert.That(audio.ToSamples(), Is.EqualTo(new short[] { 1, 2 }));
            Assert.That(audio.Seq.HasValue, Is.False);
        }

        [Test]
        public void KnownSidsAreReusedNotAllocated()
        {
            var decoder = new ServerMessageDecoder();
            string sid = new string(Sid.ToCharArray());
            decoder.AddKnownSid(sid);
            byte[] bytes = Vector("server_audio");
            var audio = (AudioMessage)decoder.Decode(bytes, 0, bytes.Length);
            Assert.That(audio.Sid, Is.SameAs(sid));
        }
    }
}
