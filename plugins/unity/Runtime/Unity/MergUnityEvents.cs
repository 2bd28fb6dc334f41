using System;
using UnityEngine.Events;

namespace Merg.Unity
{
    // Concrete UnityEvent types, so the inspector can serialize them in every Unity version.

    [Serializable]
    public sealed class MergStringEvent : UnityEvent<string>
    {
    }

    [Serializable]
    public sealed class MergIntEvent : UnityEvent<int>
    {
    }

    /// <summary>(code, message): the stable error code and the human-readable text.</summary>
    [Serializable]
    public sealed class MergErrorEvent : UnityEvent<string, string>
    {
    }
}
