using System;
using System.Collections;
using System.Collections.Generic;
using System.Text;

namespace Merg.MessagePack
{
    /// <summary>
    /// Writes MessagePack into one growable buffer that is reused between messages
    /// (<see cref="Reset"/>), so encoding a message allocates nothing once the buffer is big
    /// enough.
    /// </summary>
    /// <remarks>
    /// The <c>Write*</c> methods without a width pick the smallest format, exactly as Python's
    /// msgpack packer does (<c>use_bin_type=True</c>, floats as float64), so a message built
    /// here in the Python <c>to_wire</c> key order is byte-identical to the server's codec.
    /// The explicit-width methods exist for tests and for peers that want a fixed layout.
    /// </remarks>
    public sealed class MsgPackWriter
    {
        private static readonly UTF8Encoding Utf8 = new UTF8Encoding(false, true);

        private byte[] buffer;
        private int length;

        public MsgPackWriter(int initialCapacity = 256)
        {
            buffer = new byte[Math.Max(16, initialCapacity)];
        }

        /// <summary>The internal buffer; the message is its first <see cref="Length"/> bytes.</summary>
        public byte[] Buffer { get { return buffer; } }

        public int Length { get { return length; } }

        public void Reset()
        {
            length = 0;
        }

        public byte[] ToArray()
        {
            var copy = new byte[length];
            System.Buffer.BlockCopy(buffer, 0, copy, 0, length);
            return copy;
        }

        private void Ensure(int extra)
        {
            int needed = length + extra;
            if (needed <= buffer.Length) return;
            int size = buffer.Length;
            while (size < needed) size = size < (1 << 30) ? size * 2 : int.MaxValue;
            Array.Resize(ref buffer, size);
        }

        private void Put(byte value)
        {
            Ensure(1);
            buffer[length++] = value;
        }

        private void PutBigEndian(ulong value, int bytes)
        {
            Ensure(bytes);
            for (int i = bytes - 1; i >= 0; i--)
            {
                buffer[length + i] = (byte)value;
                value >>= 8;
            }
            length += bytes;
        }

        private void Put(byte code, ulong value, int bytes)
        {
            Ensure(1 + bytes);
            buffer[length++] = code;
            PutBigEndian(value, bytes);
        }

        public void WriteNil()
        {
            Put(MsgPackCode.Nil);
        }

        public void WriteBool(bool value)
        {
            Put(value ? MsgPackCode.True : MsgPackCode.False);
        }

        /// <summary>The smallest integer format for <paramref name="value"/>.</summary>
        public void WriteInt(long value)
        {
            if (value >= 0)
            {
                WriteUInt((ulong)value);
            }
            else if (value >= -32)
            {
                Put((byte)(sbyte)value);
            }
            else if (value >= sbyte.MinValue)
            {
                Put(MsgPackCode.Int8, (ulong)value, 1);
            }
            else if (value >= short.MinValue)
            {
                Put(MsgPackCode.Int16, (ulong)value, 2);
            }
            else if (value >= int.MinValue)
            {
                Put(MsgPackCode.Int32, (ulong)value, 4);
            }
            else
            {
                Put(MsgPackCode.Int64, (ulong)value, 8);
            }
        }

        /// <summary>The smallest unsigned integer format for <paramref name="value"/>.</summary>
        public void WriteUInt(ulong value)
        {
            if (value <= MsgPackCode.PositiveFixIntMax) Put((byte)value);
            else if (value <= byte.MaxValue) Put(MsgPackCode.UInt8, value, 1);
            else if (value <= ushort.MaxValue) Put(MsgPackCode.UInt16, value, 2);
            else if (value <= uint.MaxValue) Put(MsgPackCode.UInt32, value, 4);
            else Put(MsgPackCode.UInt64, value, 8);
        }

        public void WriteUInt8(byte value) { Put(MsgPackCode.UInt8, value, 1); }
        public void WriteUInt16(ushort value) { Put(MsgPackCode.UInt16, value, 2); }
        public void WriteUInt32(uint value) { Put(MsgPackCode.UInt32, value, 4); }
        public void WriteUInt64(ulong value) { Put(MsgPackCode.UInt64, value, 8); }
        public void WriteInt8(sbyte value) { Put(MsgPackCode.Int8, (ulong)value, 1); }
        public void WriteInt16(short value) { Put(MsgPackCode.Int16, (ulong)value, 2); }
        public void WriteInt32(int value) { Put(MsgPackCode.Int32, (ulong)value, 4); }
        public void WriteInt64(long value) { Put(MsgPackCode.Int64, (ulong)value, 8); }

        public void WriteFloat32(float value)
        {
            Put(MsgPackCode.Float32, FloatBits.ToBits(value), 4);
        }

        /// <summary>Python floats are doubles and go out as float64; so do MERG's.</summary>
        public void WriteFloat64(double value)
        {
            Put(MsgPackCode.Float64, (ulong)BitConverter.DoubleToInt64Bits(value), 8);
        }

        public void WriteStringHeader(int byteCount)
        {
            if (byteCount < 0) throw new ArgumentOutOfRangeException("byteCount");
            if (byteCount < 32) Put((byte)(MsgPackCode.FixStrPrefix | byteCount));
            else if (byteCount <= byte.MaxValue) Put(MsgPackCode.Str8, (ulong)byteCount, 1);
            else if (byteCount <= ushort.MaxValue) Put(MsgPackCode.Str16, (ulong)byteCount, 2);
            else Put(MsgPackCode.Str32, (ulong)byteCount, 4);
        }

        /// <summary>A UTF-8 string (nil for null), encoded straight into the buffer.</summary>
        public void WriteString(string value)
        {
            if (value == null)
            {
                WriteNil();
                return;
            }
            int bytes = Utf8.GetByteCount(value);
            WriteStringHeader(bytes);
            Ensure(bytes);
            length += Utf8.GetBytes(value, 0, value.Length, buffer, length);
        }

        /// <summary>A string already encoded as UTF-8 (keys cached by the protocol encoder).</summary>
        public void WriteStringUtf8(byte[] utf8, int offset, int count)
        {
            WriteStringHeader(count);
            WriteRaw(utf8, offset, count);
        }

        public void WriteStringUtf8(byte[] utf8)
        {
            WriteStringUtf8(utf8, 0, utf8.Length);
        }

        public void WriteBinaryHeader(int byteCount)
        {
            if (byteCount < 0) throw new ArgumentOutOfRangeException("byteCount");
            if (byteCount <= byte.MaxValue) Put(MsgPackCode.Bin8, (ulong)byteCount, 1);
            else if (byteCount <= ushort.MaxValue) Put(MsgPackCode.Bin16, (ulong)byteCount, 2);
            else Put(MsgPackCode.Bin32, (ulong)byteCount, 4);
        }

        /// <summary>A bin value (nil for null).</summary>
        public void WriteBinary(byte[] data, int offset, int count)
        {
            if (data == null)
            {
                WriteNil();
                return;
            }
            WriteBinaryHeader(count);
            WriteRaw(data, offset, count);
        }

        public void WriteBinary(byte[] data)
        {
            WriteBinary(data, 0, data == null ? 0 : data.Length);
        }

        public void WriteArrayHeader(int count)
        {
            if (count < 0) throw new ArgumentOutOfRangeException("count");
            if (count < 16) Put((byte)(MsgPackCode.FixArrayPrefix | count));
            else if (count <= ushort.MaxValue) Put(MsgPackCode.Array16, (ulong)count, 2);
            else Put(MsgPackCode.Array32, (ulong)count, 4);
        }

        public void WriteMapHeader(int count)
        {
            if (count < 0) throw new ArgumentOutOfRangeException("count");
            if (count < 16) Put((byte)(MsgPackCode.FixMapPrefix | count));
            else if (count <= ushort.MaxValue) Put(MsgPackCode.Map16, (ulong)count, 2);
            else Put(MsgPackCode.Map32, (ulong)count, 4);
        }

        public void WriteExtension(sbyte typeCode, byte[] data)
        {
            int count = data.Length;
            switch (count)
            {
                case 1: Put(MsgPackCode.FixExt1); break;
                case 2: Put(MsgPackCode.FixExt2); break;
                case 4: Put(MsgPackCode.FixExt4); break;
                case 8: Put(MsgPackCode.FixExt8); break;
                case 16: Put(MsgPackCode.FixExt16); break;
                default:
                    if (count <= byte.MaxValue) Put(MsgPackCode.Ext8, (ulong)count, 1);
                    else if (count <= ushort.MaxValue) Put(MsgPackCode.Ext16, (ulong)count, 2);
                    else Put(MsgPackCode.Ext32, (ulong)count, 4);
                    break;
            }
            Put((byte)typeCode);
            WriteRaw(data, 0, count);
        }

        /// <summary>Bytes copied as they are (already-encoded MessagePack, or a payload after
        /// its header).</summary>
        public void WriteRaw(byte[] data, int offset, int count)
        {
            Ensure(count);
            System.Buffer.BlockCopy(data, offset, buffer, length, count);
            length += count;
        }

        /// <summary>
        /// Any value of the generic model: null, bool, the integer types, float (float32),
        /// double (float64), string, byte[], <see cref="ArraySegment{T}"/> of bytes (bin),
        /// <see cref="MsgPackMap"/>, <see cref="IDictionary"/> (enumeration order), other
        /// <see cref="IList"/> (arrays) and <see cref="MsgPackExtension"/>.
        /// </summary>
        public void WriteValue(object value)
        {
            if (value == null) { WriteNil(); return; }
            if (value is bool) { WriteBool((bool)value); return; }
            if (value is long) { WriteInt((long)value); return; }
            if (value is int) { WriteInt((int)value); return; }
            if (value is ulong) { WriteUInt((ulong)value); return; }
            if (value is uint) { WriteUInt((uint)value); return; }
            if (value is short) { WriteInt((short)value); return; }
            if (value is ushort) { WriteUInt((ushort)value); return; }
            if (value is sbyte) { WriteInt((sbyte)value); return; }
            if (value is byte) { WriteUInt((byte)value); return; }
            if (value is double) { WriteFloat64((double)value); return; }
            if (value is float) { WriteFloat32((float)value); return; }
            var text = value as string;
            if (text != null) { WriteString(text); return; }
            var bytes = value as byte[];
            if (bytes != null) { WriteBinary(bytes); return; }
            if (value is ArraySegment<byte>)
            {
                var segment = (ArraySegment<byte>)value;
                WriteBinary(segment.Array, segment.Offset, segment.Count);
                return;
            }
            var map = value as MsgPackMap;
            if (map != null)
            {
                WriteMapHeader(map.Count);
                for (int i = 0; i < map.Count; i++)
                {
                    WriteValue(map.KeyAt(i));
                    WriteValue(map.ValueAt(i));
                }
                return;
            }
            var dictionary = value as IDictionary;
            if (dictionary != null)
            {
                WriteMapHeader(dictionary.Count);
                foreach (DictionaryEntry entry in dictionary)
                {
                    WriteValue(entry.Key);
                    WriteValue(entry.Value);
                }
                return;
            }
            var extension = value as MsgPackExtension;
            if (extension != null) { WriteExtension(extension.TypeCode, extension.Data); return; }
            var list = value as IList;
            if (list != null)
            {
                WriteArrayHeader(list.Count);
                for (int i = 0; i < list.Count; i++) WriteValue(list[i]);
                return;
            }
            throw new ArgumentException("cannot encode a " + value.GetType().Name + " as MessagePack");
        }
    }

    /// <summary>
    /// A MessagePack map that keeps its keys in wire order, so a decoded map re-encodes to
    /// the same bytes. Lookups by string key are linear, which is right for the small maps of
    /// the protocol (a handful of keys).
    /// </summary>
    public sealed class MsgPackMap : IEnumerable<KeyValuePair<object, object>>
    {
        private readonly List<KeyValuePair<object, object>> entries;

        public MsgPackMap()
        {
            entries = new List<KeyValuePair<object, object>>();
        }

        public MsgPackMap(int capacity)
        {
            entries = new List<KeyValuePair<object, object>>(capacity);
        }

        public int Count { get { return entries.Count; } }

        public object KeyAt(int index) { return entries[index].Key; }

        public object ValueAt(int index) { return entries[index].Value; }

        /// <summary>Appends an entry, as the wire does: a duplicate key is kept (lookups find
        /// the first). Use <see cref="Set"/> to replace a value in place.</summary>
        public MsgPackMap Add(object key, object value)
        {
            entries.Add(new KeyValuePair<object, object>(key, value));
            return this;
        }

        /// <summary>Replaces the value of <paramref name="key"/> where it stands, or appends it.</summary>
        public MsgPackMap Set(object key, object value)
        {
            for (int i = 0; i < entries.Count; i++)
            {
                if (Equals(entries[i].Key, key))
                {
                    entries[i] = new KeyValuePair<object, object>(key, value);
                    return this;
                }
            }
            entries.Add(new KeyValuePair<object, object>(key, value));
            return this;
        }

        public bool ContainsKey(string key)
        {
            object ignored;
            return TryGetValue(key, out ignored);
        }

        public bool TryGetValue(string key, out object value)
        {
            for (int i = 0; i < entries.Count; i++)
            {
                var name = entries[i].Key as string;
                if (name != null && name == key)
                {
                    value = entries[i].Value;
                    return true;
                }
            }
            value = null;
            return false;
        }

        /// <summary>The value of <paramref name="key"/>, or null when absent.</summary>
        public object this[string key]
        {
            get
            {
                object value;
                return TryGetValue(key, out value) ? value : null;
            }
        }

        public string GetString(string key, string fallback = null)
        {
            var value = this[key] as string;
            return value ?? fallback;
        }

        /// <summary>An integer value; <paramref name="fallback"/> when absent or not an integer.</summary>
        public long GetLong(string key, long fallback = 0)
        {
            object value = this[key];
            if (value is long) return (long)value;
            if (value is ulong && (ulong)value <= long.MaxValue) return (long)(ulong)value;
            return fallback;
        }

        /// <summary>A number (float or integer), or null when absent or nil.</summary>
        public double? GetNumber(string key)
        {
            object value = this[key];
            if (value is double) return (double)value;
            if (value is float) return (float)value;
            if (value is long) return (long)value;
            if (value is ulong) return (ulong)value;
            return null;
        }

        public bool GetBool(string key, bool fallback = false)
        {
            object value = this[key];
            return value is bool ? (bool)value : fallback;
        }

        public MsgPackMap GetMap(string key)
        {
            return this[key] as MsgPackMap;
        }

        public object[] GetArray(string key)
        {
            return this[key] as object[];
        }

        /// <summary>The strings of an array value (non-strings skipped); empty when absent.</summary>
        public string[] GetStringArray(string key)
        {
            var items = GetArray(key);
            if (items == null) return new string[0];
            var strings = new List<string>(items.Length);
            foreach (var item in items)
            {
                var text = item as string;
                if (text != null) strings.Add(text);
            }
            return strings.ToArray();
        }

        /// <summary>The integers of an array value (non-integers skipped); empty when absent.</summary>
        public long[] GetLongArray(string key)
        {
            var items = GetArray(key);
            if (items == null) return new long[0];
            var numbers = new List<long>(items.Length);
            foreach (var item in items)
            {
                if (item is long) numbers.Add((long)item);
            }
            return numbers.ToArray();
        }

        public IEnumerator<KeyValuePair<object, object>> GetEnumerator()
        {
            return entries.GetEnumerator();
        }

        IEnumerator IEnumerable.GetEnumerator()
        {
            return entries.GetEnumerator();
        }
    }
}
