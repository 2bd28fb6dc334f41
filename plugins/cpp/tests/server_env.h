// The real MERG server for the tests: `python -m merg_sdk.cli serve --port N` in a child
// process, started once per test binary run (a GoogleTest environment), with empathy on
// (the server's default), so it takes tens of seconds to load.
#pragma once

#include <sys/types.h>

#include <string>

namespace merg_test {

class ServerProcess {
 public:
  // Start the server on `port` and wait until it answers `hello` (up to timeout_s).
  bool Start(int port, double timeout_s, std::string* error);
  // SIGKILL (a crash): the port is free again at once.
  void Kill();
  // SIGTERM, then SIGKILL after a grace period.
  void Stop();
  bool running() const { return pid_ > 0; }
  int port() const { return port_; }
  std::string endpoint() const;
  std::string LogTail(size_t bytes = 3000) const;
  double last_start_s() const { return last_start_s_; }

 private:
  pid_t pid_ = -1;
  int port_ = 0;
  std::string log_path_;
  double last_start_s_ = 0;
};

// A free TCP port on 127.0.0.1 (bound, read and released).
int FreePort();
// The Python that has merg_sdk: $MERG_PYTHON, else the CMake cache's MERG_PYTHON.
std::string PythonPath();
// True once the shared server answers `hello`.
bool WaitForWelcome(const std::string& endpoint, double timeout_s, pid_t pid);

// The server shared by every test of the binary.
ServerProcess& SharedServer();
bool SharedServerReady();
const std::string& SharedServerError();

}  // namespace merg_test
