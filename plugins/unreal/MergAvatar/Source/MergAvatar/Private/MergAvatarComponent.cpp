#include "MergAvatarComponent.h"

#include "Components/AudioComponent.h"
#include "Components/SkeletalMeshComponent.h"
#include "Engine/SkeletalMesh.h"
#include "Features/IModularFeatures.h"
#include "GameFramework/Actor.h"
#include "ILiveLinkClient.h"
#include "MergAvatarModule.h"
#include "MergLiveLinkSource.h"
#include "MergMorphTargetMap.h"
#include "MergSoundWave.h"
#include "Misc/EngineVersion.h"

#define LOCTEXT_NAMESPACE "MergAvatarComponent"

namespace
{
using MergCore::ToFString;
using MergCore::ToUtf8;

constexpr float kPlaybackReportIntervalS = 0.25f;

merg::RotationUnit ToCore(EMergRotationUnit Unit)
{
	switch (Unit)
	{
		case EMergRotationUnit::Degrees:
			return merg::RotationUnit::kDegrees;
		case EMergRotationUnit::HalfTurns:
			return merg::RotationUnit::kHalfTurns;
		default:
			return merg::RotationUnit::kRadians;
	}
}

bool IsEyeLook(const FName& Name)
{
	return Name.ToString().StartsWith(TEXT("eyeLook"), ESearchCase::IgnoreCase);
}
}  // namespace

UMergAvatarComponent::UMergAvatarComponent()
{
	PrimaryComponentTick.bCanEverTick = true;
	PrimaryComponentTick.TickGroup = TG_PrePhysics;  // before the face mesh animates
}

// --- lifecycle ------------------------------------------------------------------------------

void UMergAvatarComponent::BeginPlay()
{
	Super::BeginPlay();
	SetFaceMesh(FindFaceMesh());
	StartVoice();
	StartLiveLink();
	if (bConnectOnBeginPlay)
	{
		Connect();
	}
}

void UMergAvatarComponent::EndPlay(const EEndPlayReason::Type EndPlayReason)
{
	Disconnect();
	StopLiveLink();
	if (VoiceComponent != nullptr)
	{
		VoiceComponent->Stop();
		VoiceComponent->DestroyComponent();
		VoiceComponent = nullptr;
	}
	Super::EndPlay(EndPlayReason);
}

void UMergAvatarComponent::Connect()
{
	if (Client)
	{
		return;
	}
	merg::ClientConfig Config;
	Config.endpoint = ToUtf8(Endpoint);
	Config.client.name = "merg-unreal";
	Config.client.version = MERG_CPP_VERSION;
	Config.client.engine = ToUtf8(FString::Printf(TEXT("unreal %s"), *FEngineVersion::Current().ToString()));
	Config.curve_server_key = ToUtf8(ServerPublicKey);
	Config.curve_public_key = ToUtf8(ClientPublicKey);
	Config.curve_secret_key = ToUtf8(ClientSecretKey);
	Client = std::make_unique<merg::Client>(Config);
	if (!Client->Start())
	{
		UE_LOG(LogMerg, Error, TEXT("MERG: could not start the client for %s"), *Endpoint);
		Client.reset();
		ConnectionState = EMergConnectionState::Failed;
		OnConnectionStateChanged.Broadcast(ConnectionState);
		return;
	}
	merg::SessionOptions Options;
	Options.rig = ToUtf8(Rig);
	Options.fps = Fps;
	Options.sample_rate = SampleRate;
	Options.voice = ToUtf8(Voice);
	Options.avatar = ToUtf8(Persona);
	Options.resume_sid = ToUtf8(ResumeSessionId);
	Session = Client->OpenSession(Options);
	if (Session == 0)
	{
		UE_LOG(LogMerg, Error, TEXT("MERG: could not open a session"));
	}
	Buffer = Client->Buffer(Session);
	if (VoiceWave != nullptr)
	{
		VoiceWave->SetBuffer(Buffer);
	}
	UpdateConnectionState();
}

void UMergAvatarComponent::Disconnect()
{
	if (VoiceWave != nullptr)
	{
		VoiceWave->SetBuffer(nullptr);  // the audio thread lets go of the buffer first
	}
	if (Client)
	{
		Client->Stop();  // joins the network thread (sockets close with linger 0)
		Client.reset();
	}
	Buffer.reset();
	Session = 0;
	SessionNames.Reset();
	Weights.Reset();
	MorphForColumn.Reset();
	UpdateConnectionState();
}

// --- Blueprint API --------------------------------------------------------------------------

int32 UMergAvatarComponent::Say(const FString& Text, const FString& Emotion, float Intensity)
{
	if (!Client)
	{
		return 0;
	}
	return static_cast<int32>(Client->Say(Session, ToUtf8(Text), ToUtf8(Emotion), Intensity));
}

int32 UMergAvatarComponent::SendText(const FString& Text)
{
	return Client ? static_cast<int32>(Client->SendText(Session, ToUtf8(Text))) : 0;
}

void UMergAvatarComponent::Interrupt()
{
	if (Client)
	{
		Client->Interrupt(Session);
	}
}

bool UMergAvatarComponent::IsSpeaking() const
{
	if (!Buffer)
	{
		return false;
	}
	const merg::PlayState State = Buffer->Status().state;
	return State == merg::PlayState::kBuffering || State == merg::PlayState::kPlaying;
}

float UMergAvatarComponent::GetCurveValue(FName Name) const
{
	const int32 Column = SessionNames.IndexOfByKey(Name);
	return Column != INDEX_NONE && Weights.IsValidIndex(Column) ? Weights[Column] : 0.0f;
}

FVector UMergAvatarComponent::GetHeadAngles() const
{
	return FVector(FMath::RadiansToDegrees(Head[0]), FMath::RadiansToDegrees(Head[1]),
		FMath::RadiansToDegrees(Head[2]));
}

void UMergAvatarComponent::GetEyeAngles(FVector2D& Left, FVector2D& Right) const
{
	Left = FVector2D(FMath::RadiansToDegrees(Eyes[0]), FMath::RadiansToDegrees(Eyes[1]));
	Right = FVector2D(FMath::RadiansToDegrees(Eyes[2]), FMath::RadiansToDegrees(Eyes[3]));
}

void UMergAvatarComponent::SetFaceMesh(USkeletalMeshComponent* Mesh)
{
	FaceMesh = Mesh;
	if (FaceMesh != nullptr)
	{
		// The mesh evaluates its morph targets after this component has set them.
		FaceMesh->AddTickPrerequisiteComponent(this);
	}
	BindMorphTargets();
}

// --- tick -----------------------------------------------------------------------------------

void UMergAvatarComponent::TickComponent(float DeltaTime, ELevelTick TickType, FActorComponentTickFunction* ThisTickFunction)
{
	Super::TickComponent(DeltaTime, TickType, ThisTickFunction);
	if (!Client)
	{
		return;
	}
	PumpEvents();
	if (!Client)
	{
		return;  // a delegate called Disconnect
	}
	UpdateConnectionState();
	UpdateFace(DeltaTime);
	ApplyMorphTargets();
	PublishLiveLink();
	ReportPlayback(DeltaTime);
}

void UMergAvatarComponent::PumpEvents()
{
	// Bounded per tick so a burst cannot stall the frame; the rest waits for the next tick.
	for (int32 Count = 0; Count < 256 && Client && Client->PollEvent(&Polled); ++Count)
	{
		HandleEvent(Polled);
	}
}

void UMergAvatarComponent::HandleEvent(const merg::Event& Event)
{
	switch (Event.type)
	{
		case merg::EventType::kConnected:
			UpdateConnectionState();
			OnConnected.Broadcast(ToFString(Event.server_version));
			break;
		case merg::EventType::kDisconnected:
			UpdateConnectionState();
			OnError.Broadcast(ToError(Event));
			break;
		case merg::EventType::kSessionOpened:
			BindSession(Event);
			OnSessionReady.Broadcast(SessionId, Event.resumed);
			break;
		case merg::EventType::kSessionClosed:
			if (Event.session == Session && Event.reason != "closed")
			{
				FMergError Error;
				Error.Code = ToFString(Event.reason);
				Error.Message = TEXT("the session closed");
				Error.bLocal = true;
				OnError.Broadcast(Error);
			}
			break;
		case merg::EventType::kTurnStart:
		{
			FMergTurnStart Start;
			Start.Turn = Event.turn;
			Start.RequestId = static_cast<int32>(Event.request);
			Start.Source = ToFString(Event.source);
			OnTurnStart.Broadcast(Start);
			break;
		}
		case merg::EventType::kReply:
		{
			if (Event.discarded || Event.text.empty())
			{
				break;  // interrupted before it was heard, or the empty closing clause
			}
			FMergReply Reply;
			Reply.Turn = Event.turn;
			Reply.RequestId = static_cast<int32>(Event.request);
			Reply.Text = ToFString(Event.text);
			Reply.Emotion = ToFString(Event.emotion);
			Reply.Intensity = Event.intensity;
			Reply.Strategy = ToFString(Event.strategy);
			Reply.StartSeconds = Event.t0 >= 0 ? static_cast<float>(Event.t0) / SampleRate : -1.0f;
			Reply.bFinal = Event.final;
			OnReply.Broadcast(Reply);
			break;
		}
		case merg::EventType::kUserAffect:
		{
			FMergUserAffect Affect;
			Affect.Turn = Event.turn;
			Affect.Emotion = ToFString(Event.emotion);
			Affect.FineEmotion = ToFString(Event.fine_emotion);
			Affect.Cause = ToFString(Event.cause);
			Affect.VAD = FVector(Event.vad[0], Event.vad[1], Event.vad[2]);
			Affect.Confidence = Event.confidence;
			OnUserAffect.Broadcast(Affect);
			break;
		}
		case merg::EventType::kReasoning:
			OnReasoning.Broadcast(Event.turn, ToFString(Event.json));
			break;
		case merg::EventType::kSafety:
		{
			FMergSafety Safety;
			Safety.Turn = Event.turn;
			Safety.Category = ToFString(Event.category);
			Safety.Severity = ToFString(Event.severity);
			Safety.Matched = ToFString(Event.matched);
			OnSafety.Broadcast(Safety);
			break;
		}
		case merg::EventType::kTurnEnd:
		{
			FMergTurnEnd End;
			End.Turn = Event.turn;
			End.RequestId = static_cast<int32>(Event.request);
			End.Reason = ToFString(Event.reason);
			End.AudioSeconds = static_cast<float>(Event.stats.audio_s);
			End.Frames = static_cast<int32>(Event.stats.frames);
			End.bLocal = Event.local;
			OnTurnEnd.Broadcast(End);
			break;
		}
		case merg::EventType::kError:
			UE_LOG(LogMerg, Warning, TEXT("MERG %s: %s"), UTF8_TO_TCHAR(Event.code_name.c_str()),
				UTF8_TO_TCHAR(Event.message.c_str()));
			OnError.Broadcast(ToError(Event));
			break;
		default:
			break;
	}
}

FMergError UMergAvatarComponent::ToError(const merg::Event& Event)
{
	FMergError Error;
	Error.Code = ToFString(Event.code_name);
	Error.Message = ToFString(Event.message);
	Error.bLocal = Event.local;
	Error.RequestId = static_cast<int32>(Event.request);
	return Error;
}

void UMergAvatarComponent::UpdateConnectionState()
{
	EMergConnectionState State = EMergConnectionState::Stopped;
	if (Client)
	{
		switch (Client->state())
		{
			case merg::ConnectionState::kReady:
				State = EMergConnectionState::Connected;
				break;
			case merg::ConnectionState::kConnecting:
				State = SessionNames.Num() > 0 ? EMergConnectionState::Reconnecting : EMergConnectionState::Connecting;
				break;
			case merg::ConnectionState::kBackoff:
				State = EMergConnectionState::Reconnecting;
				break;
			case merg::ConnectionState::kFailed:
				State = EMergConnectionState::Failed;
				break;
			default:
				break;
		}
	}
	if (State != ConnectionState)
	{
		ConnectionState = State;
		if (LiveLinkSource.IsValid())
		{
			LiveLinkSource->SetStatus(State == EMergConnectionState::Connected ? LOCTEXT("Active", "Active")
																				: LOCTEXT("NotConnected", "Not connected"));
		}
		OnConnectionStateChanged.Broadcast(State);
	}
}

// --- the session's names ----------------------------------------------------------------------

void UMergAvatarComponent::BindSession(const merg::Event& Opened)
{
	SessionId = ToFString(Opened.sid);
	SessionRig = ToFString(Opened.rig);
	SessionNames.Reset(static_cast<int32>(Opened.names.size()));
	for (const std::string& Name : Opened.names)
	{
		SessionNames.Add(FName(UTF8_TO_TCHAR(Name.c_str())));
	}
	Weights.Init(0.0f, SessionNames.Num());
	SampledWeights.Init(0.0f, SessionNames.Num());
	BindMorphTargets();
	if (LiveLinkSource.IsValid())
	{
		TArray<FName> Curves;
		if (SessionRig == TEXT("arkit52"))
		{
			for (const char* Name : merg::kLiveLinkNames)
			{
				Curves.Add(FName(UTF8_TO_TCHAR(Name)));
			}
		}
		else
		{
			Curves = SessionNames;  // livelink (already 61 curves), or another rig's own names
		}
		LiveLinkValues.Init(0.0f, Curves.Num());
		LiveLinkSource->SetCurveNames(Curves);
	}
}

void UMergAvatarComponent::BindMorphTargets()
{
	MorphForColumn.Reset();
	GainForColumn.Reset();
	if (FaceMesh == nullptr || SessionNames.Num() == 0)
	{
		return;
	}
	const TArray<FName> Targets = UMergMorphTargetMap::MorphTargetNames(FaceMesh->GetSkeletalMeshAsset());
	UMergMorphTargetMap::Resolve(MorphTargetMap, SessionNames, Targets, MorphForColumn, GainForColumn);
	int32 Bound = 0;
	for (const FName& Target : MorphForColumn)
	{
		Bound += Target.IsNone() ? 0 : 1;
	}
	UE_LOG(LogMerg, Log, TEXT("MERG: %d of %d %s curves bound to morph targets of %s"), Bound,
		SessionNames.Num(), *SessionRig, *FaceMesh->GetName());
}

USkeletalMeshComponent* UMergAvatarComponent::FindFaceMesh() const
{
	const AActor* Owner = GetOwner();
	if (Owner == nullptr)
	{
		return nullptr;
	}
	TArray<USkeletalMeshComponent*> Meshes;
	Owner->GetComponents(Meshes);
	for (USkeletalMeshComponent* Mesh : Meshes)
	{
		if (!FaceMeshComponentName.IsNone() && Mesh->GetFName() == FaceMeshComponentName)
		{
			return Mesh;
		}
	}
	if (!FaceMeshComponentName.IsNone())
	{
		UE_LOG(LogMerg, Warning, TEXT("MERG: no skeletal mesh component named %s"), *FaceMeshComponentName.ToString());
		return nullptr;
	}
	for (USkeletalMeshComponent* Mesh : Meshes)
	{
		const USkeletalMesh* Asset = Mesh->GetSkeletalMeshAsset();
		if (Asset != nullptr && Asset->GetMorphTargets().Num() > 0)
		{
			return Mesh;
		}
	}
	return nullptr;
}

// --- face and voice ---------------------------------------------------------------------------

void UMergAvatarComponent::UpdateFace(float DeltaTime)
{
	if (!Buffer || SessionNames.Num() == 0 || Buffer->names() != SessionNames.Num())
	{
		return;
	}
	// The face at the voice's playback position: the samples handed to the mixer, minus what
	// the mixer still holds.
	const int64 LatencySamples = static_cast<int64>(AudioLatencyMs * SampleRate / 1000.0f);
	float SampledHead[3];
	float SampledEyes[4];
	const merg::FaceSample Sample =
		Buffer->SampleFaceAtPlayhead(LatencySamples, SampledWeights.GetData(), SampledHead, SampledEyes);
	const bool bSpeaking = Sample.status == merg::SampleStatus::kExact ||
		Sample.status == merg::SampleStatus::kInterpolated || Sample.status == merg::SampleStatus::kHeld ||
		Sample.status == merg::SampleStatus::kClamped;
	if (bSpeaking)
	{
		Weights = SampledWeights;
		FMemory::Memcpy(Head, SampledHead, sizeof Head);
		FMemory::Memcpy(Eyes, SampledEyes, sizeof Eyes);
		return;
	}
	// Between turns: relax to neutral.
	const float Keep = FMath::Clamp(1.0f - DeltaTime * RelaxSpeed, 0.0f, 1.0f);
	for (float& Weight : Weights)
	{
		Weight *= Keep;
	}
	for (float& Angle : Head)
	{
		Angle *= Keep;
	}
	for (float& Angle : Eyes)
	{
		Angle *= Keep;
	}
}

void UMergAvatarComponent::ApplyMorphTargets()
{
	if (!bDriveMorphTargets || FaceMesh == nullptr || MorphForColumn.Num() != Weights.Num())
	{
		return;
	}
	for (int32 Column = 0; Column < Weights.Num(); ++Column)
	{
		const FName& Target = MorphForColumn[Column];
		if (Target.IsNone() || (!bDriveEyeLookMorphTargets && IsEyeLook(SessionNames[Column])))
		{
			continue;
		}
		FaceMesh->SetMorphTarget(Target, Weights[Column] * GainForColumn[Column] * MorphTargetScale, false);
	}
}

void UMergAvatarComponent::PublishLiveLink()
{
	if (!LiveLinkSource.IsValid() || LiveLinkValues.Num() == 0 || Weights.Num() == 0)
	{
		return;
	}
	if (SessionRig == TEXT("arkit52") && Weights.Num() == merg::kArkitCount)
	{
		merg::ArkitToLiveLink(Weights.GetData(), Head, Eyes, LiveLinkValues.GetData(), ToCore(LiveLinkRotationUnit));
	}
	else if (LiveLinkValues.Num() == Weights.Num())
	{
		LiveLinkValues = Weights;
		if (SessionRig == TEXT("livelink") && LiveLinkRotationUnit != EMergRotationUnit::Radians)
		{
			const float Scale = LiveLinkRotationUnit == EMergRotationUnit::Degrees ? 180.0f / UE_PI : 1.0f / UE_PI;
			for (int32 Column = merg::kLiveLinkShapeCount; Column < LiveLinkValues.Num(); ++Column)
			{
				LiveLinkValues[Column] *= Scale;
			}
		}
	}
	LiveLinkSource->PushFrame(LiveLinkValues);
}

void UMergAvatarComponent::ReportPlayback(float DeltaTime)
{
	PlaybackReportTimer += DeltaTime;
	if (!bReportPlayback || !Buffer || PlaybackReportTimer < kPlaybackReportIntervalS)
	{
		return;
	}
	PlaybackReportTimer = 0.0f;
	const merg::BufferStatus Status = Buffer->Status();
	if (Status.turn > 0 && Status.state == merg::PlayState::kPlaying && Status.sample_rate > 0)
	{
		const int64 LatencySamples = static_cast<int64>(AudioLatencyMs * Status.sample_rate / 1000.0f);
		const double HeardS = FMath::Max<int64>(0, Status.read - LatencySamples) / static_cast<double>(Status.sample_rate);
		Client->ReportPlayback(Session, Status.turn, HeardS);
	}
}

void UMergAvatarComponent::StartVoice()
{
	AActor* Owner = GetOwner();
	if (Owner == nullptr || VoiceComponent != nullptr)
	{
		return;
	}
	VoiceWave = NewObject<UMergSoundWave>(this);
	VoiceWave->Configure(SampleRate);
	VoiceWave->SetBuffer(Buffer);
	VoiceComponent = NewObject<UAudioComponent>(Owner);
	VoiceComponent->bAutoActivate = false;
	VoiceComponent->bAutoDestroy = false;
	VoiceComponent->AttenuationSettings = VoiceAttenuation;
	USceneComponent* Parent = FaceMesh != nullptr ? static_cast<USceneComponent*>(FaceMesh) : Owner->GetRootComponent();
	if (Parent != nullptr)
	{
		VoiceComponent->SetupAttachment(Parent);
	}
	VoiceComponent->RegisterComponent();
	VoiceComponent->SetSound(VoiceWave);
	VoiceComponent->Play();
}

// --- Live Link --------------------------------------------------------------------------------

void UMergAvatarComponent::StartLiveLink()
{
	if (!bPublishLiveLink || LiveLinkSource.IsValid() ||
		!IModularFeatures::Get().IsModularFeatureAvailable(ILiveLinkClient::ModularFeatureName))
	{
		return;
	}
	ILiveLinkClient& LiveLink = IModularFeatures::Get().GetModularFeature<ILiveLinkClient>(ILiveLinkClient::ModularFeatureName);
	LiveLinkSource = MakeShared<FMergLiveLinkSource>(LiveLinkSubject, Endpoint);
	LiveLinkSourceGuid = LiveLink.AddSource(LiveLinkSource);
}

void UMergAvatarComponent::StopLiveLink()
{
	if (!LiveLinkSource.IsValid())
	{
		return;
	}
	LiveLinkSource->Invalidate();
	if (IModularFeatures::Get().IsModularFeatureAvailable(ILiveLinkClient::ModularFeatureName))
	{
		ILiveLinkClient& LiveLink = IModularFeatures::Get().GetModularFeature<ILiveLinkClient>(ILiveLinkClient::ModularFeatureName);
		LiveLink.RemoveSource(LiveLinkSourceGuid);
	}
	LiveLinkSource.Reset();
}

#undef LOCTEXT_NAMESPACE
