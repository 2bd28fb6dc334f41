// Starts and stops the real Python server for the server tests; provides main().
#include "server_env.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zmq.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

#include "merg/codec.h"

namespace merg_test {
namespace {

double NowS() {
  using std::chrono::duration;
  using std::chrono::steady_clock;
  return duration<double>(steady_clock::now().time_since_epoch()).count();
}

ServerProcess g_server;
bool g_ready = false;
std::string g_error;

constexpr double kStartTimeoutS = 120.0;  // loading the LLM and the sentence encoder

class ServerEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    const int port = FreePort();
    g_ready = g_server.Start(port, kStartTimeoutS, &g_error);
    if (g_ready) {
      std::printf("[ server   ] merg serve on %s, ready after %.1f s\n",
                  g_server.endpoint().c_str(), g_server.last_start_s());
    } else {
      std::printf("[ server   ] could not start merg serve: %s\n%s\n", g_error.c_str(),
                  g_server.LogTail().c_str());
    }
  }
  void TearDown() override { g_server.Stop(); }
};

}  // namespace

ServerProcess& SharedServer() { return g_server; }
bool SharedServerReady() { return g_ready; }
const std::string& SharedServerError() { return g_error; }

int FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t length = sizeof address;
  int port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0) {
    port = ntohs(address.sin_port);
  }
  close(fd);
  return port;
}

std::string PythonPath() {
  const char* env = std::getenv("MERG_PYTHON");
  return env != nullptr && *env != '\0' ? env : MERG_DEFAULT_PYTHON;
}

bool WaitForWelcome(const std::string& endpoint, double timeout_s, pid_t pid) {
  void* context = zmq_ctx_new();
  const double deadline = NowS() + timeout_s;
  bool welcomed = false;
  merg::Encoder encoder;
  merg::Decoder decoder;
  while (!welcomed && NowS() < deadline) {
    if (pid > 0) {
      int status = 0;
      if (waitpid(pid, &status, WNOHANG) == pid) break;  // the server died
    }
    void* socket = zmq_socket(context, ZMQ_DEALER);
    int linger = 0;
    zmq_setsockopt(socket, ZMQ_LINGER, &linger, sizeof linger);
    zmq_connect(socket, endpoint.c_str());
    encoder.Hello(1, merg::ClientInfo());
    zmq_send(socket, encoder.data(), encoder.size(), ZMQ_DONTWAIT);
    zmq_pollitem_t item = {socket, 0, ZMQ_POLLIN, 0};
    if (zmq_poll(&item, 1, 500) > 0) {
      zmq_msg_t message;
      zmq_msg_init(&message);
      if (zmq_msg_recv(&message, socket, 0) >= 0) {
        merg::ServerMessage decoded;
        welcomed = decoder.Decode(zmq_msg_data(&message), zmq_msg_size(&message), &decoded) ==
                       merg::DecodeStatus::kOk &&
                   decoded.type == merg::MessageType::kWelcome;
      }
      zmq_msg_close(&message);
    }
    zmq_close(socket);
  }
  zmq_ctx_term(context);
  return welcomed;
}

bool ServerProcess::Start(int port, double timeout_s, std::string* error) {
  port_ = port;
  if (log_path_.empty()) {
    log_path_ = ::testing::TempDir() + "merg-serve-" + std::to_string(getpid()) + ".log";
  }
  const std::string python = PythonPath();
  const std::string port_text = std::to_string(port);
  const double started = NowS();
  const pid_t pid = fork();
  if (pid < 0) {
    *error = "fork failed";
    return false;
  }
  if (pid == 0) {
    // The child: its own process group, killed with the test binary, output to the log.
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    const int fd = open(log_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      dup2(fd, STDOUT_FILENO);
      dup2(fd, STDERR_FILENO);
      close(fd);
    }
    if (chdir(MERG_REPO_DIR) != 0) _exit(126);
    setenv("HF_HUB_OFFLINE", "1", 0);  // models come from wheels, never a hub
    setenv("TRANSFORMERS_OFFLINE", "1", 0);
    setenv("PYTHONUNBUFFERED", "1", 0);
    execl(python.c_str(), python.c_str(), "-m", "merg_sdk.cli", "serve", "--port",
          port_text.c_str(), static_cast<char*>(nullptr));
    std::fprintf(stderr, "cannot run %s\n", python.c_str());
    _exit(127);
  }
  pid_ = pid;
  if (!WaitForWelcome(endpoint(), timeout_s, pid_)) {
    int status = 0;
    const bool exited = waitpid(pid_, &status, WNOHANG) == pid_;
    std::ostringstream message;
    message << "`" << python << " -m merg_sdk.cli serve --port " << port << "` "
            << (exited ? "exited" : "did not answer hello") << " within " << timeout_s
            << " s (set MERG_PYTHON to a Python with merg_sdk); log: " << log_path_;
    *error = message.str();
    if (exited) {
      pid_ = -1;
    } else {
      Kill();
    }
    return false;
  }
  last_start_s_ = NowS() - started;
  return true;
}

void ServerProcess::Kill() {
  if (pid_ <= 0) return;
  kill(-pid_, SIGKILL);
  kill(pid_, SIGKILL);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
}

void ServerProcess::Stop() {
  if (pid_ <= 0) return;
  kill(pid_, SIGTERM);
  for (int i = 0; i < 50; ++i) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      kill(-pid_, SIGKILL);  // anything it left behind in its group
      pid_ = -1;
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  Kill();
}

std::string ServerProcess::endpoint() const {
  return "tcp://127.0.0.1:" + std::to_string(port_);
}

std::string ServerProcess::LogTail(size_t bytes) const {
  std::ifstream file(log_path_);
  std::stringstream text;
  text << file.rdbuf();
  const std::string all = text.str();
  return all.size() > bytes ? all.substr(all.size() - bytes) : all;
}

}  // namespace merg_test

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  ::testing::AddGlobalTestEnvironment(new merg_test::ServerEnvironment);
  return RUN_ALL_TESTS();
}
