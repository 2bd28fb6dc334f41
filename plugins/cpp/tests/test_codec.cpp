// The codec against the Python codec's bytes (tests/vectors/vectors.msgpack).
//
// The messages encoded here mirror make_vectors.py; keep both in step.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "merg/codec.h"
#include "merg/protocol.h"
#include "merg/rig.h"
#include "vectors.h"

namespace {

using merg::DecodeStatus;
using merg::Decoder;
using merg::Encoder;
using merg::MessageType;
using merg::ServerMessage;
using merg_test::Vectors;

const char* const kSid = "dfvKTNaGvg7iC9ELU4k8QA";

std::vector<uint8_t> Bytes(const Encoder& encoder) {
  return std::vector<uint8_t>(encoder.data(), encoder.data() + encoder.size());
}

std::string Hex(const std::vector<uint8_t>& bytes) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (uint8_t b : bytes) {
    out.push_back(digits[b >> 4]);
    out.push_back(digits[b & 15]);
  }
  return out;
}

class ClientVectors : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(Vectors::Get().ok()) << "cannot read " MERG_VECTORS_FILE; }

  void ExpectSame(const char* name) {
    const std::vector<uint8_t> expected = Vectors::Get().Bin("client", name);
    ASSERT_FALSE(expected.empty()) << "no client vector " << name;
    EXPECT_EQ(Hex(Bytes(encoder_)), Hex(expected)) << name;
    ++checked_;
  }

  Encoder encoder_;
  int checked_ = 0;
};

TEST_F(ClientVectors, EncodeToThePythonCodecsBytes) {
  merg::ClientInfo info;
  info.name = "merg-cpp";
  info.version = "0.1.0";
  info.engine = "cpp";
  encoder_.Hello(1, info);
  ExpectSame("hello");

  encoder_.Ping(7, 1795315014.51);
  ExpectSame("ping");
  encoder_.Ping(200, 0.0);
  ExpectSame("ping_seq_uint8");
  encoder_.Ping(300, -2.5);
  ExpectSame("ping_seq_uint16");
  encoder_.Ping(70000, 1e-7);
  ExpectSame("ping_seq_uint32");

  merg::SessionOpenFields open;
  encoder_.SessionOpen(2, open);
  ExpectSame("session_open");
  merg::SessionOpenFields full;
  full.rig = "livelink";
  full.fps = 120;
  full.sample_rate = 48000;
  full.voice = "en_US-joe-medium";
  full.language = "en";
  full.avatar = "companion";
  encoder_.SessionOpen(3, full);
  ExpectSame("session_open_full");
  merg::SessionOpenFields resume;
  resume.resume = kSid;
  encoder_.SessionOpen(4, resume);
  ExpectSame("session_open_resume");

  encoder_.SessionClose(9, kSid);
  ExpectSame("session_close");
  encoder_.Say(3, kSid, "Hello there, my friend. Maybe we should buy a map!", "happy", 0.8);
  ExpectSame("say");
  encoder_.Say(5, kSid, "Hi.", nullptr, -1);
  ExpectSame("say_plain");
  encoder_.Say(11, kSid, "Grüße — ça va? 😀", nullptr, 0.0);
  ExpectSame("say_unicode");
  std::string long_text;
  for (int i = 0; i < 100; ++i) long_text += "la ";
  encoder_.Say(12, kSid, long_text, "calm", -1);
  ExpectSame("say_long");
  encoder_.UserText(6, kSid, "I had a rough day at work today.");
  ExpectSame("user_text");
  encoder_.Interrupt(8, kSid);
  ExpectSame("interrupt");
  encoder_.Playback(10, kSid, 1, 0.5);
  ExpectSame("playback");

  // Every client vector in the file is covered here.
  const msgpack_object* group = Vectors::Get().Group("client");
  ASSERT_NE(group, nullptr);
  EXPECT_EQ(static_cast<int>(group->via.map.size), checked_);
}

class ServerVectors : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(Vectors::Get().ok()) << "cannot read " MERG_VECTORS_FILE; }

  // Decode a server vector; it must also re-encode to the same bytes with msgpack-c.
  const ServerMessage& Decode(const char* name) {
    frame_ = Vectors::Get().Bin("server", name);
    EXPECT_FALSE(frame_.empty()) << "no server vector " << name;
    EXPECT_EQ(decoder_.Decode(frame_.data(), frame_.size(), &message_), DecodeStatus::kOk)
        << name << ": " << decoder_.error();
    std::vector<uint8_t> again;
    if (message_.root != nullptr) merg::PackObject(*message_.root, &again);
    EXPECT_EQ(Hex(again), Hex(frame_)) << name << " does not re-encode to the same bytes";
    return message_;
  }

  Decoder decoder_;
  ServerMessage message_;
  std::vector<uint8_t> frame_;
};

TEST_F(ServerVectors, Welcome) {
  const ServerMessage& m = Decode("welcome");
  EXPECT_EQ(m.type, MessageType::kWelcome);
  EXPECT_EQ(m.v, 1);
  EXPECT_EQ(m.seq, 1);
  ASSERT_NE(m.server, nullptr);
  ASSERT_NE(m.capabilities, nullptr);
  const msgpack_object* rigs = merg::FindKey(*m.capabilities, "rigs");
  ASSERT_NE(rigs, nullptr);
  std::vector<std::string> names;
  merg::StringsOf(*rigs, &names);
  EXPECT_EQ(names, (std::vector<std::string>{"arkit52", "visemes", "livelink"}));
  std::string json;
  merg::AppendJson(*m.server, &json);
  EXPECT_EQ(json, R"({"name":"merg-sdk","version":"0.1.0","tts":"piper"})");
}

TEST_F(ServerVectors, PongSessionAndTurnMessages) {
  const ServerMessage& pong = Decode("pong");
  EXPECT_EQ(pong.type, MessageType::kPong);
  EXPECT_DOUBLE_EQ(pong.t, 1795315014.51);
  EXPECT_DOUBLE_EQ(pong.server_t, 1795315014.8177);

  const ServerMessage& opened = Decode("session_opened");
  EXPECT_EQ(opened.type, MessageType::kSessionOpened);
  EXPECT_TRUE(opened.sid.Equals(kSid));
  EXPECT_TRUE(opened.rig_name.Equals("arkit52"));
  std::vector<std::string> names;
  merg::StringsOf(*opened.names, &names);
  ASSERT_EQ(names.size(), 52u);
  for (int i = 0; i < 52; ++i) EXPECT_EQ(names[i], merg::kArkit52Names[i]);
  EXPECT_EQ(opened.fps, 60);
  EXPECT_EQ(opened.sample_rate, 22050);
  EXPECT_TRUE(opened.voice.Equals("en_US-joe-medium"));
  EXPECT_FALSE(opened.resumed);

  const ServerMessage& closed = Decode("session_closed");
  EXPECT_EQ(closed.type, MessageType::kSessionClosed);
  EXPECT_TRUE(closed.reason.Equals("resumed_elsewhere"));

  const ServerMessage& start = Decode("turn_start");
  EXPECT_EQ(start.type, MessageType::kTurnStart);
  EXPECT_EQ(start.turn, 1);
  EXPECT_TRUE(start.source.Equals("say"));
  EXPECT_TRUE(start.has_ref);
  EXPECT_EQ(start.ref, 3);

  const ServerMessage& affect = Decode("user_affect");
  EXPECT_EQ(affect.type, MessageType::kUserAffect);
  EXPECT_TRUE(affect.emotion.Equals("sad"));
  EXPECT_FLOAT_EQ(affect.vad[0], -0.5f);
  EXPECT_FLOAT_EQ(affect.vad[1], 0.25f);
  EXPECT_FLOAT_EQ(affect.vad[2], -0.125f);
  EXPECT_DOUBLE_EQ(affect.confidence, 0.75);
  EXPECT_TRUE(affect.fine_emotion.Equals("disappointed"));
  EXPECT_TRUE(affect.cause.Equals("work"));
  ASSERT_NE(affect.by, nullptr);

  const ServerMessage& reasoning = Decode("reasoning");
  ASSERT_NE(reasoning.chain, nullptr);
  std::string chain;
  merg::AppendJson(*reasoning.chain, &chain);
  EXPECT_EQ(chain, R"({"need":"comfort","strategy":"Question"})");

  const ServerMessage& safety = Decode("safety");
  EXPECT_TRUE(safety.category.Equals("self_harm"));
  EXPECT_TRUE(safety.severity.Equals("high"));
  EXPECT_TRUE(safety.matched.Equals("hurt myself"));

  const ServerMessage& reply = Decode("reply");
  EXPECT_EQ(reply.type, MessageType::kReply);
  EXPECT_TRUE(reply.text.Equals("Hello there, my friend."));
  EXPECT_TRUE(reply.emotion.Equals("happy"));
  EXPECT_DOUBLE_EQ(reply.intensity, 0.8);
  EXPECT_FALSE(reply.final);
  EXPECT_TRUE(reply.has_t0);
  EXPECT_EQ(reply.t0, 0);
  EXPECT_FALSE(reply.strategy.present());
  ASSERT_NE(reply.phonemes, nullptr);
  std::string phonemes;
  merg::AppendJson(*reply.phonemes, &phonemes);
  EXPECT_EQ(phonemes, R"([["",0,0.04644],["h",0.04644,0.08127]])");
}

TEST_F(ServerVectors, AudioAndFacePayloads) {
  const ServerMessage& audio = Decode("audio");
  EXPECT_EQ(audio.type, MessageType::kAudio);
  EXPECT_EQ(audio.t0, 4410);
  EXPECT_EQ(audio.sample_rate, 22050);
  ASSERT_EQ(audio.pcm.size, 20u);
  int16_t pcm[10];
  merg::ReadS16le(audio.pcm.data, 10, pcm);
  const int16_t expected_pcm[10] = {0, 1, -1, 32767, -32768, 1234, -4321, 7, 8, 9};
  for (int i = 0; i < 10; ++i) EXPECT_EQ(pcm[i], expected_pcm[i]);

  const ServerMessage& face = Decode("face");
  EXPECT_EQ(face.type, MessageType::kFace);
  EXPECT_EQ(face.f0, 12);
  EXPECT_EQ(face.fps, 60);
  EXPECT_EQ(face.count, 2);
  ASSERT_EQ(face.weights.size, 2u * 52u * 4u);
  std::vector<float> weights(104);
  merg::ReadF32le(face.weights.data, weights.size(), weights.data());
  for (int i = 0; i < 104; ++i) EXPECT_FLOAT_EQ(weights[i], static_cast<float>(i) / 100.0f);
  ASSERT_EQ(face.head.size, 24u);
  ASSERT_EQ(face.eyes.size, 32u);
  float head[6];
  merg::ReadF32le(face.head.data, 6, head);
  EXPECT_FLOAT_EQ(head[1], -0.2f);
  float eyes[8];
  merg::ReadF32le(face.eyes.data, 8, eyes);
  EXPECT_FLOAT_EQ(eyes[7], -0.04f);
}

TEST_F(ServerVectors, TurnEndAndErrors) {
  const ServerMessage& end = Decode("turn_end");
  EXPECT_EQ(end.type, MessageType::kTurnEnd);
  EXPECT_TRUE(end.reason.Equals("done"));
  EXPECT_DOUBLE_EQ(end.stats.first_audio_ms, 487.75);
  EXPECT_DOUBLE_EQ(end.stats.first_face_ms, -1);  // nil
  EXPECT_DOUBLE_EQ(end.stats.audio_s, 3.0534);
  EXPECT_EQ(end.stats.samples, 67328);
  EXPECT_EQ(end.stats.frames, 184);
  EXPECT_EQ(end.stats.clauses, 2);
  std::string stats;
  merg::AppendJson(*end.stats_map, &stats);
  EXPECT_EQ(stats,
            R"({"first_audio_ms":487.75,"first_face_ms":null,"audio_s":3.0534,)"
            R"("samples":67328,"frames":184,"clauses":2,"total_ms":812.08})");

  const ServerMessage& error = Decode("error");
  EXPECT_EQ(error.type, MessageType::kError);
  EXPECT_EQ(merg::ParseErrorCode(error.code.data, error.code.size),
            merg::ErrorCode::kUnknownSession);
  EXPECT_TRUE(error.has_ref);
  EXPECT_EQ(error.ref, 10);
  EXPECT_TRUE(error.sid.Equals(kSid));

  const ServerMessage& bare = Decode("error_bare");
  EXPECT_EQ(merg::ParseErrorCode(bare.code.data, bare.code.size), merg::ErrorCode::kInternal);
  EXPECT_FALSE(bare.has_ref);
  EXPECT_FALSE(bare.sid.present());
}

TEST_F(ServerVectors, EveryServerVectorIsChecked) {
  const char* const checked[] = {"welcome", "pong",  "session_opened", "session_closed",
                                 "turn_start", "user_affect", "reasoning", "safety",
                                 "reply",   "audio", "face", "turn_end", "error", "error_bare"};
  const msgpack_object* group = Vectors::Get().Group("server");
  ASSERT_NE(group, nullptr);
  EXPECT_EQ(group->via.map.size, sizeof checked / sizeof checked[0]);
  for (const char* name : checked) EXPECT_FALSE(Vectors::Get().Bin("server", name).empty());
}

// --- what the decoder refuses ------------------------------------------------------------

std::vector<uint8_t> Pack(void (*build)(msgpack_packer*)) {
  msgpack_sbuffer buffer;
  msgpack_sbuffer_init(&buffer);
  msgpack_packer packer;
  msgpack_packer_init(&packer, &buffer, msgpack_sbuffer_write);
  build(&packer);
  std::vector<uint8_t> out(buffer.data, buffer.data + buffer.size);
  msgpack_sbuffer_destroy(&buffer);
  return out;
}

void Key(msgpack_packer* p, const char* key) { msgpack_pack_str_with_body(p, key, std::strlen(key)); }

TEST(Decoder, RefusesWhatIsNotAProtocolFrame) {
  Decoder decoder;
  ServerMessage m;
  const uint8_t garbage[] = {0xc1, 0x00};
  EXPECT_EQ(decoder.Decode(garbage, sizeof garbage, &m), DecodeStatus::kNotMessagePack);
  EXPECT_EQ(decoder.Decode(garbage, 0, &m), DecodeStatus::kNotMessagePack);

  const auto array = Pack([](msgpack_packer* p) { msgpack_pack_array(p, 0); });
  EXPECT_EQ(decoder.Decode(array.data(), array.size(), &m), DecodeStatus::kNotMap);

  const auto no_version = Pack([](msgpack_packer* p) {
    msgpack_pack_map(p, 1);
    Key(p, "type");
    Key(p, "pong");
  });
  EXPECT_EQ(decoder.Decode(no_version.data(), no_version.size(), &m), DecodeStatus::kBadEnvelope);

  const auto bool_version = Pack([](msgpack_packer* p) {
    msgpack_pack_map(p, 2);
    Key(p, "v");
    msgpack_pack_true(p);
    Key(p, "type");
    Key(p, "pong");
  });
  EXPECT_EQ(decoder.Decode(bool_version.data(), bool_version.size(), &m),
            DecodeStatus::kBadEnvelope);

  const auto version_two = Pack([](msgpack_packer* p) {
    msgpack_pack_map(p, 2);
    Key(p, "v");
    msgpack_pack_int(p, 2);
    Key(p, "type");
    Key(p, "welcome");
  });
  EXPECT_EQ(decoder.Decode(version_two.data(), version_two.size(), &m),
            DecodeStatus::kWrongVersion);
  EXPECT_EQ(m.v, 2);

  const auto unknown = Pack([](msgpack_packer* p) {
    msgpack_pack_map(p, 2);
    Key(p, "v");
    msgpack_pack_int(p, 1);
    Key(p, "type");
    Key(p, "hologram");
  });
  EXPECT_EQ(decoder.Decode(unknown.data(), unknown.size(), &m), DecodeStatus::kUnknownType);

  const auto bad_field = Pack([](msgpack_packer* p) {
    msgpack_pack_map(p, 5);
    Key(p, "v");
    msgpack_pack_int(p, 1);
    Key(p, "type");
    Key(p, "turn.start");
    Key(p, "sid");
    Key(p, "abc");
    Key(p, "turn");
    Key(p, "1");  // a string where an int belongs
    Key(p, "source");
    Key(p, "say");
  });
  EXPECT_EQ(decoder.Decode(bad_field.data(), bad_field.size(), &m), DecodeStatus::kBadField);

  // Unknown fields are ignored, nil optional fields count as absent.
  const auto extra = Pack([](msgpack_packer* p) {
    msgpack_pack_map(p, 7);
    Key(p, "v");
    msgpack_pack_int(p, 1);
    Key(p, "type");
    Key(p, "turn.start");
    Key(p, "sid");
    Key(p, "abc");
    Key(p, "turn");
    msgpack_pack_int(p, 4);
    Key(p, "source");
    Key(p, "say");
    Key(p, "ref");
    msgpack_pack_nil(p);
    Key(p, "future_field");
    msgpack_pack_array(p, 0);
  });
  ASSERT_EQ(decoder.Decode(extra.data(), extra.size(), &m), DecodeStatus::kOk);
  EXPECT_EQ(m.turn, 4);
  EXPECT_FALSE(m.has_ref);
}

TEST(ProtocolNames, RoundTrip) {
  EXPECT_STREQ(merg::MessageTypeName(MessageType::kSessionOpen), "session.open");
  EXPECT_EQ(merg::ParseMessageType("turn.end", 8), MessageType::kTurnEnd);
  EXPECT_EQ(merg::ParseMessageType("turn.en", 7), MessageType::kUnknown);
  const char* const server_codes[] = {"bad_message", "hello_required", "unsupported_version",
                                      "unsupported", "unknown_session", "too_large",
                                      "too_many_sessions", "overloaded", "upstream_failed",
                                      "internal"};
  for (const char* code : server_codes) {
    const merg::ErrorCode parsed = merg::ParseErrorCode(code, std::strlen(code));
    EXPECT_NE(parsed, merg::ErrorCode::kUnknownServerCode) << code;
    EXPECT_FALSE(merg::IsLocalErrorCode(parsed));
    EXPECT_STREQ(merg::ErrorCodeName(parsed), code);
  }
  EXPECT_EQ(merg::ParseErrorCode("brand_new", 9), merg::ErrorCode::kUnknownServerCode);
  // Local codes are never parsed from the wire.
  EXPECT_EQ(merg::ParseErrorCode("timeout", 7), merg::ErrorCode::kUnknownServerCode);
  EXPECT_TRUE(merg::IsLocalErrorCode(merg::ErrorCode::kConnectionLost));
}

}  // namespace
