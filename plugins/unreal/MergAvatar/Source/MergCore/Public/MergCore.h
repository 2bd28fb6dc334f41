// Include this (not merg/*.h directly) from Unreal code: the MERG core with its third-party
// headers (msgpack-c) wrapped the way Unreal wants them.
#pragma once

#include "CoreMinimal.h"

THIRD_PARTY_INCLUDES_START
#if PLATFORM_WINDOWS
#include "Windows/AllowWindowsPlatformTypes.h"
#endif
#include "merg/merg.h"
#if PLATFORM_WINDOWS
#include "Windows/HideWindowsPlatformTypes.h"
#endif
THIRD_PARTY_INCLUDES_END

/** UTF-8 std::string <-> FString, for the core's strings. */
namespace MergCore
{
inline FString ToFString(const std::string& Text)
{
	return FString(UTF8_TO_TCHAR(Text.c_str()));
}

inline std::string ToUtf8(const FString& Text)
{
	return std::string(TCHAR_TO_UTF8(*Text));
}
}  // namespace MergCore
