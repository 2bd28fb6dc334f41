using System;
using System.Runtime.InteropServices;

namespace Merg.MessagePack
{
    /// <summary>The family of the next MessagePack value, as far as MERG cares.</summary>
    public enum MsgPackType
    {
        Nil,
        Boolean,
        Integer,
        Float,
        String,
        Binary,
        Array,
        Map,
        Extension,
    }

    /// <summary>Raised on malformed or truncated MessagePack, or on a value of the wrong family.
    /// The protocol client treats it as a bad frame from the peer: it is logged and skipped,
    /// never allowed to take the network thread down.</summary>
    public sealed class MsgPackException : Exception
    {
        public MsgPackException(string message) : base(message) { }
    }

    /// <summary>The format bytes of the MessagePack specification (the subset MERG speaks,
    /// plus ext so that a reader can skip it).</summary>
    public static class MsgPackCode
    {
        public const byte PositiveFixIntMax = 0x7f;
        public const byte FixMapPrefix = 0x80;
        public const byte FixArrayPrefix = 0x90;
        public const byte FixStrPrefix = 0xa0;
        public const byte Nil = 0xc0;
        public const byte NeverUsed = 0xc1;
        public const byte False = 0xc2;
        public const byte True = 0xc3;
        public const byte Bin8 = 0xc4;
        public const byte Bin16 = 0xc5;
        public const byte Bin32 = 0xc6;
        public const byte Ext8 = 0xc7;
        public const byte Ext16 = 0xc8;
        public const byte Ext32 = 0xc9;
        public const byte Float32 = 0xca;
        public const byte Float64 = 0xcb;
        public const byte UInt8 = 0xcc;
        public const byte UInt16 = 0xcd;
        public const byte UInt32 = 0xce;
        public const byte UInt64 = 0xcf;
        public const byte Int8 = 0xd0;
        public const byte Int16 = 0xd1;
        public const byte Int32 = 0xd2;
        public const byte Int64 = 0xd3;
        public const byte FixExt1 = 0xd4;
        public const byte FixExt2 = 0xd5;
        public const byte FixExt4 = 0xd6;
        public const byte FixExt8 = 0xd7;
        public const byte FixExt16 = 0xd8;
        public const byte Str8 = 0xd9;
        public const byte Str16 = 0xda;
        public const byte Str32 = 0xdb;
        public const byte Array16 = 0xdc;
        public const byte Array32 = 0xdd;
        public const byte Map16 = 0xde;
        public const byte Map32 = 0xdf;
        public const byte NegativeFixIntMin = 0xe0;

        public static MsgPackType TypeOf(byte code)
        {
            if (code <= PositiveFixIntMax || code >= NegativeFixIntMin) return MsgPackType.Integer;
            if (code < FixArrayPrefix) return MsgPackType.Map;
            if (code < FixStrPrefix) return MsgPackType.Array;
            if (code < Nil) return MsgPackType.String;
            switch (code)
            {
                case Nil: return MsgPackType.Nil;
                case False:
                case True: return MsgPackType.Boolean;
                case Bin8:
                case Bin16:
                case Bin32: return MsgPackType.Binary;
                case Float32:
                case Float64: return MsgPackType.Float;
                case UInt8:
                case UInt16:
                case UInt32:
                case UInt64:
                case Int8:
                case Int16:
                case Int32:
                case Int64: return MsgPackType.Integer;
                case Str8:
                case Str16:
                case Str32: return MsgPackType.String;
                case Array16:
                case Array32: return MsgPackType.Array;
                case Map16:
                case Map32: return MsgPackType.Map;
                case Ext8:
                case Ext16:
                case Ext32:
                case FixExt1:
                case FixExt2:
                case FixExt4:
                case FixExt8:
                case FixExt16: return MsgPackType.Extension;
                default: throw new MsgPackException("invalid MessagePack format byte 0xc1");
            }
        }
    }

    /// <summary>Reinterprets float bits without unsafe code or allocation (BitConverter's
    /// single-precision helpers are missing from older profiles).</summary>
    [StructLayout(LayoutKind.Explicit)]
    internal struct FloatBits
    {
        [FieldOffset(0)] public float Single;
        [FieldOffset(0)] public uint UInt;

        public static uint ToBits(float value)
        {
            var bits = new FloatBits();
            bits.Single = value;
            return bits.UInt;
        }

        public static float FromBits(uint value)
        {
            var bits = new FloatBits();
            bits.UInt = value;
            return bits.Single;
        }
    }

    /// <summary>A MessagePack ext value, kept as raw bytes. MERG never sends ext; a generic
    /// read keeps it so that a round trip stays byte-identical.</summary>
    public sealed class MsgPackExtension
    {
        public MsgPackExtension(sbyte typeCode, byte[] data)
        {
            TypeCode = typeCode;
            Data = data ?? new byte[0];
        }

        public sbyte TypeCode { get; private set; }
        public byte[] Data { get; private set; }
    }
}
