#include "MergLiveLinkSource.h"

#include "ILiveLinkClient.h"
#include "Roles/LiveLinkBasicRole.h"

#define LOCTEXT_NAMESPACE "MergLiveLinkSource"

FMergLiveLinkSource::FMergLiveLinkSource(FName InSubjectName, const FString& InEndpoint)
	: SubjectName(InSubjectName)
	, MachineName(FText::FromString(InEndpoint))
	, Status(LOCTEXT("Connecting", "Connecting"))
{
}

void FMergLiveLinkSource::ReceiveClient(ILiveLinkClient* InClient, FGuid InSourceGuid)
{
	Client = InClient;
	SourceGuid = InSourceGuid;
	SendStaticData();
}

bool FMergLiveLinkSource::IsSourceStillValid() const
{
	return bValid;
}

bool FMergLiveLinkSource::RequestSourceShutdown()
{
	bValid = false;
	Client = nullptr;
	return true;
}

FText FMergLiveLinkSource::GetSourceType() const
{
	return LOCTEXT("SourceType", "MERG Avatar");
}

FText FMergLiveLinkSource::GetSourceMachineName() const
{
	return MachineName;
}

FText FMergLiveLinkSource::GetSourceStatus() const
{
	return Status;
}

void FMergLiveLinkSource::SetStatus(const FText& InStatus)
{
	Status = InStatus;
}

void FMergLiveLinkSource::Invalidate()
{
	bValid = false;
}

void FMergLiveLinkSource::SetCurveNames(const TArray<FName>& Names)
{
	if (Names == CurveNames)
	{
		return;
	}
	CurveNames = Names;
	SendStaticData();
}

void FMergLiveLinkSource::SendStaticData()
{
	if (Client == nullptr || CurveNames.Num() == 0)
	{
		return;
	}
	FLiveLinkStaticDataStruct StaticData(FLiveLinkBaseStaticData::StaticStruct());
	StaticData.Cast<FLiveLinkBaseStaticData>()->PropertyNames = CurveNames;
	Client->PushSubjectStaticData_AnyThread(
		FLiveLinkSubjectKey(SourceGuid, SubjectName), ULiveLinkBasicRole::StaticClass(), MoveTemp(StaticData));
}

void FMergLiveLinkSource::PushFrame(TArrayView<const float> Values)
{
	if (Client == nullptr || !bValid || Values.Num() != CurveNames.Num())
	{
		return;
	}
	FLiveLinkFrameDataStruct FrameData(FLiveLinkBaseFrameData::StaticStruct());
	FLiveLinkBaseFrameData* Frame = FrameData.Cast<FLiveLinkBaseFrameData>();
	Frame->WorldTime = FLiveLinkWorldTime(FPlatformTime::Seconds());
	Frame->PropertyValues = TArray<float>(Values.GetData(), Values.Num());
	Client->PushSubjectFrameData_AnyThread(FLiveLinkSubjectKey(SourceGuid, SubjectName), MoveTemp(FrameData));
}

#undef LOCTEXT_NAMESPACE
