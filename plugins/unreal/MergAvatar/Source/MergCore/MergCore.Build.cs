// The MERG C++ client core (plugins/cpp), compiled as an Unreal module with the engine's own
// compiler and standard library. Its sources are copied in by plugins/unreal/sync_core.cmake
// (Public/merg/*.h, Private/Core/*.cpp), so the plugin runs exactly the code the core's
// GoogleTest suites test against the real server.
using System.IO;
using UnrealBuildTool;

public class MergCore : ModuleRules
{
	public MergCore(ReadOnlyTargetRules Target) : base(Target)
	{
		// Plain C++ (17 or 20) without engine headers: no precompiled header, no unity blob (the core's
		// files include libzmq's and msgpack-c's headers, which must not meet Windows macros).
		PCHUsage = PCHUsageMode.NoPCHs;
		bUseUnity = false;
		bEnableExceptions = false;
		bUseRTTI = false;

		if (!File.Exists(Path.Combine(ModuleDirectory, "Public", "merg", "client.h")) ||
			!File.Exists(Path.Combine(ModuleDirectory, "Private", "Core", "client.cpp")))
		{
			throw new BuildException(
				"MergCore: the C++ core is missing. Run `cmake -P plugins/unreal/sync_core.cmake` " +
				"from the MERG repository (see docs/plugins/unreal.md).");
		}

		PublicDependencyModuleNames.AddRange(new string[] { "Core", "MergDeps" });
	}
}
