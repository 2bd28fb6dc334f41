using System;
using Merg.Rigs;
using UnityEngine;

namespace Merg.Unity
{
    /// <summary>
    /// A project's own blendshape names for rig columns (Assets > Create > MERG > Blendshape
    /// Alias Table), tried before the built-in VRM/viseme aliases and the name normalisation
    /// (Apple, PascalCase, _L/_R, prefixes). Most rigs need none.
    /// </summary>
    [CreateAssetMenu(fileName = "MergBlendshapeAliases", menuName = "MERG/Blendshape Alias Table", order = 1)]
    public sealed class BlendshapeAliasAsset : ScriptableObject
    {
        [Serializable]
        public struct Entry
        {
            [Tooltip("A name of the session rig, e.g. jawOpen (arkit52) or aa (vrm1).")]
            public string rigName;
            [Tooltip("The blendshape on your mesh that it drives, e.g. MTH_JawDrop.")]
            public string meshName;
        }

        [Tooltip("Also use the built-in VRM and viseme aliases (after these entries).")]
        public bool includeBuiltIn = true;
        public Entry[] entries = new Entry[0];

        public BlendshapeAliasTable ToTable()
        {
            var table = new BlendshapeAliasTable();
            foreach (var entry in entries)
            {
                if (!string.IsNullOrEmpty(entry.rigName) && !string.IsNullOrEmpty(entry.meshName)) table.Add(entry.rigName, entry.meshName);
            }
            if (includeBuiltIn) table.AddBuiltIn();
            return table;
        }
    }
}
