// How the avatar's face stream binds to a mesh's morph targets.
//
// Session names (ARKit's eyeBlinkLeft, Live Link's EyeBlinkLeft, ...) are matched to the mesh's
// morph targets by alias: case, `_L`/`_R`/`.L` side suffixes and namespaces
// (`blendShape1.`, `Face:`) do not matter, as in merg_sdk's retargeting tables. Overrides
// bind names that do not match (a mesh's own naming), or unbind one (map it to None).
#pragma once

#include "CoreMinimal.h"
#include "Engine/DataAsset.h"

#include "MergMorphTargetMap.generated.h"

class USkeletalMesh;

UCLASS(BlueprintType)
class MERGAVATAR_API UMergMorphTargetMap : public UDataAsset
{
	GENERATED_BODY()

public:
	/** Session name (as the rig spells it, or any alias of it) -> morph target. None unbinds. */
	UPROPERTY(EditAnywhere, BlueprintReadWrite, Category = "MERG")
	TMap<FName, FName> Overrides;

	/** Per morph target gain (1 when absent), for shapes that are too strong or too weak. */
	UPROPERTY(EditAnywhere, BlueprintReadWrite, Category = "MERG")
	TMap<FName, float> Multipliers;

	/** Match names that have no override by alias. Off: only Overrides bind. */
	UPROPERTY(EditAnywhere, BlueprintReadWrite, Category = "MERG")
	bool bMatchAliases = true;

	/** The mesh the entries were made for (informational). */
	UPROPERTY(EditAnywhere, Category = "MERG")
	TSoftObjectPtr<USkeletalMesh> SourceMesh;

	/** ARKit names the mesh has no morph target for (filled by FillFromMesh). */
	UPROPERTY(VisibleAnywhere, Category = "MERG")
	TArray<FName> Unmatched;

	/** Write an override for every ARKit name the mesh matches, and list those it lacks, so
	 * the binding can be reviewed and edited. */
	UFUNCTION(BlueprintCallable, Category = "MERG")
	void FillFromMesh(USkeletalMesh* Mesh);

	/**
	 * The morph target for each session column (NAME_None: unbound) and its gain. Map may be
	 * null (aliases only).
	 */
	static void Resolve(const UMergMorphTargetMap* Map, const TArray<FName>& SessionNames,
		const TArray<FName>& MorphTargets, TArray<FName>& OutTargets, TArray<float>& OutGains);

	/** The morph target names of a mesh. */
	static TArray<FName> MorphTargetNames(const USkeletalMesh* Mesh);
};
