// The MergCore module: the core itself has no startup work (each merg::Client owns its
// ZeroMQ context and network thread).
#include "Modules/ModuleManager.h"

IMPLEMENT_MODULE(FDefaultModuleImpl, MergCore);
