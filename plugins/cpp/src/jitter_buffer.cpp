// Jitter buffer, frame ring and the audio-clock face sampler.
#include "merg/jitter_buffer.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "merg/codec.h"

namespace merg {
namespace {

constexpr int kAngleColumns = kHeadChannels + kEyeChannels;
// Face frames may run ahead of the audio by up to one audio chunk (at most 2 s).
constexpr double kFrameSlackS = 2.5;

void Blend(const float* a, const float* b, float alpha, int n, float* out) {
  for (int i = 0; i < n; ++i) out[i] = a[i] + (b[i] - a[i]) * alpha;
}

void CopyRow(const float* row, int names, float* weights, float* head, float* eyes) {
  if (weights != nullptr) std::memcpy(weights, row, sizeof(float) * static_cast<size_t>(names));
  if (head != nullptr) std::memcpy(head, row + names, sizeof(float) * kHeadChannels);
  if (eyes != nullptr) {
    std::memcpy(eyes, row + names + kHeadChannels, sizeof(float) * kEyeChannels);
  }
}

}  // namespace

const char* SampleStatusName(SampleStatus status) {
  switch (status) {
    case SampleStatus::kEmpty:
      return "empty";
    case SampleStatus::kExact:
      return "exact";
    case SampleStatus::kInterpolated:
      return "interpolated";
    case SampleStatus::kHeld:
      return "held";
    case SampleStatus::kEnded:
      return "ended";
    case SampleStatus::kClamped:
      return "clamped";
  }
  return "";
}

const char* PlayStateName(PlayState state) {
  switch (state) {
    case PlayState::kIdle:
      return "idle";
    case PlayState::kBuffering:
      return "buffering";
    case PlayState::kPlaying:
      return "playing";
    case PlayState::kFinished:
      return "finished";
  }
  return "";
}

// --- FrameRing -----------------------------------------------------------------------------

void FrameRing::Reset(size_t capacity, int names) {
  capacity_ = capacity;
  names_ = names;
  stride_ = names + kAngleColumns;
  data_.assign(capacity * static_cast<size_t>(stride_), 0.0f);
  Clear();
}

void FrameRing::Clear() {
  begin_ = 0;
  end_ = 0;
}

bool FrameRing::HasRoom(int64_t count) const {
  return capacity_ > 0 && end_ + count - begin_ <= static_cast<int64_t>(capacity_);
}

float* FrameRing::MutableRow(int64_t index) {
  return data_.data() + static_cast<size_t>(index % static_cast<int64_t>(capacity_)) *
                            static_cast<size_t>(stride_);
}

const float* FrameRing::Row(int64_t index) const {
  return data_.data() + static_cast<size_t>(index % static_cast<int64_t>(capacity_)) *
                            static_cast<size_t>(stride_);
}

bool FrameRing::Append(int64_t f0, int64_t count, const uint8_t* weights_le,
                       const uint8_t* head_le, const uint8_t* eyes_le) {
  if (f0 != end_ || count < 0 || !HasRoom(count)) return false;
  if (empty()) begin_ = f0;
  for (int64_t i = 0; i < count; ++i) {
    float* row = MutableRow(f0 + i);
    const size_t names = static_cast<size_t>(names_);
    ReadF32le(weights_le + static_cast<size_t>(i) * names * 4, names, row);
    float* angles = row + names_;
    if (head_le != nullptr) {
      ReadF32le(head_le + static_cast<size_t>(i) * kHeadChannels * 4, kHeadChannels, angles);
    } else {
      std::fill(angles, angles + kHeadChannels, 0.0f);
    }
    if (eyes_le != nullptr) {
      ReadF32le(eyes_le + static_cast<size_t>(i) * kEyeChannels * 4, kEyeChannels,
                angles + kHeadChannels);
    } else {
      std::fill(angles + kHeadChannels, angles + kAngleColumns, 0.0f);
    }
  }
  end_ = f0 + count;
  return true;
}

bool FrameRing::Append(int64_t f0, int64_t count, const float* weights, const float* head,
                       const float* eyes) {
  if (f0 != end_ || count < 0 || !HasRoom(count)) return false;
  if (empty()) begin_ = f0;
  for (int64_t i = 0; i < count; ++i) {
    float* row = MutableRow(f0 + i);
    std::memcpy(row, weights + i * names_, sizeof(float) * static_cast<size_t>(names_));
    float* angles = row + names_;
    for (int c = 0; c < kHeadChannels; ++c) {
      angles[c] = head != nullptr ? head[i * kHeadChannels + c] : 0.0f;
    }
    for (int c = 0; c < kEyeChannels; ++c) {
      angles[kHeadChannels + c] = eyes != nullptr ? eyes[i * kEyeChannels + c] : 0.0f;
    }
  }
  end_ = f0 + count;
  return true;
}

void FrameRing::ReleaseBefore(int64_t frame) {
  begin_ = (std::max)(begin_, (std::min)(frame, end_));
}

// --- the sampler ---------------------------------------------------------------------------

FaceSample SampleFrames(const FrameRing& frames, int64_t position, int sample_rate, int fps,
                        bool complete, float* weights, float* head, float* eyes) {
  FaceSample sample;
  if (frames.empty() || sample_rate <= 0 || fps <= 0) return sample;
  const int names = frames.names();
  if (position < 0) position = 0;
  // position / rate seconds = (position * fps / rate) frames, split exactly.
  const int64_t scaled = position * fps;
  const int64_t index = scaled / sample_rate;
  const int64_t remainder = scaled % sample_rate;
  sample.frame = index;
  if (index < frames.begin()) {
    sample.status = SampleStatus::kClamped;
    sample.frame = frames.begin();
    CopyRow(frames.Row(frames.begin()), names, weights, head, eyes);
    return sample;
  }
  const int64_t newest = frames.end() - 1;
  if (index > newest || (index == newest && remainder != 0)) {
    // Never read past what arrived: hold the newest frame.
    sample.status = complete ? SampleStatus::kEnded : SampleStatus::kHeld;
    sample.frame = newest;
    CopyRow(frames.Row(newest), names, weights, head, eyes);
    return sample;
  }
  if (remainder == 0) {
    sample.status = SampleStatus::kExact;
    CopyRow(frames.Row(index), names, weights, head, eyes);
    return sample;
  }
  sample.status = SampleStatus::kInterpolated;
  sample.alpha = static_cast<float>(static_cast<double>(remainder) / sample_rate);
  const float* a = frames.Row(index);
  const float* b = frames.Row(index + 1);
  if (weights != nullptr) Blend(a, b, sample.alpha, names, weights);
  if (head != nullptr) Blend(a + names, b + names, sample.alpha, kHeadChannels, head);
  if (eyes != nullptr) {
    Blend(a + names + kHeadChannels, b + names + kHeadChannels, sample.alpha, kEyeChannels,
          eyes);
  }
  return sample;
}

// --- JitterBuffer --------------------------------------------------------------------------

JitterBuffer::JitterBuffer(const JitterConfig& config) : config_(config) {}

void JitterBuffer::Configure(int sample_rate, int fps, int names) {
  std::lock_guard<std::mutex> lock(mutex_);
  sample_rate_ = sample_rate;
  fps_ = fps;
  const double capacity_s = (std::max)(1.0, config_.capacity_s);
  const size_t audio_capacity = static_cast<size_t>(std::ceil(capacity_s * sample_rate));
  if (audio_.size() != audio_capacity) audio_.assign(audio_capacity, 0);
  const double frame_span_s = capacity_s + config_.retain_ms / 1000.0 + kFrameSlackS;
  const size_t frame_capacity = static_cast<size_t>(std::ceil(frame_span_s * fps));
  if (frames_.capacity() != frame_capacity || frames_.names() != names) {
    frames_.Reset(frame_capacity, names);
  }
  prebuffer_samples_ = (std::min<int64_t>)(
      static_cast<int64_t>(config_.prebuffer_ms) * sample_rate / 1000,
      static_cast<int64_t>(audio_capacity / 2));
  retain_samples_ = static_cast<int64_t>(config_.retain_ms) * sample_rate / 1000;
  turn_ = 0;
  ClearLocked();
}

int JitterBuffer::sample_rate() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return sample_rate_;
}

int JitterBuffer::fps() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return fps_;
}

int JitterBuffer::names() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return frames_.names();
}

void JitterBuffer::ClearLocked() {
  frames_.Clear();
  dropped_ = true;
  complete_ = false;
  state_ = PlayState::kIdle;
  read_ = 0;
  written_ = 0;
  sampled_ = 0;
}

void JitterBuffer::BeginTurn(int turn) {
  std::lock_guard<std::mutex> lock(mutex_);
  ClearLocked();
  turn_ = turn;
  dropped_ = false;
  state_ = PlayState::kBuffering;
}

bool JitterBuffer::AcceptsLocked(int turn) const {
  return !dropped_ && turn == turn_ && !audio_.empty();
}

void JitterBuffer::EndTurn(int turn, bool keep) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (turn != turn_ || dropped_) return;
  if (!keep) {
    ClearLocked();
    return;
  }
  complete_ = true;
  if (state_ == PlayState::kPlaying && read_ == written_) state_ = PlayState::kFinished;
}

void JitterBuffer::Interrupt() {
  std::lock_guard<std::mutex> lock(mutex_);
  ClearLocked();
}

BufferStatus JitterBuffer::Status() const {
  std::lock_guard<std::mutex> lock(mutex_);
  BufferStatus status;
  status.turn = turn_;
  status.state = state_;
  status.read = read_;
  status.received = written_;
  status.frames = frames_.end();
  status.complete = complete_;
  status.underruns = underruns_;
  status.sample_rate = sample_rate_;
  status.fps = fps_;
  status.names = frames_.names();
  return status;
}

void JitterBuffer::ReleaseFramesLocked() {
  if (sample_rate_ <= 0) return;
  const int64_t consumed = (std::max)(read_, sampled_) - retain_samples_;
  if (consumed <= 0) return;
  // Keep the frame at or before the consumed position (the sampler's left neighbour).
  frames_.ReleaseBefore(consumed * fps_ / sample_rate_);
}

bool JitterBuffer::HasRoomForAudioLocked(size_t samples) const {
  return written_ + static_cast<int64_t>(samples) - read_ <=
         static_cast<int64_t>(audio_.size());
}

bool JitterBuffer::HasRoomForAudio(size_t samples) {
  std::lock_guard<std::mutex> lock(mutex_);
  return HasRoomForAudioLocked(samples);
}

bool JitterBuffer::HasRoomForFrames(int64_t count) {
  std::lock_guard<std::mutex> lock(mutex_);
  ReleaseFramesLocked();
  return frames_.HasRoom(count);
}

WriteResult JitterBuffer::WriteAudio(int turn, int64_t t0, const uint8_t* pcm_le,
                                     size_t samples) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!AcceptsLocked(turn)) return WriteResult::kIgnored;
  if (t0 != written_) return WriteResult::kGap;
  if (samples > audio_.size()) return WriteResult::kTooLarge;
  if (!HasRoomForAudioLocked(samples)) return WriteResult::kFull;
  const size_t capacity = audio_.size();
  size_t done = 0;
  while (done < samples) {
    const size_t at = static_cast<size_t>((written_ + static_cast<int64_t>(done)) %
                                          static_cast<int64_t>(capacity));
    const size_t run = (std::min)(samples - done, capacity - at);
    ReadS16le(pcm_le + 2 * done, run, audio_.data() + at);
    done += run;
  }
  written_ += static_cast<int64_t>(samples);
  return WriteResult::kOk;
}

WriteResult JitterBuffer::WriteAudio(int turn, int64_t t0, const int16_t* pcm, size_t samples) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!AcceptsLocked(turn)) return WriteResult::kIgnored;
  if (t0 != written_) return WriteResult::kGap;
  if (samples > audio_.size()) return WriteResult::kTooLarge;
  if (!HasRoomForAudioLocked(samples)) return WriteResult::kFull;
  const size_t capacity = audio_.size();
  size_t done = 0;
  while (done < samples) {
    const size_t at = static_cast<size_t>((written_ + static_cast<int64_t>(done)) %
                                          static_cast<int64_t>(capacity));
    const size_t run = (std::min)(samples - done, capacity - at);
    std::memcpy(audio_.data() + at, pcm + done, run * sizeof(int16_t));
    done += run;
  }
  written_ += static_cast<int64_t>(samples);
  return WriteResult::kOk;
}

WriteResult JitterBuffer::WriteFrames(int turn, int64_t f0, int64_t count,
                                      const uint8_t* weights_le, const uint8_t* head_le,
                                      const uint8_t* eyes_le) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!AcceptsLocked(turn)) return WriteResult::kIgnored;
  if (f0 != frames_.end()) return WriteResult::kGap;
  if (count > static_cast<int64_t>(frames_.capacity())) return WriteResult::kTooLarge;
  ReleaseFramesLocked();
  if (!frames_.HasRoom(count)) return WriteResult::kFull;
  frames_.Append(f0, count, weights_le, head_le, eyes_le);
  return WriteResult::kOk;
}

WriteResult JitterBuffer::WriteFrames(int turn, int64_t f0, int64_t count, const float* weights,
                                      const float* head, const float* eyes) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!AcceptsLocked(turn)) return WriteResult::kIgnored;
  if (f0 != frames_.end()) return WriteResult::kGap;
  if (count > static_cast<int64_t>(frames_.capacity())) return WriteResult::kTooLarge;
  ReleaseFramesLocked();
  if (!frames_.HasRoom(count)) return WriteResult::kFull;
  frames_.Append(f0, count, weights, head, eyes);
  return WriteResult::kOk;
}

size_t JitterBuffer::ReadAudio(int16_t* out, size_t count, AudioRead* info) {
  std::lock_guard<std::mutex> lock(mutex_);
  bool underrun = false;
  size_t real = 0;
  const int64_t buffered = written_ - read_;
  if (state_ == PlayState::kBuffering && (buffered >= prebuffer_samples_ || complete_) &&
      (buffered > 0 || complete_)) {
    state_ = buffered > 0 ? PlayState::kPlaying : PlayState::kFinished;
  }
  if (state_ == PlayState::kPlaying) {
    real = static_cast<size_t>((std::min<int64_t>)(static_cast<int64_t>(count), buffered));
    const size_t capacity = audio_.size();
    size_t done = 0;
    while (done < real) {
      const size_t at = static_cast<size_t>((read_ + static_cast<int64_t>(done)) %
                                            static_cast<int64_t>(capacity));
      const size_t run = (std::min)(real - done, capacity - at);
      std::memcpy(out + done, audio_.data() + at, run * sizeof(int16_t));
      done += run;
    }
    read_ += static_cast<int64_t>(real);
    if (read_ == written_) {
      if (complete_) {
        state_ = PlayState::kFinished;
      } else if (real < count) {
        underrun = true;  // ran dry mid-turn: wait for the prebuffer again
        ++underruns_;
        state_ = PlayState::kBuffering;
      }
    }
    ReleaseFramesLocked();
  }
  if (real < count) std::memset(out + real, 0, (count - real) * sizeof(int16_t));
  if (info != nullptr) {
    info->samples = real;
    info->turn = turn_;
    info->position = read_;
    info->state = state_;
    info->underrun = underrun;
  }
  return real;
}

FaceSample JitterBuffer::SampleLocked(int64_t position, float* weights, float* head,
                                      float* eyes) {
  if (dropped_ || state_ == PlayState::kIdle) return FaceSample();
  FaceSample sample =
      SampleFrames(frames_, position, sample_rate_, fps_, complete_, weights, head, eyes);
  sample.turn = turn_;
  if (sample.status != SampleStatus::kEmpty) {
    // What the face has shown is consumed, but never beyond the newest frame that arrived:
    // sampling ahead of the stream must not release frames still to be shown.
    const int64_t newest = (frames_.end() - 1) * sample_rate_ / fps_;
    sampled_ = (std::max)(sampled_, (std::min)(position, newest));
    ReleaseFramesLocked();
  }
  return sample;
}

FaceSample JitterBuffer::SampleFace(int64_t position, float* weights, float* head, float* eyes) {
  std::lock_guard<std::mutex> lock(mutex_);
  return SampleLocked(position, weights, head, eyes);
}

FaceSample JitterBuffer::SampleFaceAtPlayhead(int64_t latency_samples, float* weights,
                                              float* head, float* eyes) {
  std::lock_guard<std::mutex> lock(mutex_);
  return SampleLocked((std::max<int64_t>)(0, read_ - latency_samples), weights, head, eyes);
}

}  // namespace merg
