using System.Collections.Generic;
using Merg.Unity;
using UnityEngine;

namespace Merg.Samples
{
    /// <summary>
    /// The reference head sample's on-screen controls: type a line, have the avatar say it
    /// (a scripted line) or answer it (the user said it), interrupt, and read the captions.
    /// Everything goes through <see cref="MergAvatar"/>; the speech plays through its
    /// StreamingAudioPlayer and the face moves through its BlendshapeDriver.
    /// </summary>
    [AddComponentMenu("MERG/Samples/Reference Head Demo")]
    public sealed class MergReferenceHeadDemo : MonoBehaviour
    {
        public MergAvatar avatar;
        [TextArea(1, 3)] public string line = "Hello there, my friend. Maybe we should buy a map!";
        [Tooltip("Emotion for Say (welcome.capabilities.emotions).")]
        public string emotion = "happy";
        [Range(0f, 1f)] public float intensity = 0.7f;

        private readonly List<string> captions = new List<string>();
        private string status = "connecting...";

        private void Awake()
        {
            if (avatar == null) avatar = GetComponent<MergAvatar>();
        }

        private void OnEnable()
        {
            if (avatar == null) return;
            avatar.onSessionReady.AddListener(OnReady);
            avatar.onReply.AddListener(OnReply);
            avatar.onUserEmotion.AddListener(OnUserEmotion);
            avatar.onTurnEnded.AddListener(OnTurnEnded);
            avatar.onDisconnected.AddListener(OnDisconnected);
            avatar.onError.AddListener(OnError);
        }

        private void OnDisable()
        {
            if (avatar == null) return;
            avatar.onSessionReady.RemoveListener(OnReady);
            avatar.onReply.RemoveListener(OnReply);
            avatar.onUserEmotion.RemoveListener(OnUserEmotion);
            avatar.onTurnEnded.RemoveListener(OnTurnEnded);
            avatar.onDisconnected.RemoveListener(OnDisconnected);
            avatar.onError.RemoveListener(OnError);
        }

        private void OnReady()
        {
            status = "ready (" + avatar.Session.RigName + ", " + avatar.Session.Names.Length + " shapes)";
        }

        private void OnReply(string text)
        {
            captions.Add(text);
            if (captions.Count > 6) captions.RemoveAt(0);
        }

        private void OnUserEmotion(string userEmotion)
        {
            status = "you sound " + userEmotion;
        }

        private void OnTurnEnded(string reason)
        {
            if (reason != "done") status = "turn " + reason;
        }

        private void OnDisconnected(string reason)
        {
            status = "reconnecting: " + reason;
        }

        private void OnError(string code, string message)
        {
            status = code + ": " + message;
        }

        private void OnGUI()
        {
            GUILayout.BeginArea(new Rect(10, 10, 520, 400));
            GUILayout.Label("MERG: " + status);
            line = GUILayout.TextField(line, GUILayout.Width(500));
            GUILayout.BeginHorizontal();
            if (GUILayout.Button("Say", GUILayout.Width(120))) avatar.Say(line, emotion, intensity);
            if (GUILayout.Button("Answer me", GUILayout.Width(120))) avatar.SendUserText(line);
            if (GUILayout.Button("Interrupt", GUILayout.Width(120))) avatar.Interrupt();
            GUILayout.EndHorizontal();
            foreach (string caption in captions) GUILayout.Label(caption);
            GUILayout.EndArea();
        }
    }
}
