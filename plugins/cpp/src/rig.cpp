// Rig names, name aliases and the local Live Link conversion.
#include "merg/rig.h"

#include <algorithm>
#include <cctype>
#include <cstring>

namespace merg {

const char* const kArkit52Names[kArkitCount] = {
    "eyeBlinkLeft",     "eyeLookDownLeft",    "eyeLookInLeft",       "eyeLookOutLeft",
    "eyeLookUpLeft",    "eyeSquintLeft",      "eyeWideLeft",         "eyeBlinkRight",
    "eyeLookDownRight", "eyeLookInRight",     "eyeLookOutRight",     "eyeLookUpRight",
    "eyeSquintRight",   "eyeWideRight",       "jawForward",          "jawLeft",
    "jawRight",         "jawOpen",            "mouthClose",          "mouthFunnel",
    "mouthPucker",      "mouthLeft",          "mouthRight",          "mouthSmileLeft",
    "mouthSmileRight",  "mouthFrownLeft",     "mouthFrownRight",     "mouthDimpleLeft",
    "mouthDimpleRight", "mouthStretchLeft",   "mouthStretchRight",   "mouthRollLower",
    "mouthRollUpper",   "mouthShrugLower",    "mouthShrugUpper",     "mouthPressLeft",
    "mouthPressRight",  "mouthLowerDownLeft", "mouthLowerDownRight", "mouthUpperUpLeft",
    "mouthUpperUpRight", "browDownLeft",      "browDownRight",       "browInnerUp",
    "browOuterUpLeft",  "browOuterUpRight",   "cheekPuff",           "cheekSquintLeft",
    "cheekSquintRight", "noseSneerLeft",      "noseSneerRight",      "tongueOut",
};

const char* const kLiveLinkNames[kLiveLinkCount] = {
    "EyeBlinkLeft",     "EyeLookDownLeft",    "EyeLookInLeft",       "EyeLookOutLeft",
    "EyeLookUpLeft",    "EyeSquintLeft",      "EyeWideLeft",         "EyeBlinkRight",
    "EyeLookDownRight", "EyeLookInRight",     "EyeLookOutRight",     "EyeLookUpRight",
    "EyeSquintRight",   "EyeWideRight",       "JawForward",          "JawRight",
    "JawLeft",          "JawOpen",            "MouthClose",          "MouthFunnel",
    "MouthPucker",      "MouthRight",         "MouthLeft",           "MouthSmileLeft",
    "MouthSmileRight",  "MouthFrownLeft",     "MouthFrownRight",     "MouthDimpleLeft",
    "MouthDimpleRight", "MouthStretchLeft",   "MouthStretchRight",   "MouthRollLower",
    "MouthRollUpper",   "MouthShrugLower",    "MouthShrugUpper",     "MouthPressLeft",
    "MouthPressRight",  "MouthLowerDownLeft", "MouthLowerDownRight", "MouthUpperUpLeft",
    "MouthUpperUpRight", "BrowDownLeft",      "BrowDownRight",       "BrowInnerUp",
    "BrowOuterUpLeft",  "BrowOuterUpRight",   "CheekPuff",           "CheekSquintLeft",
    "CheekSquintRight", "NoseSneerLeft",      "NoseSneerRight",      "TongueOut",
    "HeadYaw",          "HeadPitch",          "HeadRoll",            "LeftEyeYaw",
    "LeftEyePitch",     "LeftEyeRoll",        "RightEyeYaw",         "RightEyePitch",
    "RightEyeRoll",
};

namespace {

bool IsSpace(char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; }

// kLiveLinkNames[i] (i < 52) is kArkit52Names[kLiveLinkSource[i]]: the same shape with its
// first letter upper-cased; only jawLeft/jawRight and mouthLeft/mouthRight swap places.
struct LiveLinkOrder {
  int source[kLiveLinkShapeCount];
  LiveLinkOrder() {
    for (int i = 0; i < kLiveLinkShapeCount; ++i) {
      source[i] = -1;
      for (int j = 0; j < kArkitCount; ++j) {
        const char* a = kLiveLinkNames[i];
        const char* b = kArkit52Names[j];
        if (std::tolower(static_cast<unsigned char>(a[0])) == b[0] &&
            std::strcmp(a + 1, b + 1) == 0) {
          source[i] = j;
          break;
        }
      }
    }
  }
};

const LiveLinkOrder& Order() {
  static const LiveLinkOrder order;
  return order;
}

float Clip01(float x) { return x < 0.0f ? 0.0f : (x > 1.0f ? 1.0f : x); }

}  // namespace

std::string AliasKey(const std::string& name) {
  // strip()
  size_t begin = 0;
  size_t end = name.size();
  while (begin < end && IsSpace(name[begin])) ++begin;
  while (end > begin && IsSpace(name[end - 1])) --end;
  std::string text = name.substr(begin, end - begin);
  // a side suffix: [_.-\s][LlRr]$
  if (text.size() >= 2) {
    const char side = text[text.size() - 1];
    const char mark = text[text.size() - 2];
    const bool is_side = side == 'L' || side == 'l' || side == 'R' || side == 'r';
    const bool is_mark = mark == '_' || mark == '.' || mark == '-' || IsSpace(mark);
    if (is_side && is_mark) {
      text.resize(text.size() - 2);
      text += (side == 'L' || side == 'l') ? "Left" : "Right";
    }
  }
  // the last part after a namespace separator . : |
  const size_t cut = text.find_last_of(".:|");
  if (cut != std::string::npos) text = text.substr(cut + 1);
  std::string key;
  key.reserve(text.size());
  for (char c : text) {
    const char lower = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (lower >= 'a' && lower <= 'z') key.push_back(lower);
  }
  return key;
}

const char* CanonicalArkitName(const std::string& name) {
  const std::string key = AliasKey(name);
  if (key.empty()) return nullptr;
  for (const char* arkit : kArkit52Names) {
    if (AliasKey(arkit) == key) return arkit;
  }
  return nullptr;
}

int ArkitIndex(const std::string& name) {
  for (int i = 0; i < kArkitCount; ++i) {
    if (name == kArkit52Names[i]) return i;
  }
  return -1;
}

std::vector<int> BuildNameMap(const std::vector<std::string>& source,
                              const std::vector<std::string>& target,
                              const std::vector<NameOverride>& overrides) {
  std::vector<std::string> target_keys;
  target_keys.reserve(target.size());
  for (const std::string& name : target) target_keys.push_back(AliasKey(name));

  std::vector<int> result(source.size(), -1);
  for (size_t i = 0; i < source.size(); ++i) {
    const NameOverride* chosen = nullptr;
    for (const NameOverride& entry : overrides) {
      if (entry.source == source[i] || AliasKey(entry.source) == AliasKey(source[i])) {
        chosen = &entry;
        break;
      }
    }
    if (chosen != nullptr) {
      const auto hit = std::find(target.begin(), target.end(), chosen->target);
      result[i] = hit == target.end() ? -1 : static_cast<int>(hit - target.begin());
      continue;
    }
    const auto exact = std::find(target.begin(), target.end(), source[i]);
    if (exact != target.end()) {
      result[i] = static_cast<int>(exact - target.begin());
      continue;
    }
    const std::string key = AliasKey(source[i]);
    if (key.empty()) continue;
    const auto alias = std::find(target_keys.begin(), target_keys.end(), key);
    if (alias != target_keys.end()) result[i] = static_cast<int>(alias - target_keys.begin());
  }
  return result;
}

void ArkitToLiveLink(const float* arkit52, const float* head, const float* eyes, float* out61,
                     RotationUnit unit) {
  const LiveLinkOrder& order = Order();
  for (int i = 0; i < kLiveLinkShapeCount; ++i) out61[i] = Clip01(arkit52[order.source[i]]);
  // head: pitch, yaw, roll; eyes: left pitch, left yaw, right pitch, right yaw (radians).
  const float zero_head[3] = {0, 0, 0};
  const float zero_eyes[4] = {0, 0, 0, 0};
  const float* h = head != nullptr ? head : zero_head;
  const float* e = eyes != nullptr ? eyes : zero_eyes;
  float* r = out61 + kLiveLinkShapeCount;
  r[0] = -h[1];  // HeadYaw (Live Link yaw is negative turning to the subject's left)
  r[1] = h[0];   // HeadPitch
  r[2] = h[2];   // HeadRoll
  r[3] = -e[1];  // LeftEyeYaw
  r[4] = e[0];   // LeftEyePitch
  r[5] = 0.0f;   // LeftEyeRoll
  r[6] = -e[3];  // RightEyeYaw
  r[7] = e[2];   // RightEyePitch
  r[8] = 0.0f;   // RightEyeRoll
  if (unit != RotationUnit::kRadians) {
    constexpr float kPi = 3.14159265358979323846f;
    const float scale = unit == RotationUnit::kDegrees ? 180.0f / kPi : 1.0f / kPi;
    for (int i = 0; i < 9; ++i) r[i] *= scale;
  }
}

}  // namespace merg
