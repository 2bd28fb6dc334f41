// The client against the real Python server on loopback (one `merg serve` for the whole
// binary, see server_env.cpp), plus a few fake servers for what the real one never does.
#include <gtest/gtest.h>
#include <zmq.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "alloc_counter.h"
#include "merg/merg.h"
#include "server_env.h"

namespace {

using merg::ErrorCode;
using merg::Event;
using merg::EventType;
using merg::SessionId;
using merg::SessionOptions;
using Clock = std::chrono::steady_clock;

const char* const kLine = "Hello there, my friend. Maybe we should buy a map!";
const char* const kLongLine =
    "Once upon a time, in a village by the sea, there lived an old fisherman who told the "
    "longest stories anyone had ever heard. Every evening the children gathered around him, "
    "and every evening he began a new tale about storms, whales and lost islands.";

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Everything the network thread delivered for one turn, in arrival order.
struct TurnData {
  std::vector<int64_t> t0s;
  std::vector<size_t> sizes;
  std::vector<int16_t> pcm;
  std::vector<int64_t> f0s;
  std::vector<int> counts;
  std::vector<float> rows;  // per frame: names weights, 3 head, 4 eyes
  int names = 0;
  int64_t samples = 0;
  int64_t frames = 0;
  int chunks_after_end = 0;  // audio/face delivered after this turn's turn.end
  bool ended = false;
};

// A client wired to the shared server, recording callbacks and polled events.
class Harness {
 public:
  explicit Harness(std::function<void(merg::ClientConfig*)> tweak = nullptr,
                   bool record_data = true) {
    merg::ClientConfig config;
    config.endpoint = merg_test::SharedServer().endpoint();
    config.client.name = "merg-cpp-tests";
    config.reconnect_max_ms = 1000;
    if (record_data) {
      config.callbacks.on_audio = [this](const merg::AudioChunk& chunk) {
        std::lock_guard<std::mutex> lock(mutex_);
        TurnData& turn = turns_[{chunk.session, chunk.turn}];
        if (turn.ended) ++turn.chunks_after_end;
        turn.t0s.push_back(chunk.t0);
        turn.sizes.push_back(chunk.samples);
        turn.pcm.insert(turn.pcm.end(), chunk.pcm, chunk.pcm + chunk.samples);
        turn.samples += static_cast<int64_t>(chunk.samples);
      };
      config.callbacks.on_face = [this](const merg::FaceBlock& block) {
        std::lock_guard<std::mutex> lock(mutex_);
        TurnData& turn = turns_[{block.session, block.turn}];
        if (turn.ended) ++turn.chunks_after_end;
        turn.names = block.names;
        turn.f0s.push_back(block.f0);
        turn.counts.push_back(block.count);
        for (int f = 0; f < block.count; ++f) {
          const float* w = block.weights + static_cast<size_t>(f) * block.names;
          turn.rows.insert(turn.rows.end(), w, w + block.names);
          for (int c = 0; c < 3; ++c) turn.rows.push_back(block.head ? block.head[f * 3 + c] : 0);
          for (int c = 0; c < 4; ++c) turn.rows.push_back(block.eyes ? block.eyes[f * 4 + c] : 0);
        }
        turn.frames += block.count;
      };
    }
    config.callbacks.on_event = [this](const Event& event) {
      std::lock_guard<std::mutex> lock(mutex_);
      if (event.type == EventType::kError) callback_errors_.push_back(event);
      if (event.type == EventType::kTurnEnd) turns_[{event.session, event.turn}].ended = true;
    };
    if (tweak) tweak(&config);
    client_.reset(new merg::Client(config));
    started_ = client_->Start();
  }

  // The network thread calls into this object: stop it before any member goes away.
  ~Harness() { client_->Stop(); }

  merg::Client& client() { return *client_; }
  bool started() const { return started_; }

  // Poll events until one matches (all are kept in `events`).
  bool WaitFor(const std::function<bool(const Event&)>& match, double timeout_s,
               Event* out = nullptr) {
    const auto start = Clock::now();
    Event event;
    while (SecondsSince(start) < timeout_s) {
      if (!client_->PollEvent(&event)) {
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
        continue;
      }
      events.push_back(event);
      if (match(event)) {
        if (out != nullptr) *out = event;
        return true;
      }
    }
    return false;
  }

  bool WaitType(EventType type, double timeout_s, Event* out = nullptr) {
    return WaitFor([type](const Event& e) { return e.type == type; }, timeout_s, out);
  }

  SessionId Open(const SessionOptions& options = SessionOptions(), Event* opened = nullptr) {
    const SessionId id = client_->OpenSession(options);
    if (id == 0) return 0;
    Event event;
    const bool ok = WaitFor(
        [id](const Event& e) {
          return e.session == id &&
                 (e.type == EventType::kSessionOpened || e.type == EventType::kSessionClosed);
        },
        60, &event);
    if (!ok || event.type != EventType::kSessionOpened) return 0;
    if (opened != nullptr) *opened = event;
    return id;
  }

  // Wait for the turn.end of request `request`.
  bool WaitTurnEnd(merg::RequestId request, double timeout_s, Event* out) {
    return WaitFor(
        [request](const Event& e) { return e.type == EventType::kTurnEnd && e.request == request; },
        timeout_s, out);
  }

  TurnData Turn(SessionId session, int turn) {
    std::lock_guard<std::mutex> lock(mutex_);
    return turns_[{session, turn}];
  }

  int64_t SamplesSoFar(SessionId session, int turn) {
    std::lock_guard<std::mutex> lock(mutex_);
    return turns_[{session, turn}].samples;
  }

  std::vector<Event> CallbackErrors() {
    std::lock_guard<std::mutex> lock(mutex_);
    return callback_errors_;
  }

  const Event* Find(const std::function<bool(const Event&)>& match) const {
    for (const Event& event : events) {
      if (match(event)) return &event;
    }
    return nullptr;
  }

  std::vector<Event> events;

 private:
  std::unique_ptr<merg::Client> client_;
  bool started_ = false;
  std::mutex mutex_;
  std::map<std::pair<int, int>, TurnData> turns_;
  std::vector<Event> callback_errors_;
};

#define REQUIRE_SERVER()                                                            \
  ASSERT_TRUE(merg_test::SharedServerReady())                                       \
      << "the MERG server did not start: " << merg_test::SharedServerError() << "\n" \
      << merg_test::SharedServer().LogTail()

int64_t CeilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

// --- handshake ---------------------------------------------------------------------------

TEST(Server, HandshakeAndCapabilities) {
  REQUIRE_SERVER();
  Harness h;
  ASSERT_TRUE(h.started());
  Event connected;
  ASSERT_TRUE(h.WaitType(EventType::kConnected, 30, &connected));
  EXPECT_EQ(connected.server_name, "merg-sdk");
  EXPECT_FALSE(connected.server_version.empty());
  EXPECT_EQ(connected.reconnects, 0);
  EXPECT_NE(connected.json.find("\"rigs\""), std::string::npos);
  EXPECT_TRUE(h.client().ready());

  const merg::ServerInfo info = h.client().GetServerInfo();
  auto has = [](const std::vector<std::string>& list, const char* item) {
    return std::find(list.begin(), list.end(), item) != list.end();
  };
  EXPECT_TRUE(has(info.rigs, "arkit52"));
  EXPECT_TRUE(has(info.rigs, "livelink"));
  EXPECT_FALSE(info.voices.empty());
  EXPECT_TRUE(has(info.features, "say"));
  EXPECT_TRUE(has(info.features, "interrupt"));
  EXPECT_TRUE(has(info.features, "resume"));
  EXPECT_TRUE(has(info.emotions, "happy"));
  EXPECT_NE(std::find(info.fps.begin(), info.fps.end(), 60), info.fps.end());
  EXPECT_NE(std::find(info.sample_rates.begin(), info.sample_rates.end(), 22050),
            info.sample_rates.end());

  ASSERT_TRUE(h.client().Ping());
  Event pong;
  ASSERT_TRUE(h.WaitType(EventType::kPong, 10, &pong));
  EXPECT_GT(pong.server_t, 1e9);  // the server's wall clock
  EXPECT_GT(pong.t, 1e9);         // ours, echoed
}

// --- a say turn --------------------------------------------------------------------------

struct Format {
  int fps;
  int sample_rate;
};

class SayTurn : public ::testing::TestWithParam<Format> {};

TEST_P(SayTurn, IsContiguousAndComplete) {
  REQUIRE_SERVER();
  const Format format = GetParam();
  Harness h;
  SessionOptions options;
  options.fps = format.fps;
  options.sample_rate = format.sample_rate;
  Event opened;
  const SessionId session = h.Open(options, &opened);
  ASSERT_NE(session, 0);
  EXPECT_EQ(opened.rig, "arkit52");
  ASSERT_EQ(opened.names.size(), 52u);
  for (int i = 0; i < 52; ++i) EXPECT_EQ(opened.names[i], merg::kArkit52Names[i]);
  EXPECT_EQ(opened.fps, format.fps);
  EXPECT_EQ(opened.sample_rate, format.sample_rate);
  EXPECT_FALSE(opened.resumed);
  EXPECT_EQ(opened.sid.size(), 22u);

  const merg::RequestId request = h.client().Say(session, kLine, "happy", 0.8f);
  ASSERT_NE(request, 0u);
  Event end;
  ASSERT_TRUE(h.WaitTurnEnd(request, 60, &end));
  EXPECT_EQ(end.reason, "done");
  const Event* start = h.Find([&](const Event& e) {
    return e.type == EventType::kTurnStart && e.request == request;
  });
  ASSERT_NE(start, nullptr);
  EXPECT_EQ(start->source, "say");
  EXPECT_EQ(start->turn, end.turn);
  EXPECT_FALSE(start->discarded);
  int replies = 0;
  bool final_reply = false;
  for (const Event& e : h.events) {
    if (e.type != EventType::kReply || e.turn != end.turn) continue;
    ++replies;
    final_reply = e.final;
    EXPECT_EQ(e.emotion, "happy");
    EXPECT_FALSE(e.text.empty());
    EXPECT_EQ(e.json.front(), '[');  // phonemes
  }
  EXPECT_EQ(replies, 2);
  EXPECT_TRUE(final_reply);

  const TurnData turn = h.Turn(session, end.turn);
  // Contiguous audio: each t0 is where the previous chunk ended.
  int64_t expected_t0 = 0;
  for (size_t i = 0; i < turn.t0s.size(); ++i) {
    EXPECT_EQ(turn.t0s[i], expected_t0) << "chunk " << i;
    expected_t0 += static_cast<int64_t>(turn.sizes[i]);
  }
  EXPECT_EQ(expected_t0, turn.samples);
  // Contiguous frames: each f0 is the previous f0 + count.
  int64_t expected_f0 = 0;
  for (size_t i = 0; i < turn.f0s.size(); ++i) {
    EXPECT_EQ(turn.f0s[i], expected_f0) << "face block " << i;
    expected_f0 += turn.counts[i];
  }
  EXPECT_GT(turn.samples, format.sample_rate);  // more than a second of speech
  EXPECT_EQ(turn.samples, end.stats.samples);
  EXPECT_EQ(turn.frames, end.stats.frames);
  EXPECT_EQ(turn.frames, CeilDiv(turn.samples * format.fps, format.sample_rate));
  EXPECT_EQ(turn.names, 52);
  EXPECT_EQ(turn.chunks_after_end, 0);
  // The face moves while it speaks: jawOpen opens at some point.
  float jaw = 0;
  for (int64_t f = 0; f < turn.frames; ++f) jaw = std::max(jaw, turn.rows[f * (52 + 7) + 17]);
  EXPECT_GT(jaw, 0.1f);

  // The jitter buffer holds the same turn, sample for sample.
  std::shared_ptr<merg::JitterBuffer> buffer = h.client().Buffer(session);
  ASSERT_NE(buffer, nullptr);
  const merg::BufferStatus status = buffer->Status();
  EXPECT_EQ(status.turn, end.turn);
  EXPECT_TRUE(status.complete);
  EXPECT_EQ(status.received, turn.samples);
  EXPECT_EQ(status.frames, turn.frames);
  std::vector<int16_t> played(turn.pcm.size() + 1000);
  size_t got = 0;
  merg::AudioRead info;
  while (got < played.size()) {
    const size_t n = buffer->ReadAudio(played.data() + got, 1024, &info);
    got += n;
    if (info.state == merg::PlayState::kFinished || n == 0) break;
  }
  ASSERT_EQ(got, turn.pcm.size());
  EXPECT_EQ(0, std::memcmp(played.data(), turn.pcm.data(), got * sizeof(int16_t)));
  EXPECT_EQ(info.state, merg::PlayState::kFinished);
}

INSTANTIATE_TEST_SUITE_P(Formats, SayTurn,
                         ::testing::Values(Format{60, 22050}, Format{30, 48000},
                                           Format{120, 16000}),
                         [](const ::testing::TestParamInfo<Format>& param) {
                           return std::to_string(param.param.fps) + "fps_" +
                                  std::to_string(param.param.sample_rate) + "Hz";
                         });

TEST(Server, LiveLinkRigStreams61Curves) {
  REQUIRE_SERVER();
  Harness h;
  SessionOptions options;
  options.rig = "livelink";
  Event opened;
  const SessionId session = h.Open(options, &opened);
  ASSERT_NE(session, 0);
  ASSERT_EQ(opened.names.size(), 61u);
  for (int i = 0; i < 61; ++i) EXPECT_EQ(opened.names[i], merg::kLiveLinkNames[i]);
  const merg::RequestId request = h.client().Say(session, "Live Link.");
  Event end;
  ASSERT_TRUE(h.WaitTurnEnd(request, 60, &end));
  const TurnData turn = h.Turn(session, end.turn);
  EXPECT_EQ(turn.names, 61);
  EXPECT_EQ(turn.frames, end.stats.frames);
  // The server's own Live Link columns agree with its head channel: HeadYaw = -yaw.
  for (int64_t f = 0; f < turn.frames; ++f) {
    const float* row = &turn.rows[f * (61 + 7)];
    ASSERT_NEAR(row[52], -row[61 + 1], 1e-6) << "frame " << f;
    ASSERT_NEAR(row[53], row[61 + 0], 1e-6) << "frame " << f;
  }
}

// --- the sampler on real turns -----------------------------------------------------------

class Sampler : public ::testing::TestWithParam<Format> {};

TEST_P(Sampler, InterpolatesExactlyAtThePlaybackPosition) {
  REQUIRE_SERVER();
  const Format format = GetParam();
  Harness h;
  SessionOptions options;
  options.fps = format.fps;
  options.sample_rate = format.sample_rate;
  const SessionId session = h.Open(options);
  ASSERT_NE(session, 0);
  const merg::RequestId request = h.client().Say(session, kLine);
  Event end;
  ASSERT_TRUE(h.WaitTurnEnd(request, 60, &end));
  const TurnData turn = h.Turn(session, end.turn);
  std::shared_ptr<merg::JitterBuffer> buffer = h.client().Buffer(session);
  ASSERT_NE(buffer, nullptr);
  const int stride = 52 + 7;
  float w[52], head[3], eyes[4];
  // Drive the sampler with the audio clock: read like an audio device, sample each block.
  std::vector<int16_t> block(441);
  merg::AudioRead info;
  int exact = 0;
  int blended = 0;
  do {
    buffer->ReadAudio(block.data(), block.size(), &info);
    const int64_t position = info.position;
    const merg::FaceSample sample = buffer->SampleFace(position, w, head, eyes);
    const int64_t scaled = position * format.fps;
    const int64_t frame = scaled / format.sample_rate;
    const int64_t remainder = scaled % format.sample_rate;
    ASSERT_EQ(sample.turn, end.turn);
    if (frame + 1 >= turn.frames) {
      // Exactly on the last frame is exact; anywhere past it is the end of the turn.
      const bool on_last = frame == turn.frames - 1 && remainder == 0;
      EXPECT_EQ(sample.status, on_last ? merg::SampleStatus::kExact : merg::SampleStatus::kEnded);
      EXPECT_EQ(0, std::memcmp(w, &turn.rows[(turn.frames - 1) * stride], sizeof w));
      continue;
    }
    ASSERT_EQ(sample.frame, frame);
    const float* a = &turn.rows[frame * stride];
    const float* b = &turn.rows[(frame + 1) * stride];
    if (remainder == 0) {
      ++exact;
      ASSERT_EQ(sample.status, merg::SampleStatus::kExact);
      ASSERT_EQ(0, std::memcmp(w, a, sizeof w)) << "frame " << frame << " not returned as is";
      ASSERT_EQ(0, std::memcmp(head, a + 52, sizeof head));
    } else {
      ++blended;
      ASSERT_EQ(sample.status, merg::SampleStatus::kInterpolated);
      const double alpha = static_cast<double>(remainder) / format.sample_rate;
      for (int i = 0; i < 52; ++i) {
        ASSERT_NEAR(w[i], a[i] + (b[i] - a[i]) * alpha, 1e-6) << "frame " << frame << " col " << i;
      }
      for (int i = 0; i < 3; ++i) ASSERT_NEAR(head[i], a[52 + i] + (b[52 + i] - a[52 + i]) * alpha, 1e-6);
      for (int i = 0; i < 4; ++i) ASSERT_NEAR(eyes[i], a[55 + i] + (b[55 + i] - a[55 + i]) * alpha, 1e-6);
    }
  } while (info.state != merg::PlayState::kFinished);
  EXPECT_EQ(info.position, turn.samples);
  EXPECT_GT(blended, 10);
  if (format.sample_rate % format.fps == 0 && 441 % (format.sample_rate / format.fps) == 0) {
    EXPECT_GT(exact, 0);
  }
  // Exact on every frame's own position (where that position is a whole sample).
  for (int64_t f = 0; f + 1 < turn.frames; ++f) {
    if ((f * format.sample_rate) % format.fps != 0) continue;
    const int64_t position = f * format.sample_rate / format.fps;
    const merg::FaceSample sample = buffer->SampleFace(position, w, head, eyes);
    if (sample.status == merg::SampleStatus::kClamped) continue;  // released behind playback
    ASSERT_EQ(sample.status, merg::SampleStatus::kExact) << f;
    ASSERT_EQ(0, std::memcmp(w, &turn.rows[f * stride], sizeof w)) << f;
    ++exact;
  }
  EXPECT_GT(exact, 0);
}

INSTANTIATE_TEST_SUITE_P(Formats, Sampler,
                         ::testing::Values(Format{60, 48000}, Format{60, 22050}),
                         [](const ::testing::TestParamInfo<Format>& param) {
                           return std::to_string(param.param.fps) + "fps_" +
                                  std::to_string(param.param.sample_rate) + "Hz";
                         });

// A long turn (>= 10 s) at 60 fps on the audio clock: step the playback position through
// the whole turn in audio-callback-sized reads and check, at every step, that the sampled
// frame is floor(position * fps / rate) exactly (no drift accumulates, however long the
// turn), and that every frame position gives back the received frame bit for bit.
TEST(Server, LongTurnSamplerHasZeroDriftAt60Fps) {
  REQUIRE_SERVER();
  const int fps = 60;
  const int rate = 48000;
  const size_t kCallback = 512;  // samples per audio callback
  // Three sentences: comfortably over 10 s, and well under the jitter buffer's 30 s (the
  // whole turn is received before playback starts here).
  const char* const kVeryLongLine =
      "Once upon a time, in a quiet village by the sea, there lived an old fisherman who told "
      "the longest stories anyone had ever heard. Every evening the children gathered around "
      "his little fire, and every evening he began a brand new tale about storms, whales and "
      "islands that nobody could find on any map.";
  Harness h;
  SessionOptions options;
  options.fps = fps;
  options.sample_rate = rate;
  const SessionId session = h.Open(options);
  ASSERT_NE(session, 0);
  const merg::RequestId request = h.client().Say(session, kVeryLongLine);
  Event end;
  ASSERT_TRUE(h.WaitTurnEnd(request, 180, &end));
  ASSERT_EQ(end.reason, "done");
  const TurnData turn = h.Turn(session, end.turn);
  ASSERT_GE(turn.samples, int64_t{10} * rate) << "the turn is shorter than 10 s";
  ASSERT_EQ(turn.frames, CeilDiv(turn.samples * fps, rate));
  std::shared_ptr<merg::JitterBuffer> buffer = h.client().Buffer(session);
  ASSERT_NE(buffer, nullptr);
  const int stride = 52 + 7;
  float w[52], head[3], eyes[4];
  std::vector<int16_t> block(kCallback);
  merg::AudioRead info;
  int64_t previous = 0;
  int64_t steps = 0;
  int64_t exact_steps = 0;
  int64_t frames_checked = 0;
  int64_t next_frame = 0;  // the next frame whose own position is checked
  const int64_t max_steps = turn.samples / static_cast<int64_t>(kCallback) + 1000;
  do {
    buffer->ReadAudio(block.data(), block.size(), &info);
    ASSERT_EQ(info.turn, end.turn);
    ASSERT_FALSE(info.underrun);
    const int64_t position = info.position;
    ASSERT_GE(position, previous);
    ASSERT_LE(position - previous, static_cast<int64_t>(kCallback));
    ++steps;
    ASSERT_LT(steps, max_steps) << "playback does not advance";
    // The frame at the position, on the audio clock.
    const int64_t expected = position * fps / rate;  // floor: positions are >= 0
    const merg::FaceSample sample = buffer->SampleFace(position, w, head, eyes);
    ASSERT_EQ(sample.turn, end.turn);
    if (expected < turn.frames - 1 ||
        (expected == turn.frames - 1 && (position * fps) % rate == 0)) {
      ASSERT_EQ(sample.frame, expected) << "position " << position;
      if ((position * fps) % rate == 0) {
        ++exact_steps;
        ASSERT_EQ(sample.status, merg::SampleStatus::kExact) << "position " << position;
        ASSERT_EQ(0, std::memcmp(w, &turn.rows[expected * stride], sizeof w)) << expected;
      } else {
        ASSERT_EQ(sample.status, merg::SampleStatus::kInterpolated) << "position " << position;
      }
    } else {
      // Past the last frame: the turn has ended, the last frame is held.
      ASSERT_GE(expected, turn.frames - 1) << "position " << position;
      ASSERT_EQ(sample.status, merg::SampleStatus::kEnded);
      ASSERT_EQ(sample.frame, turn.frames - 1);
      ASSERT_EQ(0, std::memcmp(w, &turn.rows[(turn.frames - 1) * stride], sizeof w));
    }
    // Every frame whose position was played in this step, sampled at its own position
    // (i * rate / fps is a whole sample at 48 kHz / 60 fps): the received frame, bit-exact.
    while (next_frame < turn.frames && next_frame * rate / fps <= position) {
      const int64_t at = next_frame * rate / fps;
      ASSERT_EQ(at * fps / rate, next_frame);
      const merg::FaceSample on = buffer->SampleFace(at, w, head, eyes);
      ASSERT_EQ(on.status, merg::SampleStatus::kExact) << "frame " << next_frame;
      ASSERT_EQ(on.frame, next_frame);
      const float* row = &turn.rows[next_frame * stride];
      ASSERT_EQ(0, std::memcmp(w, row, sizeof w)) << "frame " << next_frame;
      ASSERT_EQ(0, std::memcmp(head, row + 52, sizeof head)) << "frame " << next_frame;
      ASSERT_EQ(0, std::memcmp(eyes, row + 55, sizeof eyes)) << "frame " << next_frame;
      ++frames_checked;
      ++next_frame;
    }
    previous = position;
  } while (info.state != merg::PlayState::kFinished);
  EXPECT_EQ(info.position, turn.samples);
  EXPECT_EQ(frames_checked, turn.frames);
  EXPECT_GE(steps, turn.samples / static_cast<int64_t>(kCallback));
  EXPECT_GT(exact_steps, 0);  // 512 and 800 samples per frame meet every 12800 samples
  std::printf("[ long turn ] %.2f s of audio (%lld samples at %d Hz), %lld frames at %d fps, "
              "%lld steps of %zu samples, %lld exact steps, zero drift\n",
              static_cast<double>(turn.samples) / rate, static_cast<long long>(turn.samples),
              rate, static_cast<long long>(turn.frames), fps, static_cast<long long>(steps),
              kCallback, static_cast<long long>(exact_steps));
}

TEST(Server, SamplerNeverReadsPastWhatArrived) {
  REQUIRE_SERVER();
  // Sample far ahead while the turn streams in: always the newest frame that arrived.
  Harness h;
  const SessionId session = h.Open();
  ASSERT_NE(session, 0);
  std::shared_ptr<merg::JitterBuffer> buffer = h.client().Buffer(session);
  const merg::RequestId request = h.client().Say(session, kLongLine);
  float w[52];
  int held = 0;
  bool ended = false;
  const auto start = Clock::now();
  Event event;
  while (!ended && SecondsSince(start) < 60) {
    const merg::BufferStatus before = buffer->Status();
    const merg::FaceSample sample = buffer->SampleFace(int64_t{1} << 40, w, nullptr, nullptr);
    const merg::BufferStatus after = buffer->Status();
    if (sample.status == merg::SampleStatus::kHeld) {
      ++held;
      EXPECT_GE(sample.frame, before.frames - 1);
      EXPECT_LT(sample.frame, after.frames);  // never a frame that had not arrived
    }
    while (h.client().PollEvent(&event)) {
      ended |= event.type == EventType::kTurnEnd && event.request == request;
    }
    std::this_thread::sleep_for(std::chrono::microseconds(300));
  }
  ASSERT_TRUE(ended);
  const merg::FaceSample last = buffer->SampleFace(int64_t{1} << 40, w, nullptr, nullptr);
  EXPECT_EQ(last.status, merg::SampleStatus::kEnded);
  EXPECT_EQ(last.frame, buffer->Status().frames - 1);
  EXPECT_GT(held, 0);
}

// --- the jitter buffer against a real stream ---------------------------------------------

TEST(Server, FullBufferHoldsTheTurnBackWithoutLoss) {
  REQUIRE_SERVER();
  Harness h;
  SessionOptions options;
  options.jitter.capacity_s = 1.0;  // far less than the turn: the server must wait for us
  const SessionId session = h.Open(options);
  ASSERT_NE(session, 0);
  std::shared_ptr<merg::JitterBuffer> buffer = h.client().Buffer(session);
  const merg::RequestId request = h.client().Say(session, kLongLine);
  // Play it back "too fast" (as fast as possible, but only once the ring has filled).
  std::vector<int16_t> out(2048);
  merg::AudioRead info;
  int64_t played = 0;
  bool ended = false;
  Event end;
  const auto start = Clock::now();
  std::this_thread::sleep_for(std::chrono::milliseconds(800));  // let the ring fill up
  Event event;
  while (SecondsSince(start) < 90) {
    played += static_cast<int64_t>(buffer->ReadAudio(out.data(), out.size(), &info));
    while (h.client().PollEvent(&event)) {
      if (event.type == EventType::kTurnEnd && event.request == request) {
        ended = true;
        end = event;
      }
    }
    if (ended && info.state == merg::PlayState::kFinished) break;
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  ASSERT_TRUE(ended);
  EXPECT_EQ(end.reason, "done");
  EXPECT_GT(end.stats.audio_s, 3.0);  // longer than the 1 s ring
  EXPECT_EQ(played, end.stats.samples);
  EXPECT_EQ(h.Turn(session, end.turn).samples, end.stats.samples);
  EXPECT_GT(h.client().GetStats().stalls, 0u);
}

// --- interrupts --------------------------------------------------------------------------

TEST(Server, InterruptEndsTheTurnAndNothingOfItFollows) {
  REQUIRE_SERVER();
  Harness h;
  const SessionId session = h.Open();
  ASSERT_NE(session, 0);
  std::shared_ptr<merg::JitterBuffer> buffer = h.client().Buffer(session);
  const merg::RequestId request = h.client().Say(session, kLongLine);
  Event start;
  ASSERT_TRUE(h.WaitFor(
      [&](const Event& e) { return e.type == EventType::kTurnStart && e.request == request; }, 30,
      &start));
  // Wait until the first audio has arrived, then barge in.
  const auto begin = Clock::now();
  while (h.SamplesSoFar(session, start.turn) == 0 && SecondsSince(begin) < 30) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ASSERT_GT(h.SamplesSoFar(session, start.turn), 0);
  ASSERT_TRUE(h.client().Interrupt(session));
  // Playback stops at once, before the server has even heard of it.
  std::vector<int16_t> out(512);
  merg::AudioRead info;
  EXPECT_EQ(buffer->ReadAudio(out.data(), out.size(), &info), 0u);
  EXPECT_EQ(info.state, merg::PlayState::kIdle);

  Event end;
  ASSERT_TRUE(h.WaitTurnEnd(request, 30, &end));
  EXPECT_EQ(end.reason, "interrupted");
  EXPECT_EQ(end.turn, start.turn);
  EXPECT_TRUE(end.discarded);
  EXPECT_GE(end.stats.samples, h.Turn(session, start.turn).samples);
  // Nothing of that turn after its turn.end, in the callbacks or the buffer.
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  EXPECT_EQ(h.Turn(session, start.turn).chunks_after_end, 0);
  EXPECT_EQ(buffer->ReadAudio(out.data(), out.size(), &info), 0u);
  Event stray;
  EXPECT_FALSE(h.WaitFor(
      [&](const Event& e) { return e.turn == start.turn && e.type != EventType::kError; }, 0.3,
      &stray))
      << "event " << merg::EventTypeName(stray.type) << " of the interrupted turn";

  // The session carries on.
  const merg::RequestId again = h.client().Say(session, "Sorry, go on.");
  Event next;
  ASSERT_TRUE(h.WaitTurnEnd(again, 60, &next));
  EXPECT_EQ(next.reason, "done");
  EXPECT_EQ(next.turn, start.turn + 1);
  EXPECT_FALSE(next.discarded);
  EXPECT_GT(h.Turn(session, next.turn).samples, 0);
}

TEST(Server, InterruptBeforeTheTurnStartsDropsItWhole) {
  REQUIRE_SERVER();
  Harness h;
  const SessionId session = h.Open();
  ASSERT_NE(session, 0);
  const merg::RequestId request = h.client().Say(session, kLongLine);
  ASSERT_TRUE(h.client().Interrupt(session));
  Event end;
  ASSERT_TRUE(h.WaitTurnEnd(request, 30, &end));
  EXPECT_EQ(end.reason, "interrupted");
  EXPECT_TRUE(end.discarded);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const TurnData turn = h.Turn(session, end.turn);
  EXPECT_EQ(turn.samples, 0);
  EXPECT_EQ(turn.frames, 0);
  EXPECT_EQ(h.client().Buffer(session)->Status().received, 0);
}

// --- errors ------------------------------------------------------------------------------

TEST(Server, ErrorsReachTheHostWithTheServersStableCodes) {
  REQUIRE_SERVER();
  Harness owner;
  Event opened;
  const SessionId owned = owner.Open(SessionOptions(), &opened);
  ASSERT_NE(owned, 0);

  Harness h;
  // Another client's live session: unknown_session.
  SessionOptions steal;
  steal.resume_sid = opened.sid;
  const SessionId stolen = h.client().OpenSession(steal);
  ASSERT_NE(stolen, 0);
  Event error;
  ASSERT_TRUE(h.WaitFor(
      [&](const Event& e) { return e.type == EventType::kError && e.session == stolen; }, 30,
      &error));
  EXPECT_EQ(error.code, ErrorCode::kUnknownSession);
  EXPECT_EQ(error.code_name, "unknown_session");
  EXPECT_FALSE(error.local);
  EXPECT_FALSE(error.message.empty());
  Event closed;
  ASSERT_TRUE(h.WaitFor(
      [&](const Event& e) { return e.type == EventType::kSessionClosed && e.session == stolen; },
      10, &closed));
  EXPECT_EQ(closed.reason, "open_failed");
  // The same error reached the callback on the network thread.
  const std::vector<Event> via_callback = h.CallbackErrors();
  ASSERT_FALSE(via_callback.empty());
  EXPECT_EQ(via_callback.front().code, ErrorCode::kUnknownSession);
  EXPECT_EQ(via_callback.front().session, stolen);

  // An fps the server does not offer: unsupported.
  SessionOptions odd;
  odd.fps = 25;
  const SessionId bad = h.client().OpenSession(odd);
  ASSERT_TRUE(h.WaitFor(
      [&](const Event& e) { return e.type == EventType::kError && e.session == bad; }, 30, &error));
  EXPECT_EQ(error.code, ErrorCode::kUnsupported);

  // Errors about a request carry its RequestId.
  const SessionId session = h.Open();
  ASSERT_NE(session, 0);
  const merg::RequestId moody = h.client().Say(session, "Hello.", "grumpy");
  ASSERT_TRUE(h.WaitFor(
      [&](const Event& e) { return e.type == EventType::kError && e.request == moody; }, 30,
      &error));
  EXPECT_EQ(error.code, ErrorCode::kUnsupported);
  EXPECT_EQ(error.session, session);
  const merg::RequestId wordless = h.client().Say(session, "... !!");
  ASSERT_TRUE(h.WaitFor(
      [&](const Event& e) { return e.type == EventType::kError && e.request == wordless; }, 30,
      &error));
  EXPECT_EQ(error.code, ErrorCode::kBadMessage);
  const merg::RequestId loud = h.client().Say(session, "Hello.", "", 1.5f);
  ASSERT_TRUE(h.WaitFor(
      [&](const Event& e) { return e.type == EventType::kError && e.request == loud; }, 30,
      &error));
  EXPECT_EQ(error.code, ErrorCode::kBadMessage);
  // A local id that names no session: a local error, nothing sent.
  const merg::RequestId nowhere = h.client().Say(12345, "Hello.");
  ASSERT_TRUE(h.WaitFor(
      [&](const Event& e) { return e.type == EventType::kError && e.request == nowhere; }, 10,
      &error));
  EXPECT_TRUE(error.local);
  EXPECT_EQ(error.code, ErrorCode::kUnknownSession);
  // After all that the session still speaks.
  const merg::RequestId fine = h.client().Say(session, "Still here.");
  Event end;
  ASSERT_TRUE(h.WaitTurnEnd(fine, 60, &end));
  EXPECT_EQ(end.reason, "done");
}

TEST(Server, SessionsCloseAndRequestsWaitForTheirSession) {
  REQUIRE_SERVER();
  Harness h;
  // Said before the session is even open: sent once it is.
  const SessionId session = h.client().OpenSession();
  const merg::RequestId early = h.client().Say(session, "Early bird.");
  Event end;
  ASSERT_TRUE(h.WaitTurnEnd(early, 60, &end));
  EXPECT_EQ(end.reason, "done");
  merg::SessionInfo info;
  ASSERT_TRUE(h.client().GetSessionInfo(session, &info));
  EXPECT_TRUE(info.open);
  EXPECT_EQ(info.names.size(), 52u);
  ASSERT_TRUE(h.client().CloseSession(session));
  Event closed;
  ASSERT_TRUE(h.WaitType(EventType::kSessionClosed, 30, &closed));
  EXPECT_EQ(closed.session, session);
  EXPECT_EQ(closed.reason, "closed");
  EXPECT_FALSE(h.client().GetSessionInfo(session, &info));
}

// --- user.text: the empathy pipeline -----------------------------------------------------

TEST(Server, UserTextTurn) {
  REQUIRE_SERVER();
  Harness h;
  const SessionId session = h.Open();
  ASSERT_NE(session, 0);
  const merg::RequestId request = h.client().SendText(session, "I had a rough day at work today.");
  Event end;
  ASSERT_TRUE(h.WaitTurnEnd(request, 120, &end));
  EXPECT_TRUE(end.reason == "done" || end.reason == "error") << end.reason;
  // turn.start ... user.affect ... reasoning ... reply ... turn.end, in that order.
  int at_start = -1, at_affect = -1, at_reasoning = -1, at_reply = -1, at_end = -1;
  for (size_t i = 0; i < h.events.size(); ++i) {
    const Event& e = h.events[i];
    if (e.session != session || e.turn != end.turn) continue;
    const int index = static_cast<int>(i);
    if (e.type == EventType::kTurnStart && at_start < 0) at_start = index;
    if (e.type == EventType::kUserAffect && at_affect < 0) at_affect = index;
    if (e.type == EventType::kReasoning && at_reasoning < 0) at_reasoning = index;
    if (e.type == EventType::kReply && at_reply < 0) at_reply = index;
    if (e.type == EventType::kTurnEnd) at_end = index;
  }
  ASSERT_GE(at_start, 0);
  ASSERT_GE(at_reply, 0);
  EXPECT_LT(at_start, at_reply);
  EXPECT_LT(at_reply, at_end);
  EXPECT_EQ(h.events[at_start].source, "user.text");
  EXPECT_EQ(h.events[at_start].request, request);
  ASSERT_GE(at_affect, 0);
  EXPECT_LT(at_start, at_affect);
  const Event& affect = h.events[at_affect];
  EXPECT_FALSE(affect.emotion.empty());
  EXPECT_GE(affect.confidence, 0.0f);
  EXPECT_NE(affect.json.find("\"text\""), std::string::npos);  // `by`
  ASSERT_GE(at_reasoning, 0);
  EXPECT_NE(h.events[at_reasoning].json.find("strategy"), std::string::npos);
  EXPECT_FALSE(h.events[at_reply].text.empty());
  // The avatar spoke its reply.
  const TurnData turn = h.Turn(session, end.turn);
  EXPECT_GT(turn.samples, 0);
  EXPECT_EQ(turn.samples, end.stats.samples);
  EXPECT_EQ(turn.frames, CeilDiv(turn.samples * 60, 22050));
}

// --- the hot path ------------------------------------------------------------------------

TEST(Server, WarmTurnsAllocateNothingOnTheNetworkThread) {
  REQUIRE_SERVER();
  if (!merg_test::AllocationCountingAvailable()) GTEST_SKIP() << "no malloc interposition here";
  std::atomic<std::atomic<long>*> network_counter{nullptr};
  std::atomic<long> at_start{-1};
  std::atomic<long> at_end{-1};
  std::atomic<int> frames_seen{0};
  // No data callbacks (they would allocate in the test's own vectors): buffer only.
  Harness h(
      [&](merg::ClientConfig* config) {
        config->callbacks.on_thread_start = [&] {
          network_counter.store(merg_test::ThisThreadAllocations());
        };
        config->callbacks.on_event = [&](const Event& event) {
          std::atomic<long>* counter = network_counter.load();
          if (event.type == EventType::kTurnStart) at_start.store(counter->load());
          if (event.type == EventType::kTurnEnd) {
            at_end.store(counter->load());
            frames_seen.store(static_cast<int>(event.stats.frames));
          }
        };
      },
      false);
  const SessionId session = h.Open();
  ASSERT_NE(session, 0);
  // The counter sees the network thread: it allocated while setting up its sockets.
  ASSERT_NE(network_counter.load(), nullptr);
  EXPECT_GT(network_counter.load()->load(), 0);
  std::shared_ptr<merg::JitterBuffer> buffer = h.client().Buffer(session);
  std::vector<int16_t> out(4096);
  long allocations = -1;
  for (int round = 0; round < 3; ++round) {  // round 0 warms up
    at_start.store(-1);
    at_end.store(-1);
    const merg::RequestId request = h.client().Say(session, kLine);
    Event end;
    ASSERT_TRUE(h.WaitTurnEnd(request, 60, &end));
    ASSERT_EQ(end.reason, "done");
    while (buffer->ReadAudio(out.data(), out.size()) > 0) {
    }
    allocations = at_end.load() - at_start.load();
    if (round > 0) {
      EXPECT_EQ(allocations, 0) << "heap allocations on the network thread while streaming "
                                << frames_seen.load() << " frames (round " << round << ")";
    }
  }
  EXPECT_GT(frames_seen.load(), 100);
}

// --- shutdown ----------------------------------------------------------------------------

TEST(Server, StopIsPromptMidTurnAndWhileDisconnected) {
  REQUIRE_SERVER();
  {
    Harness h;
    const SessionId session = h.Open();
    ASSERT_NE(session, 0);
    const merg::RequestId request = h.client().Say(session, kLongLine);
    ASSERT_TRUE(h.WaitFor(
        [&](const Event& e) { return e.type == EventType::kReply && e.request == request; }, 30));
    const auto start = Clock::now();
    h.client().Stop();
    EXPECT_LT(SecondsSince(start), 0.5);
    EXPECT_EQ(h.client().state(), merg::ConnectionState::kStopped);
  }
  {
    merg::ClientConfig config;
    config.endpoint = "tcp://127.0.0.1:" + std::to_string(merg_test::FreePort());  // nobody
    merg::Client client(config);
    ASSERT_TRUE(client.Start());
    client.Say(client.OpenSession(), "Is anyone there?");
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    const auto start = Clock::now();
    client.Stop();
    EXPECT_LT(SecondsSince(start), 0.5);
    client.Stop();  // twice is fine
  }
}

#ifdef MERG_SAY_EXE
TEST(Server, StopThenStartResumesTheSessions) {
  REQUIRE_SERVER();
  Harness h;
  Event opened;
  const SessionId session = h.Open(SessionOptions(), &opened);
  ASSERT_NE(session, 0);
  h.client().Stop();
  ASSERT_TRUE(h.client().Start());
  Event resumed;
  ASSERT_TRUE(h.WaitFor(
      [&](const Event& e) { return e.type == EventType::kSessionOpened && e.session == session; },
      30, &resumed));
  EXPECT_TRUE(resumed.resumed);  // the old socket closed, so the server detached it at once
  EXPECT_EQ(resumed.sid, opened.sid);
  const merg::RequestId request = h.client().Say(session, "Back again.");
  Event end;
  ASSERT_TRUE(h.WaitTurnEnd(request, 60, &end));
  EXPECT_EQ(end.reason, "done");
}

// --- the example program -----------------------------------------------------------------

TEST(Example, SayWritesAWavAndACsv) {
  REQUIRE_SERVER();
  const std::string prefix = ::testing::TempDir() + "merg-say-example";
  const std::string command = std::string(MERG_SAY_EXE) + " --endpoint " +
                              merg_test::SharedServer().endpoint() + " --out " + prefix +
                              " --fps 30 \"Writing files.\" > " + prefix + ".log 2>&1";
  ASSERT_EQ(std::system(command.c_str()), 0) << command;
  std::ifstream wav(prefix + ".wav", std::ios::binary);
  std::vector<char> header(44);
  ASSERT_TRUE(wav.read(header.data(), 44));
  EXPECT_EQ(std::string(header.data(), 4), "RIFF");
  EXPECT_EQ(std::string(header.data() + 8, 8), "WAVEfmt ");
  uint32_t rate = 0;
  uint32_t data_bytes = 0;
  std::memcpy(&rate, header.data() + 24, 4);
  std::memcpy(&data_bytes, header.data() + 40, 4);
  EXPECT_EQ(rate, 22050u);
  const int64_t samples = data_bytes / 2;
  EXPECT_GT(samples, 5000);
  std::ifstream csv(prefix + ".csv");
  std::string line;
  ASSERT_TRUE(std::getline(csv, line));
  EXPECT_EQ(line.rfind("frame,time_s,eyeBlinkLeft,", 0), 0u);
  EXPECT_NE(line.find(",tongueOut,head_pitch,"), std::string::npos);
  int64_t rows = 0;
  while (std::getline(csv, line)) ++rows;
  EXPECT_EQ(rows, CeilDiv(samples * 30, 22050));
}
#endif  // MERG_SAY_EXE

// --- fake servers: what the real one never does ------------------------------------------

class FakeServer {
 public:
  FakeServer() : port_(merg_test::FreePort()) {
    context_ = zmq_ctx_new();
    socket_ = zmq_socket(context_, ZMQ_ROUTER);
    int linger = 0;
    zmq_setsockopt(socket_, ZMQ_LINGER, &linger, sizeof linger);
    zmq_bind(socket_, endpoint().c_str());
  }
  ~FakeServer() {
    zmq_close(socket_);
    zmq_ctx_term(context_);
  }
  std::string endpoint() const { return "tcp://127.0.0.1:" + std::to_string(port_); }

  // The next message's type (and the peer that sent it), or "" after `timeout_ms`.
  std::string Receive(int timeout_ms, std::string* peer) {
    zmq_pollitem_t item = {socket_, 0, ZMQ_POLLIN, 0};
    if (zmq_poll(&item, 1, timeout_ms) <= 0) return "";
    zmq_msg_t identity, body;
    zmq_msg_init(&identity);
    zmq_msg_init(&body);
    zmq_msg_recv(&identity, socket_, 0);
    zmq_msg_recv(&body, socket_, 0);
    peer->assign(static_cast<const char*>(zmq_msg_data(&identity)), zmq_msg_size(&identity));
    merg::Decoder decoder;
    merg::ServerMessage message;  // decodes any map's envelope, client types included
    decoder.Decode(zmq_msg_data(&body), zmq_msg_size(&body), &message);
    std::string type = message.type_name.str();
    zmq_msg_close(&identity);
    zmq_msg_close(&body);
    return type;
  }

  // Send {v, type, seq: 1} + fields written by `body` (which packs `fields` pairs).
  void Send(const std::string& peer, int version, const char* type, uint32_t fields,
            const std::function<void(msgpack_packer*)>& body) {
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init(&buffer);
    msgpack_packer packer;
    msgpack_packer_init(&packer, &buffer, msgpack_sbuffer_write);
    msgpack_pack_map(&packer, 3 + fields);
    msgpack_pack_str_with_body(&packer, "v", 1);
    msgpack_pack_int(&packer, version);
    msgpack_pack_str_with_body(&packer, "type", 4);
    msgpack_pack_str_with_body(&packer, type, std::strlen(type));
    msgpack_pack_str_with_body(&packer, "seq", 3);
    msgpack_pack_int(&packer, 1);
    if (body) body(&packer);
    zmq_send(socket_, peer.data(), peer.size(), ZMQ_SNDMORE);
    zmq_send(socket_, buffer.data, buffer.size, 0);
    msgpack_sbuffer_destroy(&buffer);
  }

  void Welcome(const std::string& peer, int version) {
    Send(peer, version, "welcome", 2, [](msgpack_packer* p) {
      msgpack_pack_str_with_body(p, "server", 6);
      msgpack_pack_map(p, 0);
      msgpack_pack_str_with_body(p, "capabilities", 12);
      msgpack_pack_map(p, 0);
    });
  }

 private:
  int port_;
  void* context_;
  void* socket_;
};

TEST(FakeServer, AnotherProtocolVersionStopsTheClient) {
  FakeServer server;
  Harness h([&](merg::ClientConfig* c) { c->endpoint = server.endpoint(); }, false);
  std::string peer;
  ASSERT_EQ(server.Receive(5000, &peer), "hello");
  server.Welcome(peer, 2);
  Event error;
  ASSERT_TRUE(h.WaitType(EventType::kError, 5, &error));
  EXPECT_EQ(error.code, ErrorCode::kVersionMismatch);
  EXPECT_TRUE(error.local);
  EXPECT_NE(error.message.find("version 2"), std::string::npos);
  EXPECT_EQ(h.client().state(), merg::ConnectionState::kFailed);
  // It does not retry: a newer server will not change its mind.
  EXPECT_EQ(server.Receive(500, &peer), "");
}

TEST(FakeServer, UnsupportedVersionAnswerStopsTheClient) {
  FakeServer server;
  Harness h([&](merg::ClientConfig* c) { c->endpoint = server.endpoint(); }, false);
  std::string peer;
  ASSERT_EQ(server.Receive(5000, &peer), "hello");
  server.Send(peer, 1, "error", 2, [](msgpack_packer* p) {
    msgpack_pack_str_with_body(p, "code", 4);
    msgpack_pack_str_with_body(p, "unsupported_version", 19);
    msgpack_pack_str_with_body(p, "message", 7);
    msgpack_pack_str_with_body(p, "no", 2);
  });
  Event error;
  ASSERT_TRUE(h.WaitFor(
      [](const Event& e) { return e.code == ErrorCode::kVersionMismatch; }, 5, &error));
  EXPECT_EQ(h.client().state(), merg::ConnectionState::kFailed);
}

TEST(FakeServer, SilentServerTimesOutThenTheClientRetriesWithBackoff) {
  FakeServer server;
  Harness h(
      [&](merg::ClientConfig* c) {
        c->endpoint = server.endpoint();
        c->handshake_timeout_ms = 300;
        c->reconnect_min_ms = 50;
        c->reconnect_max_ms = 200;
      },
      false);
  std::string first_peer;
  std::string peer;
  ASSERT_EQ(server.Receive(5000, &first_peer), "hello");  // ignored
  Event lost;
  ASSERT_TRUE(h.WaitType(EventType::kDisconnected, 5, &lost));
  EXPECT_EQ(lost.code, ErrorCode::kTimeout);
  // A new socket (a new identity) greets again; this time the server answers.
  ASSERT_EQ(server.Receive(5000, &peer), "hello");
  EXPECT_NE(peer, first_peer);
  server.Welcome(peer, 1);
  Event connected;
  ASSERT_TRUE(h.WaitType(EventType::kConnected, 5, &connected));
  EXPECT_EQ(connected.reconnects, 0);  // the first welcome of this client
  EXPECT_TRUE(h.client().ready());
}

// --- reconnect after a server restart (last: it restarts the shared server) --------------

TEST(Server, ZZReconnectsAfterTheServerProcessRestarts) {
  REQUIRE_SERVER();
  // Requests made while the server is down wait for it (a restart takes tens of seconds).
  Harness h([](merg::ClientConfig* c) { c->request_timeout_ms = 150000; });
  Event opened;
  const SessionId session = h.Open(SessionOptions(), &opened);
  ASSERT_NE(session, 0);
  const merg::RequestId request = h.client().Say(session, kLongLine);
  Event start;
  ASSERT_TRUE(h.WaitFor(
      [&](const Event& e) { return e.type == EventType::kTurnStart && e.request == request; }, 30,
      &start));

  // The server crashes mid-turn.
  merg_test::SharedServer().Kill();
  Event ended;
  ASSERT_TRUE(h.WaitFor(
      [&](const Event& e) { return e.type == EventType::kTurnEnd && e.request == request; }, 20,
      &ended));
  if (ended.local) {  // (the turn may have finished streaming before the kill)
    EXPECT_EQ(ended.reason, "error");
    EXPECT_EQ(ended.code, ErrorCode::kConnectionLost);
  }
  Event lost;
  ASSERT_TRUE(h.WaitType(EventType::kDisconnected, 20, &lost)) << "no disconnect noticed";
  EXPECT_EQ(lost.code, ErrorCode::kConnectionLost);
  EXPECT_NE(h.client().state(), merg::ConnectionState::kReady);
  // A request made while the server is down waits for the session to come back.
  const merg::RequestId queued = h.client().Say(session, "Are you back?");

  // It comes back on the same port; the client greets it and reopens the session.
  std::string error;
  const int port = merg_test::SharedServer().port();
  ASSERT_TRUE(merg_test::SharedServer().Start(port, 120, &error)) << error;
  Event connected;
  ASSERT_TRUE(h.WaitType(EventType::kConnected, 30, &connected));
  EXPECT_EQ(connected.reconnects, 1);
  Event reopened;
  ASSERT_TRUE(h.WaitFor(
      [&](const Event& e) { return e.type == EventType::kSessionOpened && e.session == session; },
      30, &reopened));
  EXPECT_TRUE(reopened.reopened);  // the new server never knew the old session
  EXPECT_FALSE(reopened.resumed);
  EXPECT_NE(reopened.sid, opened.sid);
  EXPECT_EQ(reopened.names.size(), 52u);
  EXPECT_NE(h.Find([](const Event& e) { return e.code == ErrorCode::kSessionLost; }), nullptr);
  EXPECT_EQ(h.client().GetStats().reconnects, 1u);

  // The request made while it was down, then a new one, are spoken.
  Event end;
  ASSERT_TRUE(h.WaitTurnEnd(queued, 60, &end));
  EXPECT_EQ(end.reason, "done");
  const merg::RequestId again = h.client().Say(session, "I am back.");
  ASSERT_TRUE(h.WaitTurnEnd(again, 60, &end));
  EXPECT_EQ(end.reason, "done");
  EXPECT_EQ(end.turn, 2);  // the new session counts from 1
  EXPECT_EQ(h.Turn(session, end.turn).samples, end.stats.samples);
}

TEST(Server, ZZResumeKeepsTheSessionAcrossANewConnection) {
  REQUIRE_SERVER();
  // A host that saved its sid re-attaches it from a new client (a restarted game).
  std::string sid;
  {
    Harness first;
    Event opened;
    const SessionId session = first.Open(SessionOptions(), &opened);
    ASSERT_NE(session, 0);
    sid = opened.sid;
    const merg::RequestId request = first.client().Say(session, "One.");
    Event end;
    ASSERT_TRUE(first.WaitTurnEnd(request, 60, &end));
    EXPECT_EQ(end.turn, 1);
  }  // closing the socket detaches the session at once
  Harness second;
  SessionOptions options;
  options.resume_sid = sid;
  Event opened;
  const SessionId session = second.Open(options, &opened);
  ASSERT_NE(session, 0);
  EXPECT_TRUE(opened.resumed);
  EXPECT_EQ(opened.sid, sid);
  const merg::RequestId request = second.client().Say(session, "Two.");
  Event end;
  ASSERT_TRUE(second.WaitTurnEnd(request, 60, &end));
  EXPECT_EQ(end.turn, 2);  // turn numbers carry on
}

}  // namespace
