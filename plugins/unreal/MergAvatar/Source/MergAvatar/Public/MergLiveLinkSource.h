// A Live Link source with one subject: the avatar's face as Basic-role curves (ARKit names in
// Unreal's PascalCase plus head and eye rotation, 61 values, blendshapes/retarget/livelink.yaml).
// A MetaHuman's face Animation Blueprint follows it when its Live Link subject is set to
// this subject's name, as with the Live Link Face app.
#pragma once

#include "CoreMinimal.h"
#include "ILiveLinkSource.h"
#include "LiveLinkTypes.h"

#include <atomic>

class ILiveLinkClient;

class MERGAVATAR_API FMergLiveLinkSource : public ILiveLinkSource
{
public:
	FMergLiveLinkSource(FName InSubjectName, const FString& InEndpoint);

	//~ ILiveLinkSource
	virtual void ReceiveClient(ILiveLinkClient* InClient, FGuid InSourceGuid) override;
	virtual bool IsSourceStillValid() const override;
	virtual bool RequestSourceShutdown() override;
	virtual FText GetSourceType() const override;
	virtual FText GetSourceMachineName() const override;
	virtual FText GetSourceStatus() const override;

	/** The curve names (game thread); sends the subject's static data. */
	void SetCurveNames(const TArray<FName>& Names);
	/** One frame of curve values in SetCurveNames' order (game thread). */
	void PushFrame(TArrayView<const float> Values);
	void SetStatus(const FText& InStatus);
	/** The owning component is going away: the source reports itself invalid. */
	void Invalidate();

	FName GetSubjectName() const { return SubjectName; }

private:
	void SendStaticData();

	ILiveLinkClient* Client = nullptr;
	FGuid SourceGuid;
	FName SubjectName;
	FText MachineName;
	FText Status;
	TArray<FName> CurveNames;
	std::atomic<bool> bValid{true};
};
