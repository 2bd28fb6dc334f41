// merg_say: connect to a MERG server, open a session, say one line, and write what comes
// back: the audio as a WAV file and the face frames as a CSV file.
//
//   merg_say [--endpoint tcp://127.0.0.1:5555] [--out merg-say] [--rig arkit52]
//            [--fps 60] [--rate 22050] [--emotion happy] [--intensity 0.8] "Hello there!"
//
// Writes OUT.wav (16-bit mono PCM) and OUT.csv (one row per frame: frame, time_s, the rig's
// names, then head_pitch head_yaw head_roll and the four eye angles). Exit code 0 when the
// turn ended `done`, 1 on an error, 2 on bad arguments.
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "merg/merg.h"

namespace {

struct Options {
  std::string endpoint = merg::kDefaultEndpoint;
  std::string out = "merg-say";
  std::string text;
  merg::SessionOptions session;
  std::string emotion;
  float intensity = -1.0f;
  int timeout_s = 120;
};

void Usage() {
  std::fprintf(stderr,
               "usage: merg_say [--endpoint E] [--out PREFIX] [--rig R] [--fps N] [--rate HZ]\n"
               "                [--emotion E] [--intensity X] [--timeout S] TEXT\n");
}

bool Parse(int argc, char** argv, Options* options) {
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const bool has_value = i + 1 < argc;
    if (arg == "--endpoint" && has_value) {
      options->endpoint = argv[++i];
    } else if (arg == "--out" && has_value) {
      options->out = argv[++i];
    } else if (arg == "--rig" && has_value) {
      options->session.rig = argv[++i];
    } else if (arg == "--fps" && has_value) {
      options->session.fps = std::atoi(argv[++i]);
    } else if (arg == "--rate" && has_value) {
      options->session.sample_rate = std::atoi(argv[++i]);
    } else if (arg == "--emotion" && has_value) {
      options->emotion = argv[++i];
    } else if (arg == "--intensity" && has_value) {
      options->intensity = static_cast<float>(std::atof(argv[++i]));
    } else if (arg == "--timeout" && has_value) {
      options->timeout_s = std::atoi(argv[++i]);
    } else if (!arg.empty() && arg[0] == '-') {
      return false;
    } else {
      options->text = options->text.empty() ? arg : options->text + " " + arg;
    }
  }
  return !options->text.empty();
}

void PutLe(std::FILE* file, uint32_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) std::fputc(static_cast<int>((value >> (8 * i)) & 0xff), file);
}

bool WriteWav(const std::string& path, const std::vector<int16_t>& pcm, int sample_rate) {
  std::FILE* file = std::fopen(path.c_str(), "wb");
  if (file == nullptr) return false;
  const uint32_t data_bytes = static_cast<uint32_t>(pcm.size() * 2);
  std::fputs("RIFF", file);
  PutLe(file, 36 + data_bytes, 4);
  std::fputs("WAVEfmt ", file);
  PutLe(file, 16, 4);                                        // fmt chunk size
  PutLe(file, 1, 2);                                         // PCM
  PutLe(file, 1, 2);                                         // mono
  PutLe(file, static_cast<uint32_t>(sample_rate), 4);
  PutLe(file, static_cast<uint32_t>(sample_rate) * 2, 4);   // bytes per second
  PutLe(file, 2, 2);                                         // block align
  PutLe(file, 16, 2);                                        // bits per sample
  std::fputs("data", file);
  PutLe(file, data_bytes, 4);
  for (int16_t sample : pcm) PutLe(file, static_cast<uint16_t>(sample), 2);
  return std::fclose(file) == 0;
}

bool WriteCsv(const std::string& path, const std::vector<std::string>& names,
              const std::vector<float>& rows, int fps) {
  std::FILE* file = std::fopen(path.c_str(), "w");
  if (file == nullptr) return false;
  std::fputs("frame,time_s", file);
  for (const std::string& name : names) std::fprintf(file, ",%s", name.c_str());
  std::fputs(",head_pitch,head_yaw,head_roll,left_eye_pitch,left_eye_yaw,right_eye_pitch,"
             "right_eye_yaw\n",
             file);
  const size_t stride = names.size() + 7;
  const size_t frames = stride > 0 ? rows.size() / stride : 0;
  for (size_t f = 0; f < frames; ++f) {
    std::fprintf(file, "%zu,%.6f", f, static_cast<double>(f) / fps);
    for (size_t c = 0; c < stride; ++c) std::fprintf(file, ",%.6g", rows[f * stride + c]);
    std::fputc('\n', file);
  }
  return std::fclose(file) == 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  if (!Parse(argc, argv, &options)) {
    Usage();
    return 2;
  }
  // Audio and face frames are collected on the network thread as they arrive.
  std::mutex mutex;
  std::vector<int16_t> pcm;
  std::vector<float> rows;  // per frame: weights, head (3), eyes (4)

  merg::ClientConfig config;
  config.endpoint = options.endpoint;
  config.client.name = "merg_say";
  config.callbacks.on_audio = [&](const merg::AudioChunk& chunk) {
    std::lock_guard<std::mutex> lock(mutex);
    pcm.insert(pcm.end(), chunk.pcm, chunk.pcm + chunk.samples);
  };
  config.callbacks.on_face = [&](const merg::FaceBlock& block) {
    std::lock_guard<std::mutex> lock(mutex);
    for (int f = 0; f < block.count; ++f) {
      const float* w = block.weights + static_cast<size_t>(f) * block.names;
      rows.insert(rows.end(), w, w + block.names);
      for (int c = 0; c < 3; ++c) rows.push_back(block.head ? block.head[f * 3 + c] : 0.0f);
      for (int c = 0; c < 4; ++c) rows.push_back(block.eyes ? block.eyes[f * 4 + c] : 0.0f);
    }
  };
  merg::Client client(config);
  if (!client.Start()) {
    std::fprintf(stderr, "could not start the client\n");
    return 1;
  }
  options.session.buffer = false;  // no playback here: the callbacks take everything
  const merg::SessionId session = client.OpenSession(options.session);
  const merg::RequestId request =
      client.Say(session, options.text, options.emotion, options.intensity);

  std::vector<std::string> names;
  int fps = options.session.fps;
  int sample_rate = options.session.sample_rate;
  std::string reason;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(options.timeout_s);
  merg::Event event;
  while (reason.empty() && std::chrono::steady_clock::now() < deadline) {
    if (!client.PollEvent(&event)) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
      continue;
    }
    switch (event.type) {
      case merg::EventType::kConnected:
        std::printf("connected to %s %s\n", event.server_name.c_str(),
                    event.server_version.c_str());
        break;
      case merg::EventType::kSessionOpened:
        names = event.names;
        fps = event.fps;
        sample_rate = event.sample_rate;
        std::printf("session %s: rig %s (%zu names), %d fps, %d Hz\n", event.sid.c_str(),
                    event.rig.c_str(), names.size(), fps, sample_rate);
        break;
      case merg::EventType::kReply:
        if (!event.text.empty()) std::printf("reply: %s\n", event.text.c_str());
        break;
      case merg::EventType::kTurnEnd:
        if (event.request == request || event.local) reason = event.reason;
        break;
      case merg::EventType::kError:
        std::fprintf(stderr, "error %s: %s\n", event.code_name.c_str(), event.message.c_str());
        if (event.request == request || event.code == merg::ErrorCode::kVersionMismatch) {
          reason = "error";
        }
        break;
      case merg::EventType::kDisconnected:
        std::fprintf(stderr, "disconnected (%s): %s; retrying\n", event.code_name.c_str(),
                     event.message.c_str());
        break;
      default:
        break;
    }
  }
  client.Stop();  // the network thread is gone: the collected data is ours alone
  if (reason.empty()) {
    std::fprintf(stderr, "no turn.end within %d s\n", options.timeout_s);
    return 1;
  }
  const std::string wav = options.out + ".wav";
  const std::string csv = options.out + ".csv";
  if (!WriteWav(wav, pcm, sample_rate) || !WriteCsv(csv, names, rows, fps)) {
    std::fprintf(stderr, "could not write %s / %s\n", wav.c_str(), csv.c_str());
    return 1;
  }
  const size_t stride = names.size() + 7;
  std::printf("turn %s: %.2f s of audio -> %s, %zu frames -> %s\n", reason.c_str(),
              static_cast<double>(pcm.size()) / sample_rate, wav.c_str(),
              stride > 0 ? rows.size() / stride : 0, csv.c_str());
  return reason == "done" ? 0 : 1;
}
