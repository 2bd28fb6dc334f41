// MERG C++ client core: include this to get everything.
#pragma once

#include "merg/client.h"
#include "merg/codec.h"
#include "merg/jitter_buffer.h"
#include "merg/protocol.h"
#include "merg/queue.h"
#include "merg/rig.h"

#define MERG_CPP_VERSION "0.1.0"
