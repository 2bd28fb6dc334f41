// libzmq and msgpack-c (its C API) for the MERG core, as an external module.
//
// Headers go to include/ (zmq.h, zmq_utils.h, msgpack.h, msgpack/), libraries to
// lib/<Platform>/. On Linux, plugins/unreal/sync_core.cmake copies the headers of the system
// packages and the libraries are the system's. On Windows and macOS, place prebuilt
// libraries as README.md in this folder describes.
using System;
using System.IO;
using UnrealBuildTool;

public class MergDeps : ModuleRules
{
	public MergDeps(ReadOnlyTargetRules Target) : base(Target)
	{
		Type = ModuleType.External;

		string IncludeDir = Path.Combine(ModuleDirectory, "include");
		string LibRoot = Path.Combine(ModuleDirectory, "lib");
		if (!File.Exists(Path.Combine(IncludeDir, "zmq.h")) || !File.Exists(Path.Combine(IncludeDir, "msgpack.h")))
		{
			throw new BuildException(
				"MergDeps: zmq.h and msgpack.h are missing from " + IncludeDir + ". On Linux run " +
				"`cmake -P plugins/unreal/sync_core.cmake`; elsewhere see " +
				Path.Combine(ModuleDirectory, "README.md"));
		}
		PublicSystemIncludePaths.Add(IncludeDir);

		if (Target.Platform == UnrealTargetPlatform.Win64)
		{
			// libzmq as a DLL (the official build, or vcpkg `zeromq:x64-windows`), msgpack-c static.
			string LibDir = Path.Combine(LibRoot, "Win64");
			PublicAdditionalLibraries.Add(Path.Combine(LibDir, "libzmq.lib"));
			PublicAdditionalLibraries.Add(Path.Combine(LibDir, "msgpack-c.lib"));
			PublicDelayLoadDLLs.Add("libzmq.dll");
			RuntimeDependencies.Add("$(BinaryOutputDir)/libzmq.dll", Path.Combine(LibDir, "libzmq.dll"));
			PublicSystemLibraries.AddRange(new string[] { "ws2_32.lib", "iphlpapi.lib", "advapi32.lib" });
		}
		else if (Target.Platform == UnrealTargetPlatform.Mac)
		{
			// Static, universal (arm64 + x86_64) libraries built with Apple clang and libc++.
			string LibDir = Path.Combine(LibRoot, "Mac");
			PublicAdditionalLibraries.Add(Path.Combine(LibDir, "libzmq.a"));
			PublicAdditionalLibraries.Add(Path.Combine(LibDir, "libmsgpack-c.a"));
			PublicDefinitions.Add("ZMQ_STATIC=1");
		}
		else if (Target.Platform == UnrealTargetPlatform.Linux)
		{
			// The distribution's shared libraries (Debian/Ubuntu: libzmq3-dev libmsgpack-dev), or
			// copies in lib/Linux/ for a packaged game that must not depend on the system.
			string Bundled = Path.Combine(LibRoot, "Linux");
			string SystemDir = Target.Architecture == UnrealArch.Arm64
				? "/usr/lib/aarch64-linux-gnu" : "/usr/lib/x86_64-linux-gnu";
			string LibDir = File.Exists(Path.Combine(Bundled, "libzmq.so.5")) ? Bundled : SystemDir;
			PublicAdditionalLibraries.Add(Path.Combine(LibDir, "libzmq.so.5"));
			PublicAdditionalLibraries.Add(Path.Combine(LibDir, "libmsgpackc.so.2"));
			if (LibDir == Bundled)
			{
				RuntimeDependencies.Add("$(BinaryOutputDir)/libzmq.so.5", Path.Combine(Bundled, "libzmq.so.5"));
				RuntimeDependencies.Add("$(BinaryOutputDir)/libmsgpackc.so.2", Path.Combine(Bundled, "libmsgpackc.so.2"));
			}
		}
		else
		{
			throw new BuildException("MergDeps: no libzmq/msgpack-c for " + Target.Platform);
		}
	}
}
