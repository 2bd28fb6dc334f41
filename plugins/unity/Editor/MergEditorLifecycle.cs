using Merg.Client;
using UnityEditor;

namespace Merg.EditorTools
{
    /// <summary>
    /// Keeps MERG connections from outliving the editor's script domain: every live client
    /// is disposed (socket closed, network thread joined with a timeout) before an assembly
    /// reload, when play mode ends and when the editor quits. MergAvatar already disconnects
    /// in OnDisable; this catches clients made by other scripts and play-mode exits that
    /// skip OnDisable (domain reload disabled in Enter Play Mode Options).
    /// </summary>
    [InitializeOnLoad]
    public static class MergEditorLifecycle
    {
        static MergEditorLifecycle()
        {
            AssemblyReloadEvents.beforeAssemblyReload += MergClient.ShutdownAll;
            EditorApplication.quitting += MergClient.ShutdownAll;
            EditorApplication.playModeStateChanged += state =>
            {
                if (state == PlayModeStateChange.ExitingPlayMode || state == PlayModeStateChange.EnteredEditMode) MergClient.ShutdownAll();
            };
        }
    }
}
