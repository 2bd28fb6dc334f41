using Merg.Client;
using Merg.Unity;
using UnityEditor;
using UnityEngine;

namespace Merg.EditorTools
{
    /// <summary>The avatar's inspector: connection and session state in play mode, and a
    /// line to say or send as the user, for trying a setup without writing code.</summary>
    [CustomEditor(typeof(MergAvatar))]
    public sealed class MergAvatarEditor : UnityEditor.Editor
    {
        private string line = "Hello! It is good to see you.";

        public override bool RequiresConstantRepaint()
        {
            return EditorApplication.isPlaying;
        }

        public override void OnInspectorGUI()
        {
            DrawDefaultInspector();
            var avatar = (MergAvatar)target;
            if (avatar.settings == null)
            {
                EditorGUILayout.HelpBox("Assign a MergConnectionSettings asset (Assets > Create > MERG > Connection Settings).", MessageType.Warning);
            }
            if (!EditorApplication.isPlaying) return;
            EditorGUILayout.Space();
            MergClient client = avatar.Client;
            MergSession session = avatar.Session;
            EditorGUILayout.LabelField("Connection", client == null ? "stopped" : client.State.ToString());
            if (client != null && client.Welcome != null)
                EditorGUILayout.LabelField("Server", client.Welcome.ServerName + " " + client.Welcome.ServerVersion);
            if (session != null)
            {
                EditorGUILayout.LabelField("Session", session.State + " " + (session.Sid ?? ""));
                if (session.Names != null)
                    EditorGUILayout.LabelField("Rig", session.RigName + " (" + session.Names.Length + " names) " + session.Fps + " fps " + session.SampleRate + " Hz");
                var buffer = session.Buffer;
                if (buffer != null)
                {
                    EditorGUILayout.LabelField("Buffered", (buffer.BufferedSamples / (double)buffer.SampleRate).ToString("F2") + " s");
                    EditorGUILayout.LabelField("Underruns / dropped turns", buffer.Underruns + " / " + buffer.DroppedTurns);
                }
                if (session.LastError != null) EditorGUILayout.HelpBox(session.LastError.ToString(), MessageType.Info);
            }
            line = EditorGUILayout.TextField("Line", line);
            GUILayout.BeginHorizontal();
            if (GUILayout.Button("Say")) avatar.Say(line);
            if (GUILayout.Button("Send as user")) avatar.SendUserText(line);
            if (GUILayout.Button("Interrupt")) avatar.Interrupt();
            GUILayout.EndHorizontal();
        }
    }
}
