// Rig names and retargeting helpers for engine layers: the ARKit 52 names, the Unreal
// Live Link curve names, name aliases for binding a mesh's morph targets, and the
// arkit52 -> Live Link conversion (blendshapes/retarget/livelink.yaml, done locally).
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace merg {

constexpr int kArkitCount = 52;
constexpr int kLiveLinkCount = 61;  // 52 shapes + head yaw/pitch/roll + 2 x eye yaw/pitch/roll
constexpr int kLiveLinkShapeCount = 52;

// Apple's 52 names in Apple's order (blendshapes/rigs/arkit52.yaml).
extern const char* const kArkit52Names[kArkitCount];
// The Live Link Face / MetaHuman curve names in the order of livelink.yaml.
extern const char* const kLiveLinkNames[kLiveLinkCount];

// A spelling-free key for a blendshape name, the same as merg_sdk.motion.retarget's
// `_alias_key`: a `_L`/`.R`/`-l`/` r` side suffix is spelt out as Left/Right, a namespace
// prefix (`blendShape1.`, `Face:`, `a|`) is dropped, and only the letters a-z are kept in
// lower case. "eyeBlink_L", "EyeBlinkLeft" and "blendShape1.eyeBlinkLeft" share a key.
std::string AliasKey(const std::string& name);

// Apple's spelling of an ARKit name written any common way, or nullptr
// (merg_sdk.motion.retarget.canonical_arkit_name).
const char* CanonicalArkitName(const std::string& name);

// Index of `name` in kArkit52Names (exact spelling), or -1.
int ArkitIndex(const std::string& name);

// Binds source columns (a session's rig names) to a target's names (a mesh's morph
// targets): result[i] is the target index for source i, or -1. An override entry
// {source, target} wins; otherwise an exact name, then the same AliasKey, matches.
struct NameOverride {
  std::string source;
  std::string target;  // "" unbinds the source name
};
std::vector<int> BuildNameMap(const std::vector<std::string>& source,
                              const std::vector<std::string>& target,
                              const std::vector<NameOverride>& overrides = {});

// How the Live Link rotation curves are scaled. The SDK and livelink.yaml use radians;
// Epic's ARKit Live Link source for UE 4.2x mapped degrees/180 into [-1, 1].
enum class RotationUnit { kRadians, kDegrees, kHalfTurns };

// One arkit52 frame (+ head pitch/yaw/roll and eyes left pitch/yaw, right pitch/yaw, both
// optional: nullptr means zero) -> the 61 Live Link values of livelink.yaml: shapes
// clipped to [0, 1], yaw negated, eye rolls 0.
void ArkitToLiveLink(const float* arkit52, const float* head, const float* eyes, float* out61,
                     RotationUnit unit = RotationUnit::kRadians);

}  // namespace merg
