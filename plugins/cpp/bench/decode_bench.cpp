// Decode cost of the two streaming messages: `face` (52 weights x N frames, plus head and
// eyes) and `audio` (200 ms of s16le at 48 kHz). Not run by the tests:
//
//   cmake -S plugins/cpp -B plugins/cpp/build -DCMAKE_BUILD_TYPE=Release
//   cmake --build plugins/cpp/build --target merg_decode_bench
//   plugins/cpp/build/merg_decode_bench [iterations] [frames_per_face_message]
//
// The frames are packed with msgpack-c in the key order of the Python codec's `to_wire`
// (v, type, seq, sid, turn, then the fields), the layout of tests/vectors/vectors.msgpack;
// the bench first checks that they decode to the values packed. Two costs per message:
// "decode" (Decoder::Decode: the envelope and fields, payloads stay zero-copy views) and
// "decode+copy" (plus ReadF32le / ReadS16le of the payloads into host arrays, which is what
// the network thread does on its way into the jitter buffer).
#include <msgpack.h>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "merg/codec.h"
#include "merg/protocol.h"

namespace {

using Clock = std::chrono::steady_clock;

const char* const kSid = "dfvKTNaGvg7iC9ELU4k8QA";

void PackStr(msgpack_packer* pk, const char* text) {
  const size_t n = std::strlen(text);
  msgpack_pack_str(pk, n);
  msgpack_pack_str_body(pk, text, n);
}

void PackBin(msgpack_packer* pk, const std::vector<uint8_t>& bytes) {
  msgpack_pack_bin(pk, bytes.size());
  msgpack_pack_bin_body(pk, bytes.data(), bytes.size());
}

std::vector<uint8_t> Floats(size_t count, float scale) {
  std::vector<uint8_t> out(count * 4);
  for (size_t i = 0; i < count; ++i) {
    const float value = scale * static_cast<float>(std::sin(0.37 * static_cast<double>(i)));
    uint32_t bits;
    std::memcpy(&bits, &value, 4);
    for (int b = 0; b < 4; ++b) out[i * 4 + b] = static_cast<uint8_t>(bits >> (8 * b));
  }
  return out;
}

std::vector<uint8_t> Take(msgpack_sbuffer* buffer) {
  std::vector<uint8_t> out(reinterpret_cast<uint8_t*>(buffer->data),
                           reinterpret_cast<uint8_t*>(buffer->data) + buffer->size);
  msgpack_sbuffer_clear(buffer);
  return out;
}

std::vector<uint8_t> FaceMessage(int frames) {
  msgpack_sbuffer buffer;
  msgpack_sbuffer_init(&buffer);
  msgpack_packer pk;
  msgpack_packer_init(&pk, &buffer, msgpack_sbuffer_write);
  msgpack_pack_map(&pk, 11);
  PackStr(&pk, "v");       msgpack_pack_int64(&pk, merg::kProtocolVersion);
  PackStr(&pk, "type");    PackStr(&pk, "face");
  PackStr(&pk, "seq");     msgpack_pack_int64(&pk, 123456);
  PackStr(&pk, "sid");     PackStr(&pk, kSid);
  PackStr(&pk, "turn");    msgpack_pack_int64(&pk, 3);
  PackStr(&pk, "f0");      msgpack_pack_int64(&pk, 1200);
  PackStr(&pk, "fps");     msgpack_pack_int64(&pk, 60);
  PackStr(&pk, "count");   msgpack_pack_int64(&pk, frames);
  PackStr(&pk, "weights"); PackBin(&pk, Floats(static_cast<size_t>(frames) * 52, 1.0f));
  PackStr(&pk, "head");    PackBin(&pk, Floats(static_cast<size_t>(frames) * 3, 0.2f));
  PackStr(&pk, "eyes");    PackBin(&pk, Floats(static_cast<size_t>(frames) * 4, 0.1f));
  std::vector<uint8_t> out = Take(&buffer);
  msgpack_sbuffer_destroy(&buffer);
  return out;
}

std::vector<uint8_t> AudioMessage(int samples, int rate) {
  std::vector<uint8_t> pcm(static_cast<size_t>(samples) * 2);
  for (int i = 0; i < samples; ++i) {
    const int16_t s = static_cast<int16_t>(8000.0 * std::sin(0.05 * i));
    pcm[i * 2] = static_cast<uint8_t>(static_cast<uint16_t>(s) & 0xff);
    pcm[i * 2 + 1] = static_cast<uint8_t>(static_cast<uint16_t>(s) >> 8);
  }
  msgpack_sbuffer buffer;
  msgpack_sbuffer_init(&buffer);
  msgpack_packer pk;
  msgpack_packer_init(&pk, &buffer, msgpack_sbuffer_write);
  msgpack_pack_map(&pk, 8);
  PackStr(&pk, "v");           msgpack_pack_int64(&pk, merg::kProtocolVersion);
  PackStr(&pk, "type");        PackStr(&pk, "audio");
  PackStr(&pk, "seq");         msgpack_pack_int64(&pk, 123457);
  PackStr(&pk, "sid");         PackStr(&pk, kSid);
  PackStr(&pk, "turn");        msgpack_pack_int64(&pk, 3);
  PackStr(&pk, "t0");          msgpack_pack_int64(&pk, 960000);
  PackStr(&pk, "sample_rate"); msgpack_pack_int64(&pk, rate);
  PackStr(&pk, "pcm");         PackBin(&pk, pcm);
  std::vector<uint8_t> out = Take(&buffer);
  msgpack_sbuffer_destroy(&buffer);
  return out;
}

volatile float g_sink_f = 0;
volatile int g_sink_i = 0;

struct Result {
  double ns_per_message;
  double mb_per_s;  // message bytes decoded per second (1 MB = 1e6 bytes)
};

// Best of `rounds` timed runs of `iterations` decodes (copy: also read the payloads out).
Result Run(const std::vector<uint8_t>& bytes, bool face, bool copy, int iterations, int rounds) {
  merg::Decoder decoder;
  merg::ServerMessage message;
  std::vector<float> floats(64 * 1024);
  std::vector<int16_t> pcm(64 * 1024);
  double best = 1e300;
  for (int r = 0; r < rounds + 1; ++r) {  // round 0 warms up
    const auto start = Clock::now();
    for (int i = 0; i < iterations; ++i) {
      if (decoder.Decode(bytes.data(), bytes.size(), &message) != merg::DecodeStatus::kOk) {
        std::fprintf(stderr, "decode failed: %s\n", decoder.error());
        std::exit(1);
      }
      if (copy) {
        if (face) {
          merg::ReadF32le(message.weights.data, message.weights.size / 4, floats.data());
          merg::ReadF32le(message.head.data, message.head.size / 4, floats.data() + 60000);
          merg::ReadF32le(message.eyes.data, message.eyes.size / 4, floats.data() + 62000);
          g_sink_f = floats[static_cast<size_t>(i) % (message.weights.size / 4)];
        } else {
          merg::ReadS16le(message.pcm.data, message.pcm.size / 2, pcm.data());
          g_sink_i = pcm[static_cast<size_t>(i) % (message.pcm.size / 2)];
        }
      } else {
        g_sink_i = static_cast<int>(message.count + message.t0);
      }
    }
    const double ns =
        std::chrono::duration<double, std::nano>(Clock::now() - start).count() / iterations;
    if (r > 0 && ns < best) best = ns;
  }
  return Result{best, static_cast<double>(bytes.size()) / best * 1e3};
}

}  // namespace

int main(int argc, char** argv) {
  const int iterations = argc > 1 ? std::atoi(argv[1]) : 200000;
  const int frames = argc > 2 ? std::atoi(argv[2]) : 12;
  const int rounds = 5;
  const int rate = 48000;
  const int samples = rate / 5;  // 200 ms
  if (iterations <= 0 || frames <= 0) {
    std::fprintf(stderr, "usage: %s [iterations] [frames_per_face_message]\n", argv[0]);
    return 2;
  }
  const std::vector<uint8_t> face = FaceMessage(frames);
  const std::vector<uint8_t> audio = AudioMessage(samples, rate);

  // The bytes decode to what was packed.
  {
    merg::Decoder decoder;
    merg::ServerMessage m;
    if (decoder.Decode(face.data(), face.size(), &m) != merg::DecodeStatus::kOk ||
        m.type != merg::MessageType::kFace || m.count != frames || m.f0 != 1200 ||
        m.weights.size != static_cast<uint32_t>(frames) * 52 * 4 ||
        m.head.size != static_cast<uint32_t>(frames) * 12 ||
        m.eyes.size != static_cast<uint32_t>(frames) * 16) {
      std::fprintf(stderr, "face message does not round-trip (%s)\n", decoder.error());
      return 1;
    }
    if (decoder.Decode(audio.data(), audio.size(), &m) != merg::DecodeStatus::kOk ||
        m.type != merg::MessageType::kAudio || m.t0 != 960000 || m.sample_rate != rate ||
        m.pcm.size != static_cast<uint32_t>(samples) * 2) {
      std::fprintf(stderr, "audio message does not round-trip (%s)\n", decoder.error());
      return 1;
    }
  }

  const int audio_iterations = iterations / 10 > 0 ? iterations / 10 : 1;
  const Result face_decode = Run(face, true, false, iterations, rounds);
  const Result face_copy = Run(face, true, true, iterations, rounds);
  const Result audio_decode = Run(audio, false, false, audio_iterations, rounds);
  const Result audio_copy = Run(audio, false, true, audio_iterations, rounds);

  std::printf("merg decode bench: best of %d rounds; face x%d, audio x%d per round\n", rounds,
              iterations, audio_iterations);
  std::printf("%-34s %8s %12s %10s\n", "message", "bytes", "ns/message", "MB/s");
  char label[64];
  std::snprintf(label, sizeof label, "face %dx52 (+head, eyes) decode", frames);
  std::printf("%-34s %8zu %12.1f %10.1f\n", label, face.size(), face_decode.ns_per_message,
              face_decode.mb_per_s);
  std::snprintf(label, sizeof label, "face %dx52 decode+copy", frames);
  std::printf("%-34s %8zu %12.1f %10.1f\n", label, face.size(), face_copy.ns_per_message,
              face_copy.mb_per_s);
  std::printf("%-34s %8zu %12.1f %10.1f\n", "audio 200 ms @ 48 kHz decode", audio.size(),
              audio_decode.ns_per_message, audio_decode.mb_per_s);
  std::printf("%-34s %8zu %12.1f %10.1f\n", "audio 200 ms @ 48 kHz decode+copy", audio.size(),
              audio_copy.ns_per_message, audio_copy.mb_per_s);
  return 0;
}
