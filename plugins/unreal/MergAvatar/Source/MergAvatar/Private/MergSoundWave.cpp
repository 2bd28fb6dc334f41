#include "MergSoundWave.h"

UMergSoundWave::UMergSoundWave(const FObjectInitializer& ObjectInitializer)
	: Super(ObjectInitializer)
{
	NumChannels = 1;
	Duration = INDEFINITELY_LOOPING_DURATION;  // the voice stays open between turns (silence)
	bLooping = false;
	SoundGroup = SOUNDGROUP_Voice;
	Configure(48000);
}

void UMergSoundWave::Configure(int32 InSampleRate)
{
	SetSampleRate(InSampleRate);
}

void UMergSoundWave::SetBuffer(std::shared_ptr<merg::JitterBuffer> InBuffer)
{
	FScopeLock Lock(&BufferLock);
	Buffer = MoveTemp(InBuffer);
}

int32 UMergSoundWave::OnGeneratePCMAudio(TArray<uint8>& OutAudio, int32 NumSamples)
{
	// Always a full block: the turn's audio while it plays, silence otherwise, so the sound
	// never starves and never has to be restarted for the next turn.
	OutAudio.SetNumUninitialized(NumSamples * static_cast<int32>(sizeof(int16)));
	int16* Samples = reinterpret_cast<int16*>(OutAudio.GetData());
	std::shared_ptr<merg::JitterBuffer> Playing;
	{
		FScopeLock Lock(&BufferLock);
		Playing = Buffer;
	}
	if (Playing)
	{
		Playing->ReadAudio(Samples, static_cast<size_t>(NumSamples));
	}
	else
	{
		FMemory::Memzero(Samples, NumSamples * sizeof(int16));
	}
	return NumSamples;
}
