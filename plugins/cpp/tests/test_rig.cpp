// Rig names, aliases and the local Live Link conversion, against the Python tables.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "merg/rig.h"
#include "vectors.h"

namespace {

using merg_test::FloatsLe;
using merg_test::Vectors;

TEST(Rig, AliasesMatchPythonsCanonicalArkitName) {
  const msgpack_object* aliases = Vectors::Get().Group("aliases");
  ASSERT_NE(aliases, nullptr);
  ASSERT_EQ(aliases->type, MSGPACK_OBJECT_ARRAY);
  ASSERT_GT(aliases->via.array.size, 10u);
  for (uint32_t i = 0; i < aliases->via.array.size; ++i) {
    const msgpack_object& pair = aliases->via.array.ptr[i];
    const msgpack_object& spelling = pair.via.array.ptr[0];
    const msgpack_object& canonical = pair.via.array.ptr[1];
    const std::string name(spelling.via.str.ptr, spelling.via.str.size);
    const char* ours = merg::CanonicalArkitName(name);
    if (canonical.type == MSGPACK_OBJECT_NIL) {
      EXPECT_EQ(ours, nullptr) << "'" << name << "' -> " << ours;
    } else {
      ASSERT_NE(ours, nullptr) << "'" << name << "'";
      EXPECT_EQ(std::string(ours), std::string(canonical.via.str.ptr, canonical.via.str.size))
          << "'" << name << "'";
    }
  }
}

TEST(Rig, LiveLinkNamesMatchTheTable) {
  const msgpack_object* livelink = Vectors::Get().Group("livelink");
  ASSERT_NE(livelink, nullptr);
  std::vector<std::string> names;
  merg::StringsOf(*merg::FindKey(*livelink, "names"), &names);
  ASSERT_EQ(names.size(), static_cast<size_t>(merg::kLiveLinkCount));
  for (int i = 0; i < merg::kLiveLinkCount; ++i) EXPECT_EQ(names[i], merg::kLiveLinkNames[i]);
}

TEST(Rig, ArkitToLiveLinkMatchesTheServersRetargeting) {
  const msgpack_object* livelink = Vectors::Get().Group("livelink");
  ASSERT_NE(livelink, nullptr);
  const int count = static_cast<int>(merg::FindKey(*livelink, "count")->via.u64);
  const std::vector<float> arkit = FloatsLe(Vectors::Get().Bin("livelink", "arkit"));
  const std::vector<float> head = FloatsLe(Vectors::Get().Bin("livelink", "head"));
  const std::vector<float> eyes = FloatsLe(Vectors::Get().Bin("livelink", "eyes"));
  const std::vector<float> expected = FloatsLe(Vectors::Get().Bin("livelink", "out"));
  ASSERT_EQ(expected.size(), static_cast<size_t>(count * merg::kLiveLinkCount));
  bool clipped = false;
  for (int f = 0; f < count; ++f) {
    float out[merg::kLiveLinkCount];
    merg::ArkitToLiveLink(&arkit[f * 52], &head[f * 3], &eyes[f * 4], out);
    for (int i = 0; i < merg::kLiveLinkCount; ++i) {
      EXPECT_NEAR(out[i], expected[f * merg::kLiveLinkCount + i], 1e-6)
          << "frame " << f << " " << merg::kLiveLinkNames[i];
    }
    for (int i = 0; i < 52; ++i) clipped |= arkit[f * 52 + i] < 0 || arkit[f * 52 + i] > 1;
  }
  EXPECT_TRUE(clipped) << "the vectors should exercise the [0, 1] clip";
}

TEST(Rig, LiveLinkRotationUnits) {
  float arkit[52] = {};
  const float head[3] = {0.1f, 0.2f, 0.3f};  // pitch, yaw, roll
  const float eyes[4] = {0.01f, 0.02f, 0.03f, 0.04f};
  float radians[61];
  float degrees[61];
  float half_turns[61];
  merg::ArkitToLiveLink(arkit, head, eyes, radians);
  merg::ArkitToLiveLink(arkit, head, eyes, degrees, merg::RotationUnit::kDegrees);
  merg::ArkitToLiveLink(arkit, head, eyes, half_turns, merg::RotationUnit::kHalfTurns);
  EXPECT_FLOAT_EQ(radians[52], -0.2f);  // HeadYaw: yaw negated
  EXPECT_FLOAT_EQ(radians[53], 0.1f);   // HeadPitch
  EXPECT_FLOAT_EQ(radians[54], 0.3f);   // HeadRoll
  EXPECT_FLOAT_EQ(radians[55], -0.02f);  // LeftEyeYaw
  EXPECT_FLOAT_EQ(radians[60], 0.0f);    // RightEyeRoll
  EXPECT_NEAR(degrees[52], -0.2f * 180.0f / static_cast<float>(M_PI), 1e-4);
  EXPECT_NEAR(half_turns[53], 0.1f / static_cast<float>(M_PI), 1e-6);
  // No head or eyes: looking straight ahead.
  float none[61];
  merg::ArkitToLiveLink(arkit, nullptr, nullptr, none);
  for (int i = 52; i < 61; ++i) EXPECT_EQ(none[i], 0.0f);
}

TEST(Rig, MorphTargetsBindByAlias) {
  const std::vector<std::string> session(merg::kArkit52Names, merg::kArkit52Names + 52);
  // A mesh with Live Link PascalCase, Face Cap suffixes, a namespace and a custom morph.
  const std::vector<std::string> mesh = {"EyeBlinkLeft", "eyeBlink_R", "Face:jawOpen",
                                         "MouthSmile_L", "mouthSmileRight", "Wrinkles",
                                         "tongue_out"};
  const std::vector<int> map = merg::BuildNameMap(session, mesh);
  ASSERT_EQ(map.size(), 52u);
  EXPECT_EQ(map[merg::ArkitIndex("eyeBlinkLeft")], 0);
  EXPECT_EQ(map[merg::ArkitIndex("eyeBlinkRight")], 1);
  EXPECT_EQ(map[merg::ArkitIndex("jawOpen")], 2);
  EXPECT_EQ(map[merg::ArkitIndex("mouthSmileLeft")], 3);
  EXPECT_EQ(map[merg::ArkitIndex("mouthSmileRight")], 4);
  EXPECT_EQ(map[merg::ArkitIndex("tongueOut")], 6);
  EXPECT_EQ(map[merg::ArkitIndex("cheekPuff")], -1);
  int bound = 0;
  for (int target : map) bound += target >= 0 ? 1 : 0;
  EXPECT_EQ(bound, 6);

  // Overrides win, and an empty target unbinds.
  const std::vector<merg::NameOverride> overrides = {{"cheekPuff", "Wrinkles"},
                                                     {"jawOpen", ""}};
  const std::vector<int> custom = merg::BuildNameMap(session, mesh, overrides);
  EXPECT_EQ(custom[merg::ArkitIndex("cheekPuff")], 5);
  EXPECT_EQ(custom[merg::ArkitIndex("jawOpen")], -1);

  // The Live Link rig's 61 names bind to an ARKit-named mesh too (rotations stay unbound).
  const std::vector<std::string> livelink(merg::kLiveLinkNames, merg::kLiveLinkNames + 61);
  const std::vector<int> from_livelink = merg::BuildNameMap(livelink, session);
  for (int i = 0; i < 52; ++i) {
    ASSERT_GE(from_livelink[i], 0) << livelink[i];
    EXPECT_EQ(merg::AliasKey(session[from_livelink[i]]), merg::AliasKey(livelink[i]));
  }
  for (int i = 52; i < 61; ++i) EXPECT_EQ(from_livelink[i], -1) << livelink[i];
}

}  // namespace
