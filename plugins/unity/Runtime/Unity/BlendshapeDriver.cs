using System;
using Merg.Client;
using Merg.Playback;
using Merg.Rigs;
using UnityEngine;

namespace Merg.Unity
{
    /// <summary>
    /// Applies the face to SkinnedMeshRenderers by blendshape name: every rig column
    /// (session.opened names) is bound once to a mesh blendshape through the alias tables
    /// (Apple's ARKit names, PascalCase, _L/_R, FBX prefixes, VRM and viseme names, plus an
    /// optional <see cref="BlendshapeAliasAsset"/>), then set every LateUpdate from the face
    /// sampled on the audio clock of the <see cref="StreamingAudioPlayer"/>. Head and eye
    /// angles can turn optional bones.
    /// </summary>
    /// <remarks>Per frame it allocates nothing: the sample, the bindings and the weights are
    /// built when the session opens.</remarks>
    [AddComponentMenu("MERG/Blendshape Driver")]
    public sealed class BlendshapeDriver : MonoBehaviour
    {
        [Tooltip("The avatar (found in the parents when empty).")]
        public MergAvatar avatar;
        [Tooltip("The audio clock (found on the avatar when empty). Without one the face follows the samples read, ahead of what is heard.")]
        public StreamingAudioPlayer player;
        [Tooltip("Meshes to drive (all SkinnedMeshRenderers under this object when empty).")]
        public SkinnedMeshRenderer[] renderers = new SkinnedMeshRenderer[0];
        [Tooltip("Project-specific blendshape names (optional).")]
        public BlendshapeAliasAsset aliases;
        [Tooltip("Unity blendshape weights run 0-100; MERG weights 0-1.")]
        public float weightScale = 100f;
        [Tooltip("Time constant of the return to a neutral face after speech, in seconds.")]
        [Range(0f, 1f)] public float releaseSeconds = 0.12f;
        [Tooltip("Drive the eyeLook* blendshapes. Turn off when eye bones below carry the gaze (not both).")]
        public bool driveGazeBlendshapes = true;

        [Header("Optional bones (face.head / face.eyes, radians)")]
        public Transform headBone;
        public Transform leftEyeBone;
        public Transform rightEyeBone;
        [Tooltip("Signs applied to (pitch, yaw, roll) for your rig's local axes. MERG: pitch + nods down, yaw + turns to the avatar's left, roll + tilts to its right shoulder.")]
        public Vector3 angleSigns = new Vector3(1f, -1f, -1f);
        [Range(0f, 1f)] public float headWeight = 1f;

        private MergSession session;
        private FaceSample sample;
        private BlendshapeBinding[] bindings = new BlendshapeBinding[0];
        private float[] current = new float[0];
        private readonly float[] head = new float[3];
        private readonly float[] eyes = new float[4];
        private Quaternion headRest;
        private Quaternion leftRest;
        private Quaternion rightRest;

        /// <summary>Per renderer, which blendshape each rig column drives.</summary>
        public BlendshapeBinding[] Bindings
        {
            get { return bindings; }
        }

        /// <summary>The last face applied (weights in rig order).</summary>
        public FaceSample LastSample
        {
            get { return sample; }
        }

        private void Awake()
        {
            if (avatar == null) avatar = GetComponentInParent<MergAvatar>();
            if (player == null && avatar != null) player = avatar.GetComponentInChildren<StreamingAudioPlayer>();
            if (renderers == null || renderers.Length == 0) renderers = GetComponentsInChildren<SkinnedMeshRenderer>(true);
            if (headBone != null) headRest = headBone.localRotation;
            if (leftEyeBone != null) leftRest = leftEyeBone.localRotation;
            if (rightEyeBone != null) rightRest = rightEyeBone.localRotation;
        }

        private void OnEnable()
        {
            if (avatar == null) return;
            avatar.SessionReady += Bind;
            if (avatar.Session != null && avatar.Session.Names != null) Bind(avatar.Session);
        }

        private void OnDisable()
        {
            if (avatar != null) avatar.SessionReady -= Bind;
            session = null;
        }

        /// <summary>Binds the session rig's names to the meshes' blendshapes.</summary>
        public void Bind(MergSession opened)
        {
            session = opened;
            string[] names = opened.Names;
            if (sample == null || sample.Weights.Length != names.Length)
            {
                sample = new FaceSample(names.Length);
                current = new float[names.Length];
            }
            BlendshapeAliasTable table = aliases != null ? aliases.ToTable() : BlendshapeAliasTable.CreateDefault();
            bindings = new BlendshapeBinding[renderers.Length];
            for (int r = 0; r < renderers.Length; r++)
            {
                Mesh mesh = renderers[r] != null ? renderers[r].sharedMesh : null;
                var meshNames = new string[mesh != null ? mesh.blendShapeCount : 0];
                for (int i = 0; i < meshNames.Length; i++) meshNames[i] = mesh.GetBlendShapeName(i);
                bindings[r] = BlendshapeBinding.Build(names, meshNames, table);
                if (!driveGazeBlendshapes)
                {
                    for (int c = 0; c < names.Length; c++)
                    {
                        if (names[c].StartsWith("eyeLook", StringComparison.OrdinalIgnoreCase)) bindings[r].MeshIndex[c] = -1;
                    }
                }
                if (bindings[r].MatchedCount == 0 && meshNames.Length > 0)
                    Debug.LogWarning("MERG: no blendshape of " + renderers[r].name + " matches the " + opened.RigName + " rig", this);
            }
        }

        private void LateUpdate()
        {
            MergSession active = session;
            SpeechBuffer buffer = active != null ? active.Buffer : null;
            if (buffer == null || sample == null) return;
            double position = player != null && player.Buffer == buffer ? player.HeardPosition : buffer.OutputPosition;
            bool speaking = buffer.SampleAt(position, sample);
            float release = releaseSeconds <= 0f ? 1f : 1f - Mathf.Exp(-Time.deltaTime / releaseSeconds);
            for (int c = 0; c < current.Length; c++)
                current[c] = speaking ? sample.Weights[c] : Mathf.Lerp(current[c], 0f, release);
            for (int i = 0; i < 3; i++) head[i] = speaking ? sample.Head[i] : Mathf.Lerp(head[i], 0f, release);
            for (int i = 0; i < 4; i++) eyes[i] = speaking ? sample.Eyes[i] : Mathf.Lerp(eyes[i], 0f, release);

            for (int r = 0; r < bindings.Length; r++)
            {
                SkinnedMeshRenderer target = renderers[r];
                if (target == null) continue;
                int[] index = bindings[r].MeshIndex;
                for (int c = 0; c < index.Length; c++)
                {
                    if (index[c] >= 0) target.SetBlendShapeWeight(index[c], current[c] * weightScale);
                }
            }
            if (headBone != null) headBone.localRotation = headRest * Rotation(head[0] * headWeight, head[1] * headWeight, head[2] * headWeight);
            if (leftEyeBone != null) leftEyeBone.localRotation = leftRest * Rotation(eyes[0], eyes[1], 0f);
            if (rightEyeBone != null) rightEyeBone.localRotation = rightRest * Rotation(eyes[2], eyes[3], 0f);
        }

        private Quaternion Rotation(float pitch, float yaw, float roll)
        {
            return Quaternion.Euler(pitch * Mathf.Rad2Deg * angleSigns.x, yaw * Mathf.Rad2Deg * angleSigns.y, roll * Mathf.Rad2Deg * angleSigns.z);
        }
    }
}
