using System.Collections.Generic;
using Merg.Rigs;
using Merg.Unity;
using UnityEditor;
using UnityEngine;

namespace Merg.EditorTools
{
    /// <summary>Shows which ARKit names the driver's meshes answer to, before playing (the
    /// arkit52 rig; other rigs are bound when their session opens).</summary>
    [CustomEditor(typeof(BlendshapeDriver))]
    public sealed class BlendshapeDriverEditor : UnityEditor.Editor
    {
        private string report;

        public override void OnInspectorGUI()
        {
            DrawDefaultInspector();
            var driver = (BlendshapeDriver)target;
            EditorGUILayout.Space();
            if (GUILayout.Button("Check the meshes against the arkit52 rig")) report = Check(driver);
            if (!string.IsNullOrEmpty(report)) EditorGUILayout.HelpBox(report, MessageType.Info);
        }

        private static string Check(BlendshapeDriver driver)
        {
            SkinnedMeshRenderer[] renderers = driver.renderers != null && driver.renderers.Length > 0
                ? driver.renderers
                : driver.GetComponentsInChildren<SkinnedMeshRenderer>(true);
            if (renderers.Length == 0) return "No SkinnedMeshRenderer to drive.";
            BlendshapeAliasTable table = driver.aliases != null ? driver.aliases.ToTable() : BlendshapeAliasTable.CreateDefault();
            var lines = new List<string>();
            foreach (var renderer in renderers)
            {
                if (renderer == null || renderer.sharedMesh == null) continue;
                Mesh mesh = renderer.sharedMesh;
                var names = new string[mesh.blendShapeCount];
                for (int i = 0; i < names.Length; i++) names[i] = mesh.GetBlendShapeName(i);
                BlendshapeBinding binding = BlendshapeBinding.Build(Arkit52.Names, names, table);
                lines.Add(renderer.name + ": " + binding.MatchedCount + " of 52 ARKit shapes"
                    + (binding.Unmatched.Length > 0 ? "; missing " + string.Join(", ", binding.Unmatched) : ""));
            }
            return string.Join("\n", lines.ToArray());
        }
    }
}
