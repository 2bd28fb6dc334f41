// Blueprint-facing types of the MERG avatar: what the delegates carry.
#pragma once

#include "CoreMinimal.h"

#include "MergTypes.generated.h"

UENUM(BlueprintType)
enum class EMergConnectionState : uint8
{
	Stopped,
	Connecting,
	Connected,
	/** The connection was lost; the component reconnects and resumes its session. */
	Reconnecting,
	/** Gave up (another protocol version, a bad endpoint): fix and Connect again. */
	Failed,
};

/** How the Live Link head and eye rotation curves are scaled. */
UENUM(BlueprintType)
enum class EMergRotationUnit : uint8
{
	/** As the SDK and blendshapes/retarget/livelink.yaml send them. */
	Radians,
	Degrees,
	/** Degrees / 180, in [-1, 1]: how Epic's ARKit Live Link source for UE 4 scaled them. */
	HalfTurns UMETA(DisplayName = "Degrees / 180"),
};

USTRUCT(BlueprintType)
struct MERGAVATAR_API FMergTurnStart
{
	GENERATED_BODY()

	UPROPERTY(BlueprintReadOnly, Category = "MERG")
	int32 Turn = 0;

	/** What Say or SendText returned for the request that started this turn. */
	UPROPERTY(BlueprintReadOnly, Category = "MERG")
	int32 RequestId = 0;

	/** "say" or "user.text". */
	UPROPERTY(BlueprintReadOnly, Category = "MERG")
	FString Source;
};

/** One clause of the avatar's answer, sent before its audio: captions, chat logs. */
USTRUCT(BlueprintType)
struct MERGAVATAR_API FMergReply
{
	GENERATED_BODY()

	UPROPERTY(BlueprintReadOnly, Category = "MERG")
	int32 Turn = 0;

	UPROPERTY(BlueprintReadOnly, Category = "MERG")
	int32 RequestId = 0;

	UPROPERTY(BlueprintReadOnly, Category = "MERG")
	FString Text;

	UPROPERTY(BlueprintReadOnly, Category = "MERG")
	FString Emotion;

	UPROPERTY(BlueprintReadOnly, Category = "MERG")
	float Intensity = 0.0f;

	/** The support strategy behind a user.text reply ("Question", "Reflection of feelings"...). */
	UPROPERTY(BlueprintReadOnly, Category = "MERG")
	FString Strategy;

	/** Where the clause starts in the turn's audio, seconds (-1 if not sent). */
	UPROPERTY(BlueprintReadOnly, Category = "MERG")
	float StartSeconds = -1.0f;

	UPROPERTY(BlueprintReadOnly, Category = "MERG")
	bool bFinal = false;
};

/** How the server read the user's message (user.text turns). */
USTRUCT(BlueprintType)
struct MERGAVATAR_API FMergUserAffect
{
	GENERATED_BODY()

	UPROPERTY(BlueprintReadOnly, Category = "MERG")
	int32 Turn = 0;

	UPROPERTY(BlueprintReadOnly, Category = "MERG")
	FString Emotion;

	UPROPERTY(BlueprintReadOnly, Category = "MERG")
	FString FineEmotion;

	UPROPERTY(BlueprintReadOnly, Category = "MERG")
	FString Cause;

	/** Valence, arousal, dominance in [-1, 1]. */
	UPROPERTY(BlueprintReadOnly, Category = "MERG")
	FVector VAD = FVector::ZeroVector;

	UPROPERTY(BlueprintReadOnly, Category = "MERG")
	float Confidence = 0.0f;
};

/** Crisis language in the user's words: the host decides whom to alert. */
USTRUCT(BlueprintType)
struct MERGAVATAR_API FMergSafety
{
	GENERATED_BODY()

	UPROPERTY(BlueprintReadOnly, Category = "MERG")
	int32 Turn = 0;

	UPROPERTY(BlueprintReadOnly, Category = "MERG")
	FString Category;

	UPROPERTY(BlueprintReadOnly, Category = "MERG")
	FString Severity;

	UPROPERTY(BlueprintReadOnly, Category = "MERG")
	FString Matched;
};

USTRUCT(BlueprintType)
struct MERGAVATAR_API FMergTurnEnd
{
	GENERATED_BODY()

	UPROPERTY(BlueprintReadOnly, Category = "MERG")
	int32 Turn = 0;

	UPROPERTY(BlueprintReadOnly, Category = "MERG")
	int32 RequestId = 0;

	/** "done", "interrupted" or "error". */
	UPROPERTY(BlueprintReadOnly, Category = "MERG")
	FString Reason;

	UPROPERTY(BlueprintReadOnly, Category = "MERG")
	float AudioSeconds = 0.0f;

	UPROPERTY(BlueprintReadOnly, Category = "MERG")
	int32 Frames = 0;

	/** Ended by this client (the connection was lost), not by the server. */
	UPROPERTY(BlueprintReadOnly, Category = "MERG")
	bool bLocal = false;
};

USTRUCT(BlueprintType)
struct MERGAVATAR_API FMergError
{
	GENERATED_BODY()

	/** The server's stable code ("unknown_session", "unsupported", ...) or a local one
	 * ("connection_lost", "timeout", "version_mismatch", ...): docs/plugins/cpp.md. */
	UPROPERTY(BlueprintReadOnly, Category = "MERG")
	FString Code;

	UPROPERTY(BlueprintReadOnly, Category = "MERG")
	FString Message;

	/** Raised by this client rather than sent by the server. */
	UPROPERTY(BlueprintReadOnly, Category = "MERG")
	bool bLocal = false;

	/** The Say/SendText request it is about (0 if none). */
	UPROPERTY(BlueprintReadOnly, Category = "MERG")
	int32 RequestId = 0;
};

DECLARE_DYNAMIC_MULTICAST_DELEGATE_OneParam(FMergConnectedSignature, const FString&, ServerVersion);
DECLARE_DYNAMIC_MULTICAST_DELEGATE_OneParam(FMergConnectionStateSignature, EMergConnectionState, State);
DECLARE_DYNAMIC_MULTICAST_DELEGATE_TwoParams(FMergSessionReadySignature, const FString&, SessionId, bool, bResumed);
DECLARE_DYNAMIC_MULTICAST_DELEGATE_OneParam(FMergTurnStartSignature, const FMergTurnStart&, TurnStart);
DECLARE_DYNAMIC_MULTICAST_DELEGATE_OneParam(FMergReplySignature, const FMergReply&, Reply);
DECLARE_DYNAMIC_MULTICAST_DELEGATE_OneParam(FMergUserAffectSignature, const FMergUserAffect&, Affect);
DECLARE_DYNAMIC_MULTICAST_DELEGATE_TwoParams(FMergReasoningSignature, int32, Turn, const FString&, ChainJson);
DECLARE_DYNAMIC_MULTICAST_DELEGATE_OneParam(FMergSafetySignature, const FMergSafety&, Safety);
DECLARE_DYNAMIC_MULTICAST_DELEGATE_OneParam(FMergTurnEndSignature, const FMergTurnEnd&, TurnEnd);
DECLARE_DYNAMIC_MULTICAST_DELEGATE_OneParam(FMergErrorSignature, const FMergError&, Error);
