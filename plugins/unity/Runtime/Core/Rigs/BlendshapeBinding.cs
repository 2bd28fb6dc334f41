using System;
using System.Collections.Generic;
using System.Text;

namespace Merg.Rigs
{
    /// <summary>
    /// Blendshape name normalisation: one key for the spellings of the same shape that
    /// tools export. <c>eyeBlinkLeft</c> (Apple, ARKit), <c>EyeBlinkLeft</c> (PascalCase,
    /// Live Link / MetaHuman), <c>eyeBlink_L</c> (Face Cap and most DCC rigs),
    /// <c>Eye_Blink_L</c> (Character Creator), <c>eye_blink_left</c>, <c>eyeBlink.L</c>
    /// (Blender) and <c>blendShape1.eyeBlinkLeft</c> (Maya/FBX node prefix) all become
    /// <c>eyeblinkleft</c>.
    /// </summary>
    public static class BlendshapeNames
    {
        public static string Normalize(string name)
        {
            if (string.IsNullOrEmpty(name)) return "";
            string side = null;
            string body = name.Trim();
            // a side suffix: _L/_R, .L/.R, -L/-R, " L"/" R" (either case)
            if (body.Length > 2)
            {
                char separator = body[body.Length - 2];
                char letter = char.ToUpperInvariant(body[body.Length - 1]);
                if ((separator == '_' || separator == '.' || separator == '-' || separator == ' ') && (letter == 'L' || letter == 'R'))
                {
                    side = letter == 'L' ? "left" : "right";
                    body = body.Substring(0, body.Length - 2);
                }
            }
            // an FBX/Maya blendshape node prefix: "blendShape1.jawOpen"
            int dot = body.LastIndexOf('.');
            if (dot >= 0 && dot < body.Length - 1) body = body.Substring(dot + 1);
            var key = new StringBuilder(body.Length + 5);
            foreach (char c in body)
            {
                if (char.IsLetterOrDigit(c)) key.Append(char.ToLowerInvariant(c));
            }
            if (side != null) key.Append(side);
            return key.ToString();
        }
    }

    /// <summary>
    /// Extra names a rig column may have on a mesh. The built-in table knows the VRM 0.x /
    /// 1.0 presets with their VRoid mesh names (<c>aa</c> = <c>a</c> = <c>Fcl_MTH_A</c>,
    /// <c>happy</c> = <c>joy</c> = <c>Fcl_ALL_Joy</c>, ...) and the Oculus visemes with the
    /// Ready Player Me and VRChat names (<c>PP</c> = <c>viseme_PP</c> = <c>vrc.v_pp</c>).
    /// ARKit spellings need no table: <see cref="BlendshapeNames.Normalize"/> folds them.
    /// Add project-specific names with <see cref="Add"/> (the Unity layer fills them from a
    /// ScriptableObject).
    /// </summary>
    public sealed class BlendshapeAliasTable
    {
        private static readonly string[][] BuiltInGroups =
        {
            // VRM 1.0 expression presets, VRM 0.x presets, VRoid Studio mesh shapes
            new[] { "aa", "a", "Fcl_MTH_A" },
            new[] { "ih", "i", "Fcl_MTH_I" },
            new[] { "ou", "u", "Fcl_MTH_U" },
            new[] { "ee", "e", "Fcl_MTH_E" },
            new[] { "oh", "o", "Fcl_MTH_O" },
            new[] { "blink", "Fcl_EYE_Close" },
            new[] { "blinkLeft", "blink_l", "Fcl_EYE_Close_L" },
            new[] { "blinkRight", "blink_r", "Fcl_EYE_Close_R" },
            new[] { "happy", "joy", "Fcl_ALL_Joy" },
            new[] { "angry", "Fcl_ALL_Angry" },
            new[] { "sad", "sorrow", "Fcl_ALL_Sorrow" },
            new[] { "relaxed", "fun", "Fcl_ALL_Fun" },
            new[] { "surprised", "Fcl_ALL_Surprised" },
            new[] { "neutral", "Fcl_ALL_Neutral" },
            new[] { "lookUp", "lookup" },
            new[] { "lookDown", "lookdown" },
            new[] { "lookLeft", "lookleft" },
            new[] { "lookRight", "lookright" },
            // Oculus / Meta visemes, Ready Player Me and VRChat names
            new[] { "sil", "viseme_sil", "vrc.v_sil", "v_sil" },
            new[] { "PP", "viseme_PP", "vrc.v_pp", "v_pp" },
            new[] { "FF", "viseme_FF", "vrc.v_ff", "v_ff" },
            new[] { "TH", "viseme_TH", "vrc.v_th", "v_th" },
            new[] { "DD", "viseme_DD", "vrc.v_dd", "v_dd" },
            new[] { "kk", "viseme_kk", "vrc.v_kk", "v_kk" },
            new[] { "CH", "viseme_CH", "vrc.v_ch", "v_ch" },
            new[] { "SS", "viseme_SS", "vrc.v_ss", "v_ss" },
            new[] { "nn", "viseme_nn", "vrc.v_nn", "v_nn" },
            new[] { "RR", "viseme_RR", "vrc.v_rr", "v_rr" },
            new[] { "E", "viseme_E", "vrc.v_e", "v_e" },
            new[] { "I", "ih", "viseme_I", "vrc.v_ih", "v_ih" },
            new[] { "O", "oh", "viseme_O", "vrc.v_oh", "v_oh" },
            new[] { "U", "ou", "viseme_U", "vrc.v_ou", "v_ou" },
            new[] { "viseme_aa", "vrc.v_aa", "v_aa" },
        };

        private readonly Dictionary<string, List<string>> aliases = new Dictionary<string, List<string>>();

        /// <summary>A table with the built-in VRM and viseme names.</summary>
        public static BlendshapeAliasTable CreateDefault()
        {
            var table = new BlendshapeAliasTable();
            table.AddBuiltIn();
            return table;
        }

        /// <summary>Adds the built-in VRM and viseme names. Names added before are tried
        /// first, so add a project's own aliases, then these.</summary>
        public void AddBuiltIn()
        {
            foreach (string[] group in BuiltInGroups)
            {
                foreach (string member in group)
                {
                    foreach (string other in group)
                    {
                        if (other != member) Add(member, other);
                    }
                }
            }
            // the viseme aa is also the VRM aa
            Add("aa", "viseme_aa");
            Add("aa", "vrc.v_aa");
        }

        /// <summary>Lets the rig column <paramref name="rigName"/> drive a mesh shape named
        /// <paramref name="meshName"/> (both compared after normalisation).</summary>
        public void Add(string rigName, string meshName)
        {
            string key = BlendshapeNames.Normalize(rigName);
            List<string> names;
            if (!aliases.TryGetValue(key, out names))
            {
                names = new List<string>();
                aliases[key] = names;
            }
            if (!names.Contains(meshName)) names.Add(meshName);
        }

        /// <summary>The names registered for a rig column, in the order they were added.</summary>
        public IList<string> AliasesOf(string rigName)
        {
            List<string> names;
            return aliases.TryGetValue(BlendshapeNames.Normalize(rigName), out names) ? (IList<string>)names : new string[0];
        }
    }

    /// <summary>
    /// Which mesh blendshape each rig column drives: built once per mesh when the session
    /// opens (the rig's names arrive in <c>session.opened</c>), then applied every frame by
    /// index. Matching per column, first hit wins: the exact name, an alias's exact name,
    /// the normalised name, an alias's normalised name.
    /// </summary>
    public sealed class BlendshapeBinding
    {
        private BlendshapeBinding(int[] meshIndex, string[] rigNames, string[] unmatched)
        {
            MeshIndex = meshIndex;
            RigNames = rigNames;
            Unmatched = unmatched;
        }

        /// <summary>For each rig column, the mesh blendshape index, or -1.</summary>
        public int[] MeshIndex { get; private set; }

        public string[] RigNames { get; private set; }

        /// <summary>Rig names no blendshape answered to (e.g. the rotation columns of the
        /// livelink rig, or shapes the mesh lacks).</summary>
        public string[] Unmatched { get; private set; }

        public int MatchedCount { get { return RigNames.Length - Unmatched.Length; } }

        public static BlendshapeBinding Build(IList<string> rigNames, IList<string> meshNames, BlendshapeAliasTable aliases = null)
        {
            if (rigNames == null) throw new ArgumentNullException("rigNames");
            if (meshNames == null) throw new ArgumentNullException("meshNames");
            var exact = new Dictionary<string, int>();
            var normalized = new Dictionary<string, int>();
            for (int i = 0; i < meshNames.Count; i++)
            {
                string name = meshNames[i] ?? "";
                if (!exact.ContainsKey(name)) exact[name] = i;
                string key = BlendshapeNames.Normalize(name);
                if (key.Length > 0 && !normalized.ContainsKey(key)) normalized[key] = i;
            }
            var index = new int[rigNames.Count];
            var unmatched = new List<string>();
            for (int c = 0; c < rigNames.Count; c++)
            {
                string rigName = rigNames[c];
                IList<string> alternatives = aliases == null ? (IList<string>)new string[0] : aliases.AliasesOf(rigName);
                int found = Lookup(exact, rigName);
                for (int a = 0; found < 0 && a < alternatives.Count; a++) found = Lookup(exact, alternatives[a]);
                if (found < 0) found = Lookup(normalized, BlendshapeNames.Normalize(rigName));
                for (int a = 0; found < 0 && a < alternatives.Count; a++)
                    found = Lookup(normalized, BlendshapeNames.Normalize(alternatives[a]));
                index[c] = found;
                if (found < 0) unmatched.Add(rigName);
            }
            var names = new string[rigNames.Count];
            rigNames.CopyTo(names, 0);
            return new BlendshapeBinding(index, names, unmatched.ToArray());
        }

        private static int Lookup(Dictionary<string, int> names, string name)
        {
            int index;
            return name != null && names.TryGetValue(name, out index) ? index : -1;
        }
    }
}
