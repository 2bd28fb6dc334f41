// The jitter buffer and the audio-clock face sampler, on synthetic turns.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <thread>
#include <vector>

#include "alloc_counter.h"
#include "merg/jitter_buffer.h"
#include "merg/queue.h"

namespace {

using merg::FaceSample;
using merg::FrameRing;
using merg::JitterBuffer;
using merg::JitterConfig;
using merg::PlayState;
using merg::SampleStatus;
using merg::WriteResult;

constexpr int kNames = 4;

// Frame i has weights {i, 10 i, 100 i, -i}, head {i, 2i, 3i}, eyes {i, -i, 0.5 i, 1}.
void MakeFrames(int64_t f0, int count, std::vector<float>* w, std::vector<float>* h,
                std::vector<float>* e) {
  w->clear();
  h->clear();
  e->clear();
  for (int64_t i = f0; i < f0 + count; ++i) {
    const float x = static_cast<float>(i);
    w->insert(w->end(), {x, 10 * x, 100 * x, -x});
    h->insert(h->end(), {x, 2 * x, 3 * x});
    e->insert(e->end(), {x, -x, 0.5f * x, 1.0f});
  }
}

void Fill(FrameRing* ring, int64_t f0, int count) {
  std::vector<float> w, h, e;
  MakeFrames(f0, count, &w, &h, &e);
  ASSERT_TRUE(ring->Append(f0, count, w.data(), h.data(), e.data()));
}

// --- the sampler -------------------------------------------------------------------------

TEST(FaceSampler, ExactOnFramesAndLinearBetween) {
  FrameRing ring;
  ring.Reset(64, kNames);
  Fill(&ring, 0, 10);
  float w[kNames], h[3], e[4];
  // 48000 Hz, 60 fps: frame i shows at sample 800 i.
  for (int i = 0; i < 10; ++i) {
    const FaceSample s = merg::SampleFrames(ring, 800 * i, 48000, 60, false, w, h, e);
    if (i < 9) {
      EXPECT_EQ(s.status, SampleStatus::kExact) << i;
    }
    EXPECT_EQ(s.frame, i);
    EXPECT_EQ(w[1], 10.0f * i);  // bit-exact: the frame itself, not a blend
    EXPECT_EQ(h[2], 3.0f * i);
    EXPECT_EQ(e[3], 1.0f);
  }
  // A quarter of the way from frame 3 to 4.
  const FaceSample q = merg::SampleFrames(ring, 800 * 3 + 200, 48000, 60, false, w, h, e);
  EXPECT_EQ(q.status, SampleStatus::kInterpolated);
  EXPECT_EQ(q.frame, 3);
  EXPECT_FLOAT_EQ(q.alpha, 0.25f);
  EXPECT_FLOAT_EQ(w[0], 3.25f);
  EXPECT_FLOAT_EQ(w[2], 325.0f);
  EXPECT_FLOAT_EQ(h[1], 6.5f);
  EXPECT_FLOAT_EQ(e[1], -3.25f);
  // 22050 Hz, 60 fps: 367.5 samples per frame; even frames fall on whole samples.
  const FaceSample even = merg::SampleFrames(ring, 735 * 3, 22050, 60, false, w, h, e);
  EXPECT_EQ(even.status, SampleStatus::kExact);
  EXPECT_EQ(even.frame, 6);
  EXPECT_EQ(w[0], 6.0f);
  const FaceSample odd = merg::SampleFrames(ring, 735 * 3 + 367, 22050, 60, false, w, h, e);
  EXPECT_EQ(odd.status, SampleStatus::kInterpolated);
  EXPECT_EQ(odd.frame, 6);
  EXPECT_NEAR(w[0], 6.0 + 367.0 * 60 / 22050 - 0, 1e-5);  // 6 + 0.99864
}

TEST(FaceSampler, NeverReadsPastWhatArrived) {
  FrameRing ring;
  ring.Reset(64, kNames);
  Fill(&ring, 0, 5);  // frames 0..4 arrived
  float w[kNames];
  // Between frame 4 and the missing frame 5: hold frame 4, do not extrapolate.
  FaceSample s = merg::SampleFrames(ring, 800 * 4 + 400, 48000, 60, false, w, nullptr, nullptr);
  EXPECT_EQ(s.status, SampleStatus::kHeld);
  EXPECT_EQ(s.frame, 4);
  EXPECT_EQ(w[0], 4.0f);
  // Far ahead: still frame 4.
  s = merg::SampleFrames(ring, 800 * 100, 48000, 60, false, w, nullptr, nullptr);
  EXPECT_EQ(s.status, SampleStatus::kHeld);
  EXPECT_EQ(w[1], 40.0f);
  // The turn complete: the same position is the end of the turn.
  s = merg::SampleFrames(ring, 800 * 100, 48000, 60, true, w, nullptr, nullptr);
  EXPECT_EQ(s.status, SampleStatus::kEnded);
  // Frame 5 arrives: now the blend is real.
  Fill(&ring, 5, 1);
  s = merg::SampleFrames(ring, 800 * 4 + 400, 48000, 60, false, w, nullptr, nullptr);
  EXPECT_EQ(s.status, SampleStatus::kInterpolated);
  EXPECT_FLOAT_EQ(w[0], 4.5f);
  // Released frames: clamp to the oldest one held.
  ring.ReleaseBefore(3);
  s = merg::SampleFrames(ring, 0, 48000, 60, false, w, nullptr, nullptr);
  EXPECT_EQ(s.status, SampleStatus::kClamped);
  EXPECT_EQ(s.frame, 3);
  EXPECT_EQ(w[0], 3.0f);
  // Nothing at all: outputs untouched.
  FrameRing empty;
  empty.Reset(8, kNames);
  w[0] = 123.0f;
  s = merg::SampleFrames(empty, 0, 48000, 60, false, w, nullptr, nullptr);
  EXPECT_EQ(s.status, SampleStatus::kEmpty);
  EXPECT_EQ(w[0], 123.0f);
}

TEST(FaceSampler, NoDriftOverLongTurns) {
  // Ten minutes into a turn at 22050 Hz / 60 fps the position still lands on exact frames.
  const int64_t frame = 60 * 600;  // 36000
  FrameRing far;
  far.Reset(16, kNames);
  std::vector<float> w, h, e;
  MakeFrames(frame, 2, &w, &h, &e);
  ASSERT_FALSE(far.Append(frame, 2, w.data(), h.data(), e.data()));  // f0 must be end()
  // Walk the timeline up to `frame`, releasing behind as playback would.
  for (int64_t f = 0; f < frame; f += 8) {
    std::vector<float> ww, hh, ee;
    MakeFrames(f, 8, &ww, &hh, &ee);
    ASSERT_TRUE(far.Append(f, 8, ww.data(), hh.data(), ee.data()));
    far.ReleaseBefore(f + 8);
  }
  ASSERT_TRUE(far.Append(frame, 2, w.data(), h.data(), e.data()));
  float out[kNames];
  const int64_t position = frame * 22050 / 60;  // 13,230,000 samples
  const FaceSample s = merg::SampleFrames(far, position, 22050, 60, false, out, nullptr, nullptr);
  EXPECT_EQ(s.status, SampleStatus::kExact);
  EXPECT_EQ(s.frame, frame);
  EXPECT_EQ(out[0], static_cast<float>(frame));
}

// --- the jitter buffer -------------------------------------------------------------------

class Buffer : public ::testing::Test {
 protected:
  void SetUp() override {
    JitterConfig config;
    config.capacity_s = 1.0;  // 48000 samples
    config.prebuffer_ms = 100;  // 4800 samples
    config.retain_ms = 100;
    buffer_.reset(new JitterBuffer(config));
    buffer_->Configure(48000, 60, kNames);
  }

  WriteResult Audio(int turn, int64_t t0, size_t n) {
    std::vector<int16_t> pcm(n);
    for (size_t i = 0; i < n; ++i) pcm[i] = static_cast<int16_t>((t0 + i) % 30000);
    return buffer_->WriteAudio(turn, t0, pcm.data(), n);
  }

  WriteResult Frames(int turn, int64_t f0, int count) {
    std::vector<float> w, h, e;
    MakeFrames(f0, count, &w, &h, &e);
    return buffer_->WriteFrames(turn, f0, count, w.data(), h.data(), e.data());
  }

  std::unique_ptr<JitterBuffer> buffer_;
};

TEST_F(Buffer, PrebuffersThenPlaysThenFinishes) {
  std::vector<int16_t> out(1000);
  merg::AudioRead info;
  // No turn: silence.
  EXPECT_EQ(buffer_->ReadAudio(out.data(), out.size(), &info), 0u);
  EXPECT_EQ(info.state, PlayState::kIdle);

  buffer_->BeginTurn(1);
  ASSERT_EQ(Audio(1, 0, 3000), WriteResult::kOk);
  // Below the 4800-sample prebuffer: still silence, the clock does not move.
  out.assign(out.size(), 7);
  EXPECT_EQ(buffer_->ReadAudio(out.data(), out.size(), &info), 0u);
  EXPECT_EQ(info.state, PlayState::kBuffering);
  EXPECT_EQ(info.position, 0);
  EXPECT_EQ(out[0], 0);
  ASSERT_EQ(Audio(1, 3000, 3000), WriteResult::kOk);
  EXPECT_EQ(buffer_->ReadAudio(out.data(), out.size(), &info), 1000u);
  EXPECT_EQ(info.state, PlayState::kPlaying);
  EXPECT_EQ(info.position, 1000);
  EXPECT_EQ(out[999], 999);
  // The turn ends: what is left plays out, then the state is finished.
  buffer_->EndTurn(1, true);
  size_t total = 1000;
  while (buffer_->ReadAudio(out.data(), out.size(), &info) > 0) total += info.samples;
  EXPECT_EQ(total, 6000u);
  EXPECT_EQ(info.state, PlayState::kFinished);
  EXPECT_FALSE(info.underrun);
  EXPECT_EQ(buffer_->Status().underruns, 0u);
}

TEST_F(Buffer, UnderrunRebuffersWithoutMovingTheClock) {
  std::vector<int16_t> out(2000);
  merg::AudioRead info;
  buffer_->BeginTurn(1);
  ASSERT_EQ(Audio(1, 0, 5000), WriteResult::kOk);
  EXPECT_EQ(buffer_->ReadAudio(out.data(), 2000, &info), 2000u);
  EXPECT_EQ(buffer_->ReadAudio(out.data(), 2000, &info), 2000u);
  // Only 1000 left and the turn is not complete: an underrun, padded with silence.
  EXPECT_EQ(buffer_->ReadAudio(out.data(), 2000, &info), 1000u);
  EXPECT_TRUE(info.underrun);
  EXPECT_EQ(info.state, PlayState::kBuffering);
  EXPECT_EQ(info.position, 5000);
  EXPECT_EQ(out[999], (4999) % 30000);
  EXPECT_EQ(out[1000], 0);
  // Rebuffering: a little more audio is not enough to restart...
  ASSERT_EQ(Audio(1, 5000, 1000), WriteResult::kOk);
  EXPECT_EQ(buffer_->ReadAudio(out.data(), 2000, &info), 0u);
  EXPECT_EQ(info.position, 5000);
  // ...the prebuffer is.
  ASSERT_EQ(Audio(1, 6000, 4000), WriteResult::kOk);
  EXPECT_EQ(buffer_->ReadAudio(out.data(), 2000, &info), 2000u);
  EXPECT_EQ(out[0], 5000);
  EXPECT_EQ(buffer_->Status().underruns, 1u);
}

TEST_F(Buffer, FullRingPushesBackAndReadingMakesRoom) {
  buffer_->BeginTurn(1);
  ASSERT_EQ(Audio(1, 0, 40000), WriteResult::kOk);
  EXPECT_FALSE(buffer_->HasRoomForAudio(9000));
  EXPECT_EQ(Audio(1, 40000, 9000), WriteResult::kFull);  // nothing written
  EXPECT_EQ(buffer_->Status().received, 40000);
  std::vector<int16_t> out(5000);
  ASSERT_EQ(buffer_->ReadAudio(out.data(), out.size()), 5000u);
  EXPECT_TRUE(buffer_->HasRoomForAudio(9000));
  ASSERT_EQ(Audio(1, 40000, 9000), WriteResult::kOk);  // wraps around the ring
  EXPECT_EQ(Audio(1, 50000, 10), WriteResult::kGap);   // t0 must follow on
  EXPECT_EQ(Audio(1, 49000, 60000), WriteResult::kTooLarge);
  // The samples come out in order across the wrap.
  std::vector<int16_t> rest(44000);
  ASSERT_EQ(buffer_->ReadAudio(rest.data(), rest.size()), 44000u);
  for (size_t i = 0; i < rest.size(); ++i) {
    ASSERT_EQ(rest[i], static_cast<int16_t>((5000 + i) % 30000)) << i;
  }
}

TEST_F(Buffer, FramesAreReleasedBehindPlayback) {
  buffer_->BeginTurn(1);
  // Frame capacity: (1 s + 0.1 s retained + 2.5 s slack) * 60 = 216 frames.
  ASSERT_EQ(Frames(1, 0, 200), WriteResult::kOk);
  EXPECT_EQ(Frames(1, 200, 60), WriteResult::kFull);
  ASSERT_EQ(Audio(1, 0, 48000), WriteResult::kOk);
  std::vector<int16_t> out(24000);
  buffer_->ReadAudio(out.data(), out.size());  // 0.5 s played: frames before ~0.4 s go
  EXPECT_EQ(Frames(1, 200, 16), WriteResult::kOk);
  // What was released is clamped to; what is ahead is exact.
  float w[kNames];
  FaceSample s = buffer_->SampleFace(0, w, nullptr, nullptr);
  EXPECT_EQ(s.status, SampleStatus::kClamped);
  EXPECT_EQ(s.frame, 24);
  s = buffer_->SampleFace(800 * 100, w, nullptr, nullptr);
  EXPECT_EQ(s.status, SampleStatus::kExact);
  EXPECT_EQ(w[0], 100.0f);
}

TEST_F(Buffer, SamplesTheFaceAtTheAudioClock) {
  buffer_->BeginTurn(3);
  ASSERT_EQ(Frames(3, 0, 60), WriteResult::kOk);
  ASSERT_EQ(Audio(3, 0, 48000), WriteResult::kOk);
  buffer_->EndTurn(3, true);
  std::vector<int16_t> out(480);
  float w[kNames], h[3], e[4];
  for (int block = 0; block < 50; ++block) {
    merg::AudioRead info;
    buffer_->ReadAudio(out.data(), out.size(), &info);
    const FaceSample s = buffer_->SampleFaceAtPlayhead(0, w, h, e);
    EXPECT_EQ(s.turn, 3);
    EXPECT_EQ(s.frame, info.position * 60 / 48000);
    EXPECT_FLOAT_EQ(w[0], static_cast<float>(info.position) * 60.0f / 48000.0f);
    // With 1600 samples of output latency the face shows 2 frames earlier.
    buffer_->SampleFaceAtPlayhead(1600, w, nullptr, nullptr);
    EXPECT_FLOAT_EQ(w[0], std::max(0.0f, static_cast<float>(info.position - 1600) * 60 / 48000));
  }
}

TEST_F(Buffer, InterruptDropsTheTurnAndLaterDataOfIt) {
  buffer_->BeginTurn(1);
  ASSERT_EQ(Frames(1, 0, 30), WriteResult::kOk);
  ASSERT_EQ(Audio(1, 0, 20000), WriteResult::kOk);
  std::vector<int16_t> out(1000);
  ASSERT_EQ(buffer_->ReadAudio(out.data(), out.size()), 1000u);
  buffer_->Interrupt();
  merg::AudioRead info;
  EXPECT_EQ(buffer_->ReadAudio(out.data(), out.size(), &info), 0u);
  EXPECT_EQ(info.state, PlayState::kIdle);
  EXPECT_EQ(out[0], 0);
  // What still arrives of turn 1 is ignored...
  EXPECT_EQ(Audio(1, 20000, 100), WriteResult::kIgnored);
  EXPECT_EQ(Frames(1, 30, 1), WriteResult::kIgnored);
  float w[kNames] = {9, 9, 9, 9};
  EXPECT_EQ(buffer_->SampleFace(0, w, nullptr, nullptr).status, SampleStatus::kEmpty);
  EXPECT_EQ(w[0], 9.0f);
  // ...and the next turn plays from its own start.
  buffer_->BeginTurn(2);
  ASSERT_EQ(Audio(2, 0, 5000), WriteResult::kOk);
  EXPECT_EQ(buffer_->ReadAudio(out.data(), out.size(), &info), 1000u);
  EXPECT_EQ(info.turn, 2);
  EXPECT_EQ(info.position, 1000);
}

TEST_F(Buffer, ANewTurnReplacesThePlayingOne) {
  buffer_->BeginTurn(1);
  ASSERT_EQ(Audio(1, 0, 10000), WriteResult::kOk);
  buffer_->EndTurn(1, true);
  std::vector<int16_t> out(1000);
  buffer_->ReadAudio(out.data(), out.size());
  buffer_->BeginTurn(2);
  EXPECT_EQ(Audio(1, 10000, 10), WriteResult::kIgnored);
  EXPECT_EQ(buffer_->Status().turn, 2);
  EXPECT_EQ(buffer_->Status().read, 0);
  // An interrupted end drops what was held.
  ASSERT_EQ(Audio(2, 0, 10000), WriteResult::kOk);
  buffer_->EndTurn(2, false);
  EXPECT_EQ(buffer_->ReadAudio(out.data(), out.size()), 0u);
}

TEST_F(Buffer, ReaderAndWriterThreadsAgree) {
  // The network thread writes a 3 s turn in 200 ms chunks while the audio thread reads in
  // 256-sample blocks: every sample arrives once and in order, nothing is lost on "full".
  JitterConfig config;
  config.capacity_s = 1.0;
  config.prebuffer_ms = 50;
  JitterBuffer buffer(config);
  buffer.Configure(48000, 60, kNames);
  buffer.BeginTurn(1);
  const int64_t total = 3 * 48000;
  std::thread writer([&] {
    std::vector<int16_t> chunk(9600);
    for (int64_t t0 = 0; t0 < total; t0 += 9600) {
      for (size_t i = 0; i < chunk.size(); ++i) chunk[i] = static_cast<int16_t>((t0 + i) % 32000);
      while (!buffer.HasRoomForAudio(chunk.size())) std::this_thread::yield();
      ASSERT_EQ(buffer.WriteAudio(1, t0, chunk.data(), chunk.size()), WriteResult::kOk);
    }
    buffer.EndTurn(1, true);
  });
  std::vector<int16_t> out(256);
  int64_t position = 0;
  merg::AudioRead info;
  while (true) {
    const size_t got = buffer.ReadAudio(out.data(), out.size(), &info);
    for (size_t i = 0; i < got; ++i) {
      ASSERT_EQ(out[i], static_cast<int16_t>((position + static_cast<int64_t>(i)) % 32000));
    }
    position += static_cast<int64_t>(got);
    if (info.state == PlayState::kFinished) break;
    if (got == 0) std::this_thread::yield();
  }
  writer.join();
  EXPECT_EQ(position, total);
}

TEST_F(Buffer, HotPathsDoNotAllocate) {
  if (!merg_test::AllocationCountingAvailable()) GTEST_SKIP() << "no malloc interposition here";
  std::vector<int16_t> pcm(4410, 5);
  std::vector<uint8_t> pcm_le(4410 * 2, 1);
  std::vector<float> w, h, e;
  MakeFrames(0, 12, &w, &h, &e);
  std::vector<int16_t> out(512);
  float sw[kNames], sh[3], se[4];
  buffer_->BeginTurn(1);
  std::atomic<long>* counter = merg_test::ThisThreadAllocations();
  const long before = counter->load();
  int64_t t0 = 0;
  int64_t f0 = 0;
  for (int i = 0; i < 20; ++i) {
    ASSERT_EQ(buffer_->WriteFrames(1, f0, 12, w.data(), h.data(), e.data()), WriteResult::kOk);
    f0 += 12;
    ASSERT_EQ(buffer_->WriteAudio(1, t0, pcm_le.data(), 4410), WriteResult::kOk);
    t0 += 4410;
    for (int r = 0; r < 8; ++r) buffer_->ReadAudio(out.data(), out.size());
    buffer_->SampleFaceAtPlayhead(0, sw, sh, se);
    buffer_->Status();
  }
  EXPECT_EQ(counter->load() - before, 0) << "allocations in write/read/sample";
  merg_test::ProbeAllocation();
  EXPECT_EQ(counter->load() - before, 1) << "the counter does not count";
}

TEST(BoundedQueue, HandsOverInOrderAndRefusesWhenFull) {
  merg::BoundedQueue<int> queue(3);
  EXPECT_TRUE(queue.Push(1));
  EXPECT_TRUE(queue.Push(2));
  EXPECT_TRUE(queue.Push(3));
  EXPECT_FALSE(queue.Push(4));
  int value = 0;
  EXPECT_TRUE(queue.Pop(&value));
  EXPECT_EQ(value, 1);
  EXPECT_TRUE(queue.Push(4));
  for (int expected : {2, 3, 4}) {
    ASSERT_TRUE(queue.Pop(&value));
    EXPECT_EQ(value, expected);
  }
  EXPECT_FALSE(queue.Pop(&value));
}

}  // namespace
