using System.Text;
using Merg.MessagePack;

namespace Merg.Protocol
{
    /// <summary>Wire keys and type names as cached UTF-8, so encoding and the allocation-free
    /// audio/face decoder compare and copy bytes instead of building strings.</summary>
    internal static class Keys
    {
        public static readonly byte[] V = Utf8("v");
        public static readonly byte[] Type = Utf8("type");
        public static readonly byte[] Seq = Utf8("seq");
        public static readonly byte[] Sid = Utf8("sid");
        public static readonly byte[] Client = Utf8("client");
        public static readonly byte[] T = Utf8("t");
        public static readonly byte[] Rig = Utf8("rig");
        public static readonly byte[] Fps = Utf8("fps");
        public static readonly byte[] SampleRate = Utf8("sample_rate");
        public static readonly byte[] Voice = Utf8("voice");
        public static readonly byte[] Language = Utf8("language");
        public static readonly byte[] Avatar = Utf8("avatar");
        public static readonly byte[] Resume = Utf8("resume");
        public static readonly byte[] Text = Utf8("text");
        public static readonly byte[] Emotion = Utf8("emotion");
        public static readonly byte[] Intensity = Utf8("intensity");
        public static readonly byte[] Turn = Utf8("turn");
        public static readonly byte[] T0 = Utf8("t0");
        public static readonly byte[] Pcm = Utf8("pcm");
        public static readonly byte[] F0 = Utf8("f0");
        public static readonly byte[] Count = Utf8("count");
        public static readonly byte[] Weights = Utf8("weights");
        public static readonly byte[] Head = Utf8("head");
        public static readonly byte[] Eyes = Utf8("eyes");

        public static byte[] Utf8(string text)
        {
            return Encoding.UTF8.GetBytes(text);
        }
    }

    /// <summary>Typed access to the fields of a decoded map, failing with a message that
    /// names the field (the client logs it and drops the message).</summary>
    internal static class Fields
    {
        public static string RequireString(MsgPackMap map, string key)
        {
            var value = map[key] as string;
            if (value == null) throw new MsgPackException("field '" + key + "' is missing or not a string");
            return value;
        }

        public static long RequireLong(MsgPackMap map, string key)
        {
            object value = map[key];
            if (value is long) return (long)value;
            throw new MsgPackException("field '" + key + "' is missing or not an integer");
        }

        public static int RequireInt(MsgPackMap map, string key)
        {
            long value = RequireLong(map, key);
            if (value < int.MinValue || value > int.MaxValue)
                throw new MsgPackException("field '" + key + "' is out of range");
            return (int)value;
        }

        public static double RequireNumber(MsgPackMap map, string key)
        {
            double? value = map.GetNumber(key);
            if (!value.HasValue) throw new MsgPackException("field '" + key + "' is missing or not a number");
            return value.Value;
        }

        public static bool RequireBool(MsgPackMap map, string key)
        {
            object value = map[key];
            if (value is bool) return (bool)value;
            throw new MsgPackException("field '" + key + "' is missing or not a bool");
        }

        public static long? OptionalLong(MsgPackMap map, string key)
        {
            object value = map[key];
            if (value == null) return null;
            if (value is long) return (long)value;
            throw new MsgPackException("field '" + key + "' is not an integer");
        }

        public static string OptionalString(MsgPackMap map, string key)
        {
            object value = map[key];
            if (value == null) return null;
            var text = value as string;
            if (text == null) throw new MsgPackException("field '" + key + "' is not a string");
            return text;
        }

        public static byte[] RequireBinary(MsgPackMap map, string key)
        {
            var value = map[key] as byte[];
            if (value == null) throw new MsgPackException("field '" + key + "' is missing or not binary");
            return value;
        }

        public static MsgPackMap MapOrEmpty(MsgPackMap map, string key)
        {
            return map.GetMap(key) ?? new MsgPackMap();
        }
    }
}
