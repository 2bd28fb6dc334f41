using System;
using System.Text;

namespace Merg.MessagePack
{
    /// <summary>
    /// A pull reader over one MessagePack buffer. It reads every width of every format MERG
    /// uses (nil, bool, all integer widths, float32/64, fixstr/str8/16/32, bin8/16/32,
    /// fixarray/array16/32, fixmap/map16/32) and skips ext.
    /// </summary>
    /// <remarks>
    /// The reader never trusts lengths: a header that points past the end of the buffer
    /// raises <see cref="MsgPackException"/> before anything is allocated. Strings and
    /// binaries can be read without allocation as <see cref="ArraySegment{T}"/> views into
    /// the buffer, which is how the protocol decoder keeps the audio/face path
    /// allocation-free. One instance can be <see cref="Reset"/> onto each new frame.
    /// </remarks>
    public sealed class MsgPackReader
    {
        /// <summary>Nesting limit for <c>ReadValue</c> and <c>Skip</c>, so a
        /// hostile frame cannot exhaust the stack.</summary>
        public const int MaxDepth = 64;

        private static readonly UTF8Encoding Utf8 = new UTF8Encoding(false, true);

        private byte[] data;
        private int position;
        private int end;

        public MsgPackReader() : this(new byte[0], 0, 0) { }

        public MsgPackReader(byte[] data) : this(data, 0, data.Length) { }

        public MsgPackReader(byte[] data, int offset, int count)
        {
            Reset(data, offset, count);
        }

        public void Reset(byte[] buffer, int offset, int count)
        {
            if (buffer == null) throw new ArgumentNullException("buffer");
            if (offset < 0 || count < 0 || offset + count > buffer.Length)
                throw new ArgumentOutOfRangeException("count");
            data = buffer;
            position = offset;
            end = offset + count;
        }

        public byte[] Data { get { return data; } }

        public int Position { get { return position; } }

        public int Remaining { get { return end - position; } }

        public bool AtEnd { get { return position >= end; } }

        public byte PeekCode()
        {
            if (position >= end) throw new MsgPackException("unexpected end of MessagePack data");
            return data[position];
        }

        public MsgPackType PeekType()
        {
            return MsgPackCode.TypeOf(PeekCode());
        }

        private void Need(int bytes)
        {
            if (bytes < 0 || end - position < bytes)
                throw new MsgPackException("truncated MessagePack data");
        }

        private byte Take()
        {
            Need(1);
            return data[position++];
        }

        private ulong TakeBigEndian(int bytes)
        {
            Need(bytes);
            ulong value = 0;
            for (int i = 0; i < bytes; i++) value = (value << 8) | data[position + i];
            position += bytes;
            return value;
        }

        private static MsgPackException Mismatch(string wanted, byte code)
        {
            return new MsgPackException(
                "expected " + wanted + ", found " + MsgPackCode.TypeOf(code).ToString().ToLowerInvariant()
                + " (0x" + code.ToString("x2") + ")");
        }

        /// <summary>Consumes a nil if one is next; false (and nothing consumed) otherwise.</summary>
        public bool TryReadNil()
        {
            if (position < end && data[position] == MsgPackCode.Nil)
            {
                position++;
                return true;
            }
            return false;
        }

        public void ReadNil()
        {
            byte code = Take();
            if (code != MsgPackCode.Nil)
            {
                position--;
                throw Mismatch("nil", code);
            }
        }

        public bool ReadBool()
        {
            byte code = Take();
            if (code == MsgPackCode.True) return true;
            if (code == MsgPackCode.False) return false;
            position--;
            throw Mismatch("bool", code);
        }

        /// <summary>Reads any integer format; true when it was a uint64 above
        /// <see cref="long.MaxValue"/> (then <paramref name="unsigned"/> holds it).</summary>
        private bool ReadInteger(out long signed, out ulong unsigned)
        {
            byte code = Take();
            unsigned = 0;
            if (code <= MsgPackCode.PositiveFixIntMax) { signed = code; return false; }
            if (code >= MsgPackCode.NegativeFixIntMin) { signed = (sbyte)code; return false; }
            switch (code)
            {
                case MsgPackCode.UInt8: signed = (long)TakeBigEndian(1); return false;
                case MsgPackCode.UInt16: signed = (long)TakeBigEndian(2); return false;
                case MsgPackCode.UInt32: signed = (long)TakeBigEndian(4); return false;
                case MsgPackCode.UInt64:
                    unsigned = TakeBigEndian(8);
                    if (unsigned <= long.MaxValue)
                    {
                        signed = (long)unsigned;
                        return false;
                    }
                    signed = 0;
                    return true;
                case MsgPackCode.Int8: signed = (sbyte)TakeBigEndian(1); return false;
                case MsgPackCode.Int16: signed = (short)TakeBigEndian(2); return false;
                case MsgPackCode.Int32: signed = (int)TakeBigEndian(4); return false;
                case MsgPackCode.Int64: signed = (long)TakeBigEndian(8); return false;
                default:
                    position--;
                    throw Mismatch("integer", code);
            }
        }

        public long ReadInt64()
        {
            long signed;
            ulong unsigned;
            if (ReadInteger(out signed, out unsigned))
                throw new MsgPackException("integer " + unsigned + " does not fit in a signed 64-bit value");
            return signed;
        }

        public ulong ReadUInt64()
        {
            long signed;
            ulong unsigned;
            if (ReadInteger(out signed, out unsigned)) return unsigned;
            if (signed < 0) throw new MsgPackException("negative integer " + signed + " where unsigned expected");
            return (ulong)signed;
        }

        public int ReadInt32()
        {
            long value = ReadInt64();
            if (value < int.MinValue || value > int.MaxValue)
                throw new MsgPackException("integer " + value + " does not fit in 32 bits");
            return (int)value;
        }

        /// <summary>A float32 or float64, or an integer (the protocol lets float fields carry
        /// ints, as Python's strict validation does).</summary>
        public double ReadDouble()
        {
            byte code = PeekCode();
            if (code == MsgPackCode.Float64)
            {
                position++;
                return BitConverter.Int64BitsToDouble((long)TakeBigEndian(8));
            }
            if (code == MsgPackCode.Float32)
            {
                position++;
                return FloatBits.FromBits((uint)TakeBigEndian(4));
            }
            if (MsgPackCode.TypeOf(code) == MsgPackType.Integer)
            {
                long signed;
                ulong unsigned;
                return ReadInteger(out signed, out unsigned) ? unsigned : (double)signed;
            }
            throw Mismatch("float", code);
        }

        public float ReadSingle()
        {
            return (float)ReadDouble();
        }

        /// <summary>The byte length of the string that follows; the reader is left at its
        /// first byte.</summary>
        public int ReadStringHeader()
        {
            byte code = Take();
            int count;
            if ((code & 0xe0) == MsgPackCode.FixStrPrefix) count = code & 0x1f;
            else if (code == MsgPackCode.Str8) count = (int)TakeBigEndian(1);
            else if (code == MsgPackCode.Str16) count = (int)TakeBigEndian(2);
            else if (code == MsgPackCode.Str32) count = CheckedLength(TakeBigEndian(4));
            else
            {
                position--;
                throw Mismatch("string", code);
            }
            Need(count);
            return count;
        }

        /// <summary>The UTF-8 bytes of a string, as a view into the buffer (no allocation).</summary>
        public ArraySegment<byte> ReadStringBytes()
        {
            int count = ReadStringHeader();
            var segment = new ArraySegment<byte>(data, position, count);
            position += count;
            return segment;
        }

        /// <summary>A string (allocates); nil reads as null.</summary>
        public string ReadString()
        {
            if (TryReadNil()) return null;
            int count = ReadStringHeader();
            string text;
            try
            {
                text = Utf8.GetString(data, position, count);
            }
            catch (ArgumentException)
            {
                throw new MsgPackException("string is not valid UTF-8");
            }
            position += count;
            return text;
        }

        /// <summary>True (and the string consumed) when the next value is a string whose UTF-8
        /// bytes equal <paramref name="utf8"/>; otherwise nothing is consumed.</summary>
        public bool TryReadStringEqual(byte[] utf8)
        {
            int start = position;
            if (position >= end || MsgPackCode.TypeOf(data[position]) != MsgPackType.String) return false;
            int count = ReadStringHeader();
            if (count == utf8.Length && BytesEqual(data, position, utf8))
            {
                position += count;
                return true;
            }
            position = start;
            return false;
        }

        internal static bool BytesEqual(byte[] buffer, int offset, byte[] expected)
        {
            for (int i = 0; i < expected.Length; i++)
            {
                if (buffer[offset + i] != expected[i]) return false;
            }
            return true;
        }

        public int ReadBinaryHeader()
        {
            byte code = Take();
            int count;
            if (code == MsgPackCode.Bin8) count = (int)TakeBigEndian(1);
            else if (code == MsgPackCode.Bin16) count = (int)TakeBigEndian(2);
            else if (code == MsgPackCode.Bin32) count = CheckedLength(TakeBigEndian(4));
            else
            {
                position--;
                throw Mismatch("binary", code);
            }
            Need(count);
            return count;
        }

        /// <summary>The payload of a bin value, as a view into the buffer (no allocation).</summary>
        public ArraySegment<byte> ReadBinarySegment()
        {
            int count = ReadBinaryHeader();
            var segment = new ArraySegment<byte>(data, position, count);
            position += count;
            return segment;
        }

        /// <summary>A copy of a bin value; nil reads as null.</summary>
        public byte[] ReadBinary()
        {
            if (TryReadNil()) return null;
            var segment = ReadBinarySegment();
            var copy = new byte[segment.Count];
            Buffer.BlockCopy(segment.Array, segment.Offset, copy, 0, segment.Count);
            return copy;
        }

        public int ReadArrayHeader()
        {
            byte code = Take();
            int count;
            if ((code & 0xf0) == MsgPackCode.FixArrayPrefix) count = code & 0x0f;
            else if (code == MsgPackCode.Array16) count = (int)TakeBigEndian(2);
            else if (code == MsgPackCode.Array32) count = CheckedLength(TakeBigEndian(4));
            else
            {
                position--;
                throw Mismatch("array", code);
            }
            // every element takes at least one byte: refuse counts the buffer cannot hold
            if (count > end - position) throw new MsgPackException("array of " + count + " items in a truncated buffer");
            return count;
        }

        public int ReadMapHeader()
        {
            byte code = Take();
            int count;
            if ((code & 0xf0) == MsgPackCode.FixMapPrefix) count = code & 0x0f;
            else if (code == MsgPackCode.Map16) count = (int)TakeBigEndian(2);
            else if (code == MsgPackCode.Map32) count = CheckedLength(TakeBigEndian(4));
            else
            {
                position--;
                throw Mismatch("map", code);
            }
            if (count > (end - position) / 2) throw new MsgPackException("map of " + count + " entries in a truncated buffer");
            return count;
        }

        private static int CheckedLength(ulong length)
        {
            if (length > int.MaxValue) throw new MsgPackException("length " + length + " is too large");
            return (int)length;
        }

        /// <summary>Reads an ext header; returns the payload length and the type code.</summary>
        private int ReadExtensionHeader(out sbyte typeCode)
        {
            byte code = Take();
            int count;
            switch (code)
            {
                case MsgPackCode.FixExt1: count = 1; break;
                case MsgPackCode.FixExt2: count = 2; break;
                case MsgPackCode.FixExt4: count = 4; break;
                case MsgPackCode.FixExt8: count = 8; break;
                case MsgPackCode.FixExt16: count = 16; break;
                case MsgPackCode.Ext8: count = (int)TakeBigEndian(1); break;
                case MsgPackCode.Ext16: count = (int)TakeBigEndian(2); break;
                case MsgPackCode.Ext32: count = CheckedLength(TakeBigEndian(4)); break;
                default:
                    position--;
                    throw Mismatch("ext", code);
            }
            typeCode = (sbyte)Take();
            Need(count);
            return count;
        }

        /// <summary>Skips the next value, however deeply nested (no allocation).</summary>
        public void Skip()
        {
            Skip(0);
        }

        private void Skip(int depth)
        {
            if (depth > MaxDepth) throw new MsgPackException("MessagePack nested deeper than " + MaxDepth);
            byte code = PeekCode();
            switch (MsgPackCode.TypeOf(code))
            {
                case MsgPackType.Nil:
                case MsgPackType.Boolean:
                    position++;
                    return;
                case MsgPackType.Integer:
                    long signed;
                    ulong unsigned;
                    ReadInteger(out signed, out unsigned);
                    return;
                case MsgPackType.Float:
                    ReadDouble();
                    return;
                case MsgPackType.String:
                    {
                        // not "position += Read...()": C# reads position before the call
                        int length = ReadStringHeader();
                        position += length;
                        return;
                    }
                case MsgPackType.Binary:
                    {
                        int length = ReadBinaryHeader();
                        position += length;
                        return;
                    }
                case MsgPackType.Array:
                    for (int i = ReadArrayHeader(); i > 0; i--) Skip(depth + 1);
                    return;
                case MsgPackType.Map:
                    for (int i = ReadMapHeader() * 2; i > 0; i--) Skip(depth + 1);
                    return;
                default:
                    {
                        sbyte typeCode;
                        int length = ReadExtensionHeader(out typeCode);
                        position += length;
                        return;
                    }
            }
        }

        /// <summary>
        /// The next value as a plain object: null, bool, long (ulong above long.MaxValue),
        /// float (a float32), double (a float64), string, byte[], object[], an ordered
        /// <see cref="MsgPackMap"/>, or <see cref="MsgPackExtension"/>. Writing it back with
        /// <see cref="MsgPackWriter.WriteValue"/> gives the same bytes when the input used the
        /// smallest formats, as every MessagePack packer in MERG's stack does.
        /// </summary>
        public object ReadValue()
        {
            return ReadValue(0);
        }

        private object ReadValue(int depth)
        {
            if (depth > MaxDepth) throw new MsgPackException("MessagePack nested deeper than " + MaxDepth);
            byte code = PeekCode();
            switch (MsgPackCode.TypeOf(code))
            {
                case MsgPackType.Nil:
                    position++;
                    return null;
                case MsgPackType.Boolean:
                    return ReadBool();
                case MsgPackType.Integer:
                    long signed;
                    ulong unsigned;
                    if (ReadInteger(out signed, out unsigned)) return unsigned;
                    return signed;
                case MsgPackType.Float:
                    if (code == MsgPackCode.Float32) return (float)ReadDouble();
                    return ReadDouble();
                case MsgPackType.String:
                    return ReadString();
                case MsgPackType.Binary:
                    return ReadBinary();
                case MsgPackType.Array:
                    {
                        var items = new object[ReadArrayHeader()];
                        for (int i = 0; i < items.Length; i++) items[i] = ReadValue(depth + 1);
                        return items;
                    }
                case MsgPackType.Map:
                    {
                        int count = ReadMapHeader();
                        var map = new MsgPackMap(count);
                        for (int i = 0; i < count; i++)
                        {
                            object key = ReadValue(depth + 1);
                            map.Add(key, ReadValue(depth + 1));
                        }
                        return map;
                    }
                default:
                    {
                        sbyte typeCode;
                        int count = ReadExtensionHeader(out typeCode);
                        var payload = new byte[count];
                        Buffer.BlockCopy(data, position, payload, 0, count);
                        position += count;
                        return new MsgPackExtension(typeCode, payload);
                    }
            }
        }
    }
}
