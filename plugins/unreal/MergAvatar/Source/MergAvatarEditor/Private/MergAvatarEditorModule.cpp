// Adds "Create MERG Morph Target Map" to the context menu of skeletal mesh assets: a data
// asset with the mesh's morph targets bound to the ARKit names by alias, and the names the
// mesh lacks, ready to review and edit before it is set on a MERG Avatar component.
#include "AssetToolsModule.h"
#include "ContentBrowserMenuContexts.h"
#include "ContentBrowserModule.h"
#include "Engine/SkeletalMesh.h"
#include "Factories/DataAssetFactory.h"
#include "IContentBrowserSingleton.h"
#include "MergMorphTargetMap.h"
#include "Misc/PackageName.h"
#include "Modules/ModuleManager.h"
#include "Subsystems/AssetEditorSubsystem.h"
#include "ToolMenus.h"
#include "Editor.h"

#define LOCTEXT_NAMESPACE "MergAvatarEditor"

namespace
{
void CreateMorphTargetMaps(const FToolMenuContext& MenuContext)
{
	const UContentBrowserAssetContextMenuContext* Context =
		UContentBrowserAssetContextMenuContext::FindContextWithAssets(MenuContext);
	if (Context == nullptr)
	{
		return;
	}
	IAssetTools& AssetTools = FModuleManager::LoadModuleChecked<FAssetToolsModule>("AssetTools").Get();
	TArray<UObject*> Created;
	for (USkeletalMesh* Mesh : Context->LoadSelectedObjects<USkeletalMesh>())
	{
		FString PackageName;
		FString AssetName;
		AssetTools.CreateUniqueAssetName(Mesh->GetOutermost()->GetName(), TEXT("_MergMorphMap"), PackageName, AssetName);
		UDataAssetFactory* Factory = NewObject<UDataAssetFactory>();
		Factory->DataAssetClass = UMergMorphTargetMap::StaticClass();
		UObject* Asset = AssetTools.CreateAsset(
			AssetName, FPackageName::GetLongPackagePath(PackageName), UMergMorphTargetMap::StaticClass(), Factory);
		if (UMergMorphTargetMap* Map = Cast<UMergMorphTargetMap>(Asset))
		{
			Map->FillFromMesh(Mesh);
			Map->MarkPackageDirty();
			Created.Add(Map);
		}
	}
	if (Created.Num() > 0)
	{
		FContentBrowserModule& ContentBrowser = FModuleManager::LoadModuleChecked<FContentBrowserModule>("ContentBrowser");
		ContentBrowser.Get().SyncBrowserToAssets(Created);
		GEditor->GetEditorSubsystem<UAssetEditorSubsystem>()->OpenEditorForAssets(Created);
	}
}

void RegisterMenus()
{
	UToolMenu* Menu = UE::ContentBrowser::ExtendToolMenu_AssetContextMenu(USkeletalMesh::StaticClass());
	FToolMenuSection& Section = Menu->FindOrAddSection("GetAssetActions");
	FToolUIAction Action;
	Action.ExecuteAction = FToolMenuExecuteAction::CreateStatic(&CreateMorphTargetMaps);
	Section.AddMenuEntry("MergCreateMorphTargetMap",
		LOCTEXT("CreateMorphTargetMap", "Create MERG Morph Target Map"),
		LOCTEXT("CreateMorphTargetMapTooltip",
			"Bind this mesh's morph targets to the ARKit names by alias (eyeBlink_L, EyeBlinkLeft, ...) "
			"in a MERG Morph Target Map asset, listing the names it lacks."),
		FSlateIcon(), Action);
}
}  // namespace

class FMergAvatarEditorModule : public IModuleInterface
{
public:
	virtual void StartupModule() override
	{
		UToolMenus::RegisterStartupCallback(
			FSimpleMulticastDelegate::FDelegate::CreateRaw(this, &FMergAvatarEditorModule::RegisterOwnedMenus));
	}

	virtual void ShutdownModule() override
	{
		UToolMenus::UnRegisterStartupCallback(this);
		UToolMenus::UnregisterOwner(this);
	}

private:
	void RegisterOwnedMenus()
	{
		FToolMenuOwnerScoped Owner(this);
		RegisterMenus();
	}
};

IMPLEMENT_MODULE(FMergAvatarEditorModule, MergAvatarEditor);

#undef LOCTEXT_NAMESPACE
