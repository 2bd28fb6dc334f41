# Copies the tested C++ core (plugins/cpp) into the Unreal plugin, and on Linux the libzmq and
# msgpack-c headers of the system packages into its ThirdParty module.
#
#   cmake -P plugins/unreal/sync_core.cmake
#       fills plugins/unreal/MergAvatar in place
#   cmake -DMERG_PLUGIN_DIR=/path/to/MyGame/Plugins/MergAvatar -P plugins/unreal/sync_core.cmake
#       installs the whole plugin, with the core, into a project
#
# Options: -DMERG_SYSTEM_HEADERS=OFF skips copying zmq.h/msgpack.h from the system (Windows
# and macOS: place them yourself, see MergDeps/README.md). Run again after updating the core.
cmake_minimum_required(VERSION 3.16)

get_filename_component(_here "${CMAKE_CURRENT_LIST_DIR}" ABSOLUTE)
set(_plugin_src "${_here}/MergAvatar")
get_filename_component(_core "${_here}/../cpp" ABSOLUTE)
if(NOT DEFINED MERG_PLUGIN_DIR)
  set(MERG_PLUGIN_DIR "${_plugin_src}")
endif()
get_filename_component(_plugin "${MERG_PLUGIN_DIR}" ABSOLUTE)
if(NOT DEFINED MERG_SYSTEM_HEADERS)
  if(CMAKE_HOST_UNIX AND NOT CMAKE_HOST_APPLE)
    set(MERG_SYSTEM_HEADERS ON)
  else()
    set(MERG_SYSTEM_HEADERS OFF)
  endif()
endif()

if(NOT EXISTS "${_core}/include/merg/client.h")
  message(FATAL_ERROR "the C++ core is not at ${_core}")
endif()

# The plugin itself (when installing elsewhere), without build output.
if(NOT _plugin STREQUAL _plugin_src)
  file(MAKE_DIRECTORY "${_plugin}")
  file(COPY "${_plugin_src}/" DESTINATION "${_plugin}"
       PATTERN "Binaries" EXCLUDE PATTERN "Intermediate" EXCLUDE)
endif()

# The core: headers to MergCore/Public/merg, sources to MergCore/Private/Core.
set(_module "${_plugin}/Source/MergCore")
file(REMOVE_RECURSE "${_module}/Public/merg" "${_module}/Private/Core")
file(COPY "${_core}/include/merg" DESTINATION "${_module}/Public")
file(GLOB _sources "${_core}/src/*.cpp")
file(COPY ${_sources} DESTINATION "${_module}/Private/Core")
list(LENGTH _sources _count)
message(STATUS "MERG core: ${_count} sources -> ${_module}")

# libzmq and msgpack-c headers from the system packages.
if(MERG_SYSTEM_HEADERS)
  set(_deps "${_plugin}/Source/ThirdParty/MergDeps/include")
  find_path(_zmq zmq.h PATHS /usr/include /usr/local/include NO_DEFAULT_PATH)
  find_path(_msgpack msgpack.h PATHS /usr/include /usr/local/include NO_DEFAULT_PATH)
  if(NOT _zmq OR NOT _msgpack)
    message(FATAL_ERROR "zmq.h or msgpack.h not found: apt install libzmq3-dev libmsgpack-dev")
  endif()
  file(REMOVE_RECURSE "${_deps}")
  file(MAKE_DIRECTORY "${_deps}")
  file(COPY "${_zmq}/zmq.h" "${_zmq}/zmq_utils.h" "${_msgpack}/msgpack.h" DESTINATION "${_deps}")
  # msgpack-c's C headers only (the folder also holds the C++ library's .hpp files).
  file(COPY "${_msgpack}/msgpack" DESTINATION "${_deps}" FILES_MATCHING PATTERN "*.h")
  message(STATUS "libzmq and msgpack-c headers -> ${_deps}")
endif()
