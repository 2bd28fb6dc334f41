using System;
using System.Linq;
using Merg.MessagePack;
using NUnit.Framework;

namespace Merg.Tests
{
    /// <summary>The MessagePack writer and reader: every format and width, round trips,
    /// and hostile input.</summary>
    [TestFixture]
    public class MsgPackTests
    {
        private static byte[] Write(Action<MsgPackWriter> write)
        {
            var writer = new MsgPackWriter(8);
            write(writer);
            return writer.ToArray();
        }

        [TestCase(0L, 0x00, 1)]
        [TestCase(127L, 0x7f, 1)]
        [TestCase(128L, 0xcc, 2)]
        [TestCase(255L, 0xcc, 2)]
        [TestCase(256L, 0xcd, 3)]
        [TestCase(65535L, 0xcd, 3)]
        [TestCase(65536L, 0xce, 5)]
        [TestCase(4294967295L, 0xce, 5)]
        [TestCase(4294967296L, 0xcf, 9)]
        [TestCase(long.MaxValue, 0xcf, 9)]
        [TestCase(-1L, 0xff, 1)]
        [TestCase(-32L, 0xe0, 1)]
        [TestCase(-33L, 0xd0, 2)]
        [TestCase(-128L, 0xd0, 2)]
        [TestCase(-129L, 0xd1, 3)]
        [TestCase(-32768L, 0xd1, 3)]
        [TestCase(-32769L, 0xd2, 5)]
        [TestCase(-2147483648L, 0xd2, 5)]
        [TestCase(-2147483649L, 0xd3, 9)]
        [TestCase(long.MinValue, 0xd3, 9)]
        public void IntegersUseTheSmallestFormatAndRoundTrip(long value, int code, int length)
        {
            byte[] bytes = Write(w => w.WriteInt(value));
            Assert.That(bytes[0], Is.EqualTo((byte)code));
            Assert.That(bytes.Length, Is.EqualTo(length));
            var reader = new MsgPackReader(bytes);
            Assert.That(reader.PeekType(), Is.EqualTo(MsgPackType.Integer));
            Assert.That(reader.ReadInt64(), Is.EqualTo(value));
            Assert.That(reader.AtEnd);
            Assert.That(new MsgPackReader(bytes).ReadValue(), Is.EqualTo(value));
        }

        [Test]
        public void UnsignedSixtyFourBitValuesAboveLongMaxRoundTrip()
        {
            byte[] bytes = Write(w => w.WriteUInt(ulong.MaxValue));
            Assert.That(bytes, Is.EqualTo(new byte[] { 0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff }));
            Assert.That(new MsgPackReader(bytes).ReadUInt64(), Is.EqualTo(ulong.MaxValue));
            Assert.That(new MsgPackReader(bytes).ReadValue(), Is.EqualTo(ulong.MaxValue));
            Assert.Throws<MsgPackException>(() => new MsgPackReader(bytes).ReadInt64());
            Assert.That(Write(w => w.WriteValue(ulong.MaxValue)), Is.EqualTo(bytes));
        }

        [Test]
        public void ExplicitWidthsAreReadAsTheirValues()
        {
            var writer = new MsgPackWriter();
            writer.WriteUInt8(1);
            writer.WriteUInt16(2);
            writer.WriteUInt32(3);
            writer.WriteUInt64(4);
            writer.WriteInt8(-5);
            writer.WriteInt16(-6);
            writer.WriteInt32(-7);
            writer.WriteInt64(-8);
            writer.WriteInt64(9);
            byte[] bytes = writer.ToArray();
            Assert.That(bytes.Length, Is.EqualTo(2 + 3 + 5 + 9 + 2 + 3 + 5 + 9 + 9));
            var reader = new MsgPackReader(bytes);
            var values = Enumerable.Range(0, 9).Select(_ => reader.ReadInt64()).ToArray();
            Assert.That(values, Is.EqualTo(new long[] { 1, 2, 3, 4, -5, -6, -7, -8, 9 }));
            Assert.That(reader.AtEnd);
        }

        [Test]
        public void Int32ReadsRejectValuesThatDoNotFit()
        {
            Assert.Throws<MsgPackException>(() => new MsgPackReader(Write(w => w.WriteInt(1L << 40))).ReadInt32());
            Assert.Throws<MsgPackException>(() => new MsgPackReader(Write(w => w.WriteInt(-1))).ReadUInt64());
        }

        [TestCase(0.0)]
        [TestCase(-0.0)]
        [TestCase(1.5)]
        [TestCase(-2.25e-300)]
        [TestCase(double.MaxValue)]
        [TestCase(double.PositiveInfinity)]
        [TestCase(double.NaN)]
        public void Float64RoundTripsBitExactly(double value)
        {
            byte[] bytes = Write(w => w.WriteFloat64(value));
            Assert.That(bytes[0], Is.EqualTo(0xcb));
            Assert.That(bytes.Length, Is.EqualTo(9));
            double back = new MsgPackReader(bytes).ReadDouble();
            Assert.That(BitConverter.DoubleToInt64Bits(back), Is.EqualTo(BitConverter.DoubleToInt64Bits(value)));
            Assert.That(new MsgPackReader(bytes).ReadValue(), Is.TypeOf<double>());
        }

        [TestCase(0.0f)]
        [TestCase(-0.0f)]
        [TestCase(0.1f)]
        [TestCase(float.MinValue)]
        [TestCase(float.NegativeInfinity)]
        public void Float32RoundTripsAndStaysFloat32(float value)
        {
            byte[] bytes = Write(w => w.WriteFloat32(value));
            Assert.That(bytes[0], Is.EqualTo(0xca));
            Assert.That(bytes.Length, Is.EqualTo(5));
            Assert.That(new MsgPackReader(bytes).ReadSingle(), Is.EqualTo(value));
            object generic = new MsgPackReader(bytes).ReadValue();
            Assert.That(generic, Is.TypeOf<float>());
            Assert.That(Write(w => w.WriteValue(generic)), Is.EqualTo(bytes));
        }

        [Test]
        public void FloatReadsAcceptIntegersAsTheProtocolDoes()
        {
            Assert.That(new MsgPackReader(Write(w => w.WriteInt(60))).ReadDouble(), Is.EqualTo(60.0));
            Assert.That(new MsgPackReader(Write(w => w.WriteInt(-70000))).ReadDouble(), Is.EqualTo(-70000.0));
            Assert.Throws<MsgPackException>(() => new MsgPackReader(Write(w => w.WriteString("60"))).ReadDouble());
            Assert.Throws<MsgPackException>(() => new MsgPackReader(Write(w => w.WriteBool(true))).ReadDouble());
        }

        [TestCase(0, 0xa0, 1)]
        [TestCase(31, 0xbf, 1)]
        [TestCase(32, 0xd9, 2)]
        [TestCase(255, 0xd9, 2)]
        [TestCase(256, 0xda, 3)]
        [TestCase(65535, 0xda, 3)]
        [TestCase(65536, 0xdb, 5)]
        public void StringsOfEveryWidthRoundTrip(int length, int code, int header)
        {
            string text = new string('m', length);
            byte[] bytes = Write(w => w.WriteString(text));
            Assert.That(bytes[0], Is.EqualTo((byte)code));
            Assert.That(bytes.Length, Is.EqualTo(header + length));
            Assert.That(new MsgPackReader(bytes).ReadString(), Is.EqualTo(text));
            Assert.That(Write(w => w.WriteValue(new MsgPackReader(bytes).ReadValue())), Is.EqualTo(bytes));
        }

        [Test]
        public void StringsAreUtf8AndLengthsCountBytes()
        {
            const string text = "Ünïcödé — 😀";
            byte[] bytes = Write(w => w.WriteString(text));
            Assert.That(bytes[0], Is.EqualTo((byte)(0xa0 | System.Text.Encoding.UTF8.GetByteCount(text))));
            Assert.That(new MsgPackReader(bytes).ReadString(), Is.EqualTo(text));
            var invalid = new byte[] { 0xa2, 0xc3, 0x28 };
            Assert.Throws<MsgPackException>(() => new MsgPackReader(invalid).ReadString());
        }

        [TestCase(0, 0xc4, 2)]
        [TestCase(255, 0xc4, 2)]
        [TestCase(256, 0xc5, 3)]
        [TestCase(65535, 0xc5, 3)]
        [TestCase(65536, 0xc6, 5)]
        public void BinariesOfEveryWidthRoundTrip(int length, int code, int header)
        {
            byte[] payload = Enumerable.Range(0, length).Select(i => (byte)(i * 7)).ToArray();
            byte[] bytes = Write(w => w.WriteBinary(payload));
            Assert.That(bytes[0], Is.EqualTo((byte)code));
            Assert.That(bytes.Length, Is.EqualTo(header + length));
            Assert.That(new MsgPackReader(bytes).ReadBinary(), Is.EqualTo(payload));
            var segment = new MsgPackReader(bytes).ReadBinarySegment();
            Assert.That(segment.Array, Is.SameAs(bytes), "a segment is a view, not a copy");
            Assert.That(segment.Offset, Is.EqualTo(header));
            Assert.That(segment.Count, Is.EqualTo(length));
        }

        [TestCase(0, 0x90, 1)]
        [TestCase(15, 0x9f, 1)]
        [TestCase(16, 0xdc, 3)]
        [TestCase(65535, 0xdc, 3)]
        [TestCase(65536, 0xdd, 5)]
        public void ArraysOfEveryWidthRoundTrip(int count, int code, int header)
        {
            object[] items = Enumerable.Range(0, count).Select(i => (object)(long)(i % 100)).ToArray();
            byte[] bytes = Write(w => w.WriteValue(items));
            Assert.That(bytes[0], Is.EqualTo((byte)code));
            Assert.That(bytes.Length, Is.EqualTo(header + count));
            var reader = new MsgPackReader(bytes);
            Assert.That(reader.ReadArrayHeader(), Is.EqualTo(count));
            var back = (object[])new MsgPackReader(bytes).ReadValue();
            Assert.That(back, Is.EqualTo(items));
        }

        [TestCase(0, 0x80, 1)]
        [TestCase(15, 0x8f, 1)]
        [TestCase(16, 0xde, 3)]
        [TestCase(65535, 0xde, 3)]
        [TestCase(65536, 0xdf, 5)]
        public void MapsOfEveryWidthRoundTripInOrder(int count, int code, int header)
        {
            var map = new MsgPackMap(count);
            for (int i = count - 1; i >= 0; i--) map.Add((long)i, i % 2 == 0);
            byte[] bytes = Write(w => w.WriteValue(map));
            Assert.That(bytes[0], Is.EqualTo((byte)code));
            Assert.That(new MsgPackReader(bytes).ReadMapHeader(), Is.EqualTo(count));
            var back = (MsgPackMap)new MsgPackReader(bytes).ReadValue();
            Assert.That(back.Count, Is.EqualTo(count));
            if (count > 0)
            {
                Assert.That(back.KeyAt(0), Is.EqualTo((long)(count - 1)), "keys keep their wire order");
                Assert.That(back.ValueAt(0), Is.EqualTo((count - 1) % 2 == 0));
            }
            Assert.That(Write(w => w.WriteValue(back)), Is.EqualTo(bytes));
        }

        [Test]
        public void NilAndBooleans()
        {
            byte[] bytes = Write(w =>
            {
                w.WriteNil();
                w.WriteBool(true);
                w.WriteBool(false);
                w.WriteString(null);
                w.WriteBinary(null);
            });
            Assert.That(bytes, Is.EqualTo(new byte[] { 0xc0, 0xc3, 0xc2, 0xc0, 0xc0 }));
            var reader = new MsgPackReader(bytes);
            Assert.That(reader.PeekType(), Is.EqualTo(MsgPackType.Nil));
            Assert.That(reader.TryReadNil());
            Assert.That(reader.ReadBool(), Is.True);
            Assert.That(reader.ReadBool(), Is.False);
            Assert.That(reader.ReadString(), Is.Null);
            Assert.That(reader.ReadBinary(), Is.Null);
        }

        [TestCase(1, 0xd4)]
        [TestCase(2, 0xd5)]
        [TestCase(4, 0xd6)]
        [TestCase(8, 0xd7)]
        [TestCase(16, 0xd8)]
        [TestCase(3, 0xc7)]
        [TestCase(300, 0xc8)]
        [TestCase(70000, 0xc9)]
        public void ExtensionsAreSkippedAndKeptByTheGenericReader(int length, int code)
        {
            var extension = new MsgPackExtension(-3, Enumerable.Repeat((byte)9, length).ToArray());
            byte[] bytes = Write(w =>
            {
                w.WriteArrayHeader(2);
                w.WriteValue(extension);
                w.WriteInt(42);
            });
            Assert.That(bytes[1], Is.EqualTo((byte)code));
            var reader = new MsgPackReader(bytes);
            Assert.That(reader.ReadArrayHeader(), Is.EqualTo(2));
            Assert.That(reader.PeekType(), Is.EqualTo(MsgPackType.Extension));
            reader.Skip();
            Assert.That(reader.ReadInt64(), Is.EqualTo(42));
            var back = (object[])new MsgPackReader(bytes).ReadValue();
            var kept = (MsgPackExtension)back[0];
            Assert.That(kept.TypeCode, Is.EqualTo(-3));
            Assert.That(kept.Data.Length, Is.EqualTo(length));
            Assert.That(Write(w => w.WriteValue(back)), Is.EqualTo(bytes));
        }

        [Test]
        public void SkipMovesPastEveryKindOfValue()
        {
            var nested = new MsgPackMap()
                .Add("s", new string('q', 300))
                .Add("b", new byte[70])
                .Add("a", new object[] { 1L, -200L, 1.5, null, true, new MsgPackMap().Add("x", new object[0]) })
                .Add("f", 0.25f);
            byte[] bytes = Write(w =>
            {
                w.WriteValue(nested);
                w.WriteString("after");
            });
            var reader = new MsgPackReader(bytes);
            reader.Skip();
            Assert.That(reader.ReadString(), Is.EqualTo("after"));
            Assert.That(reader.AtEnd);
        }

        [Test]
        public void TruncatedInputThrowsInsteadOfReadingPastTheEnd()
        {
            byte[] full = Write(w => w.WriteValue(new MsgPackMap().Add("text", "hello").Add("n", 70000L).Add("bin", new byte[10])));
            for (int cut = 0; cut < full.Length; cut++)
            {
                var reader = new MsgPackReader(full, 0, cut);
                Assert.Throws<MsgPackException>(() => reader.ReadValue(), "cut at " + cut);
                Assert.Throws<MsgPackException>(() => new MsgPackReader(full, 0, cut).Skip(), "skip cut at " + cut);
            }
        }

        [Test]
        public void HostileLengthsFailBeforeAllocating()
        {
            // array32 / map32 / str32 / bin32 headers claiming 4 billion items in 5 bytes
            foreach (byte code in new byte[] { 0xdd, 0xdf, 0xdb, 0xc6 })
            {
                var bytes = new byte[] { code, 0xff, 0xff, 0xff, 0xf0 };
                Assert.Throws<MsgPackException>(() => new MsgPackReader(bytes).ReadValue());
            }
            Assert.Throws<MsgPackException>(() => new MsgPackReader(new byte[] { 0xc1 }).ReadValue());
        }

        [Test]
        public void NestingDeeperThanTheLimitIsRefused()
        {
            var bytes = Enumerable.Repeat((byte)0x91, MsgPackReader.MaxDepth + 5).Concat(new byte[] { 0x01 }).ToArray();
            Assert.Throws<MsgPackException>(() => new MsgPackReader(bytes).ReadValue());
            Assert.Throws<MsgPackException>(() => new MsgPackReader(bytes).Skip());
        }

        [Test]
        public void TypeMismatchesNameWhatWasExpectedAndFound()
        {
            var error = Assert.Throws<MsgPackException>(() => new MsgPackReader(Write(w => w.WriteString("x"))).ReadInt64());
            StringAssert.Contains("expected integer", error.Message);
            StringAssert.Contains("found string", error.Message);
        }

        [Test]
        public void TheWriterBufferIsReusedAfterReset()
        {
            var writer = new MsgPackWriter(16);
            writer.WriteString(new string('z', 100));
            byte[] grown = writer.Buffer;
            writer.Reset();
            writer.WriteInt(5);
            Assert.That(writer.Buffer, Is.SameAs(grown));
            Assert.That(writer.Length, Is.EqualTo(1));
            Assert.That(writer.ToArray(), Is.EqualTo(new byte[] { 5 }));
        }
    }
}
