// UMergAvatarComponent: puts a MERG avatar on an actor.
//
// It connects to a MERG server (merg serve), opens one session, and each tick:
//   * raises the server's events as Blueprint delegates (replies, user affect, turn ends,
//     errors, ...) on the game thread;
//   * plays the voice through a procedural sound wave on an audio component;
//   * samples the face at the voice's playback position (so lips and voice cannot drift)
//     and drives a skeletal mesh's morph targets by name and/or a Live Link subject
//     (ARKit curves in PascalCase, head and eye rotation) for a MetaHuman.
// The network runs on the MERG core's own thread (plugins/cpp); this layer stays thin.
#pragma once

#include "Components/ActorComponent.h"
#include "CoreMinimal.h"
#include "MergCore.h"
#include "MergTypes.h"

#include <memory>

#include "MergAvatarComponent.generated.h"

class FMergLiveLinkSource;
class UAudioComponent;
class UMergMorphTargetMap;
class UMergSoundWave;
class USkeletalMeshComponent;
class USoundAttenuation;

UCLASS(ClassGroup = (MERG), meta = (BlueprintSpawnableComponent), HideCategories = (Activation, Collision, Cooking))
class MERGAVATAR_API UMergAvatarComponent : public UActorComponent
{
	GENERATED_BODY()

public:
	UMergAvatarComponent();

	// --- connection ------------------------------------------------------------------------

	/** The server's ZeroMQ endpoint (`merg serve --host ... --port ...`). */
	UPROPERTY(EditAnywhere, BlueprintReadWrite, Category = "MERG|Connection")
	FString Endpoint = TEXT("tcp://127.0.0.1:5555");

	UPROPERTY(EditAnywhere, BlueprintReadWrite, Category = "MERG|Connection")
	bool bConnectOnBeginPlay = true;

	/** CurveZMQ: the server's public key (Z85, 40 characters). Empty: plain TCP (loopback). */
	UPROPERTY(EditAnywhere, BlueprintReadWrite, Category = "MERG|Connection|Security")
	FString ServerPublicKey;

	/** This client's key pair (Z85), when the server keeps an allow-list. */
	UPROPERTY(EditAnywhere, BlueprintReadWrite, Category = "MERG|Connection|Security")
	FString ClientPublicKey;

	UPROPERTY(EditAnywhere, BlueprintReadWrite, Category = "MERG|Connection|Security")
	FString ClientSecretKey;

	// --- session ---------------------------------------------------------------------------

	/** The rig the server animates: arkit52 (morph targets and Live Link), livelink, ... */
	UPROPERTY(EditAnywhere, BlueprintReadWrite, Category = "MERG|Session")
	FString Rig = TEXT("arkit52");

	/** Face frames per second: 30, 60 or 120. */
	UPROPERTY(EditAnywhere, BlueprintReadWrite, Category = "MERG|Session", meta = (ClampMin = "30", ClampMax = "120"))
	int32 Fps = 60;

	/** Voice sample rate: 16000, 22050, 24000, 44100 or 48000 (the mixer's rate avoids resampling). */
	UPROPERTY(EditAnywhere, BlueprintReadWrite, Category = "MERG|Session")
	int32 SampleRate = 48000;

	/** A voice the server offers; empty: the persona's or the server's default. */
	UPROPERTY(EditAnywhere, BlueprintReadWrite, Category = "MERG|Session")
	FString Voice;

	/** A persona id the server knows (built in: companion, ...); empty: the server's default. */
	UPROPERTY(EditAnywhere, BlueprintReadWrite, Category = "MERG|Session")
	FString Persona;

	/** A session id saved from an earlier run (GetSessionId) to resume its memory; empty: new. */
	UPROPERTY(EditAnywhere, BlueprintReadWrite, Category = "MERG|Session")
	FString ResumeSessionId;

	// --- voice -----------------------------------------------------------------------------

	UPROPERTY(EditAnywhere, BlueprintReadWrite, Category = "MERG|Voice")
	TObjectPtr<USoundAttenuation> VoiceAttenuation;

	/**
	 * How long the mixer holds samples before they are heard. The face is sampled this much
	 * behind the samples handed to the mixer; raise it if the lips lead the voice.
	 */
	UPROPERTY(EditAnywhere, BlueprintReadWrite, Category = "MERG|Voice", meta = (ClampMin = "0", ClampMax = "500", Units = "ms"))
	float AudioLatencyMs = 60.0f;

	/** Tell the server how much of each turn was heard (its memory keeps only that). */
	UPROPERTY(EditAnywhere, BlueprintReadWrite, Category = "MERG|Voice")
	bool bReportPlayback = true;

	// --- face ------------------------------------------------------------------------------

	/** The skeletal mesh component whose morph targets to drive; None: the owner's first
	 * skeletal mesh component that has morph targets. */
	UPROPERTY(EditAnywhere, BlueprintReadWrite, Category = "MERG|Face")
	FName FaceMeshComponentName;

	UPROPERTY(EditAnywhere, BlueprintReadWrite, Category = "MERG|Face")
	bool bDriveMorphTargets = true;

	/** Session name -> morph target overrides and gains; none: aliases only. */
	UPROPERTY(EditAnywhere, BlueprintReadWrite, Category = "MERG|Face")
	TObjectPtr<UMergMorphTargetMap> MorphTargetMap;

	/** Drive the eyeLook* morph targets. Turn off when the eyes are bones (use GetEyeAngles). */
	UPROPERTY(EditAnywhere, BlueprintReadWrite, Category = "MERG|Face")
	bool bDriveEyeLookMorphTargets = true;

	UPROPERTY(EditAnywhere, BlueprintReadWrite, Category = "MERG|Face", meta = (ClampMin = "0", ClampMax = "2"))
	float MorphTargetScale = 1.0f;

	/** How fast the face relaxes to neutral between turns (per second). */
	UPROPERTY(EditAnywhere, BlueprintReadWrite, Category = "MERG|Face", meta = (ClampMin = "0"))
	float RelaxSpeed = 6.0f;

	// --- Live Link -------------------------------------------------------------------------

	/** Publish the face as a Live Link subject (for a MetaHuman's face Animation Blueprint). */
	UPROPERTY(EditAnywhere, BlueprintReadWrite, Category = "MERG|Live Link")
	bool bPublishLiveLink = true;

	/** The subject name to pick in the MetaHuman's LLink Face Subj (one per avatar). */
	UPROPERTY(EditAnywhere, BlueprintReadWrite, Category = "MERG|Live Link")
	FName LiveLinkSubject = TEXT("MergAvatar");

	UPROPERTY(EditAnywhere, BlueprintReadWrite, Category = "MERG|Live Link")
	EMergRotationUnit LiveLinkRotationUnit = EMergRotationUnit::Radians;

	// --- events (game thread) ----------------------------------------------------------------

	UPROPERTY(BlueprintAssignable, Category = "MERG|Events")
	FMergConnectedSignature OnConnected;

	UPROPERTY(BlueprintAssignable, Category = "MERG|Events")
	FMergConnectionStateSignature OnConnectionStateChanged;

	UPROPERTY(BlueprintAssignable, Category = "MERG|Events")
	FMergSessionReadySignature OnSessionReady;

	UPROPERTY(BlueprintAssignable, Category = "MERG|Events")
	FMergTurnStartSignature OnTurnStart;

	/** A clause of the avatar's answer (before its audio): captions. */
	UPROPERTY(BlueprintAssignable, Category = "MERG|Events")
	FMergReplySignature OnReply;

	/** How the server read the user (SendText turns). */
	UPROPERTY(BlueprintAssignable, Category = "MERG|Events")
	FMergUserAffectSignature OnUserAffect;

	/** The chain of empathy behind a reply, as JSON (for tools and dashboards). */
	UPROPERTY(BlueprintAssignable, Category = "MERG|Events")
	FMergReasoningSignature OnReasoning;

	/** Crisis language in the user's words. */
	UPROPERTY(BlueprintAssignable, Category = "MERG|Events")
	FMergSafetySignature OnSafety;

	UPROPERTY(BlueprintAssignable, Category = "MERG|Events")
	FMergTurnEndSignature OnTurnEnd;

	UPROPERTY(BlueprintAssignable, Category = "MERG|Events")
	FMergErrorSignature OnError;

	// --- Blueprint API -------------------------------------------------------------------------

	/** Connect (with the properties above) and open the session; reconnects by itself. */
	UFUNCTION(BlueprintCallable, Category = "MERG")
	void Connect();

	UFUNCTION(BlueprintCallable, Category = "MERG")
	void Disconnect();

	/** Speak a scripted line. Emotion: neutral, happy, sad, angry, afraid, surprised,
	 * disgusted, calm, caring (empty: neutral); Intensity 0..1 (<0: the server's default).
	 * Returns the request id that OnTurnStart/OnTurnEnd/OnError carry (0: refused). */
	UFUNCTION(BlueprintCallable, Category = "MERG", meta = (AdvancedDisplay = "Emotion,Intensity"))
	int32 Say(const FString& Text, const FString& Emotion = TEXT(""), float Intensity = -1.0f);

	/** What the user said: the avatar reads it and answers (empathy pipeline). */
	UFUNCTION(BlueprintCallable, Category = "MERG")
	int32 SendText(const FString& Text);

	/** Barge-in: the voice stops at once and the server ends the turn. */
	UFUNCTION(BlueprintCallable, Category = "MERG")
	void Interrupt();

	UFUNCTION(BlueprintPure, Category = "MERG")
	EMergConnectionState GetConnectionState() const { return ConnectionState; }

	/** True while a turn is buffering or playing. */
	UFUNCTION(BlueprintPure, Category = "MERG")
	bool IsSpeaking() const;

	/** The server's session id (save it to resume the conversation later). */
	UFUNCTION(BlueprintPure, Category = "MERG")
	FString GetSessionId() const { return SessionId; }

	/** The current value of a session curve (e.g. jawOpen), 0 if unknown. */
	UFUNCTION(BlueprintPure, Category = "MERG")
	float GetCurveValue(FName Name) const;

	/** Head pitch (nod down +), yaw (to the avatar's left +), roll (to its right shoulder +), degrees. */
	UFUNCTION(BlueprintPure, Category = "MERG")
	FVector GetHeadAngles() const;

	/** Eye pitch (down +) and yaw (to the avatar's left +) in degrees, relative to the head. */
	UFUNCTION(BlueprintPure, Category = "MERG")
	void GetEyeAngles(FVector2D& Left, FVector2D& Right) const;

	/** Drive this mesh's morph targets (rebinds the names). */
	UFUNCTION(BlueprintCallable, Category = "MERG")
	void SetFaceMesh(USkeletalMeshComponent* Mesh);

	//~ UActorComponent
	virtual void BeginPlay() override;
	virtual void EndPlay(const EEndPlayReason::Type EndPlayReason) override;
	virtual void TickComponent(float DeltaTime, ELevelTick TickType, FActorComponentTickFunction* ThisTickFunction) override;

private:
	void PumpEvents();
	void HandleEvent(const merg::Event& Event);
	void UpdateFace(float DeltaTime);
	void ApplyMorphTargets();
	void PublishLiveLink();
	void UpdateConnectionState();
	void ReportPlayback(float DeltaTime);
	void BindSession(const merg::Event& Opened);
	void BindMorphTargets();
	void StartVoice();
	void StartLiveLink();
	void StopLiveLink();
	USkeletalMeshComponent* FindFaceMesh() const;
	static FMergError ToError(const merg::Event& Event);

	std::unique_ptr<merg::Client> Client;
	merg::SessionId Session = 0;
	std::shared_ptr<merg::JitterBuffer> Buffer;
	merg::Event Polled;  // reused: its strings keep their capacity

	UPROPERTY(Transient)
	TObjectPtr<UMergSoundWave> VoiceWave;

	UPROPERTY(Transient)
	TObjectPtr<UAudioComponent> VoiceComponent;

	UPROPERTY(Transient)
	TObjectPtr<USkeletalMeshComponent> FaceMesh;

	TSharedPtr<FMergLiveLinkSource> LiveLinkSource;
	FGuid LiveLinkSourceGuid;

	EMergConnectionState ConnectionState = EMergConnectionState::Stopped;
	FString SessionId;
	FString SessionRig;
	TArray<FName> SessionNames;
	TArray<float> Weights;        // current face, one per session name
	TArray<float> SampledWeights;
	float Head[3] = {0, 0, 0};
	float Eyes[4] = {0, 0, 0, 0};
	TArray<FName> MorphForColumn;  // NAME_None: unbound
	TArray<float> GainForColumn;
	TArray<float> LiveLinkValues;
	float PlaybackReportTimer = 0.0f;
};
