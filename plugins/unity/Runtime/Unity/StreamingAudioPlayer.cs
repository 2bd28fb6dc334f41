using System;
using System.Threading;
using Merg.Client;
using Merg.Playback;
using UnityEngine;

namespace Merg.Unity
{
    /// <summary>
    /// Plays the avatar's speech: a looping streamed AudioClip whose PCM reader callback
    /// (audio thread) pulls samples from the session's jitter buffer, and the audio clock the
    /// face is sampled on.
    /// </summary>
    /// <remarks>
    /// <para>The clip is created with <c>AudioClip.Create(name, length, 1, rate, stream: true,
    /// OnAudioRead, OnAudioSetPosition)</c> at the session's sample rate, so Unity resamples
    /// to the output rate. The callback never blocks and never allocates
    /// (<see cref="SpeechBuffer.Read"/> fills silence when nothing is due).</para>
    /// <para>Clock: the buffer counts every sample the callback read (silence included).
    /// Unity reads a streamed clip ahead of what is heard, so by default the heard position
    /// is the AudioSource's play head (<c>timeSamples</c>, unwrapped against the samples
    /// actually read); <see cref="Clock.SamplesRead"/> uses the samples read minus the DSP
    /// buffer latency instead. <see cref="HeardPosition"/> is updated in Update, before
    /// <see cref="BlendshapeDriver"/> samples the face in LateUpdate.</para>
    /// </remarks>
    [AddComponentMenu("MERG/Streaming Audio Player")]
    [RequireComponent(typeof(AudioSource))]
    public sealed class StreamingAudioPlayer : MonoBehaviour
    {
        public enum Clock
        {
            /// <summary>The AudioSource's play head (timeSamples), unwrapped with the samples read.</summary>
            PlayHead,
            /// <summary>The samples read by the PCM callback, minus the DSP buffer latency.</summary>
            SamplesRead,
        }

        [Tooltip("The avatar whose session to play (found in the parents when empty).")]
        public MergAvatar avatar;
        public Clock clock = Clock.PlayHead;
        [Tooltip("Extra output latency to subtract (Bluetooth headsets, external DSP), in ms.")]
        public float extraLatencyMs;
        [Tooltip("Length of the looping streamed clip; longer than Unity's read-ahead (about 0.4 s).")]
        [Min(0.5f)] public float clipSeconds = 2f;

        private AudioSource source;
        private AudioClip clip;
        private SpeechBuffer buffer;
        private int clipLength;
        private long clipStartOutput;
        private long samplesRead;

        /// <summary>The jitter buffer being played (null when no session is open).</summary>
        public SpeechBuffer Buffer
        {
            get { return buffer; }
        }

        /// <summary>The sample being heard now, on the buffer's output clock
        /// (<see cref="SpeechBuffer.OutputPosition"/> units): where to sample the face.</summary>
        public double HeardPosition { get; private set; }

        /// <summary>A turn is playing or about to.</summary>
        public bool IsSpeaking
        {
            get { return buffer != null && buffer.IsActive; }
        }

        private void Awake()
        {
            source = GetComponent<AudioSource>();
            source.playOnAwake = false;
            if (avatar == null) avatar = GetComponentInParent<MergAvatar>();
        }

        private void OnEnable()
        {
            if (avatar == null) return;
            avatar.SessionReady += Bind;
            if (avatar.Session != null && avatar.Session.Buffer != null) Bind(avatar.Session);
        }

        private void OnDisable()
        {
            if (avatar != null) avatar.SessionReady -= Bind;
            Unbind();
        }

        private void Bind(MergSession session)
        {
            SpeechBuffer next = session.Buffer;
            if (next == null || (next == buffer && clip != null)) return; // a reopened session keeps a compatible buffer
            Unbind();
            clipLength = Math.Max(1024, (int)(next.SampleRate * clipSeconds));
            clipStartOutput = next.OutputPosition;
            Interlocked.Exchange(ref samplesRead, 0L);
            buffer = next;
            clip = AudioClip.Create("MERG speech", clipLength, 1, next.SampleRate, true, OnAudioRead, OnAudioSetPosition);
            source.clip = clip;
            source.loop = true;
            source.Play();
        }

        private void Unbind()
        {
            if (source != null) source.Stop();
            buffer = null;
            if (clip != null)
            {
                Destroy(clip);
                clip = null;
            }
        }

        // Audio thread: Unity asks for the next block of the stream.
        private void OnAudioRead(float[] data)
        {
            SpeechBuffer current = buffer;
            if (current == null)
            {
                Array.Clear(data, 0, data.Length);
                return;
            }
            current.Read(data, 0, data.Length);
            Interlocked.Add(ref samplesRead, data.Length);
        }

        // A looping stream reads on in order; nothing to seek.
        private void OnAudioSetPosition(int position)
        {
        }

        private void Update()
        {
            SpeechBuffer current = buffer;
            if (current == null) return;
            long read = Interlocked.Read(ref samplesRead);
            double heard;
            if (clock == Clock.PlayHead && source.isPlaying)
            {
                // the play head trails the reader by less than a clip: unwrap timeSamples with it
                int head = source.timeSamples;
                long laps = (read - head) / clipLength;
                heard = laps * (double)clipLength + head;
                if (heard > read) heard = read;
            }
            else
            {
                int length, count;
                AudioSettings.GetDSPBufferSize(out length, out count);
                heard = read - (double)length * count * current.SampleRate / AudioSettings.outputSampleRate;
            }
            heard -= extraLatencyMs * 0.001 * current.SampleRate;
            HeardPosition = clipStartOutput + Math.Max(0.0, heard);
        }
    }
}
