// The MERG avatar runtime: UMergAvatarComponent (Blueprint API, procedural voice, morph
// targets, Live Link) over the MergCore module.
using UnrealBuildTool;

public class MergAvatar : ModuleRules
{
	public MergAvatar(ReadOnlyTargetRules Target) : base(Target)
	{
		PCHUsage = PCHUsageMode.UseExplicitOrSharedPCHs;

		PublicDependencyModuleNames.AddRange(new string[]
		{
			"Core",
			"CoreUObject",
			"Engine",
			"AudioMixerCore",  // Audio::EAudioMixerStreamDataFormat (procedural sound wave)
			"LiveLinkInterface",
			"MergCore",
		});
	}
}
