// Editor helpers for the MERG avatar: "Create MERG Morph Target Map" on skeletal meshes.
using UnrealBuildTool;

public class MergAvatarEditor : ModuleRules
{
	public MergAvatarEditor(ReadOnlyTargetRules Target) : base(Target)
	{
		PCHUsage = PCHUsageMode.UseExplicitOrSharedPCHs;

		PrivateDependencyModuleNames.AddRange(new string[]
		{
			"Core",
			"CoreUObject",
			"Engine",
			"UnrealEd",
			"AssetTools",
			"ContentBrowser",
			"ToolMenus",
			"Slate",
			"SlateCore",
			"MergAvatar",
		});
	}
}
