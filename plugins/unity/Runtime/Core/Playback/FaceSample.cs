namespace Merg.Playback
{
    /// <summary>
    /// One face pose sampled on the audio clock: the rig's weights (in the session's name
    /// order), head pitch/yaw/roll and eye pitch/yaw (left, right) in radians. Allocated once
    /// and refilled by <see cref="SpeechBuffer.SampleAt"/>, so sampling every rendered frame
    /// allocates nothing.
    /// </summary>
    public sealed class FaceSample
    {
        public FaceSample(int columns)
        {
            Weights = new float[columns];
            Head = new float[3];
            Eyes = new float[4];
        }

        public float[] Weights { get; private set; }
        /// <summary>Pitch (down +), yaw (avatar's left +), roll (towards the right shoulder +).</summary>
        public float[] Head { get; private set; }
        /// <summary>Left pitch, left yaw, right pitch, right yaw (down +, avatar's left +).</summary>
        public float[] Eyes { get; private set; }

        /// <summary>True when a turn was audible at the sampled position.</summary>
        public bool Valid { get; internal set; }
        /// <summary>True when the turn's audio had not arrived in time (an underrun): the face
        /// holds still, as the audio does.</summary>
        public bool Holding { get; internal set; }
        public string Sid { get; internal set; }
        public int Turn { get; internal set; }
        /// <summary>Seconds into the turn.</summary>
        public double TurnSeconds { get; internal set; }
        /// <summary>The fractional frame index that was interpolated.</summary>
        public double Frame { get; internal set; }
    }

    /// <summary>
    /// Samples a session's face on the audio clock. Give it the position the player reports
    /// (in <see cref="SpeechBuffer.OutputPosition"/> units: samples handed to the player,
    /// silence included), or let it subtract the output latency from what was read.
    /// </summary>
    public sealed class FaceSampler
    {
        private readonly SpeechBuffer buffer;

        public FaceSampler(SpeechBuffer buffer)
        {
            this.buffer = buffer;
            Current = new FaceSample(buffer.Columns);
        }

        public SpeechBuffer Buffer { get { return buffer; } }

        /// <summary>The last sample (reused between calls).</summary>
        public FaceSample Current { get; private set; }

        /// <summary>The face at an output position, e.g. the audio source's play head.</summary>
        public bool SampleAt(double outputPosition)
        {
            return buffer.SampleAt(outputPosition, Current);
        }

        /// <summary>The face at what was read minus <paramref name="latencySamples"/> (the
        /// samples the audio output holds between the reader and the speaker).</summary>
        public bool SampleAtReadPosition(double latencySamples)
        {
            double position = buffer.OutputPosition - latencySamples;
            return buffer.SampleAt(position < 0 ? 0 : position, Current);
        }
    }
}
