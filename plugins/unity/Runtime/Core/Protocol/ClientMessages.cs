using System;
using Merg.MessagePack;

namespace Merg.Protocol
{
    /// <summary>
    /// A client-to-server message. <see cref="Encode"/> writes the map in the key order of
    /// the Python codec's <c>to_wire</c> (<c>v</c>, <c>type</c>, <c>seq</c>, then the fields
    /// in declaration order, optional fields left out when null), so the bytes equal
    /// <c>merg_sdk.protocol.encode(message, seq)</c>; the shared test vectors check this.
    /// </summary>
    public abstract class ClientMessage
    {
        /// <summary>The wire <c>type</c>.</summary>
        public abstract string Type { get; }

        /// <summary>The envelope <c>seq</c>, assigned by the client when the request is queued.</summary>
        public int Seq { get; set; }

        /// <summary>The client-side object this request belongs to (a session); not on the wire.</summary>
        internal object Owner { get; set; }

        public void Encode(MsgPackWriter writer)
        {
            writer.WriteMapHeader(3 + FieldCount);
            writer.WriteStringUtf8(Keys.V);
            writer.WriteInt(ProtocolConstants.ProtocolVersion);
            writer.WriteStringUtf8(Keys.Type);
            writer.WriteString(Type);
            writer.WriteStringUtf8(Keys.Seq);
            writer.WriteInt(Seq);
            WriteFields(writer);
        }

        public byte[] ToBytes()
        {
            var writer = new MsgPackWriter();
            Encode(writer);
            return writer.ToArray();
        }

        protected abstract int FieldCount { get; }

        protected abstract void WriteFields(MsgPackWriter writer);

        /// <summary>Decodes a client message (for tools and test servers; the client never
        /// receives these). Unknown fields are ignored; a missing required field throws.</summary>
        public static ClientMessage Decode(byte[] buffer, int offset, int count)
        {
            var map = new MsgPackReader(buffer, offset, count).ReadValue() as MsgPackMap;
            if (map == null) throw new MsgPackException("a message is a map");
            string type = Fields.RequireString(map, "type");
            ClientMessage message;
            switch (type)
            {
                case MessageTypes.Hello:
                    message = new HelloRequest { Client = map.GetMap("client") ?? new MsgPackMap() };
                    break;
                case MessageTypes.Ping:
                    message = new PingRequest { T = map.GetNumber("t") ?? 0.0 };
                    break;
                case MessageTypes.SessionOpen:
                    message = new SessionOpenRequest
                    {
                        Rig = map.GetString("rig", ProtocolConstants.DefaultRig),
                        Fps = (int)map.GetLong("fps", ProtocolConstants.DefaultFps),
                        SampleRate = (int)map.GetLong("sample_rate", ProtocolConstants.DefaultSampleRateHz),
                        Voice = map.GetString("voice"),
                        Language = map.GetString("language"),
                        Avatar = map["avatar"],
                        Resume = map.GetString("resume"),
                    };
                    break;
                case MessageTypes.SessionClose:
                    message = new SessionCloseRequest { Sid = Fields.RequireString(map, "sid") };
                    break;
                case MessageTypes.Say:
                    message = new SayRequest
                    {
                        Sid = Fields.RequireString(map, "sid"),
                        Text = Fields.RequireString(map, "text"),
                        Emotion = map.GetString("emotion"),
                        Intensity = map.GetNumber("intensity"),
                    };
                    break;
                case MessageTypes.UserText:
                    message = new UserTextRequest
                    {
                        Sid = Fields.RequireString(map, "sid"),
                        Text = Fields.RequireString(map, "text"),
                    };
                    break;
                case MessageTypes.Interrupt:
                    message = new InterruptRequest { Sid = Fields.RequireString(map, "sid") };
                    break;
                case MessageTypes.Playback:
                    message = new PlaybackRequest
                    {
                        Sid = Fields.RequireString(map, "sid"),
                        Turn = (int)Fields.RequireLong(map, "turn"),
                        T = Fields.RequireNumber(map, "t"),
                    };
                    break;
                default:
                    throw new MsgPackException("not a client message type: " + type);
            }
            message.Seq = (int)map.GetLong("seq");
            return message;
        }
    }

    /// <summary>A request that names a session; the client fills <see cref="Sid"/> from the
    /// session at send time, so a request queued during a reconnect reaches the session
    /// under its current id.</summary>
    public abstract class SessionRequest : ClientMessage
    {
        public string Sid { get; set; }
    }

    /// <summary><c>hello</c> {client: {name, version, engine}}.</summary>
    public sealed class HelloRequest : ClientMessage
    {
        public override string Type { get { return MessageTypes.Hello; } }

        /// <summary>Free-form; conventionally name, version and engine, in that order.</summary>
        public MsgPackMap Client { get; set; }

        public static HelloRequest Create(string name, string version, string engine)
        {
            return new HelloRequest
            {
                Client = new MsgPackMap().Add("name", name).Add("version", version).Add("engine", engine),
            };
        }

        protected override int FieldCount { get { return 1; } }

        protected override void WriteFields(MsgPackWriter writer)
        {
            writer.WriteStringUtf8(Keys.Client);
            writer.WriteValue(Client ?? new MsgPackMap());
        }
    }

    /// <summary><c>ping</c> {t}: liveness; answered with <c>pong</c>.</summary>
    public sealed class PingRequest : ClientMessage
    {
        public override string Type { get { return MessageTypes.Ping; } }

        public double T { get; set; }

        protected override int FieldCount { get { return 1; } }

        protected override void WriteFields(MsgPackWriter writer)
        {
            writer.WriteStringUtf8(Keys.T);
            writer.WriteFloat64(T);
        }
    }

    /// <summary><c>session.open</c> {rig, fps, sample_rate, voice?, language?, avatar?, resume?}.</summary>
    public sealed class SessionOpenRequest : ClientMessage
    {
        public SessionOpenRequest()
        {
            Rig = ProtocolConstants.DefaultRig;
            Fps = ProtocolConstants.DefaultFps;
            SampleRate = ProtocolConstants.DefaultSampleRateHz;
        }

        public override string Type { get { return MessageTypes.SessionOpen; } }

        public string Rig { get; set; }
        public int Fps { get; set; }
        public int SampleRate { get; set; }
        public string Voice { get; set; }
        public string Language { get; set; }
        /// <summary>A persona id (string) or an inline persona (<see cref="MsgPackMap"/>).</summary>
        public object Avatar { get; set; }
        /// <summary>The sid of a session to re-attach; the server then ignores the rest.</summary>
        public string Resume { get; set; }

        protected override int FieldCount
        {
            get
            {
                return 3 + (Voice != null ? 1 : 0) + (Language != null ? 1 : 0)
                    + (Avatar != null ? 1 : 0) + (Resume != null ? 1 : 0);
            }
        }

        protected override void WriteFields(MsgPackWriter writer)
        {
            writer.WriteStringUtf8(Keys.Rig);
            writer.WriteString(Rig);
            writer.WriteStringUtf8(Keys.Fps);
            writer.WriteInt(Fps);
            writer.WriteStringUtf8(Keys.SampleRate);
            writer.WriteInt(SampleRate);
            if (Voice != null)
            {
                writer.WriteStringUtf8(Keys.Voice);
                writer.WriteString(Voice);
            }
            if (Language != null)
            {
                writer.WriteStringUtf8(Keys.Language);
                writer.WriteString(Language);
            }
            if (Avatar != null)
            {
                writer.WriteStringUtf8(Keys.Avatar);
                writer.WriteValue(Avatar);
            }
            if (Resume != null)
            {
                writer.WriteStringUtf8(Keys.Resume);
                writer.WriteString(Resume);
            }
        }
    }

    /// <summary><c>session.close</c> {sid}.</summary>
    public sealed class SessionCloseRequest : SessionRequest
    {
        public override string Type { get { return MessageTypes.SessionClose; } }

        protected override int FieldCount { get { return 1; } }

        protected override void WriteFields(MsgPackWriter writer)
        {
            writer.WriteStringUtf8(Keys.Sid);
            writer.WriteString(Sid);
        }
    }

    /// <summary><c>say</c> {sid, text, emotion?, intensity?}: a scripted line.</summary>
    public sealed class SayRequest : SessionRequest
    {
        public override string Type { get { return MessageTypes.Say; } }

        public string Text { get; set; }
        public string Emotion { get; set; }
        /// <summary>In [0, 1]; null leaves the server's default (0.5).</summary>
        public double? Intensity { get; set; }

        protected override int FieldCount
        {
            get { return 2 + (Emotion != null ? 1 : 0) + (Intensity.HasValue ? 1 : 0); }
        }

        protected override void WriteFields(MsgPackWriter writer)
        {
            writer.WriteStringUtf8(Keys.Sid);
            writer.WriteString(Sid);
            writer.WriteStringUtf8(Keys.Text);
            writer.WriteString(Text);
            if (Emotion != null)
            {
                writer.WriteStringUtf8(Keys.Emotion);
                writer.WriteString(Emotion);
            }
            if (Intensity.HasValue)
            {
                writer.WriteStringUtf8(Keys.Intensity);
                writer.WriteFloat64(Intensity.Value);
            }
        }
    }

    /// <summary><c>user.text</c> {sid, text}: the user said this; the avatar replies.</summary>
    public sealed class UserTextRequest : SessionRequest
    {
        public override string Type { get { return MessageTypes.UserText; } }

        public string Text { get; set; }

        protected override int FieldCount { get { return 2; } }

        protected override void WriteFields(MsgPackWriter writer)
        {
            writer.WriteStringUtf8(Keys.Sid);
            writer.WriteString(Sid);
            writer.WriteStringUtf8(Keys.Text);
            writer.WriteString(Text);
        }
    }

    /// <summary><c>interrupt</c> {sid}: barge-in.</summary>
    public sealed class InterruptRequest : SessionRequest
    {
        public override string Type { get { return MessageTypes.Interrupt; } }

        protected override int FieldCount { get { return 1; } }

        protected override void WriteFields(MsgPackWriter writer)
        {
            writer.WriteStringUtf8(Keys.Sid);
            writer.WriteString(Sid);
        }
    }

    /// <summary><c>playback</c> {sid, turn, t}: seconds of a turn the user has heard.</summary>
    public sealed class PlaybackRequest : SessionRequest
    {
        public override string Type { get { return MessageTypes.Playback; } }

        public int Turn { get; set; }
        public double T { get; set; }

        protected override int FieldCount { get { return 3; } }

        protected override void WriteFields(MsgPackWriter writer)
        {
            writer.WriteStringUtf8(Keys.Sid);
            writer.WriteString(Sid);
            writer.WriteStringUtf8(Keys.Turn);
            writer.WriteInt(Turn);
            writer.WriteStringUtf8(Keys.T);
            writer.WriteFloat64(T);
        }
    }
}
