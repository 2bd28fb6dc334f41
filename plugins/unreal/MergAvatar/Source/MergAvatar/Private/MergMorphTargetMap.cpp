#include "MergMorphTargetMap.h"

#include "Animation/MorphTarget.h"
#include "Engine/SkeletalMesh.h"
#include "MergCore.h"

namespace
{
std::vector<std::string> NamesToUtf8(const TArray<FName>& Names)
{
	std::vector<std::string> Out;
	Out.reserve(Names.Num());
	for (const FName& Name : Names)
	{
		Out.push_back(MergCore::ToUtf8(Name.ToString()));
	}
	return Out;
}
}  // namespace

TArray<FName> UMergMorphTargetMap::MorphTargetNames(const USkeletalMesh* Mesh)
{
	TArray<FName> Names;
	if (Mesh != nullptr)
	{
		for (const UMorphTarget* Morph : Mesh->GetMorphTargets())
		{
			if (Morph != nullptr)
			{
				Names.Add(Morph->GetFName());
			}
		}
	}
	return Names;
}

void UMergMorphTargetMap::Resolve(const UMergMorphTargetMap* Map, const TArray<FName>& SessionNames,
	const TArray<FName>& MorphTargets, TArray<FName>& OutTargets, TArray<float>& OutGains)
{
	std::vector<merg::NameOverride> CoreOverrides;
	if (Map != nullptr)
	{
		for (const TPair<FName, FName>& Entry : Map->Overrides)
		{
			CoreOverrides.push_back({MergCore::ToUtf8(Entry.Key.ToString()),
				Entry.Value.IsNone() ? std::string() : MergCore::ToUtf8(Entry.Value.ToString())});
		}
	}
	const std::vector<std::string> Source = NamesToUtf8(SessionNames);
	const std::vector<int> Bound = merg::BuildNameMap(Source, NamesToUtf8(MorphTargets), CoreOverrides);

	OutTargets.SetNum(SessionNames.Num());
	OutGains.SetNum(SessionNames.Num());
	for (int32 Column = 0; Column < SessionNames.Num(); ++Column)
	{
		FName Target = Bound[Column] >= 0 ? MorphTargets[Bound[Column]] : NAME_None;
		if (Map != nullptr && !Map->bMatchAliases)
		{
			// Only explicit entries bind.
			bool bOverridden = false;
			for (const merg::NameOverride& Entry : CoreOverrides)
			{
				bOverridden |= merg::AliasKey(Entry.source) == merg::AliasKey(Source[Column]);
			}
			if (!bOverridden)
			{
				Target = NAME_None;
			}
		}
		OutTargets[Column] = Target;
		const float* Gain = Map != nullptr && !Target.IsNone() ? Map->Multipliers.Find(Target) : nullptr;
		OutGains[Column] = Gain != nullptr ? *Gain : 1.0f;
	}
}

void UMergMorphTargetMap::FillFromMesh(USkeletalMesh* Mesh)
{
	if (Mesh == nullptr)
	{
		return;
	}
	Modify();
	SourceMesh = Mesh;
	TArray<FName> Arkit;
	for (const char* Name : merg::kArkit52Names)
	{
		Arkit.Add(FName(UTF8_TO_TCHAR(Name)));
	}
	TArray<FName> Targets;
	TArray<float> Gains;
	Resolve(nullptr, Arkit, MorphTargetNames(Mesh), Targets, Gains);
	Unmatched.Reset();
	for (int32 Column = 0; Column < Arkit.Num(); ++Column)
	{
		if (Targets[Column].IsNone())
		{
			Unmatched.Add(Arkit[Column]);
		}
		else if (!Overrides.Contains(Arkit[Column]))
		{
			Overrides.Add(Arkit[Column], Targets[Column]);
		}
	}
}
