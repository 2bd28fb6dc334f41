using System;
using Merg.MessagePack;

namespace Merg.Protocol
{
    /// <summary>The numbers inside <c>bin</c> payloads: s16le PCM and float32le arrays.
    /// On little-endian machines (every Unity target) copies are one block copy.</summary>
    public static class LittleEndian
    {
        public static short ReadInt16(byte[] buffer, int offset)
        {
            return (short)(buffer[offset] | (buffer[offset + 1] << 8));
        }

        public static float ReadFloat32(byte[] buffer, int offset)
        {
            uint bits = (uint)(buffer[offset] | (buffer[offset + 1] << 8) | (buffer[offset + 2] << 16) | (buffer[offset + 3] << 24));
            return FloatBits.FromBits(bits);
        }

        /// <summary>Copies <paramref name="count"/> float32le values into <paramref name="destination"/>.</summary>
        public static void CopyFloats(byte[] source, int sourceOffset, float[] destination, int destinationIndex, int count)
        {
            if (BitConverter.IsLittleEndian)
            {
                Buffer.BlockCopy(source, sourceOffset, destination, destinationIndex * 4, count * 4);
                return;
            }
            for (int i = 0; i < count; i++) destination[destinationIndex + i] = ReadFloat32(source, sourceOffset + 4 * i);
        }

        /// <summary>Copies <paramref name="count"/> s16le samples into <paramref name="destination"/>.</summary>
        public static void CopyInt16(byte[] source, int sourceOffset, short[] destination, int destinationIndex, int count)
        {
            if (BitConverter.IsLittleEndian)
            {
                Buffer.BlockCopy(source, sourceOffset, destination, destinationIndex * 2, count * 2);
                return;
            }
            for (int i = 0; i < count; i++) destination[destinationIndex + i] = ReadInt16(source, sourceOffset + 2 * i);
        }

        /// <summary>float32le bytes of <paramref name="values"/> (tests, tools).</summary>
        public static byte[] FloatsToBytes(float[] values)
        {
            var bytes = new byte[values.Length * 4];
            for (int i = 0; i < values.Length; i++)
            {
                uint bits = FloatBits.ToBits(values[i]);
                bytes[4 * i] = (byte)bits;
                bytes[4 * i + 1] = (byte)(bits >> 8);
                bytes[4 * i + 2] = (byte)(bits >> 16);
                bytes[4 * i + 3] = (byte)(bits >> 24);
            }
            return bytes;
        }

        /// <summary>s16le bytes of <paramref name="samples"/> (tests, tools).</summary>
        public static byte[] Int16ToBytes(short[] samples)
        {
            var bytes = new byte[samples.Length * 2];
            for (int i = 0; i < samples.Length; i++)
            {
                bytes[2 * i] = (byte)samples[i];
                bytes[2 * i + 1] = (byte)(samples[i] >> 8);
            }
            return bytes;
        }
    }
}
