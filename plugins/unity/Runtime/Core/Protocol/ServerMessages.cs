using System;
using System.Collections.Generic;
using Merg.MessagePack;

namespace Merg.Protocol
{
    /// <summary>Every server-to-client message type this client understands.</summary>
    public enum ServerMessageKind
    {
        Unknown,
        Welcome,
        Pong,
        SessionOpened,
        SessionClosed,
        TurnStart,
        UserAffect,
        Reasoning,
        Safety,
        Reply,
        Audio,
        Face,
        Flame,
        TurnEnd,
        Error,
    }

    /// <summary>A decoded server message. <see cref="Raw"/> keeps the whole map (with any
    /// fields newer servers add) for every type except the allocation-free audio and face.</summary>
    public abstract class ServerMessage
    {
        public abstract ServerMessageKind Kind { get; }

        /// <summary>The wire type string.</summary>
        public string Type { get; internal set; }

        /// <summary>The server's per-connection counter (for logs), when present.</summary>
        public long? Seq { get; internal set; }

        /// <summary>The decoded map; null for <see cref="AudioMessage"/> and <see cref="FaceMessage"/>.</summary>
        public MsgPackMap Raw { get; internal set; }
    }

    /// <summary>A message of the session's turn stream.</summary>
    public interface ITurnMessage
    {
        string Sid { get; }
        int Turn { get; }
    }

    public sealed class WelcomeMessage : ServerMessage
    {
        public override ServerMessageKind Kind { get { return ServerMessageKind.Welcome; } }

        public MsgPackMap Server { get; internal set; }
        public MsgPackMap Capabilities { get; internal set; }
        public string ServerName { get { return Server.GetString("name"); } }
        public string ServerVersion { get { return Server.GetString("version"); } }
        public string[] Rigs { get { return Capabilities.GetStringArray("rigs"); } }
        public string[] Voices { get { return Capabilities.GetStringArray("voices"); } }
        public string[] Emotions { get { return Capabilities.GetStringArray("emotions"); } }
        public string[] Features { get { return Capabilities.GetStringArray("features"); } }
        public long[] Fps { get { return Capabilities.GetLongArray("fps"); } }
        public long[] SampleRates { get { return Capabilities.GetLongArray("sample_rates"); } }

        public bool HasFeature(string feature)
        {
            return Array.IndexOf(Features, feature) >= 0;
        }
    }

    public sealed class PongMessage : ServerMessage
    {
        public override ServerMessageKind Kind { get { return ServerMessageKind.Pong; } }

        /// <summary>The ping's <c>t</c>, echoed.</summary>
        public double T { get; internal set; }

        /// <summary>The server's Unix time when it answered.</summary>
        public double ServerT { get; internal set; }
    }

    public sealed class SessionOpenedMessage : ServerMessage
    {
        public override ServerMessageKind Kind { get { return ServerMessageKind.SessionOpened; } }

        public string Sid { get; internal set; }
        public string RigName { get; internal set; }
        /// <summary>The column order of every <c>face</c> message of this session.</summary>
        public string[] Names { get; internal set; }
        public int Fps { get; internal set; }
        public int SampleRate { get; internal set; }
        public string Voice { get; internal set; }
        public bool Resumed { get; internal set; }
    }

    public sealed class SessionClosedMessage : ServerMessage
    {
        public override ServerMessageKind Kind { get { return ServerMessageKind.SessionClosed; } }

        public string Sid { get; internal set; }
        /// <summary><c>closed</c> or <c>resumed_elsewhere</c> (<see cref="SessionClosedReasons"/>).</summary>
        public string Reason { get; internal set; }
    }

    public sealed class TurnStartMessage : ServerMessage, ITurnMessage
    {
        public override ServerMessageKind Kind { get { return ServerMessageKind.TurnStart; } }

        public string Sid { get; internal set; }
        public int Turn { get; internal set; }
        public string Source { get; internal set; }
        /// <summary>The <c>seq</c> of the request that started the turn (what Say/SendUserText returned).</summary>
        public long? Ref { get; internal set; }
    }

    public sealed class UserAffectMessage : ServerMessage, ITurnMessage
    {
        public override ServerMessageKind Kind { get { return ServerMessageKind.UserAffect; } }

        public string Sid { get; internal set; }
        public int Turn { get; internal set; }
        public string Emotion { get; internal set; }
        /// <summary>Valence, arousal, dominance in [-1, 1].</summary>
        public double[] Vad { get; internal set; }
        public double Confidence { get; internal set; }
        /// <summary>Each modality's own reading ({text?, voice?, face?}).</summary>
        public MsgPackMap By { get; internal set; }
        public string FineEmotion { get; internal set; }
        public string Cause { get; internal set; }
    }

    public sealed class ReasoningMessage : ServerMessage, ITurnMessage
    {
        public override ServerMessageKind Kind { get { return ServerMessageKind.Reasoning; } }

        public string Sid { get; internal set; }
        public int Turn { get; internal set; }
        /// <summary>The chain of empathy (user emotion, need, strategy, avatar emotion, ...).</summary>
        public MsgPackMap Chain { get; internal set; }
    }

    /// <summary>Crisis language in the user's words: the host decides whom to alert.</summary>
    public sealed class SafetyMessage : ServerMessage, ITurnMessage
    {
        public override ServerMessageKind Kind { get { return ServerMessageKind.Safety; } }

        public string Sid { get; internal set; }
        public int Turn { get; internal set; }
        public string Category { get; internal set; }
        public string Severity { get; internal set; }
        public string Matched { get; internal set; }
    }

    /// <summary>One phoneme of a reply on the turn timeline; an empty symbol is a pause.</summary>
    public struct Phoneme
    {
        public Phoneme(string symbol, double startS, double endS)
        {
            Symbol = symbol;
            StartS = startS;
            EndS = endS;
        }

        public string Symbol;
        public double StartS;
        public double EndS;
    }

    public sealed class ReplyMessage : ServerMessage, ITurnMessage
    {
        public override ServerMessageKind Kind { get { return ServerMessageKind.Reply; } }

        public string Sid { get; internal set; }
        public int Turn { get; internal set; }
        /// <summary>The clause as spoken (captions).</summary>
        public string Text { get; internal set; }
        public string Emotion { get; internal set; }
        public double Intensity { get; internal set; }
        public bool Final { get; internal set; }
        public string Strategy { get; internal set; }
        /// <summary>The clause's first audio sample on the turn timeline.</summary>
        public long? T0 { get; internal set; }
        public Phoneme[] Phonemes { get; internal set; }
    }

    /// <summary>
    /// An audio chunk: s16le mono PCM; sample k plays at (T0 + k) / SampleRate seconds of the
    /// turn. To keep the audio path allocation-free the decoder reuses one instance and
    /// <see cref="Pcm"/> points into the receive buffer: both are valid only until the next
    /// message is decoded. Copy what you keep.
    /// </summary>
    public sealed class AudioMessage : ServerMessage, ITurnMessage
    {
        public override ServerMessageKind Kind { get { return ServerMessageKind.Audio; } }

        public string Sid { get; internal set; }
        public int Turn { get; internal set; }
        public long T0 { get; internal set; }
        public int SampleRate { get; internal set; }
        public ArraySegment<byte> Pcm { get; internal set; }

        public int SampleCount { get { return Pcm.Count / 2; } }

        public short Sample(int index)
        {
            return LittleEndian.ReadInt16(Pcm.Array, Pcm.Offset + 2 * index);
        }

        public void CopySamples(short[] destination, int destinationIndex)
        {
            LittleEndian.CopyInt16(Pcm.Array, Pcm.Offset, destination, destinationIndex, SampleCount);
        }

        /// <summary>A copy of the samples (allocates).</summary>
        public short[] ToSamples()
        {
            var samples = new short[SampleCount];
            CopySamples(samples, 0);
            return samples;
        }
    }

    /// <summary>
    /// Face frames F0 .. F0+Count-1: <see cref="Weights"/> is Count x Columns float32le in the
    /// session rig's name order; <see cref="Head"/> (pitch, yaw, roll) and <see cref="Eyes"/>
    /// (left pitch, left yaw, right pitch, right yaw) are radians, empty when absent. Reused
    /// and pointing into the receive buffer like <see cref="AudioMessage"/>.
    /// </summary>
    public sealed class FaceMessage : ServerMessage, ITurnMessage
    {
        public override ServerMessageKind Kind { get { return ServerMessageKind.Face; } }

        public string Sid { get; internal set; }
        public int Turn { get; internal set; }
        public long F0 { get; internal set; }
        public int Fps { get; internal set; }
        public int Count { get; internal set; }
        public ArraySegment<byte> Weights { get; internal set; }
        public ArraySegment<byte> Head { get; internal set; }
        public ArraySegment<byte> Eyes { get; internal set; }

        /// <summary>Weights per frame (the number of rig names).</summary>
        public int Columns { get { return Count == 0 ? 0 : Weights.Count / 4 / Count; } }

        public bool HasHead { get { return Head.Count == Count * 3 * 4 && Count > 0; } }

        public bool HasEyes { get { return Eyes.Count == Count * 4 * 4 && Count > 0; } }

        public float Weight(int frame, int column)
        {
            return LittleEndian.ReadFloat32(Weights.Array, Weights.Offset + 4 * (frame * Columns + column));
        }

        /// <summary>All weights, row-major, into <paramref name="destination"/> at <paramref name="index"/>.</summary>
        public void CopyWeights(float[] destination, int index)
        {
            LittleEndian.CopyFloats(Weights.Array, Weights.Offset, destination, index, Weights.Count / 4);
        }

        /// <summary>A [Count, Columns] copy of the weights (allocates).</summary>
        public float[] ToWeights()
        {
            var weights = new float[Weights.Count / 4];
            CopyWeights(weights, 0);
            return weights;
        }
    }

    /// <summary>FLAME parameters (for sessions on the <c>flame</c> rig), copied into arrays.</summary>
    public sealed class FlameMessage : ServerMessage, ITurnMessage
    {
        public override ServerMessageKind Kind { get { return ServerMessageKind.Flame; } }

        public string Sid { get; internal set; }
        public int Turn { get; internal set; }
        public long F0 { get; internal set; }
        public int Fps { get; internal set; }
        public int Count { get; internal set; }
        /// <summary>Count x E expression coefficients.</summary>
        public float[] Expression { get; internal set; }
        /// <summary>Count x 3 axis-angle.</summary>
        public float[] Jaw { get; internal set; }
        public float[] Neck { get; internal set; }
        public float[] Eyes { get; internal set; }
    }

    /// <summary>turn.end statistics; keys a newer server adds stay in <see cref="Raw"/>.</summary>
    public sealed class TurnStats
    {
        public double? FirstAudioMs { get; internal set; }
        public double? FirstFaceMs { get; internal set; }
        public double AudioS { get; internal set; }
        public long Samples { get; internal set; }
        public long Frames { get; internal set; }
        public long Clauses { get; internal set; }
        public double TotalMs { get; internal set; }
        public MsgPackMap Raw { get; internal set; }
    }

    public sealed class TurnEndMessage : ServerMessage, ITurnMessage
    {
        public override ServerMessageKind Kind { get { return ServerMessageKind.TurnEnd; } }

        public string Sid { get; internal set; }
        public int Turn { get; internal set; }
        /// <summary><c>done</c>, <c>interrupted</c> or <c>error</c> (<see cref="TurnEndReasons"/>).</summary>
        public string Reason { get; internal set; }
        public TurnStats Stats { get; internal set; }
    }

    public sealed class ErrorMessage : ServerMessage
    {
        public override ServerMessageKind Kind { get { return ServerMessageKind.Error; } }

        /// <summary>A stable code (<see cref="ErrorCodes"/>); switch on this, never on the text.</summary>
        public string Code { get; internal set; }
        public string Message { get; internal set; }
        /// <summary>The <c>seq</c> of the request that failed, when the server could read it.</summary>
        public long? Ref { get; internal set; }
        public string Sid { get; internal set; }
    }

    /// <summary>A type this client does not know (a newer server); ignored by the client.</summary>
    public sealed class UnknownMessage : ServerMessage
    {
        public override ServerMessageKind Kind { get { return ServerMessageKind.Unknown; } }
    }

    /// <summary>The server speaks another protocol version (<c>v</c> is not 1).</summary>
    public sealed class ProtocolVersionException : Exception
    {
        public ProtocolVersionException(long? version)
            : base("the server speaks protocol version " + (version.HasValue ? version.Value.ToString() : "(none)")
                + "; this client speaks " + ProtocolConstants.ProtocolVersion)
        {
            Version = version;
        }

        public long? Version { get; private set; }
    }

    /// <summary>
    /// Decodes server frames into typed messages. Audio and face, the per-frame traffic, are
    /// parsed in a streaming pass into two reused instances whose binary fields point into
    /// the frame, so they allocate nothing; the session id string comes from a cache of
    /// known sids. Every other type is decoded through an ordered map (a few allocations,
    /// a few times per turn).
    /// </summary>
    public sealed class ServerMessageDecoder
    {
        private struct TypeName
        {
            public byte[] Utf8;
            public string Text;
            public ServerMessageKind Kind;
        }

        private static readonly TypeName[] TypeNames = BuildTypeNames();

        private readonly MsgPackReader reader = new MsgPackReader();
        private readonly AudioMessage audio = new AudioMessage { Type = MessageTypes.Audio };
        private readonly FaceMessage face = new FaceMessage { Type = MessageTypes.Face };
        private readonly List<string> sids = new List<string>();
        private readonly List<byte[]> sidBytes = new List<byte[]>();

        private static TypeName[] BuildTypeNames()
        {
            var kinds = new[]
            {
                ServerMessageKind.Welcome, ServerMessageKind.Pong, ServerMessageKind.SessionOpened,
                ServerMessageKind.SessionClosed, ServerMessageKind.TurnStart, ServerMessageKind.UserAffect,
                ServerMessageKind.Reasoning, ServerMessageKind.Safety, ServerMessageKind.Reply,
                ServerMessageKind.Audio, ServerMessageKind.Face, ServerMessageKind.Flame,
                ServerMessageKind.TurnEnd, ServerMessageKind.Error,
            };
            var texts = new[]
            {
                MessageTypes.Welcome, MessageTypes.Pong, MessageTypes.SessionOpened,
                MessageTypes.SessionClosed, MessageTypes.TurnStart, MessageTypes.UserAffect,
                MessageTypes.Reasoning, MessageTypes.Safety, MessageTypes.Reply,
                MessageTypes.Audio, MessageTypes.Face, MessageTypes.Flame,
                MessageTypes.TurnEnd, MessageTypes.Error,
            };
            var names = new TypeName[kinds.Length];
            for (int i = 0; i < kinds.Length; i++)
                names[i] = new TypeName { Utf8 = Keys.Utf8(texts[i]), Text = texts[i], Kind = kinds[i] };
            return names;
        }

        /// <summary>Remember a session id, so audio/face messages of that session reuse this
        /// string instead of allocating one per message. Thread: the decoding thread.</summary>
        public void AddKnownSid(string sid)
        {
            if (sid == null || sids.Contains(sid)) return;
            sids.Add(sid);
            sidBytes.Add(Keys.Utf8(sid));
        }

        public void ForgetSid(string sid)
        {
            int index = sids.IndexOf(sid);
            if (index < 0) return;
            sids.RemoveAt(index);
            sidBytes.RemoveAt(index);
        }

        public ServerMessage Decode(ArraySegment<byte> frame)
        {
            return Decode(frame.Array, frame.Offset, frame.Count);
        }

        /// <summary>
        /// Decodes one frame. Throws <see cref="MsgPackException"/> for a frame that is not a
        /// valid message and <see cref="ProtocolVersionException"/> when <c>v</c> is not 1.
        /// The returned audio/face instance is reused by the next call.
        /// </summary>
        public ServerMessage Decode(byte[] buffer, int offset, int count)
        {
            // pass 1: the envelope (v, type, seq), wherever it sits in the map
            reader.Reset(buffer, offset, count);
            if (reader.PeekType() != MsgPackType.Map) throw new MsgPackException("a message must be a map");
            int entries = reader.ReadMapHeader();
            long? version = null;
            long? seq = null;
            int typeIndex = -1;
            int typeStart = -1;
            int typeLength = 0;
            for (int i = 0; i < entries; i++)
            {
                if (reader.TryReadStringEqual(Keys.Type))
                {
                    var typeBytes = reader.ReadStringBytes();
                    typeStart = typeBytes.Offset;
                    typeLength = typeBytes.Count;
                    typeIndex = FindType(typeBytes);
                }
                else if (reader.TryReadStringEqual(Keys.V))
                {
                    if (reader.PeekType() != MsgPackType.Integer) throw new MsgPackException("'v' is not an integer");
                    version = reader.ReadInt64();
                }
                else if (reader.TryReadStringEqual(Keys.Seq))
                {
                    if (reader.PeekType() == MsgPackType.Integer) seq = reader.ReadInt64();
                    else reader.Skip();
                }
                else
                {
                    reader.Skip();
                    reader.Skip();
                }
            }
            if (version != ProtocolConstants.ProtocolVersion) throw new ProtocolVersionException(version);
            if (typeStart < 0) throw new MsgPackException("missing or non-string 'type'");

            ServerMessageKind kind = typeIndex >= 0 ? TypeNames[typeIndex].Kind : ServerMessageKind.Unknown;
            if (kind == ServerMessageKind.Audio) return DecodeAudio(buffer, offset, count, seq);
            if (kind == ServerMessageKind.Face) return DecodeFace(buffer, offset, count, seq);

            // pass 2: everything else through an ordered map
            reader.Reset(buffer, offset, count);
            var map = (MsgPackMap)reader.ReadValue();
            ServerMessage message = Build(kind, map);
            message.Type = typeIndex >= 0
                ? TypeNames[typeIndex].Text
                : System.Text.Encoding.UTF8.GetString(buffer, typeStart, typeLength);
            message.Seq = seq;
            message.Raw = map;
            return message;
        }

        private static int FindType(ArraySegment<byte> type)
        {
            for (int i = 0; i < TypeNames.Length; i++)
            {
                byte[] name = TypeNames[i].Utf8;
                if (name.Length == type.Count && MsgPackReader.BytesEqual(type.Array, type.Offset, name)) return i;
            }
            return -1;
        }

        private string ReadSid()
        {
            var bytes = reader.ReadStringBytes();
            for (int i = 0; i < sidBytes.Count; i++)
            {
                byte[] known = sidBytes[i];
                if (known.Length == bytes.Count && MsgPackReader.BytesEqual(bytes.Array, bytes.Offset, known)) return sids[i];
            }
            return System.Text.Encoding.UTF8.GetString(bytes.Array, bytes.Offset, bytes.Count);
        }

        private int ReadIntField(string name)
        {
            if (reader.PeekType() != MsgPackType.Integer) throw new MsgPackException("field '" + name + "' is not an integer");
            return reader.ReadInt32();
        }

        private AudioMessage DecodeAudio(byte[] buffer, int offset, int count, long? seq)
        {
            reader.Reset(buffer, offset, count);
            int entries = reader.ReadMapHeader();
            string sid = null;
            int turn = -1;
            long t0 = -1;
            int rate = 0;
            var pcm = default(ArraySegment<byte>);
            bool havePcm = false;
            for (int i = 0; i < entries; i++)
            {
                if (reader.TryReadStringEqual(Keys.Sid)) sid = ReadSid();
                else if (reader.TryReadStringEqual(Keys.Turn)) turn = ReadIntField("turn");
                else if (reader.TryReadStringEqual(Keys.T0))
                {
                    if (reader.PeekType() != MsgPackType.Integer) throw new MsgPackException("field 't0' is not an integer");
                    t0 = reader.ReadInt64();
                }
                else if (reader.TryReadStringEqual(Keys.SampleRate)) rate = ReadIntField("sample_rate");
                else if (reader.TryReadStringEqual(Keys.Pcm))
                {
                    pcm = reader.ReadBinarySegment();
                    havePcm = true;
                }
                else
                {
                    reader.Skip();
                    reader.Skip();
                }
            }
            if (sid == null || turn < 0 || t0 < 0 || rate <= 0 || !havePcm)
                throw new MsgPackException("audio message without sid, turn, t0, sample_rate or pcm");
            if ((pcm.Count & 1) != 0) throw new MsgPackException("audio pcm has an odd number of bytes");
            audio.Seq = seq;
            audio.Sid = sid;
            audio.Turn = turn;
            audio.T0 = t0;
            audio.SampleRate = rate;
            audio.Pcm = pcm;
            return audio;
        }

        private FaceMessage DecodeFace(byte[] buffer, int offset, int count, long? seq)
        {
            reader.Reset(buffer, offset, count);
            int entries = reader.ReadMapHeader();
            string sid = null;
            int turn = -1;
            long f0 = -1;
            int fps = 0;
            int frames = -1;
            var weights = default(ArraySegment<byte>);
            var head = new ArraySegment<byte>(buffer, offset, 0);
            var eyes = new ArraySegment<byte>(buffer, offset, 0);
            bool haveWeights = false;
            for (int i = 0; i < entries; i++)
            {
                if (reader.TryReadStringEqual(Keys.Sid)) sid = ReadSid();
                else if (reader.TryReadStringEqual(Keys.Turn)) turn = ReadIntField("turn");
                else if (reader.TryReadStringEqual(Keys.F0))
                {
                    if (reader.PeekType() != MsgPackType.Integer) throw new MsgPackException("field 'f0' is not an integer");
                    f0 = reader.ReadInt64();
                }
                else if (reader.TryReadStringEqual(Keys.Fps)) fps = ReadIntField("fps");
                else if (reader.TryReadStringEqual(Keys.Count)) frames = ReadIntField("count");
                else if (reader.TryReadStringEqual(Keys.Weights))
                {
                    weights = reader.ReadBinarySegment();
                    haveWeights = true;
                }
                else if (reader.TryReadStringEqual(Keys.Head))
                {
                    if (!reader.TryReadNil()) head = reader.ReadBinarySegment();
                }
                else if (reader.TryReadStringEqual(Keys.Eyes))
                {
                    if (!reader.TryReadNil()) eyes = reader.ReadBinarySegment();
                }
                else
                {
                    reader.Skip();
                    reader.Skip();
                }
            }
            if (sid == null || turn < 0 || f0 < 0 || fps <= 0 || frames < 0 || !haveWeights)
                throw new MsgPackException("face message without sid, turn, f0, fps, count or weights");
            if (frames > 0 && weights.Count % (4 * frames) != 0)
                throw new MsgPackException("face weights are not count x names float32 values");
            if (head.Count != 0 && head.Count != frames * 12) throw new MsgPackException("face head is not count x 3 float32 values");
            if (eyes.Count != 0 && eyes.Count != frames * 16) throw new MsgPackException("face eyes is not count x 4 float32 values");
            face.Seq = seq;
            face.Sid = sid;
            face.Turn = turn;
            face.F0 = f0;
            face.Fps = fps;
            face.Count = frames;
            face.Weights = weights;
            face.Head = head;
            face.Eyes = eyes;
            return face;
        }

        private static ServerMessage Build(ServerMessageKind kind, MsgPackMap map)
        {
            switch (kind)
            {
                case ServerMessageKind.Welcome:
                    return new WelcomeMessage
                    {
                        Server = Fields.MapOrEmpty(map, "server"),
                        Capabilities = Fields.MapOrEmpty(map, "capabilities"),
                    };
                case ServerMessageKind.Pong:
                    return new PongMessage
                    {
                        T = map.GetNumber("t") ?? 0.0,
                        ServerT = map.GetNumber("server_t") ?? 0.0,
                    };
                case ServerMessageKind.SessionOpened:
                    {
                        var rig = map.GetMap("rig");
                        if (rig == null) throw new MsgPackException("field 'rig' is missing or not a map");
                        return new SessionOpenedMessage
                        {
                            Sid = Fields.RequireString(map, "sid"),
                            RigName = Fields.RequireString(rig, "name"),
                            Names = rig.GetStringArray("names"),
                            Fps = Fields.RequireInt(map, "fps"),
                            SampleRate = Fields.RequireInt(map, "sample_rate"),
                            Voice = map.GetString("voice"),
                            Resumed = map.GetBool("resumed"),
                        };
                    }
                case ServerMessageKind.SessionClosed:
                    return new SessionClosedMessage
                    {
                        Sid = Fields.RequireString(map, "sid"),
                        Reason = map.GetString("reason", SessionClosedReasons.Closed),
                    };
                case ServerMessageKind.TurnStart:
                    return new TurnStartMessage
                    {
                        Sid = Fields.RequireString(map, "sid"),
                        Turn = Fields.RequireInt(map, "turn"),
                        Source = Fields.RequireString(map, "source"),
                        Ref = Fields.OptionalLong(map, "ref"),
                    };
                case ServerMessageKind.UserAffect:
                    return new UserAffectMessage
                    {
                        Sid = Fields.RequireString(map, "sid"),
                        Turn = Fields.RequireInt(map, "turn"),
                        Emotion = Fields.RequireString(map, "emotion"),
                        Vad = Numbers(map.GetArray("vad")),
                        Confidence = map.GetNumber("confidence") ?? 0.0,
                        By = Fields.MapOrEmpty(map, "by"),
                        FineEmotion = Fields.OptionalString(map, "fine_emotion"),
                        Cause = Fields.OptionalString(map, "cause"),
                    };
                case ServerMessageKind.Reasoning:
                    return new ReasoningMessage
                    {
                        Sid = Fields.RequireString(map, "sid"),
                        Turn = Fields.RequireInt(map, "turn"),
                        Chain = Fields.MapOrEmpty(map, "chain"),
                    };
                case ServerMessageKind.Safety:
                    return new SafetyMessage
                    {
                        Sid = Fields.RequireString(map, "sid"),
                        Turn = Fields.RequireInt(map, "turn"),
                        Category = map.GetString("category"),
                        Severity = map.GetString("severity"),
                        Matched = map.GetString("matched"),
                    };
                case ServerMessageKind.Reply:
                    return new ReplyMessage
                    {
                        Sid = Fields.RequireString(map, "sid"),
                        Turn = Fields.RequireInt(map, "turn"),
                        Text = Fields.RequireString(map, "text"),
                        Emotion = map.GetString("emotion"),
                        Intensity = map.GetNumber("intensity") ?? 0.0,
                        Final = map.GetBool("final"),
                        Strategy = Fields.OptionalString(map, "strategy"),
                        T0 = Fields.OptionalLong(map, "t0"),
                        Phonemes = Phonemes(map.GetArray("phonemes")),
                    };
                case ServerMessageKind.Flame:
                    return new FlameMessage
                    {
                        Sid = Fields.RequireString(map, "sid"),
                        Turn = Fields.RequireInt(map, "turn"),
                        F0 = Fields.RequireLong(map, "f0"),
                        Fps = Fields.RequireInt(map, "fps"),
                        Count = Fields.RequireInt(map, "count"),
                        Expression = Floats(Fields.RequireBinary(map, "expression")),
                        Jaw = Floats(Fields.RequireBinary(map, "jaw")),
                        Neck = Floats(map["neck"] as byte[]),
                        Eyes = Floats(map["eyes"] as byte[]),
                    };
                case ServerMessageKind.TurnEnd:
                    {
                        var stats = Fields.MapOrEmpty(map, "stats");
                        return new TurnEndMessage
                        {
                            Sid = Fields.RequireString(map, "sid"),
                            Turn = Fields.RequireInt(map, "turn"),
                            Reason = Fields.RequireString(map, "reason"),
                            Stats = new TurnStats
                            {
                                FirstAudioMs = stats.GetNumber("first_audio_ms"),
                                FirstFaceMs = stats.GetNumber("first_face_ms"),
                                AudioS = stats.GetNumber("audio_s") ?? 0.0,
                                Samples = stats.GetLong("samples"),
                                Frames = stats.GetLong("frames"),
                                Clauses = stats.GetLong("clauses"),
                                TotalMs = stats.GetNumber("total_ms") ?? 0.0,
                                Raw = stats,
                            },
                        };
                    }
                case ServerMessageKind.Error:
                    return new ErrorMessage
                    {
                        Code = Fields.RequireString(map, "code"),
                        Message = map.GetString("message", ""),
                        Ref = Fields.OptionalLong(map, "ref"),
                        Sid = Fields.OptionalString(map, "sid"),
                    };
                default:
                    return new UnknownMessage();
            }
        }

        private static double[] Numbers(object[] items)
        {
            if (items == null) return new double[0];
            var numbers = new double[items.Length];
            for (int i = 0; i < items.Length; i++)
            {
                object item = items[i];
                if (item is double) numbers[i] = (double)item;
                else if (item is float) numbers[i] = (float)item;
                else if (item is long) numbers[i] = (long)item;
                else throw new MsgPackException("expected a number in an array");
            }
            return numbers;
        }

        private static Phoneme[] Phonemes(object[] items)
        {
            if (items == null) return new Phoneme[0];
            var phonemes = new Phoneme[items.Length];
            for (int i = 0; i < items.Length; i++)
            {
                var triple = items[i] as object[];
                if (triple == null || triple.Length < 3 || !(triple[0] is string))
                    throw new MsgPackException("a phoneme is [symbol, start_s, end_s]");
                var times = Numbers(new[] { triple[1], triple[2] });
                phonemes[i] = new Phoneme((string)triple[0], times[0], times[1]);
            }
            return phonemes;
        }

        private static float[] Floats(byte[] bytes)
        {
            if (bytes == null) return null;
            if (bytes.Length % 4 != 0) throw new MsgPackException("a float32 array has a length that is not a multiple of 4");
            var values = new float[bytes.Length / 4];
            LittleEndian.CopyFloats(bytes, 0, values, 0, values.Length);
            return values;
        }
    }
}
