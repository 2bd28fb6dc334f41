// The playback side of a session: a jitter buffer for one turn's audio and face frames,
// and the face sampler driven by the audio playback clock.
//
// The network thread writes a turn's audio samples and face frames into preallocated
// rings; the host's audio thread reads samples from it (ReadAudio), and the game thread
// asks for the face at a sample position (SampleFace). Sample k of a turn plays at
// k / sample_rate s and frame i shows at i / fps s (docs/protocol.md, "Timing model"),
// so the sampler interpolates between the two frames around the exact playback position:
// face and voice cannot drift apart. One mutex guards each buffer; every call holds it
// only for a copy of the samples or frames it moves.
#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <vector>

#include "merg/protocol.h"

namespace merg {

struct JitterConfig {
  // Audio the ring holds ahead of playback. When it is full the network thread stops
  // reading the socket, and the server holds the turn back (it never drops data).
  double capacity_s = 30.0;
  // Playback of a turn starts, and restarts after an underrun, once this much audio is
  // buffered (or the turn has arrived completely). Rides out network jitter.
  int prebuffer_ms = 100;
  // Face frames kept behind the audio read position, for hosts whose face clock lags the
  // samples handed to the audio device (output latency).
  int retain_ms = 1000;
};

// Face frames of one turn, by their index on the turn timeline, in preallocated storage.
// Each row holds `names` weights, then 3 head and 4 eye angles.
class FrameRing {
 public:
  // Allocates room for `capacity` frames of `names` weights; empties the ring.
  void Reset(size_t capacity, int names);
  void Clear();

  int names() const { return names_; }
  int stride() const { return stride_; }
  size_t capacity() const { return capacity_; }
  int64_t begin() const { return begin_; }  // the oldest frame held
  int64_t end() const { return end_; }      // one past the newest frame: the next f0
  bool empty() const { return end_ == begin_; }
  bool HasRoom(int64_t count) const;

  // Append frames f0 .. f0+count-1 (f0 must equal end()). Weights `count x names`,
  // head `count x 3`, eyes `count x 4`; little-endian bytes as on the wire, or floats.
  // A missing head or eyes (nullptr) counts as zero. False if f0 != end() or no room.
  bool Append(int64_t f0, int64_t count, const uint8_t* weights_le, const uint8_t* head_le,
              const uint8_t* eyes_le);
  bool Append(int64_t f0, int64_t count, const float* weights, const float* head,
              const float* eyes);
  // Forget frames before `frame`.
  void ReleaseBefore(int64_t frame);
  // Row of frame `index` (begin() <= index < end()).
  const float* Row(int64_t index) const;

 private:
  float* MutableRow(int64_t index);

  std::vector<float> data_;
  size_t capacity_ = 0;
  int names_ = 0;
  int stride_ = 0;
  int64_t begin_ = 0;
  int64_t end_ = 0;
};

enum class SampleStatus : uint8_t {
  kEmpty,         // nothing to show (no turn, or no frame yet): the outputs are untouched
  kExact,         // the position falls exactly on a frame, which is returned as it is
  kInterpolated,  // between two frames that have both arrived
  kHeld,          // the next frame has not arrived: the newest one is shown, nothing beyond
  kEnded,         // at or past the last frame of a complete turn: the last frame is shown
  kClamped,       // before the oldest frame still held: that frame is shown
};

const char* SampleStatusName(SampleStatus status);

struct FaceSample {
  SampleStatus status = SampleStatus::kEmpty;
  int64_t frame = 0;   // the frame at or before the position (the first of the pair)
  float alpha = 0.0f;  // weight of the next frame
  int turn = 0;
};

// The face at `position` samples into a turn: frame i shows at i / fps s and sample k plays
// at k / sample_rate s, so the position lies between frames floor(position * fps / rate)
// and the one after, which are blended by the exact remainder (integer arithmetic: no
// drift over long turns). Only frames that have arrived are read. `weights` takes
// frames.names() values, `head` 3 and `eyes` 4 (either may be nullptr).
FaceSample SampleFrames(const FrameRing& frames, int64_t position, int sample_rate, int fps,
                        bool complete, float* weights, float* head, float* eyes);

enum class PlayState : uint8_t {
  kIdle,       // no turn (none yet, or dropped by an interrupt)
  kBuffering,  // waiting for the prebuffer before playing (at the start, after an underrun)
  kPlaying,
  kFinished,   // the whole turn has been read
};

const char* PlayStateName(PlayState state);

enum class WriteResult : uint8_t {
  kOk,
  kIgnored,  // not the buffer's current turn, or that turn was dropped
  kFull,     // no room now: retry once the reader has made room
  kGap,      // t0/f0 is not where the stream stands (the data was not written)
  kTooLarge, // more than the ring can ever hold
};

struct AudioRead {
  size_t samples = 0;     // real samples written to the output (the rest is silence)
  int turn = 0;
  int64_t position = 0;   // samples of the turn read so far
  PlayState state = PlayState::kIdle;
  bool underrun = false;  // the turn ran dry before its end (playback waits to rebuffer)
};

struct BufferStatus {
  int turn = 0;
  PlayState state = PlayState::kIdle;
  int64_t read = 0;       // samples of the turn handed to the reader
  int64_t received = 0;   // samples of the turn received
  int64_t frames = 0;     // frames of the turn received
  bool complete = false;  // the turn's end has arrived
  uint32_t underruns = 0;
  int sample_rate = 0;
  int fps = 0;
  int names = 0;
};

class JitterBuffer {
 public:
  explicit JitterBuffer(const JitterConfig& config = JitterConfig());
  JitterBuffer(const JitterBuffer&) = delete;
  JitterBuffer& operator=(const JitterBuffer&) = delete;

  // Size the rings for a session (allocates; drops what is held).
  void Configure(int sample_rate, int fps, int names);

  // --- producer (the network thread) ---
  // A new turn replaces whatever is held or playing (barge-in).
  void BeginTurn(int turn);
  bool HasRoomForAudio(size_t samples);
  bool HasRoomForFrames(int64_t count);
  WriteResult WriteAudio(int turn, int64_t t0, const uint8_t* pcm_le, size_t samples);
  WriteResult WriteAudio(int turn, int64_t t0, const int16_t* pcm, size_t samples);
  WriteResult WriteFrames(int turn, int64_t f0, int64_t count, const uint8_t* weights_le,
                          const uint8_t* head_le, const uint8_t* eyes_le);
  WriteResult WriteFrames(int turn, int64_t f0, int64_t count, const float* weights,
                          const float* head, const float* eyes);
  // The turn's end arrived: `keep` plays out what was received, otherwise it is dropped.
  void EndTurn(int turn, bool keep);

  // --- any thread ---
  // Drop the current turn now: playback stops at the next read, later data of the turn is
  // ignored until another turn begins.
  void Interrupt();
  BufferStatus Status() const;
  int sample_rate() const;
  int fps() const;
  int names() const;

  // --- the audio thread ---
  // Fill `out` with `count` samples: the turn's audio while it plays, silence otherwise.
  // Returns the number of real samples.
  size_t ReadAudio(int16_t* out, size_t count, AudioRead* info = nullptr);

  // --- the game thread ---
  // The face at `position` samples into the current turn (see SampleFrames).
  FaceSample SampleFace(int64_t position, float* weights, float* head, float* eyes);
  // The face at the samples read so far minus `latency_samples` (the audio device's
  // output latency, when the host knows it).
  FaceSample SampleFaceAtPlayhead(int64_t latency_samples, float* weights, float* head,
                                  float* eyes);

 private:
  void ClearLocked();
  bool AcceptsLocked(int turn) const;
  void ReleaseFramesLocked();
  bool HasRoomForAudioLocked(size_t samples) const;
  FaceSample SampleLocked(int64_t position, float* weights, float* head, float* eyes);

  JitterConfig config_;
  mutable std::mutex mutex_;
  int sample_rate_ = 0;
  int fps_ = 0;
  std::vector<int16_t> audio_;  // ring; sample k of the turn lives at k % size
  FrameRing frames_;
  int64_t prebuffer_samples_ = 0;
  int64_t retain_samples_ = 0;

  int turn_ = 0;
  bool dropped_ = true;
  bool complete_ = false;
  PlayState state_ = PlayState::kIdle;
  int64_t read_ = 0;
  int64_t written_ = 0;
  int64_t sampled_ = 0;  // the furthest position the face was sampled at
  uint32_t underruns_ = 0;
};

}  // namespace merg
