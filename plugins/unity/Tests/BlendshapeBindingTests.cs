using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using Merg.Rigs;
using NUnit.Framework;

namespace Merg.Tests
{
    /// <summary>
    /// Binding rig columns to mesh blendshapes by name: the reference head (its glTF morph
    /// target names), every session rig's names from blendshapes/, and the spellings of
    /// common avatar pipelines.
    /// </summary>
    [TestFixture]
    public class BlendshapeBindingTests
    {
        /// <summary>The morph target names of a .glb (mesh.extras.targetNames of the first mesh).</summary>
        public static string[] GlbTargetNames(string path)
        {
            byte[] glb = File.ReadAllBytes(path);
            Assert.That(Encoding.ASCII.GetString(glb, 0, 4), Is.EqualTo("glTF"));
            int jsonLength = BitConverter.ToInt32(glb, 12);
            Assert.That(Encoding.ASCII.GetString(glb, 16, 4), Is.EqualTo("JSON"));
            string json = Encoding.UTF8.GetString(glb, 20, jsonLength);
            int key = json.IndexOf("\"targetNames\"", StringComparison.Ordinal);
            Assert.That(key, Is.GreaterThan(0), "targetNames in the glTF JSON");
            int open = json.IndexOf('[', key);
            int close = json.IndexOf(']', open);
            return json.Substring(open + 1, close - open - 1)
                .Split(',')
                .Select(item => item.Trim().Trim('"'))
                .Where(item => item.Length > 0)
                .ToArray();
        }

        /// <summary>The <c>names:</c> list of a blendshapes/*.yaml file (block or flow style).</summary>
        public static string[] YamlNames(string path)
        {
            string[] lines = File.ReadAllLines(path);
            int start = Array.FindIndex(lines, line => line.StartsWith("names:", StringComparison.Ordinal));
            Assert.That(start, Is.GreaterThanOrEqualTo(0), "names: in " + path);
            string rest = lines[start].Substring("names:".Length).Trim();
            if (rest.StartsWith("[", StringComparison.Ordinal) || (rest.Length == 0 && lines[start + 1].Trim().StartsWith("[", StringComparison.Ordinal)))
            {
                var flow = new StringBuilder(rest);
                for (int i = start + 1; !flow.ToString().Contains("]"); i++) flow.Append(' ').Append(lines[i].Trim());
                string text = flow.ToString();
                int open = text.IndexOf('[');
                return text.Substring(open + 1, text.IndexOf(']') - open - 1).Split(',').Select(n => n.Trim()).Where(n => n.Length > 0).ToArray();
            }
            var names = new List<string>();
            for (int i = start + 1; i < lines.Length && lines[i].TrimStart().StartsWith("- ", StringComparison.Ordinal); i++)
                names.Add(lines[i].Trim().Substring(2).Trim());
            return names.ToArray();
        }

        private static string ReferenceHead
        {
            get { return Path.Combine(TestEnvironment.RequirePackage(), "Samples~", "ReferenceHead", "reference_head.glb"); }
        }

        private static string[] RigNames(string relative)
        {
            return YamlNames(Path.Combine(TestEnvironment.RequireRepo(), "blendshapes", relative));
        }

        [Test]
        public void TheReferenceHeadCarriesTheArkit52NamesInOrder()
        {
            string[] head = GlbTargetNames(ReferenceHead);
            string[] arkit = RigNames("rigs/arkit52.yaml");
            Assert.That(arkit.Length, Is.EqualTo(52));
            Assert.That(head, Is.EqualTo(arkit));
            var binding = BlendshapeBinding.Build(arkit, head, BlendshapeAliasTable.CreateDefault());
            Assert.That(binding.Unmatched, Is.Empty);
            Assert.That(binding.MeshIndex, Is.EqualTo(Enumerable.Range(0, 52).ToArray()), "column i drives target i");
        }

        [Test]
        public void TheBuiltInArkitListMirrorsTheRigFile()
        {
            Assert.That(Arkit52.Names, Is.EqualTo(RigNames("rigs/arkit52.yaml")));
        }

        [Test]
        public void FaceCapNamesDriveTheReferenceHead()
        {
            string[] head = GlbTargetNames(ReferenceHead);
            string[] facecap = RigNames("retarget/facecap.yaml");
            var binding = BlendshapeBinding.Build(facecap, head, BlendshapeAliasTable.CreateDefault());
            Assert.That(binding.Unmatched, Is.Empty);
            Assert.That(head[binding.MeshIndex[Array.IndexOf(facecap, "eyeBlink_L")]], Is.EqualTo("eyeBlinkLeft"));
            Assert.That(head[binding.MeshIndex[Array.IndexOf(facecap, "mouthSmile_R")]], Is.EqualTo("mouthSmileRight"));
            Assert.That(head[binding.MeshIndex[Array.IndexOf(facecap, "jawLeft")]], Is.EqualTo("jawLeft"));
            Assert.That(binding.MeshIndex.Distinct().Count(), Is.EqualTo(52), "one target per column");
        }

        [Test]
        public void LiveLinkPascalCaseDrivesTheHeadAndLeavesTheRotationColumns()
        {
            string[] head = GlbTargetNames(ReferenceHead);
            string[] livelink = RigNames("retarget/livelink.yaml");
            Assert.That(livelink.Length, Is.EqualTo(61));
            var binding = BlendshapeBinding.Build(livelink, head, BlendshapeAliasTable.CreateDefault());
            Assert.That(binding.MatchedCount, Is.EqualTo(52));
            Assert.That(binding.Unmatched, Is.EqualTo(new[]
            {
                "HeadYaw", "HeadPitch", "HeadRoll", "LeftEyeYaw", "LeftEyePitch", "LeftEyeRoll",
                "RightEyeYaw", "RightEyePitch", "RightEyeRoll",
            }));
            Assert.That(head[binding.MeshIndex[Array.IndexOf(livelink, "JawRight")]], Is.EqualTo("jawRight"));
        }

        [TestCase("eyeBlinkLeft")]
        [TestCase("EyeBlinkLeft")]
        [TestCase("eyeBlink_L")]
        [TestCase("Eye_Blink_L")]
        [TestCase("eye_blink_left")]
        [TestCase("eyeBlink.L")]
        [TestCase("blendShape1.eyeBlinkLeft")]
        [TestCase("head_geo.eyeBlink_L")]
        [TestCase(" EYEBLINKLEFT ")]
        public void SpellingsOfTheSameShapeNormaliseAlike(string spelling)
        {
            Assert.That(BlendshapeNames.Normalize(spelling), Is.EqualTo("eyeblinkleft"));
        }

        [Test]
        public void DirectionsAreNotMistakenForSides()
        {
            Assert.That(BlendshapeNames.Normalize("mouthLeft"), Is.EqualTo("mouthleft"));
            Assert.That(BlendshapeNames.Normalize("jawRight"), Is.EqualTo("jawright"));
            var binding = BlendshapeBinding.Build(new[] { "mouthLeft", "mouthSmileLeft" }, new[] { "MouthSmile_L", "Mouth_Left" });
            Assert.That(binding.MeshIndex, Is.EqualTo(new[] { 1, 0 }));
        }

        [Test]
        public void VrmRigsDriveVroidAndVrmNamedMeshes()
        {
            var aliases = BlendshapeAliasTable.CreateDefault();
            string[] vroid =
            {
                "Fcl_ALL_Neutral", "Fcl_ALL_Angry", "Fcl_ALL_Fun", "Fcl_ALL_Joy", "Fcl_ALL_Sorrow", "Fcl_ALL_Surprised",
                "Fcl_EYE_Close", "Fcl_EYE_Close_L", "Fcl_EYE_Close_R",
                "Fcl_MTH_A", "Fcl_MTH_I", "Fcl_MTH_U", "Fcl_MTH_E", "Fcl_MTH_O",
            };
            string[] vrm1 = RigNames("retarget/vrm1.yaml");
            var binding = BlendshapeBinding.Build(vrm1, vroid, aliases);
            Func<string, string> target = name => vroid[binding.MeshIndex[Array.IndexOf(vrm1, name)]];
            Assert.That(target("aa"), Is.EqualTo("Fcl_MTH_A"));
            Assert.That(target("ou"), Is.EqualTo("Fcl_MTH_U"));
            Assert.That(target("happy"), Is.EqualTo("Fcl_ALL_Joy"));
            Assert.That(target("relaxed"), Is.EqualTo("Fcl_ALL_Fun"));
            Assert.That(target("blinkLeft"), Is.EqualTo("Fcl_EYE_Close_L"));
            Assert.That(target("neutral"), Is.EqualTo("Fcl_ALL_Neutral"));
            Assert.That(binding.Unmatched, Is.EquivalentTo(new[] { "lookUp", "lookDown", "lookLeft", "lookRight" }), "VRoid gaze is bone-driven");

            string[] vrm0 = RigNames("retarget/vrm0.yaml");
            string[] vrm1Mesh = { "aa", "ih", "ou", "ee", "oh", "happy", "sad", "relaxed", "angry", "blink", "blinkLeft", "blinkRight", "neutral" };
            var zero = BlendshapeBinding.Build(vrm0, vrm1Mesh, aliases);
            Func<string, string> zeroTarget = name => vrm1Mesh[zero.MeshIndex[Array.IndexOf(vrm0, name)]];
            Assert.That(zeroTarget("a"), Is.EqualTo("aa"));
            Assert.That(zeroTarget("joy"), Is.EqualTo("happy"));
            Assert.That(zeroTarget("sorrow"), Is.EqualTo("sad"));
            Assert.That(zeroTarget("fun"), Is.EqualTo("relaxed"));
            Assert.That(zeroTarget("blink_l"), Is.EqualTo("blinkLeft"));
        }

        [Test]
        public void VisemesDriveReadyPlayerMeAndVrchatNames()
        {
            var aliases = BlendshapeAliasTable.CreateDefault();
            string[] visemes = RigNames("rigs/visemes.yaml");
            Assert.That(visemes.Length, Is.EqualTo(15));
            string[] rpm = visemes.Select(v => "viseme_" + (v == "ih" ? "I" : v == "oh" ? "O" : v == "ou" ? "U" : v)).ToArray();
            var binding = BlendshapeBinding.Build(visemes, rpm, aliases);
            Assert.That(binding.Unmatched, Is.Empty);
            Assert.That(binding.MeshIndex, Is.EqualTo(Enumerable.Range(0, 15).ToArray()));

            string[] vrchat = visemes.Select(v => "vrc.v_" + v.ToLowerInvariant()).ToArray();
            var vrc = BlendshapeBinding.Build(visemes, vrchat, aliases);
            Assert.That(vrc.Unmatched, Is.Empty);
            Assert.That(vrc.MeshIndex, Is.EqualTo(Enumerable.Range(0, 15).ToArray()));
        }

        [Test]
        public void AProjectAliasWinsOverNormalisation()
        {
            var aliases = BlendshapeAliasTable.CreateDefault();
            aliases.Add("jawOpen", "MTH_JawDrop");
            var binding = BlendshapeBinding.Build(new[] { "jawOpen", "tongueOut" }, new[] { "JawOpen", "MTH_JawDrop", "Tongue_Out" }, aliases);
            Assert.That(binding.MeshIndex, Is.EqualTo(new[] { 1, 2 }));
            var none = BlendshapeBinding.Build(new[] { "cheekPuff" }, new[] { "something" });
            Assert.That(none.MeshIndex, Is.EqualTo(new[] { -1 }));
            Assert.That(none.Unmatched, Is.EqualTo(new[] { "cheekPuff" }));
        }
    }
}
