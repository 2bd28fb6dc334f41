using Merg.Client;
using Merg.Playback;
using Merg.Transport;
using UnityEngine;

namespace Merg.Unity
{
    /// <summary>Which transport carries the connection.</summary>
    public enum MergTransportKind
    {
        /// <summary>The built-in ZMTP 3.0 DEALER over plain TCP sockets (no dependencies, no CurveZMQ).</summary>
        Zmtp,
        /// <summary>NetMQ, when the project has it and defines MERG_NETMQ (see docs/plugins/unity.md).</summary>
        NetMQ,
    }

    /// <summary>
    /// Where the MERG server is and how to talk to it, as an asset shared by avatars
    /// (Assets > Create > MERG > Connection Settings). Read when a MergAvatar connects.
    /// </summary>
    [CreateAssetMenu(fileName = "MergConnectionSettings", menuName = "MERG/Connection Settings", order = 0)]
    public sealed class MergConnectionSettings : ScriptableObject
    {
        [Header("Server")]
        [Tooltip("Address of `merg serve` (loopback by default; a public server needs CurveZMQ, i.e. the NetMQ transport).")]
        public string host = "127.0.0.1";
        [Tooltip("TCP port of the server's ROUTER socket.")]
        public int port = 5555;
        public MergTransportKind transport = MergTransportKind.Zmtp;

        [Header("Session")]
        [Tooltip("arkit52, visemes, facecap, livelink, oculus, vrm0 or vrm1 (welcome.capabilities.rigs).")]
        public string rig = "arkit52";
        [Tooltip("Face frames per second: 30, 60 or 120.")]
        public int fps = 60;
        [Tooltip("Audio sample rate: 16000, 22050, 24000, 44100 or 48000. 48000 matches Unity's usual output rate.")]
        public int sampleRate = 48000;
        [Tooltip("A voice from welcome.capabilities.voices; empty for the server's default.")]
        public string voice = "";
        [Tooltip("A persona id the server knows (session.open avatar); empty for the default persona.")]
        public string persona = "";

        [Header("Client")]
        public string clientName = "merg-unity";
        [Min(100)] public int connectTimeoutMs = 3000;
        [Tooltip("A ping goes out when nothing was sent for this long (keep it under the server's resume takeover, 10 s).")]
        [Min(500)] public int heartbeatIntervalMs = 5000;
        [Tooltip("Nothing from the server for this long means the connection is dead: reconnect.")]
        [Min(1000)] public int livenessTimeoutMs = 20000;
        [Min(10)] public int reconnectMinDelayMs = 250;
        [Min(10)] public int reconnectMaxDelayMs = 2000;
        [Tooltip("How long OnDisable / quitting waits for the network thread (it is a background thread either way).")]
        [Min(10)] public int shutdownTimeoutMs = 1000;

        [Header("Playback")]
        [Tooltip("Jitter buffer depth: a turn starts playing once this much of it arrived.")]
        [Min(0)] public float jitterBufferMs = 120f;
        [Tooltip("Audio held ahead of the player; when full, the server is held back.")]
        [Min(2)] public float bufferSeconds = 30f;

        [Header("Diagnostics")]
        [Tooltip("Log connection events from the network thread to the console.")]
        public bool logToConsole;

        public MergClientOptions ToClientOptions()
        {
            var options = new MergClientOptions
            {
                Host = host,
                Port = port,
                ClientName = clientName,
                ClientVersion = MergPackage.Version,
                Engine = "unity",
                ConnectTimeoutMs = connectTimeoutMs,
                HeartbeatIntervalMs = heartbeatIntervalMs,
                LivenessTimeoutMs = livenessTimeoutMs,
                ReconnectMinDelayMs = reconnectMinDelayMs,
                ReconnectMaxDelayMs = reconnectMaxDelayMs,
                ShutdownTimeoutMs = shutdownTimeoutMs,
                Speech = new SpeechBufferOptions { StartThresholdMs = jitterBufferMs, BufferSeconds = bufferSeconds },
                TransportFactory = TransportRegistry.Get(transport == MergTransportKind.NetMQ ? TransportRegistry.NetMq : TransportRegistry.Zmtp),
            };
            if (logToConsole) options.Log = message => Debug.Log(message);
            return options;
        }

        public SessionOptions ToSessionOptions()
        {
            return new SessionOptions
            {
                Rig = rig,
                Fps = fps,
                SampleRate = sampleRate,
                Voice = string.IsNullOrEmpty(voice) ? null : voice,
                Avatar = string.IsNullOrEmpty(persona) ? null : persona,
            };
        }
    }

    /// <summary>The package's own version (package.json), sent in hello.</summary>
    public static class MergPackage
    {
        public const string Name = "com.merg.sdk";
        public const string Version = "0.1.0";
    }
}
