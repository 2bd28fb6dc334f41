#include "MergAvatarModule.h"

#include "Modules/ModuleManager.h"

DEFINE_LOG_CATEGORY(LogMerg);

IMPLEMENT_MODULE(FDefaultModuleImpl, MergAvatar);
