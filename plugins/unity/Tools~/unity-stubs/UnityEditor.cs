// Stub declarations of the part of the UnityEditor API the MERG editor code uses (Unity
// 2021.3 signatures), for build.sh's type check only. NOT Unity; never imported (the
// folder ends in "~").
#pragma warning disable 67
using System;
using UnityEngine;

namespace UnityEditor
{
    [AttributeUsage(AttributeTargets.Class)]
    public class InitializeOnLoadAttribute : Attribute
    {
    }

    public static class AssemblyReloadEvents
    {
        public delegate void AssemblyReloadCallback();

        public static event AssemblyReloadCallback beforeAssemblyReload;
        public static event AssemblyReloadCallback afterAssemblyReload;
    }

    public enum PlayModeStateChange
    {
        EnteredEditMode,
        ExitingEditMode,
        EnteredPlayMode,
        ExitingPlayMode,
    }

    public sealed class EditorApplication
    {
        public static bool isPlaying { get; set; }
        public static event Action quitting;
        public static event Action<PlayModeStateChange> playModeStateChanged;
    }

    [AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
    public class CustomEditor : Attribute
    {
        public CustomEditor(Type inspectedType) { }
    }

    public class Editor : ScriptableObject
    {
        public UnityEngine.Object target { get; set; }
        public virtual void OnInspectorGUI() { }
        public bool DrawDefaultInspector() { return true; }
        public virtual bool RequiresConstantRepaint() { return false; }
        public void Repaint() { }
    }

    public enum MessageType
    {
        None,
        Info,
        Warning,
        Error,
    }

    public sealed class EditorGUILayout
    {
        public static void LabelField(string label, params GUILayoutOption[] options) { }
        public static void LabelField(string label, string label2, params GUILayoutOption[] options) { }
        public static void HelpBox(string message, MessageType type) { }
        public static string TextField(string label, string text, params GUILayoutOption[] options) { return text; }
        public static void Space() { }
    }
}
