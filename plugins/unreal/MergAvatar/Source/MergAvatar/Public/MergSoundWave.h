// The avatar's voice: a procedural sound wave that pulls samples from the session's jitter
// buffer on the audio render thread. The buffer counts what it hands out, which is the
// clock the face is sampled at.
#pragma once

#include "CoreMinimal.h"
#include "HAL/CriticalSection.h"
#include "MergCore.h"
#include "Sound/SoundWaveProcedural.h"

#include <memory>

#include "MergSoundWave.generated.h"

UCLASS(Transient)
class MERGAVATAR_API UMergSoundWave : public USoundWaveProcedural
{
	GENERATED_BODY()

public:
	UMergSoundWave(const FObjectInitializer& ObjectInitializer);

	/** Mono 16-bit at this rate (set before the sound plays). */
	void Configure(int32 InSampleRate);

	/** The jitter buffer to play (game thread); nullptr plays silence. */
	void SetBuffer(std::shared_ptr<merg::JitterBuffer> InBuffer);

	//~ USoundWaveProcedural: runs on the audio render thread.
	virtual int32 OnGeneratePCMAudio(TArray<uint8>& OutAudio, int32 NumSamples) override;
	virtual Audio::EAudioMixerStreamDataFormat::Type GetGeneratedPCMDataFormat() const override
	{
		return Audio::EAudioMixerStreamDataFormat::Int16;
	}

private:
	FCriticalSection BufferLock;
	std::shared_ptr<merg::JitterBuffer> Buffer;
};
