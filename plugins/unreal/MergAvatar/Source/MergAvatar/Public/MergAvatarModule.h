#pragma once

#include "CoreMinimal.h"
#include "Modules/ModuleInterface.h"

MERGAVATAR_API DECLARE_LOG_CATEGORY_EXTERN(LogMerg, Log, All);
